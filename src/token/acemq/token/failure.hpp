#pragma once
// The closed set of reasons a token, signature or key can be refused. Every decoder and verifier
// in the token library returns one of these as a value (conventions 2); each has a negative test.

#include <cstdint>
#include <string_view>

namespace acemq::token {

enum class failure : std::uint8_t {
  bad_encoding = 1,         // not base64url / not CBOR / not JSON / wrong structure
  too_large,                // input above the configured size bound
  too_deep,                 // CBOR or JSON nesting above the bound
  unknown_key,              // no trusted key matches the kid / issuer
  bad_signature,            // signature or MAC does not verify (includes a truncated one)
  algorithm_not_allowed,    // header alg is not the algorithm the key is bound to
  alg_none,                 // "alg":"none" or an unsecured token
  unsupported_algorithm,    // an algorithm this library does not implement
  unknown_critical_header,  // "crit" (JOSE) or COSE crit (2) names a header we do not understand
  decryption_failed,        // JWE / COSE_Encrypt0 tag mismatch or key unwrap failure
  expired,                  // now >= exp + leeway
  not_yet_valid,            // now < nbf - leeway
  issued_in_future,         // iat > now + leeway
  lifetime_too_long,        // exp - iat (or exp - now) above the configured maximum
  missing_claim,            // a claim the expectations require is absent (exp, iss, aud, scope)
  wrong_audience,
  wrong_issuer,
  missing_cnf,    // a proof-of-possession token without cnf
  bad_cnf,        // cnf present but unusable (wrong key type, undecryptable, ...)
  bad_scope,      // scope present but not a valid AIF-MQTT value
  wrong_profile,  // ace_profile present and not mqtt_tls
  bad_key,        // key material malformed or of the wrong type/curve/size
  bad_pop,        // proof-of-possession value does not verify
  bad_nonce,      // cnonce / nonce mismatch
};

/// A stable, lower-case name for logs, CLI output and error messages ("bad_signature").
std::string_view to_string(failure reason) noexcept;

}  // namespace acemq::token
