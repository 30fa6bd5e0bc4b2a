#include "acemq/token/crypto/context_cache.hpp"

#include <algorithm>
#include <cstring>

namespace acemq::token::crypto::detail {

namespace {

// Fetched once; never freed, so no thread can see one disappear while the process runs.
EVP_MD* fetch(const char* name) noexcept {
  return EVP_MD_fetch(nullptr, name, nullptr);
}

constexpr std::uint8_t ipad = 0x36;  // RFC 2104 2
constexpr std::uint8_t opad = 0x5c;
constexpr std::size_t max_block_size = 128;  // SHA-384/512; SHA-256 has 64

// The material whose lifetime an entry follows: the EVP_PKEY of an asymmetric key, the secret of
// a symmetric one. Both are shared by copies of a key and immutable.
template <typename Visit>
auto with_owner(const key& k, Visit visit) noexcept {
  if (const auto& pkey = key_access::pkey(k)) return visit(pkey);
  return visit(key_access::secret(k));
}

template <typename Owner>
bool same_owner(const std::weak_ptr<const void>& cached, const Owner& owner) noexcept {
  // Control-block identity: the weak_ptr keeps the old block allocated, so no ABA on addresses.
  return !cached.owner_before(owner) && !owner.owner_before(cached);
}

constexpr std::uint8_t der_sequence = 0x30;
constexpr std::uint8_t der_integer = 0x02;
constexpr std::size_t component_size = es256_raw_size / 2;

// Appends one unsigned big-endian 32-byte value as a minimal DER INTEGER.
std::size_t put_integer(const std::uint8_t* value, std::uint8_t* out) noexcept {
  std::size_t skip = 0;
  while (skip + 1 < component_size && value[skip] == 0)
    ++skip;                                    // keep one byte for zero
  const bool pad = (value[skip] & 0x80) != 0;  // a set top bit would read as negative
  const std::size_t length = component_size - skip + (pad ? 1 : 0);
  std::size_t at = 0;
  out[at++] = der_integer;
  out[at++] = static_cast<std::uint8_t>(length);
  if (pad) out[at++] = 0x00;
  std::memcpy(out + at, value + skip, component_size - skip);
  return at + component_size - skip;
}

// Reads one positive minimal DER INTEGER of at most 32 value bytes into a left-padded slot.
bool take_integer(byte_view der, std::size_t& at, std::uint8_t* slot) noexcept {
  if (der.size() - at < 2 || der[at] != der_integer) return false;
  std::size_t length = der[at + 1];
  at += 2;
  if (length == 0 || length > der.size() - at || (der[at] & 0x80) != 0) return false;
  if (length > 1 && der[at] == 0x00) {
    if ((der[at + 1] & 0x80) == 0) return false;  // not minimal
    ++at;
    --length;
  }
  if (length > component_size) return false;
  std::memset(slot, 0, component_size - length);
  std::memcpy(slot + (component_size - length), der.data() + at, length);
  at += length;
  return true;
}

}  // namespace

EVP_MD* sha256_digest() noexcept {
  static EVP_MD* const md = fetch("SHA2-256");
  return md;
}

EVP_MD* sha384_digest() noexcept {
  static EVP_MD* const md = fetch("SHA2-384");
  return md;
}

EVP_MD* sha512_digest() noexcept {
  static EVP_MD* const md = fetch("SHA2-512");
  return md;
}

hmac_context::hmac_context()
    : inner_(EVP_MD_CTX_new(), EVP_MD_CTX_free),
      outer_(EVP_MD_CTX_new(), EVP_MD_CTX_free),
      work_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {}

std::unique_ptr<hmac_context> hmac_context::create(EVP_MD* md, byte_view secret) {
  if (md == nullptr) return nullptr;
  const int block_size = EVP_MD_get_block_size(md);
  if (block_size <= 0 || static_cast<std::size_t>(block_size) > max_block_size) return nullptr;
  const auto block = static_cast<std::size_t>(block_size);
  std::unique_ptr<hmac_context> out(new hmac_context());
  if (!out->inner_ || !out->outer_ || !out->work_) return nullptr;

  // RFC 2104 2: a key longer than the block is hashed first; then zero-padded to the block.
  std::array<std::uint8_t, max_block_size> padded{};
  if (secret.size() > block) {
    unsigned int length = 0;
    if (EVP_Digest(secret.data(), secret.size(), padded.data(), &length, md, nullptr) != 1) {
      return nullptr;
    }
  } else if (!secret.empty()) {
    std::memcpy(padded.data(), secret.data(), secret.size());
  }
  std::array<std::uint8_t, max_block_size> pad{};
  const auto absorb = [&](EVP_MD_CTX* ctx, std::uint8_t mask) {
    for (std::size_t i = 0; i < block; ++i)
      pad[i] = static_cast<std::uint8_t>(padded[i] ^ mask);
    return EVP_DigestInit_ex2(ctx, md, nullptr) == 1 &&
           EVP_DigestUpdate(ctx, pad.data(), block) == 1;
  };
  const bool ok = absorb(out->inner_.get(), ipad) && absorb(out->outer_.get(), opad);
  OPENSSL_cleanse(padded.data(), padded.size());  // key material on the stack
  OPENSSL_cleanse(pad.data(), pad.size());
  if (!ok) return nullptr;
  return out;
}

std::size_t hmac_context::compute(byte_view data, std::uint8_t* tag) noexcept {
  // RFC 2104 2: H(K XOR opad, H(K XOR ipad, text)), each H restarted from its absorbed pad.
  static constexpr std::uint8_t empty = 0;
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> inner_hash;
  unsigned int inner_length = 0;
  unsigned int length = 0;
  if (EVP_MD_CTX_copy_ex(work_.get(), inner_.get()) != 1 ||
      EVP_DigestUpdate(work_.get(), data.empty() ? &empty : data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(work_.get(), inner_hash.data(), &inner_length) != 1 ||
      EVP_MD_CTX_copy_ex(work_.get(), outer_.get()) != 1 ||
      EVP_DigestUpdate(work_.get(), inner_hash.data(), inner_length) != 1 ||
      EVP_DigestFinal_ex(work_.get(), tag, &length) != 1) {
    return 0;
  }
  return length;
}

void context_cache::context_deleter::operator()(void* ctx) const noexcept {
  switch (kind) {
    case context_kind::mac:
      // The digest contexts cleanse their key-derived states when freed.
      delete static_cast<hmac_context*>(ctx);
      break;
    case context_kind::md:
      EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx));
      break;
    case context_kind::pkey:
      EVP_PKEY_CTX_free(static_cast<EVP_PKEY_CTX*>(ctx));
      break;
    case context_kind::none:
      break;
  }
}

context_cache& context_cache::this_thread() noexcept {
  static thread_local context_cache cache;
  return cache;
}

void* context_cache::find(const key& k, algorithm alg, purpose use, context_kind kind) noexcept {
  // Hot path: a scan of at most `capacity` entries, no allocation, no reference-count traffic.
  const auto matches = [&](const entry& e, const auto& owner) {
    return e.context && e.alg == alg && e.use == use && e.context.get_deleter().kind == kind &&
           same_owner(e.owner, owner);
  };
  const auto scan = [&](const auto& owner) -> void* {
    for (auto& e : entries_) {
      if (matches(e, owner)) {
        e.last_used = ++clock_;
        return e.context.get();
      }
    }
    return nullptr;
  };
  if (const auto& pkey = key_access::pkey(k)) return scan(pkey);
  if (const auto& secret = key_access::secret(k)) return scan(secret);
  return nullptr;
}

context_cache::entry* context_cache::slot_for_insert() noexcept {
  // A miss is the moment to let go of contexts whose key is gone.
  for (auto& e : entries_) {
    if (e.context && e.owner.expired()) e.context.reset();
  }
  auto free_slot =
      std::find_if(entries_.begin(), entries_.end(), [](const entry& e) { return !e.context; });
  if (free_slot != entries_.end()) return &*free_slot;
  return &*std::min_element(entries_.begin(), entries_.end(), [](const entry& a, const entry& b) {
    return a.last_used < b.last_used;
  });
}

void* context_cache::insert(const key& k, algorithm alg, purpose use, context_kind kind,
                            void* ctx) {
  std::unique_ptr<void, context_deleter> owned_ctx(ctx, context_deleter{kind});
  if (!owned_ctx) return nullptr;
  discard(k, alg, use);  // at most one entry per (material, algorithm, purpose)
  return with_owner(k, [&](const auto& owner) -> void* {
    if (!owner) return nullptr;  // nothing to follow the lifetime of: do not cache
    entry* slot = slot_for_insert();
    slot->context.reset();
    slot->owner = owner;
    slot->alg = alg;
    slot->use = use;
    slot->last_used = ++clock_;
    slot->context = std::move(owned_ctx);
    return slot->context.get();
  });
}

hmac_context* context_cache::find_mac(const key& k, algorithm alg) noexcept {
  return static_cast<hmac_context*>(find(k, alg, purpose::mac, context_kind::mac));
}

EVP_MD_CTX* context_cache::find_digest_signature(const key& k, algorithm alg,
                                                 purpose use) noexcept {
  return static_cast<EVP_MD_CTX*>(find(k, alg, use, context_kind::md));
}

EVP_PKEY_CTX* context_cache::find_pkey(const key& k, algorithm alg, purpose use) noexcept {
  return static_cast<EVP_PKEY_CTX*>(find(k, alg, use, context_kind::pkey));
}

hmac_context* context_cache::insert_mac(const key& k, algorithm alg,
                                        std::unique_ptr<hmac_context> ctx) {
  return static_cast<hmac_context*>(insert(k, alg, purpose::mac, context_kind::mac, ctx.release()));
}

EVP_MD_CTX* context_cache::insert_digest_signature(const key& k, algorithm alg, purpose use,
                                                   EVP_MD_CTX* ctx) {
  return static_cast<EVP_MD_CTX*>(insert(k, alg, use, context_kind::md, ctx));
}

EVP_PKEY_CTX* context_cache::insert_pkey(const key& k, algorithm alg, purpose use,
                                         EVP_PKEY_CTX* ctx) {
  return static_cast<EVP_PKEY_CTX*>(insert(k, alg, use, context_kind::pkey, ctx));
}

void context_cache::discard(const key& k, algorithm alg, purpose use) noexcept {
  with_owner(k, [&](const auto& owner) {
    if (!owner) return 0;
    for (auto& e : entries_) {
      if (e.context && e.alg == alg && e.use == use && same_owner(e.owner, owner)) {
        e.context.reset();
        e.owner.reset();
      }
    }
    return 0;
  });
}

EVP_MD_CTX* context_cache::scratch_digest() noexcept {
  if (!scratch_) scratch_.reset(EVP_MD_CTX_new());
  return scratch_.get();
}

std::size_t context_cache::size() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [](const entry& e) { return !!e.context; }));
}

void context_cache::clear() noexcept {
  for (auto& e : entries_) {
    e.context.reset();
    e.owner.reset();
  }
}

std::optional<es256_der> es256_raw_to_der(byte_view raw) noexcept {
  if (raw.size() != es256_raw_size) return std::nullopt;
  es256_der out;
  // SEQUENCE { INTEGER r, INTEGER s }: at most 2 + 2 * 35 = 72 bytes, so a short-form length.
  std::size_t at = 2;
  at += put_integer(raw.data(), out.bytes.data() + at);
  at += put_integer(raw.data() + component_size, out.bytes.data() + at);
  out.bytes[0] = der_sequence;
  out.bytes[1] = static_cast<std::uint8_t>(at - 2);
  out.size = at;
  return out;
}

std::optional<std::array<std::uint8_t, es256_raw_size>> es256_der_to_raw(byte_view der) noexcept {
  if (der.size() < 2 || der.size() > es256_der_max_size || der[0] != der_sequence ||
      der[1] != der.size() - 2) {
    return std::nullopt;
  }
  std::array<std::uint8_t, es256_raw_size> raw{};
  std::size_t at = 2;
  if (!take_integer(der, at, raw.data()) || !take_integer(der, at, raw.data() + component_size) ||
      at != der.size()) {
    return std::nullopt;
  }
  return raw;
}

}  // namespace acemq::token::crypto::detail
