#pragma once
// verify(): the one pure function the broker calls on a token (conventions: jwt_verify_lib
// style). Bytes, keys, expectations and the current time in; claims or a failure reason out.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/claims.hpp"
#include "acemq/token/crypto/algorithm.hpp"
#include "acemq/token/crypto/key.hpp"
#include "acemq/token/failure.hpp"

namespace acemq::token {

/// The keys a broker trusts.
struct trusted_keys {
  /// The AS's verification keys (public keys, or MAC keys shared with the AS). A token's kid
  /// selects one; a token without kid is tried against each key that allows its algorithm.
  std::vector<crypto::key> issuer_keys;
  /// The broker's own keys, for tokens encrypted to it (JWE, COSE_Encrypt0) and for encrypted
  /// cnf keys (JWT `jwe`, CWT Encrypted_COSE_Key).
  std::vector<crypto::key> decryption_keys;
};

/// What the broker requires of a token (RFC 9200 5.10.1.1).
struct expectations {
  /// Required `iss`; an empty string accepts any issuer (the signing key already ties the token
  /// to an AS).
  std::string issuer;
  /// This broker's audience; `aud` must contain it (missing aud -> missing_claim).
  std::string audience;
  /// Clock skew tolerated on exp, nbf and iat.
  std::int64_t leeway_seconds = 60;
  /// exp - iat (or exp - now when iat is absent) above this -> lifetime_too_long.
  std::int64_t max_lifetime_seconds = 24 * 60 * 60;
  /// RFC 9431 2.1: tokens for the profile are PoP tokens; without cnf -> missing_cnf.
  bool require_cnf = true;
  /// Algorithms accepted for the token's signature, MAC or encryption; empty = every algorithm
  /// this library implements (the key still decides the algorithm).
  std::vector<crypto::algorithm> allowed_algorithms;
  /// Tokens above this size -> too_large.
  std::size_t max_token_size = 8 * 1024;
  /// The cnonce the broker issued in its AS Request Creation Hints (RFC 9200 5.3.1), when it did.
  std::optional<byte_vector> expected_cnonce;
  /// Most AIF entries accepted in the scope.
  std::size_t max_scope_entries = 256;
};

/// Profile identifier of the MQTT-TLS profile (RFC 9431 8.4) in JWT; in CWT the registered
/// integer (cose::ace_profile_mqtt_tls).
inline constexpr std::string_view mqtt_tls_profile = "mqtt_tls";

/// Detects JWT (JWS compact, or 5-part JWE compact) vs CWT (COSE_Sign1 / COSE_Mac0 /
/// COSE_Encrypt0, tagged or not, optionally inside CWT tag 61), verifies the signature, MAC or
/// decryption with the trusted keys, then checks the claims (RFC 9200 5.10.1.1, RFC 9431 2.1):
/// iss, aud, exp/nbf/iat with leeway, lifetime, cnf, scope (AIF-MQTT), ace_profile, cnonce.
result<claims, failure> verify(byte_view token, const trusted_keys& keys,
                               const expectations& expected, std::int64_t now_unix);

/// The claim checks alone (RFC 9200 5.10.1.1, RFC 9431 2.1), for claims that came from elsewhere
/// (e.g. an introspection response). verify() calls this after the signature checks.
result<void, failure> check_claims(const claims& c, const expectations& expected,
                                   std::int64_t now_unix);

/// Which encoding `token` looks like, without verifying anything; nullopt when neither.
std::optional<token_format> detect_format(byte_view token) noexcept;

}  // namespace acemq::token
