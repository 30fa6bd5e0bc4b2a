#pragma once
// Keys for the token library: Ed25519, P-256, RSA (held as OpenSSL EVP_PKEY) and raw symmetric
// secrets. A key is a cheap-to-copy value: copies share the immutable key material.

#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "acemq/common/bytes.hpp"
#include "acemq/common/random.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/crypto/algorithm.hpp"
#include "acemq/token/failure.hpp"

namespace acemq::token::crypto {

namespace detail {
struct key_access;  // the crypto implementation's per-thread context caches (context_cache.hpp)
}

enum class key_type : std::uint8_t {
  okp_ed25519 = 0x01,  // RFC 8037 OKP, crv Ed25519
  ec_p256 = 0x02,      // RFC 7518 6.2 EC, crv P-256
  rsa = 0x03,          // RFC 7518 6.3, at least 2048 bits
  symmetric = 0x04,    // RFC 7518 6.4 "oct"
};

/// The affine coordinates of a P-256 public key, each exactly 32 bytes (left-padded).
struct ec_point {
  byte_vector x;
  byte_vector y;
};

/// RSA key components as unsigned big-endian integers without leading zero bytes (RFC 7518 6.3).
/// For a public key only n and e are set; for a private key all eight are set.
struct rsa_components {
  byte_vector n, e, d, p, q, dp, dq, qi;
};

/// Smallest and largest RSA moduli accepted (bits). The upper bound keeps verification cost
/// bounded.
inline constexpr int rsa_min_bits = 2048;
inline constexpr int rsa_max_bits = 8192;
/// Largest symmetric key accepted (bytes); HS512 needs 64.
inline constexpr std::size_t symmetric_max_size = 512;

/// A public/private key pair, a public key, or a symmetric secret, with an optional key id and an
/// optional algorithm binding (JWK "alg", COSE_Key alg (3)).
class key {
 public:
  // --- generation (OpenSSL's CSPRNG; a failure here is a start-up error and throws) ---
  static key generate_ed25519();
  static key generate_p256();
  static key generate_rsa(int bits = 2048);
  /// A symmetric key of `size` bytes (1..symmetric_max_size) drawn from `random`.
  static key generate_symmetric(std::size_t size, random_source& random);

  // --- construction from raw components, fully validated; failure::bad_key otherwise ---
  /// Ed25519 public key from its 32-byte encoding (RFC 8032 5.1.5).
  static result<key, failure> ed25519_from_public(byte_view public_bytes);
  /// Ed25519 private key from its 32-byte seed; when `public_bytes` is given it must match.
  static result<key, failure> ed25519_from_private(byte_view private_bytes,
                                                   std::optional<byte_view> public_bytes = {});
  /// P-256 public key; the point must be on the curve (SEC 1 3.2.2.1 checks).
  static result<key, failure> p256_from_public(byte_view x, byte_view y);
  /// P-256 private key; d must be in [1, n-1] and match (x, y).
  static result<key, failure> p256_from_private(byte_view x, byte_view y, byte_view d);
  /// RSA public key (n, e); n must have rsa_min_bits..rsa_max_bits, e odd and > 1.
  static result<key, failure> rsa_from_public(byte_view n, byte_view e);
  /// RSA private key from all eight components, checked for consistency.
  static result<key, failure> rsa_from_private(const rsa_components& components);
  /// Symmetric secret of 1..symmetric_max_size bytes.
  static result<key, failure> symmetric_from_bytes(byte_view secret);

  // --- PEM (PKCS#8 for private keys, SubjectPublicKeyInfo for public keys) ---
  /// Loads an Ed25519, P-256 or RSA key from PEM; other key types and curves -> bad_key.
  static result<key, failure> from_pem(std::string_view pem);
  /// The private key as unencrypted PKCS#8 PEM; bad_key for public-only or symmetric keys.
  result<std::string, failure> private_pem() const;
  /// The public key as SubjectPublicKeyInfo PEM; bad_key for symmetric keys.
  result<std::string, failure> public_pem() const;

  // --- properties ---
  key_type type() const noexcept { return type_; }
  /// True for key pairs and symmetric secrets (anything that can sign or decrypt).
  bool is_private() const noexcept { return type_ == key_type::symmetric || has_private_; }
  /// The public half of an asymmetric key (kid and algorithm binding are kept); symmetric keys
  /// have no public half -> bad_key, so a secret is never handed out by mistake.
  result<key, failure> public_key() const;
  /// Modulus size for RSA, curve size for EC/OKP, 8 * length for symmetric keys.
  int bits() const noexcept;

  /// Key id: opaque bytes (COSE kid); in JOSE the same bytes interpreted as UTF-8.
  const std::optional<byte_vector>& kid() const noexcept { return kid_; }
  void set_kid(byte_vector kid) { kid_ = std::move(kid); }
  void clear_kid() { kid_.reset(); }

  /// The only algorithm this key may be used with, when bound (see check_key_allows).
  std::optional<algorithm> bound_algorithm() const noexcept { return algorithm_; }
  void bind_algorithm(algorithm alg) { algorithm_ = alg; }
  void clear_algorithm() { algorithm_.reset(); }

  // --- raw accessors for JWK / COSE_Key; bad_key when the key is of another type ---
  /// Ed25519: the 32-byte public key.
  result<byte_vector, failure> ed25519_public() const;
  /// Ed25519: the 32-byte private seed (bad_key for a public-only key).
  result<byte_vector, failure> ed25519_private() const;
  /// P-256: the public point.
  result<ec_point, failure> p256_public() const;
  /// P-256: the 32-byte private scalar d (bad_key for a public-only key).
  result<byte_vector, failure> p256_private() const;
  /// RSA: n and e, plus the private components when this is a private key.
  result<rsa_components, failure> rsa() const;
  /// Symmetric: the secret bytes (empty for other key types). Never log these.
  byte_view symmetric_bytes() const noexcept;

  /// True when both keys hold the same key material (kid and algorithm binding are ignored).
  bool same_material(const key& other) const;

  /// The OpenSSL key, or nullptr for a symmetric key. For the crypto implementation.
  EVP_PKEY* native_handle() const noexcept { return pkey_.get(); }

  /// Wraps an OpenSSL key (takes ownership). Accepts Ed25519, P-256 and RSA within the size
  /// bounds; anything else -> bad_key (and the key is freed).
  static result<key, failure> adopt(EVP_PKEY* pkey);

 private:
  friend struct detail::key_access;

  key() = default;

  key_type type_ = key_type::symmetric;
  bool has_private_ = false;
  std::shared_ptr<EVP_PKEY> pkey_;
  std::shared_ptr<const byte_vector> secret_;  // cleansed when the last copy goes away
  std::optional<byte_vector> kid_;
  std::optional<algorithm> algorithm_;
};

}  // namespace acemq::token::crypto
