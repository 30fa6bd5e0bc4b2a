#include "acemq/token/detail/jwt_verify.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>

#include "acemq/common/base64.hpp"
#include "acemq/token/detail/claims_json.hpp"
#include "acemq/token/jose/json.hpp"
#include "acemq/token/jose/jwk.hpp"
#include "acemq/token/jose/jws.hpp"
#include "acemq/token/jose/jwt.hpp"

namespace acemq::token::detail {
namespace {

enum class rounding : std::uint8_t { down, up };

// RFC 7519 2: NumericDate is a JSON number of seconds, possibly fractional. A fraction is rounded
// towards the stricter side: exp down, nbf and iat up.
result<std::optional<std::int64_t>, failure> numeric_date(const boost::json::object& payload,
                                                          std::string_view name,
                                                          rounding direction) {
  const auto* member = payload.if_contains(name);
  if (member == nullptr) return std::optional<std::int64_t>{};
  if (member->is_int64()) return std::optional{member->get_int64()};
  if (member->is_uint64()) return unexpected(failure::bad_encoding);  // beyond int64
  if (member->is_double()) {
    const double number = member->get_double();
    if (!std::isfinite(number)) return unexpected(failure::bad_encoding);
    const double rounded = direction == rounding::down ? std::floor(number) : std::ceil(number);
    constexpr double bound = 4611686018427387904.0;  // 2^62: exact and far from overflow
    if (rounded < -bound || rounded > bound) return unexpected(failure::bad_encoding);
    return std::optional{static_cast<std::int64_t>(rounded)};
  }
  return unexpected(failure::bad_encoding);
}

result<std::optional<std::string>, failure> optional_text(const boost::json::object& payload,
                                                          std::string_view name) {
  auto text = jose::optional_string(payload, name);
  if (!text) return unexpected(text.error());
  if (!*text) return std::optional<std::string>{};
  return std::optional{std::string(**text)};
}

bool algorithm_allowed(const expectations& expected, crypto::algorithm alg) {
  return expected.allowed_algorithms.empty() ||
         std::find(expected.allowed_algorithms.begin(), expected.allowed_algorithms.end(), alg) !=
             expected.allowed_algorithms.end();
}

// RFC 7800 3 / RFC 9431 2.1: jose reads cnf (jwk public key - or, from an introspection
// response, a symmetric key -, jwe encrypted JWK, or kid); an encrypted key is opened with the
// broker's own keys.
result<confirmation, failure> jwt_confirmation(const boost::json::object& payload,
                                               const trusted_keys& keys, jose::cnf_origin origin) {
  auto cnf = jose::parse_cnf(payload, origin);
  if (!cnf) return unexpected(cnf.error());
  confirmation out;
  if (cnf->jwk) {
    out.form = cnf_form::key;
    out.key_id = cnf->jwk->kid();
    out.key = std::move(*cnf->jwk);
    return out;
  }
  if (cnf->jwe) {
    for (const crypto::key& decryption_key : keys.decryption_keys) {
      auto key = jose::decrypt_cnf_key(*cnf->jwe, decryption_key);
      if (!key) continue;
      out.form = cnf_form::encrypted_key;
      out.key_id = key->kid();
      // The broker verifies PoP; of an asymmetric key it needs only the public half.
      if (key->type() != crypto::key_type::symmetric) {
        auto public_key = key->public_key();
        if (!public_key) return unexpected(failure::bad_cnf);
        out.key = std::move(*public_key);
      } else {
        out.key = std::move(*key);
      }
      return out;
    }
    return unexpected(failure::bad_cnf);
  }
  if (cnf->kid) {
    out.form = cnf_form::key_id;
    out.key_id = to_bytes(*cnf->kid);
    return out;
  }
  return unexpected(failure::bad_cnf);
}

}  // namespace

result<claims, failure> claims_from_json(const boost::json::object& payload,
                                         const trusted_keys& keys, const expectations& expected,
                                         jose::cnf_origin origin) {
  claims out;
  out.format = token_format::jwt;
  auto issuer = optional_text(payload, "iss");
  if (!issuer) return unexpected(issuer.error());
  out.issuer = std::move(*issuer);
  auto subject = optional_text(payload, "sub");
  if (!subject) return unexpected(subject.error());
  out.subject = std::move(*subject);
  // RFC 7519 4.1.3: aud is a string or an array of strings.
  if (const auto* aud = payload.if_contains("aud")) {
    if (const auto* text = aud->if_string()) {
      out.audience.emplace_back(text->data(), text->size());
    } else if (const auto* array = aud->if_array()) {
      for (const auto& element : *array) {
        const auto* member = element.if_string();
        if (member == nullptr) return unexpected(failure::bad_encoding);
        out.audience.emplace_back(member->data(), member->size());
      }
    } else {
      return unexpected(failure::bad_encoding);
    }
  }
  auto exp = numeric_date(payload, "exp", rounding::down);
  if (!exp) return unexpected(exp.error());
  out.expires_at = *exp;
  auto nbf = numeric_date(payload, "nbf", rounding::up);
  if (!nbf) return unexpected(nbf.error());
  out.not_before = *nbf;
  auto iat = numeric_date(payload, "iat", rounding::up);
  if (!iat) return unexpected(iat.error());
  out.issued_at = *iat;
  auto jti = optional_text(payload, "jti");
  if (!jti) return unexpected(jti.error());
  if (*jti) out.token_id = to_bytes(**jti);
  auto profile = optional_text(payload, "ace_profile");
  if (!profile) return unexpected(profile.error());
  out.ace_profile = std::move(*profile);
  auto client_id = optional_text(payload, "client_id");
  if (!client_id) return unexpected(client_id.error());
  out.client_id = std::move(*client_id);
  // RFC 9200 5.10: cnonce is a byte string, base64url in JSON.
  auto cnonce = jose::optional_base64url(payload, "cnonce");
  if (!cnonce) return unexpected(cnonce.error());
  out.cnonce = std::move(*cnonce);
  if (const auto* exi = payload.if_contains("exi")) {
    if (!exi->is_int64() || exi->get_int64() < 0) return unexpected(failure::bad_encoding);
    out.exi = exi->get_int64();
  }
  if (const auto* scope_claim = payload.if_contains("scope")) {
    // RFC 9431 2.3: base64url of the JSON AIF array (a plain array is accepted too).
    scope::parse_options options;
    options.max_entries = expected.max_scope_entries;
    auto parsed = scope::aif_scope::from_jwt_claim(*scope_claim, options);
    if (!parsed) return unexpected(parsed.error());
    out.scope = std::move(*parsed);
    out.has_scope = true;
  }
  if (payload.contains("cnf")) {
    auto confirmation_claim = jwt_confirmation(payload, keys, origin);
    if (!confirmation_claim) return unexpected(confirmation_claim.error());
    out.cnf = std::move(*confirmation_claim);
  }
  out.json = jwt_claims_json(payload, out.cnf);
  return out;
}

result<claims, failure> verify_jwt_token(byte_view token, const trusted_keys& keys,
                                         const expectations& expected) {
  jose::limits bounds;
  bounds.max_size = expected.max_token_size;
  // RFC 8725 3.1: the header's alg is only a hint; the trusted key decides (jose enforces it).
  const jose::jwt_keys jwt_keys{std::span<const crypto::key>(keys.issuer_keys),
                                std::span<const crypto::key>(keys.decryption_keys)};
  auto verified = jose::verify_jwt(as_string_view(token), jwt_keys, bounds);
  if (!verified) return unexpected(verified.error());
  if (!algorithm_allowed(expected, verified->alg)) {
    return unexpected(failure::algorithm_not_allowed);
  }
  return claims_from_json(verified->claims, keys, expected);
}

}  // namespace acemq::token::detail
