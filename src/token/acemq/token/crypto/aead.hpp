#pragma once
// Symmetric primitives for JWE and COSE: AES-GCM, AES-CCM-16-64-128, AES key wrap, ECDH-ES with
// the JOSE Concat KDF, hashes, HMAC and HKDF. All on OpenSSL 3 EVP. Failures to authenticate are
// reported as failure::decryption_failed and reveal nothing else.

#include <cstddef>
#include <cstdint>

#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/crypto/key.hpp"
#include "acemq/token/failure.hpp"

namespace acemq::token::crypto {

inline constexpr std::size_t gcm_iv_size = 12;               // 96-bit IV (RFC 7518 5.3)
inline constexpr std::size_t gcm_tag_size = 16;              // 128-bit tag
inline constexpr std::size_t ccm_16_64_128_nonce_size = 13;  // RFC 9053 4.2: L = 16 bits
inline constexpr std::size_t ccm_16_64_128_tag_size = 8;
inline constexpr std::size_t ccm_16_64_128_key_size = 16;

/// AES-GCM with a 16- or 32-byte key and a 12-byte IV. Returns ciphertext || 16-byte tag.
/// Wrong key or IV size -> bad_key.
result<byte_vector, failure> aes_gcm_encrypt(byte_view key, byte_view iv, byte_view aad,
                                             byte_view plaintext);
/// Inverse of aes_gcm_encrypt; input is ciphertext || tag. Tag mismatch -> decryption_failed.
result<byte_vector, failure> aes_gcm_decrypt(byte_view key, byte_view iv, byte_view aad,
                                             byte_view ciphertext_and_tag);

/// AES-CCM-16-64-128 (COSE alg 10): 16-byte key, 13-byte nonce, 8-byte tag. Returns ct || tag.
result<byte_vector, failure> aes_ccm_16_64_128_encrypt(byte_view key, byte_view nonce,
                                                       byte_view aad, byte_view plaintext);
/// Inverse of aes_ccm_16_64_128_encrypt. Tag mismatch -> decryption_failed.
result<byte_vector, failure> aes_ccm_16_64_128_decrypt(byte_view key, byte_view nonce,
                                                       byte_view aad, byte_view ciphertext_and_tag);

/// AES key wrap (RFC 3394, default IV) with a 16- or 32-byte key-encryption key. The key to wrap
/// must be a multiple of 8 bytes, at least 16.
result<byte_vector, failure> aes_key_wrap(byte_view kek, byte_view key_to_wrap);
/// Unwraps; an integrity check failure -> decryption_failed.
result<byte_vector, failure> aes_key_unwrap(byte_view kek, byte_view wrapped);

/// SHA-256 of `data` (32 bytes).
byte_vector sha256(byte_view data);
/// HMAC-SHA256 (RFC 2104), full 32-byte tag.
byte_vector hmac_sha256(byte_view key, byte_view data);
/// HKDF-SHA256 (RFC 5869); `length` at most 255 * 32 bytes, else bad_key.
result<byte_vector, failure> hkdf_sha256(byte_view ikm, byte_view salt, byte_view info,
                                         std::size_t length);

/// ECDH shared secret Z between a P-256 private key and a P-256 public key (the peer's point is
/// validated when the key is built). Wrong key types -> bad_key.
result<byte_vector, failure> ecdh_shared_secret(const key& private_key, const key& peer_public);

/// The Concat KDF of NIST SP 800-56A as profiled by RFC 7518 4.6.2: derives `key_size` bytes
/// from Z with AlgorithmID = `algorithm_id` (the "enc" value for direct key agreement),
/// PartyUInfo = apu, PartyVInfo = apv, SuppPubInfo = key size in bits.
byte_vector concat_kdf_sha256(byte_view z, std::size_t key_size, std::string_view algorithm_id,
                              byte_view apu, byte_view apv);

}  // namespace acemq::token::crypto
