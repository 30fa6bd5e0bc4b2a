#include "acemq/token/verify.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <limits>

#include "acemq/common/base64.hpp"
#include "acemq/token/cbor/codec.hpp"
#include "acemq/token/cose/cose_key.hpp"
#include "acemq/token/cose/cose_message.hpp"
#include "acemq/token/cose/cwt.hpp"
#include "acemq/token/detail/claims_json.hpp"
#include "acemq/token/detail/jwt_verify.hpp"

namespace acemq::token {
namespace {

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();

// Saturating arithmetic: token times are attacker-chosen and must not overflow.
std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  if (b > 0 && a > int64_max - b) return int64_max;
  if (b < 0 && a < int64_min - b) return int64_min;
  return a + b;
}
std::int64_t saturating_sub(std::int64_t a, std::int64_t b) {
  if (b == int64_min) return a >= 0 ? int64_max : a - int64_min;
  return saturating_add(a, -b);
}

bool is_base64url_or_dot(std::uint8_t c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

bool algorithm_allowed(const expectations& expected, crypto::algorithm alg) {
  return expected.allowed_algorithms.empty() ||
         std::find(expected.allowed_algorithms.begin(), expected.allowed_algorithms.end(), alg) !=
             expected.allowed_algorithms.end();
}

// --- CWT ---------------------------------------------------------------------------------------

// The type of an untagged COSE message: Encrypt0 has three members, Sign1 and Mac0 four; the two
// are told apart by the protected alg, which the key check later confirms.
result<std::optional<cose::message_type>, failure> untagged_cose_type(
    byte_view token, const cbor::decode_limits& limits) {
  auto item = cbor::decode(token, limits);
  if (!item) return unexpected(item.error());
  if (item->is_tag()) return std::optional<cose::message_type>{};
  if (!item->is_array()) return unexpected(failure::bad_encoding);
  if (item->items().size() == 3) return std::optional{cose::message_type::encrypt0};
  if (item->items().size() != 4 || !item->items()[0].is_bytes()) {
    return unexpected(failure::bad_encoding);
  }
  const byte_vector& protected_bytes = item->items()[0].byte_content();
  if (protected_bytes.empty()) return unexpected(failure::algorithm_not_allowed);
  auto header = cbor::decode(protected_bytes, limits);
  if (!header) return unexpected(header.error());
  const cbor::value* alg = header->find(static_cast<std::int64_t>(cose::header_label::alg));
  if (alg == nullptr || !alg->as_int64()) return unexpected(failure::algorithm_not_allowed);
  auto algorithm = crypto::algorithm_from_cose_id(*alg->as_int64());
  if (!algorithm) return unexpected(failure::unsupported_algorithm);
  switch (*algorithm) {
    case crypto::algorithm::hs256:
    case crypto::algorithm::hs384:
    case crypto::algorithm::hs512:
    case crypto::algorithm::hmac_256_64:
      return std::optional{cose::message_type::mac0};
    default:
      return std::optional{cose::message_type::sign1};
  }
}

// Picks the key for one COSE layer: by kid when the layer names one, else the first key the
// algorithm allows. Encrypt0 layers are opened with the broker's keys first, then with keys
// shared with the AS (RFC 8392 A.5: an encrypted-only CWT under a key shared with the AS).
result<crypto::key, failure> cose_layer_key(const cose::message& layer, const trusted_keys& keys,
                                            const expectations& expected) {
  const bool encrypted = layer.type == cose::message_type::encrypt0;
  bool kid_matched = false;
  bool algorithm_refused = false;
  auto try_keys = [&](const std::vector<crypto::key>& candidates) -> std::optional<crypto::key> {
    for (const crypto::key& candidate : candidates) {
      if (layer.header.kid && (!candidate.kid() || *candidate.kid() != *layer.header.kid)) {
        continue;
      }
      kid_matched = true;
      auto alg = cose::checked_algorithm(layer, candidate);
      if (!alg) continue;
      if (!algorithm_allowed(expected, *alg)) {
        algorithm_refused = true;
        continue;
      }
      return candidate;
    }
    return std::nullopt;
  };
  if (encrypted) {
    if (auto found = try_keys(keys.decryption_keys)) return *found;
  }
  if (auto found = try_keys(keys.issuer_keys)) return *found;
  if (algorithm_refused || kid_matched) return unexpected(failure::algorithm_not_allowed);
  return unexpected(failure::unknown_key);
}

result<confirmation, failure> cwt_confirmation(const cose::confirmation& cnf,
                                               const trusted_keys& keys) {
  confirmation out;
  if (cnf.cose_key) {
    auto key = cose::confirmation_key(cnf);
    if (!key) return unexpected(failure::bad_cnf);
    out.form = cnf_form::key;
    out.key_id = key->kid();
    out.key = std::move(*key);
    return out;
  }
  if (cnf.encrypted_cose_key) {
    // RFC 8747 3.3 / RFC 9431 2.1: the key is encrypted to the broker.
    for (const crypto::key& kek : keys.decryption_keys) {
      if (kek.type() != crypto::key_type::symmetric) continue;
      auto key = cose::decrypt_confirmation_key(cnf, kek);
      if (!key) continue;
      out.form = cnf_form::encrypted_key;
      out.key_id = key->kid();
      out.key = std::move(*key);
      return out;
    }
    return unexpected(failure::bad_cnf);
  }
  if (cnf.kid) {
    out.form = cnf_form::key_id;
    out.key_id = *cnf.kid;
    return out;
  }
  return unexpected(failure::bad_cnf);
}

result<claims, failure> verify_cwt_token(byte_view token, const trusted_keys& keys,
                                         const expectations& expected) {
  cose::verify_options options;
  options.limits.max_size = expected.max_token_size;
  auto untagged = untagged_cose_type(token, options.limits);
  if (!untagged) return unexpected(untagged.error());
  options.untagged_type = *untagged;
  auto verified = cose::verify_cwt(
      token, [&](const cose::message& layer) { return cose_layer_key(layer, keys, expected); },
      options);
  if (!verified) return unexpected(verified.error());
  const cose::claims& in = verified->claims_set;

  claims out;
  out.format = token_format::cwt;
  out.issuer = in.iss;
  out.subject = in.sub;
  out.audience = in.aud;
  out.expires_at = in.exp;
  out.not_before = in.nbf;
  out.issued_at = in.iat;
  out.token_id = in.cti;
  out.cnonce = in.cnonce;
  if (in.exi) {
    if (*in.exi > static_cast<std::uint64_t>(int64_max)) return unexpected(failure::bad_encoding);
    out.exi = static_cast<std::int64_t>(*in.exi);
  }
  if (in.ace_profile) {
    // RFC 9200 5.10: ace_profile is an integer in CBOR; RFC 9431 registers mqtt_tls.
    if (*in.ace_profile != cose::ace_profile_mqtt_tls) return unexpected(failure::wrong_profile);
    out.ace_profile = std::string(mqtt_tls_profile);
  }
  if (in.scope) {
    scope::parse_options scope_options;
    scope_options.max_entries = expected.max_scope_entries;
    auto parsed = scope::aif_scope::from_cwt_claim(*in.scope, scope_options);
    if (!parsed) return unexpected(parsed.error());
    out.scope = std::move(*parsed);
    out.has_scope = true;
  }
  if (in.cnf) {
    auto cnf = cwt_confirmation(*in.cnf, keys);
    if (!cnf) return unexpected(cnf.error());
    out.cnf = std::move(*cnf);
  }
  out.json = detail::cwt_claims_json(in.all, out.cnf);
  return out;
}

}  // namespace

std::optional<token_format> detect_format(byte_view token) noexcept {
  if (token.empty()) return std::nullopt;
  // RFC 7515 7.1 / RFC 7516 7.1: compact serialisations are base64url parts joined by dots,
  // three for a JWS, five for a JWE.
  if (std::all_of(token.begin(), token.end(), is_base64url_or_dot)) {
    const auto dots = std::count(token.begin(), token.end(), std::uint8_t{'.'});
    if (dots == 2 || dots == 4) return token_format::jwt;
    return std::nullopt;
  }
  // RFC 8949 3: major type 6 (tag: 61, 16, 17, 18) or major type 4 (an untagged COSE array).
  const std::uint8_t major = static_cast<std::uint8_t>(token[0] >> 5);
  if (major == 6 || major == 4) return token_format::cwt;
  return std::nullopt;
}

result<void, failure> check_claims(const claims& c, const expectations& expected,
                                   std::int64_t now_unix) {
  // RFC 9200 5.10.1.1 step 1: the issuer.
  if (!expected.issuer.empty()) {
    if (!c.issuer) return unexpected(failure::missing_claim);
    if (*c.issuer != expected.issuer) return unexpected(failure::wrong_issuer);
  }
  // Step 2: this RS must be in the audience.
  if (c.audience.empty()) return unexpected(failure::missing_claim);
  if (std::find(c.audience.begin(), c.audience.end(), expected.audience) == c.audience.end()) {
    return unexpected(failure::wrong_audience);
  }
  // Step 3: expiry. A token without exp would be valid forever; this profile refuses it.
  if (!c.expires_at) return unexpected(failure::missing_claim);
  const std::int64_t leeway = std::max<std::int64_t>(expected.leeway_seconds, 0);
  // RFC 7519 4.1.4: the token MUST NOT be accepted on or after the expiration time.
  if (now_unix >= saturating_add(*c.expires_at, leeway)) return unexpected(failure::expired);
  // RFC 7519 4.1.5: nor before nbf.
  if (c.not_before && now_unix < saturating_sub(*c.not_before, leeway)) {
    return unexpected(failure::not_yet_valid);
  }
  // A token issued in the future comes from a broken or hostile clock.
  if (c.issued_at && *c.issued_at > saturating_add(now_unix, leeway)) {
    return unexpected(failure::issued_in_future);
  }
  // A bounded lifetime limits the damage of a leaked token.
  const std::int64_t lifetime = saturating_sub(*c.expires_at, c.issued_at.value_or(now_unix));
  if (lifetime > expected.max_lifetime_seconds) return unexpected(failure::lifetime_too_long);
  // RFC 9431 2.1 and 8.4: the profile identifier, when present, names this profile.
  if (c.ace_profile && *c.ace_profile != mqtt_tls_profile) {
    return unexpected(failure::wrong_profile);
  }
  // RFC 9431 2.1: tokens are proof-of-possession tokens: cnf is always present.
  if (expected.require_cnf && !c.cnf) return unexpected(failure::missing_cnf);
  // RFC 9431 2.3: the scope carries the permissions; without one nothing can be authorised.
  if (!c.has_scope) return unexpected(failure::missing_claim);
  // RFC 9200 5.10.1.1 / 5.3.1: a token requested with the broker's cnonce must carry it.
  if (expected.expected_cnonce) {
    if (!c.cnonce) return unexpected(failure::bad_nonce);
    if (!constant_time_equal(*c.cnonce, *expected.expected_cnonce)) {
      return unexpected(failure::bad_nonce);
    }
  }
  return {};
}

result<claims, failure> verify(byte_view token, const trusted_keys& keys,
                               const expectations& expected, std::int64_t now_unix) {
  if (token.size() > expected.max_token_size) return unexpected(failure::too_large);
  const auto format = detect_format(token);
  if (!format) return unexpected(failure::bad_encoding);
  auto verified = *format == token_format::jwt ? detail::verify_jwt_token(token, keys, expected)
                                               : verify_cwt_token(token, keys, expected);
  if (!verified) return unexpected(verified.error());
  auto checked = check_claims(*verified, expected, now_unix);
  if (!checked) return unexpected(checked.error());
  return verified;
}

}  // namespace acemq::token
