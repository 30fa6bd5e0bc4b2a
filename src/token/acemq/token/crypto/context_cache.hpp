#pragma once
// Per-thread caches of prepared OpenSSL contexts and the raw <-> DER conversion of ECDSA
// signatures, for the crypto implementation and its tests (not a public API).
//
// Why: in OpenSSL 3 every EVP_*Init with a key fetches the algorithm from the provider store
// (a locked lookup), allocates a new EVP_PKEY_CTX or EVP_MAC_CTX and, for HMAC, hashes the key
// pads again. For a 64-byte HMAC that set-up cost four times the MAC itself. A prepared context is
// only ever touched by the thread that owns the cache, so no OpenSSL object is shared mutably
// between threads; what threads do share (the fetched EVP_MD, the EVP_PKEY) is immutable.

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "acemq/common/bytes.hpp"
#include "acemq/token/crypto/algorithm.hpp"
#include "acemq/token/crypto/key.hpp"

namespace acemq::token::crypto::detail {

/// The crypto implementation's view of a key's shared material (key befriends this type).
struct key_access {
  static const std::shared_ptr<EVP_PKEY>& pkey(const key& k) noexcept { return k.pkey_; }
  static const std::shared_ptr<const byte_vector>& secret(const key& k) noexcept {
    return k.secret_;
  }
};

/// SHA-256/384/512 fetched from the default provider once per process (OpenSSL's fetched objects
/// are immutable and reference-counted, safe to share between threads). nullptr only when the
/// provider lacks them, which callers report as bad_key.
EVP_MD* sha256_digest() noexcept;
EVP_MD* sha384_digest() noexcept;
EVP_MD* sha512_digest() noexcept;

/// HMAC (RFC 2104) with the key's pads absorbed once. RFC 2104 section 4 suggests exactly this:
/// keep the digest states after (K XOR ipad) and (K XOR opad), so a MAC costs restoring each state
/// and hashing the message and then the inner hash. It does the digest work of OpenSSL's
/// EVP_MAC re-initialised with the same key, without the EVP_MAC parameter plumbing around it.
/// Owned by one thread at a time (the work state is mutable).
class hmac_context {
 public:
  /// Absorbs the pads of `secret` (hashed first when longer than the block, RFC 2104 2) into
  /// states for `md`. nullptr when OpenSSL fails or `md` is nullptr.
  static std::unique_ptr<hmac_context> create(EVP_MD* md, byte_view secret);

  /// HMAC of `data` into `tag` (EVP_MAX_MD_SIZE bytes); the tag length, or 0 on failure.
  std::size_t compute(byte_view data, std::uint8_t* tag) noexcept;

 private:
  using md_ctx = std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)>;
  hmac_context();
  md_ctx inner_;
  md_ctx outer_;
  md_ctx work_;
};

/// What a cached context was prepared for. A context is reused only for the same key material,
/// algorithm and purpose.
enum class purpose : std::uint8_t {
  mac = 0x01,     // hmac_context keyed with the secret
  sign = 0x02,    // EVP_PKEY_CTX after EVP_PKEY_sign_init, or EVP_MD_CTX after DigestSignInit
  verify = 0x03,  // EVP_PKEY_CTX after EVP_PKEY_verify_init, or EVP_MD_CTX after DigestVerifyInit
};

/// A bounded cache of prepared contexts owned by one thread (context_cache::this_thread()).
///
/// Entries are keyed by the identity of the key's shared material (its control block, held
/// through a weak_ptr: a key made later can never be mistaken for a destroyed one, even at the
/// same address), the algorithm and the purpose. Copies of a key share its material and so its
/// entries; two keys with equal bytes but separate material do not. When full, the least recently
/// used entry goes. Entries whose key is gone are freed at the next miss on this thread (or when
/// the thread ends); their OpenSSL contexts cleanse key-derived state when freed.
class context_cache {
 public:
  /// Entries per thread; bounds the memory a thread can hold in prepared contexts.
  static constexpr std::size_t capacity = 16;

  context_cache() = default;
  context_cache(const context_cache&) = delete;
  context_cache& operator=(const context_cache&) = delete;
  ~context_cache() = default;

  /// The calling thread's cache.
  static context_cache& this_thread() noexcept;

  /// The prepared context for (k, alg, use), or nullptr when none is cached (or k has no
  /// material to identify it by).
  hmac_context* find_mac(const key& k, algorithm alg) noexcept;
  EVP_MD_CTX* find_digest_signature(const key& k, algorithm alg, purpose use) noexcept;
  EVP_PKEY_CTX* find_pkey(const key& k, algorithm alg, purpose use) noexcept;

  /// Stores a prepared context (taking ownership) and returns it. When k has no material to
  /// identify it by nothing can be cached: the context is freed and nullptr returned.
  hmac_context* insert_mac(const key& k, algorithm alg, std::unique_ptr<hmac_context> ctx);
  EVP_MD_CTX* insert_digest_signature(const key& k, algorithm alg, purpose use, EVP_MD_CTX* ctx);
  EVP_PKEY_CTX* insert_pkey(const key& k, algorithm alg, purpose use, EVP_PKEY_CTX* ctx);

  /// Frees the entry for (k, alg, use), e.g. after OpenSSL failed on it and its state is unknown.
  void discard(const key& k, algorithm alg, purpose use) noexcept;

  /// A scratch digest context for this thread (hashing before EVP_PKEY_sign/verify); nullptr
  /// only when OpenSSL cannot allocate one.
  EVP_MD_CTX* scratch_digest() noexcept;

  /// Number of live entries (for tests and diagnostics).
  std::size_t size() const noexcept;
  /// Frees every entry.
  void clear() noexcept;

 private:
  enum class context_kind : std::uint8_t { none = 0x00, mac = 0x01, md = 0x02, pkey = 0x03 };

  struct context_deleter {
    context_kind kind = context_kind::none;
    void operator()(void* ctx) const noexcept;
  };

  struct entry {
    std::weak_ptr<const void> owner;
    algorithm alg = algorithm::hs256;
    purpose use = purpose::mac;
    std::uint64_t last_used = 0;
    std::unique_ptr<void, context_deleter> context{nullptr, context_deleter{}};
  };

  void* find(const key& k, algorithm alg, purpose use, context_kind kind) noexcept;
  void* insert(const key& k, algorithm alg, purpose use, context_kind kind, void* ctx);
  entry* slot_for_insert() noexcept;

  std::array<entry, capacity> entries_{};
  std::uint64_t clock_ = 0;
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> scratch_{nullptr, EVP_MD_CTX_free};
};

/// Largest DER encoding of a P-256 ECDSA signature: SEQUENCE of two INTEGERs of up to 33 bytes.
inline constexpr std::size_t es256_der_max_size = 72;
/// The size of the JOSE/COSE form: r || s, 32 bytes each (RFC 7518 3.4, RFC 9053 2.1).
inline constexpr std::size_t es256_raw_size = 64;

/// A DER-encoded ECDSA signature held without allocation.
struct es256_der {
  std::array<std::uint8_t, es256_der_max_size> bytes{};
  std::size_t size = 0;
  byte_view view() const noexcept { return byte_view(bytes.data(), size); }
};

/// r || s (64 bytes) -> the canonical DER ECDSA-Sig-Value (SEC 1 C.5: minimal INTEGERs, a 0x00
/// pad when the top bit is set) that OpenSSL's verifier demands. std::nullopt if raw is not 64
/// bytes.
std::optional<es256_der> es256_raw_to_der(byte_view raw) noexcept;

/// The DER ECDSA-Sig-Value OpenSSL's signer produced -> r || s (64 bytes, each left-padded).
/// Strict: short-form lengths, positive minimal INTEGERs of at most 32 value bytes, nothing after
/// the SEQUENCE; anything else is std::nullopt.
std::optional<std::array<std::uint8_t, es256_raw_size>> es256_der_to_raw(byte_view der) noexcept;

}  // namespace acemq::token::crypto::detail
