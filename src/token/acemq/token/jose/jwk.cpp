#include "acemq/token/jose/jwk.hpp"

#include <openssl/crypto.h>
#include <boost/json/array.hpp>

#include "acemq/common/base64.hpp"
#include "acemq/common/utf8.hpp"
#include "acemq/token/crypto/aead.hpp"

namespace acemq::token::jose {

namespace {

using crypto::key;
using crypto::key_type;

// RFC 7518 6.2.2 / 6.3.2: members that only a private key has.
constexpr std::string_view rsa_private_members[] = {"d", "p", "q", "dp", "dq", "qi"};

result<byte_vector, failure> required_bytes(const boost::json::object& jwk, std::string_view name) {
  auto value = optional_base64url(jwk, name);
  if (!value || !*value) return unexpected(failure::bad_key);
  return std::move(**value);
}

result<std::optional<byte_vector>, failure> optional_bytes(const boost::json::object& jwk,
                                                           std::string_view name) {
  auto value = optional_base64url(jwk, name);
  if (!value) return unexpected(failure::bad_key);
  return std::move(*value);
}

result<key, failure> parse_okp(const boost::json::object& jwk, bool public_only) {
  auto crv = optional_string(jwk, "crv");
  // RFC 8037 2: only Ed25519 is implemented (X25519/Ed448/X448 are not).
  if (!crv || !*crv || **crv != "Ed25519") return unexpected(failure::bad_key);
  auto x = required_bytes(jwk, "x");
  if (!x) return unexpected(x.error());
  auto d = optional_bytes(jwk, "d");
  if (!d) return unexpected(d.error());
  if (!*d) return key::ed25519_from_public(*x);
  if (public_only) return unexpected(failure::bad_key);
  return key::ed25519_from_private(**d, byte_view(*x));
}

// RFC 7518 6.2.1.2 asks for "x", "y" and "d" at the full 32 bytes, but PyJWT before 2.8 (the one
// Debian 12 ships) writes them at minimal length, dropping leading zero bytes (1 key in ~85).
// The integer is the same, so a shorter value is padded back; a longer one is refused.
constexpr std::size_t p256_integer_size = 32;

byte_vector padded_p256_integer(byte_vector value) {
  if (value.size() < p256_integer_size)
    value.insert(value.begin(), p256_integer_size - value.size(), 0);
  return value;
}

result<key, failure> parse_ec(const boost::json::object& jwk, bool public_only) {
  auto crv = optional_string(jwk, "crv");
  if (!crv || !*crv || **crv != "P-256") return unexpected(failure::bad_key);
  auto x = required_bytes(jwk, "x");
  if (!x) return unexpected(x.error());
  auto y = required_bytes(jwk, "y");
  if (!y) return unexpected(y.error());
  auto d = optional_bytes(jwk, "d");
  if (!d) return unexpected(d.error());
  if (*d && (*d)->empty()) return unexpected(failure::bad_key);
  auto px = padded_p256_integer(std::move(*x));
  auto py = padded_p256_integer(std::move(*y));
  if (!*d) return key::p256_from_public(px, py);
  if (public_only) return unexpected(failure::bad_key);
  return key::p256_from_private(px, py, padded_p256_integer(std::move(**d)));
}

result<key, failure> parse_rsa(const boost::json::object& jwk, bool public_only) {
  auto n = required_bytes(jwk, "n");
  if (!n) return unexpected(n.error());
  auto e = required_bytes(jwk, "e");
  if (!e) return unexpected(e.error());
  // Multi-prime keys (RFC 7518 6.3.2.7 "oth") are not supported.
  if (jwk.contains("oth")) return unexpected(failure::bad_key);
  bool any_private = false;
  for (auto name : rsa_private_members)
    any_private = any_private || jwk.contains(name);
  if (!any_private) return key::rsa_from_public(*n, *e);
  if (public_only) return unexpected(failure::bad_key);
  crypto::rsa_components parts;
  parts.n = std::move(*n);
  parts.e = std::move(*e);
  byte_vector* targets[] = {&parts.d, &parts.p, &parts.q, &parts.dp, &parts.dq, &parts.qi};
  for (std::size_t i = 0; i < std::size(rsa_private_members); ++i) {
    // Private keys without the CRT members are refused rather than recomputed.
    auto value = required_bytes(jwk, rsa_private_members[i]);
    if (!value) return unexpected(value.error());
    *targets[i] = std::move(*value);
  }
  return key::rsa_from_private(parts);
}

result<key, failure> parse_oct(const boost::json::object& jwk, bool public_only) {
  // A symmetric key is all secret: never acceptable where a public key is expected.
  if (public_only) return unexpected(failure::bad_key);
  auto k = required_bytes(jwk, "k");
  if (!k) return unexpected(k.error());
  return key::symmetric_from_bytes(*k);
}

std::string b64(byte_view bytes) {
  return base64url_encode(bytes);
}

}  // namespace

result<key, failure> parse_jwk(const boost::json::object& jwk, const jwk_options& options) {
  auto kty = optional_string(jwk, "kty");
  if (!kty || !*kty) return unexpected(failure::bad_key);
  result<key, failure> parsed = unexpected(failure::bad_key);
  if (**kty == "OKP") {
    parsed = parse_okp(jwk, options.public_only);
  } else if (**kty == "EC") {
    parsed = parse_ec(jwk, options.public_only);
  } else if (**kty == "RSA") {
    parsed = parse_rsa(jwk, options.public_only);
  } else if (**kty == "oct") {
    parsed = parse_oct(jwk, options.public_only);
  } else {
    return unexpected(failure::bad_key);
  }
  if (!parsed) return parsed;
  key out = std::move(parsed).value();

  auto use = optional_string(jwk, "use");
  if (!use) return unexpected(failure::bad_key);
  if (*use && options.required_use && **use != *options.required_use) {
    return unexpected(failure::bad_key);
  }
  auto kid = optional_string(jwk, "kid");
  if (!kid) return unexpected(failure::bad_key);
  if (*kid) out.set_kid(to_bytes(**kid));
  auto alg = optional_string(jwk, "alg");
  if (!alg) return unexpected(failure::bad_key);
  if (*alg) {
    auto bound = crypto::algorithm_from_jose_name(**alg);
    if (!bound) return unexpected(failure::unsupported_algorithm);
    out.bind_algorithm(*bound);
    // RFC 7517 4.4: "alg" names the algorithm the key is intended for; it must suit the key.
    if (!crypto::check_key_allows(out, *bound)) return unexpected(failure::bad_key);
  }
  return out;
}

result<key, failure> parse_jwk(std::string_view json, const jwk_options& options,
                               const limits& bounds) {
  if (json.size() > bounds.max_size) return unexpected(failure::too_large);
  auto object = parse_object(json, bounds.max_depth);
  if (!object)
    return unexpected(object.error() == failure::too_deep ? failure::too_deep : failure::bad_key);
  return parse_jwk(*object, options);
}

result<boost::json::object, failure> to_jwk(const key& k, jwk_content content,
                                            std::optional<std::string_view> use) {
  const bool with_private = content == jwk_content::with_private && k.is_private();
  boost::json::object jwk;
  switch (k.type()) {
    case key_type::okp_ed25519: {
      jwk["kty"] = "OKP";
      jwk["crv"] = "Ed25519";
      jwk["x"] = b64(*k.ed25519_public());
      if (with_private) jwk["d"] = b64(*k.ed25519_private());
      break;
    }
    case key_type::ec_p256: {
      auto point = k.p256_public();
      if (!point) return unexpected(point.error());
      jwk["kty"] = "EC";
      jwk["crv"] = "P-256";
      jwk["x"] = b64(point->x);
      jwk["y"] = b64(point->y);
      if (with_private) jwk["d"] = b64(*k.p256_private());
      break;
    }
    case key_type::rsa: {
      auto parts = k.rsa();
      if (!parts) return unexpected(parts.error());
      jwk["kty"] = "RSA";
      jwk["n"] = b64(parts->n);
      jwk["e"] = b64(parts->e);
      if (with_private) {
        jwk["d"] = b64(parts->d);
        jwk["p"] = b64(parts->p);
        jwk["q"] = b64(parts->q);
        jwk["dp"] = b64(parts->dp);
        jwk["dq"] = b64(parts->dq);
        jwk["qi"] = b64(parts->qi);
      }
      break;
    }
    case key_type::symmetric: {
      if (content != jwk_content::with_private) return unexpected(failure::bad_key);
      jwk["kty"] = "oct";
      jwk["k"] = b64(k.symmetric_bytes());
      break;
    }
  }
  if (k.kid()) {
    // JOSE "kid" is a string: the key id bytes must be UTF-8.
    if (!is_valid_utf8(as_string_view(*k.kid()))) return unexpected(failure::bad_key);
    jwk["kid"] = as_string_view(*k.kid());
  }
  if (k.bound_algorithm()) {
    const auto name = crypto::jose_name(*k.bound_algorithm());
    if (name.empty()) return unexpected(failure::bad_key);  // a COSE-only binding
    jwk["alg"] = name;
  }
  if (use) jwk["use"] = *use;
  return jwk;
}

result<byte_vector, failure> thumbprint(const key& k) {
  // RFC 7638 3.2: exactly the required members, lexicographic order, no whitespace. All values
  // are base64url or fixed names, so no JSON escaping is needed.
  std::string canonical;
  switch (k.type()) {
    case key_type::okp_ed25519:
      canonical = R"({"crv":"Ed25519","kty":"OKP","x":")" + b64(*k.ed25519_public()) + R"("})";
      break;
    case key_type::ec_p256: {
      auto point = k.p256_public();
      if (!point) return unexpected(point.error());
      canonical = R"({"crv":"P-256","kty":"EC","x":")" + b64(point->x) + R"(","y":")" +
                  b64(point->y) + R"("})";
      break;
    }
    case key_type::rsa: {
      auto parts = k.rsa();
      if (!parts) return unexpected(parts.error());
      canonical = R"({"e":")" + b64(parts->e) + R"(","kty":"RSA","n":")" + b64(parts->n) + R"("})";
      break;
    }
    case key_type::symmetric:
      canonical = R"({"k":")" + b64(k.symmetric_bytes()) + R"(","kty":"oct"})";
      break;
  }
  auto digest = crypto::sha256(as_bytes(canonical));
  if (k.type() == key_type::symmetric) {
    OPENSSL_cleanse(canonical.data(), canonical.size());  // it held the secret
  }
  return digest;
}

result<std::string, failure> thumbprint_base64url(const key& k) {
  auto digest = thumbprint(k);
  if (!digest) return unexpected(digest.error());
  return base64url_encode(*digest);
}

std::vector<const key*> jwk_set::find(byte_view kid) const {
  std::vector<const key*> found;
  for (const auto& k : keys_) {
    if (k.kid() && std::equal(k.kid()->begin(), k.kid()->end(), kid.begin(), kid.end())) {
      found.push_back(&k);
    }
  }
  return found;
}

result<jwk_set, failure> parse_jwk_set(std::string_view json, const jwk_options& options,
                                       std::size_t max_keys, const limits& bounds) {
  if (json.size() > bounds.max_size) return unexpected(failure::too_large);
  auto object = parse_object(json, bounds.max_depth);
  if (!object) return unexpected(object.error());
  const auto* keys = object->if_contains("keys");
  if (keys == nullptr || !keys->is_array()) return unexpected(failure::bad_encoding);
  const auto& array = keys->get_array();
  if (array.size() > max_keys) return unexpected(failure::too_large);
  jwk_set set;
  for (const auto& member : array) {
    const auto* jwk = member.if_object();
    if (jwk == nullptr) return unexpected(failure::bad_encoding);
    auto kty = optional_string(*jwk, "kty");
    if (!kty || !*kty) return unexpected(failure::bad_key);
    // RFC 7517 5: implementations SHOULD ignore JWKs with a kty they do not understand.
    if (**kty != "OKP" && **kty != "EC" && **kty != "RSA" && **kty != "oct") continue;
    auto parsed = parse_jwk(*jwk, options);
    if (!parsed) return unexpected(parsed.error());
    set.add(std::move(parsed).value());
  }
  return set;
}

result<boost::json::object, failure> to_jwk_set(const jwk_set& set, jwk_content content) {
  boost::json::array keys;
  for (const auto& k : set.keys()) {
    auto jwk = to_jwk(k, content);
    if (!jwk) return unexpected(jwk.error());
    keys.emplace_back(std::move(*jwk));
  }
  boost::json::object out;
  out["keys"] = std::move(keys);
  return out;
}

}  // namespace acemq::token::jose
