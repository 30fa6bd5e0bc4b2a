#include "acemq/token/jose/jwt.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>

#include "acemq/token/jose/jwk.hpp"

namespace acemq::token::jose {

namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

result<verified_jwt, failure> verify_signed(std::string_view jws, const jwt_keys& keys,
                                            const limits& bounds, bool was_encrypted) {
  auto verified = verify_jws(jws, keys.verification, bounds);
  if (!verified) return unexpected(verified.error());
  auto claims = parse_claims(verified->payload, bounds);
  if (!claims) return unexpected(claims.error());
  return verified_jwt{std::move(verified->header), std::move(claims).value(), verified->alg,
                      std::move(verified->kid), was_encrypted};
}

}  // namespace

bool looks_like_jwe(std::string_view compact) noexcept {
  return std::count(compact.begin(), compact.end(), '.') == 4;
}

result<boost::json::object, failure> parse_claims(byte_view payload, const limits& bounds) {
  if (payload.size() > bounds.max_size) return unexpected(failure::too_large);
  return parse_object(as_string_view(payload), bounds.max_depth);
}

result<std::string, failure> sign_jwt(const boost::json::object& claims,
                                      const crypto::key& signing_key, jws_sign_options options) {
  if (!options.typ) options.typ = "JWT";  // RFC 7519 5.1
  const auto payload = serialize(claims);
  return sign_jws(signing_key, as_bytes(payload), options);
}

result<std::string, failure> encrypt_jwt(std::string_view signed_jwt, const crypto::key& recipient,
                                         jwe_encrypt_options options, random_source& random) {
  options.cty = "JWT";  // RFC 7519 5.2: the content is itself a JWT
  return encrypt_jwe(as_bytes(signed_jwt), recipient, options, random);
}

result<verified_jwt, failure> verify_jwt(std::string_view token, const jwt_keys& keys,
                                         const limits& bounds) {
  if (token.size() > bounds.max_size) return unexpected(failure::too_large);
  if (!looks_like_jwe(token)) return verify_signed(token, keys, bounds, false);

  auto decrypted = decrypt_jwe(token, keys.decryption, bounds);
  if (!decrypted) return unexpected(decrypted.error());
  auto cty = optional_string(decrypted->header, "cty");
  if (!cty) return unexpected(cty.error());
  // An encrypted-only JWT proves nothing about its issuer (anyone may encrypt to our public key).
  if (!*cty || !equals_ignoring_case(**cty, "JWT")) return unexpected(failure::alg_none);
  const std::string inner(as_string_view(decrypted->plaintext));
  OPENSSL_cleanse(decrypted->plaintext.data(), decrypted->plaintext.size());
  if (looks_like_jwe(inner)) return unexpected(failure::bad_encoding);  // one level of nesting
  return verify_signed(inner, keys, bounds, true);
}

result<confirmation, failure> parse_cnf(const boost::json::object& claims, cnf_origin origin) {
  const auto* cnf_value = claims.if_contains("cnf");
  if (cnf_value == nullptr) return unexpected(failure::missing_cnf);
  const auto* cnf = cnf_value->if_object();
  if (cnf == nullptr) return unexpected(failure::bad_cnf);
  confirmation out;
  int methods = 0;
  if (const auto* jwk = cnf->if_contains("jwk")) {
    ++methods;
    const auto* object = jwk->if_object();
    if (object == nullptr) return unexpected(failure::bad_cnf);
    // RFC 9431 2.1: a symmetric PoP key in a JWT must be encrypted, so "jwk" is public only.
    // RFC 9431 2.2.5 / RFC 7800 3.2: an introspection response, which only the AS and the
    // broker read, may carry a symmetric key in the clear; never a private asymmetric one.
    const auto* kty = object->if_contains("kty");
    const bool symmetric = kty != nullptr && kty->is_string() && kty->get_string() == "oct";
    const bool public_only = !(symmetric && origin == cnf_origin::introspection);
    auto parsed = parse_jwk(*object, jwk_options{.public_only = public_only, .required_use = {}});
    if (!parsed) return unexpected(failure::bad_cnf);
    out.jwk = std::move(parsed).value();
  }
  if (const auto* jwe = cnf->if_contains("jwe")) {
    ++methods;
    const auto* text = jwe->if_string();
    if (text == nullptr || text->empty()) return unexpected(failure::bad_cnf);
    out.jwe = std::string(*text);
  }
  if (const auto* kid = cnf->if_contains("kid")) {
    ++methods;
    const auto* text = kid->if_string();
    if (text == nullptr || text->empty()) return unexpected(failure::bad_cnf);
    out.kid = std::string(*text);
  }
  if (methods != 1) return unexpected(failure::bad_cnf);
  return out;
}

result<crypto::key, failure> decrypt_cnf_key(std::string_view jwe,
                                             const crypto::key& decryption_key,
                                             const limits& bounds) {
  auto decrypted = decrypt_jwe(jwe, decryption_key, bounds);
  if (!decrypted) return unexpected(failure::bad_cnf);
  auto parsed = parse_jwk(as_string_view(decrypted->plaintext), {}, bounds);
  OPENSSL_cleanse(decrypted->plaintext.data(), decrypted->plaintext.size());
  if (!parsed) return unexpected(failure::bad_cnf);
  return parsed;
}

result<boost::json::object, failure> make_cnf_jwk(const crypto::key& k) {
  if (k.type() == crypto::key_type::symmetric) return unexpected(failure::bad_key);
  auto jwk = to_jwk(k, jwk_content::public_only);
  if (!jwk) return unexpected(jwk.error());
  boost::json::object cnf;
  cnf["jwk"] = std::move(*jwk);
  return cnf;
}

result<boost::json::object, failure> make_cnf_jwe(const crypto::key& k,
                                                  const crypto::key& recipient,
                                                  const jwe_encrypt_options& options,
                                                  random_source& random) {
  auto jwk = to_jwk(k, jwk_content::with_private);
  if (!jwk) return unexpected(jwk.error());
  std::string text = serialize(*jwk);
  auto jwe = encrypt_jwe(as_bytes(text), recipient, options, random);
  OPENSSL_cleanse(text.data(), text.size());
  if (!jwe) return unexpected(jwe.error());
  boost::json::object cnf;
  cnf["jwe"] = std::move(*jwe);
  return cnf;
}

boost::json::object make_cnf_kid(std::string_view kid) {
  boost::json::object cnf;
  cnf["kid"] = kid;
  return cnf;
}

}  // namespace acemq::token::jose
