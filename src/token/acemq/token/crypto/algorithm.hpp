#pragma once
// The algorithms the token library implements, their JOSE names (RFC 7518) and COSE identifiers
// (RFC 9053), and the rule that the key decides the algorithm: a token's header never chooses the
// algorithm family on its own (the classic "HS256 signed with the RSA/Ed25519 public key" attack).

#include <cstdint>
#include <optional>
#include <string_view>

#include "acemq/common/result.hpp"
#include "acemq/token/failure.hpp"

namespace acemq::token::crypto {

class key;

/// Signature, MAC, content-encryption and key-management algorithms.
enum class algorithm : std::uint8_t {
  // Signatures and MACs (JWS, COSE_Sign1, COSE_Mac0).
  hs256 = 0x01,        // HMAC-SHA256; COSE "HMAC 256/256" (5)
  hs384 = 0x02,        // HMAC-SHA384; COSE "HMAC 384/384" (6)
  hs512 = 0x03,        // HMAC-SHA512; COSE "HMAC 512/512" (7)
  hmac_256_64 = 0x04,  // COSE "HMAC 256/64" (4): HMAC-SHA256 truncated to 8 bytes
  eddsa = 0x05,        // Ed25519 (RFC 8037; COSE -8)
  es256 = 0x06,        // ECDSA P-256 SHA-256, raw r||s (RFC 7518 3.4; COSE -7)
  rs256 = 0x07,        // RSASSA-PKCS1-v1_5 SHA-256 (COSE -257)
  ps256 = 0x08,        // RSASSA-PSS SHA-256, MGF1 SHA-256, 32-byte salt (COSE -37)
  // Content encryption (JWE "enc", COSE_Encrypt0).
  a128gcm = 0x10,            // AES-128-GCM, 96-bit IV, 128-bit tag (COSE 1)
  a256gcm = 0x11,            // AES-256-GCM (COSE 3)
  aes_ccm_16_64_128 = 0x12,  // AES-CCM, 13-byte nonce, 8-byte tag, 128-bit key (COSE 10)
  // Key management (JWE "alg").
  dir = 0x20,      // direct use of a shared symmetric key (COSE -6)
  a128kw = 0x21,   // AES key wrap, RFC 3394 (COSE -3)
  a256kw = 0x22,   // (COSE -5)
  ecdh_es = 0x23,  // ECDH-ES with the Concat KDF, RFC 7518 4.6 (JOSE only)
};

/// The JOSE "alg"/"enc" name ("HS256", "A128GCM", "ECDH-ES"); empty for COSE-only algorithms.
std::string_view jose_name(algorithm alg) noexcept;
/// Inverse of jose_name; std::nullopt for names this library does not implement (including "none").
std::optional<algorithm> algorithm_from_jose_name(std::string_view name) noexcept;

/// The COSE algorithm identifier (RFC 9053); std::nullopt where COSE has none (ECDH-ES + Concat
/// KDF).
std::optional<std::int64_t> cose_id(algorithm alg) noexcept;
/// Inverse of cose_id; std::nullopt for identifiers this library does not implement.
std::optional<algorithm> algorithm_from_cose_id(std::int64_t id) noexcept;

/// True for the algorithms whose output is a signature or MAC (usable with sign()/verify()).
bool is_signature_or_mac(algorithm alg) noexcept;

/// The key decides the algorithm. Succeeds only when `alg` suits the key's type and size and, if
/// the key is bound to an algorithm, equals that binding:
///  - HMAC (HS256/384/512, HMAC 256/64): symmetric keys of at least the hash size (RFC 7518 3.2);
///  - EdDSA: Ed25519 keys; ES256 and ECDH-ES: P-256 keys; RS256/PS256: RSA keys;
///  - AES-GCM / key wrap / AES-CCM: symmetric keys of exactly the algorithm's key size; dir: any
///    symmetric key (the content encryption checks the size).
/// Fails with algorithm_not_allowed on any mismatch.
result<void, failure> check_key_allows(const key& k, algorithm alg);

}  // namespace acemq::token::crypto
