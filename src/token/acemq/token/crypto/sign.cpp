#include "acemq/token/crypto/sign.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <array>
#include <cstdint>
#include <optional>

#include "acemq/token/crypto/context_cache.hpp"
#include "acemq/token/crypto/openssl_handles.hpp"

namespace acemq::token::crypto {

namespace {

using detail::context_cache;
using detail::owned;
using detail::purpose;
using detail::sha256_digest;

constexpr std::size_t ed25519_signature_size = 64;
constexpr std::size_t sha256_size = 32;
constexpr std::size_t hmac_256_64_size = 8;  // RFC 9053 3.1: HMAC 256/64 truncates to 64 bits

bool is_hmac(algorithm alg) {
  return alg == algorithm::hs256 || alg == algorithm::hs384 || alg == algorithm::hs512 ||
         alg == algorithm::hmac_256_64;
}

// The digest an HMAC algorithm runs on (RFC 7518 3.2, RFC 9053 3.1); nullptr for the others.
EVP_MD* hmac_digest(algorithm alg) {
  switch (alg) {
    case algorithm::hs256:
    case algorithm::hmac_256_64:
      return detail::sha256_digest();
    case algorithm::hs384:
      return detail::sha384_digest();
    case algorithm::hs512:
      return detail::sha512_digest();
    default:
      return nullptr;
  }
}

// Never hand OpenSSL a null pointer for an empty message.
const std::uint8_t* data_pointer(byte_view data) {
  static constexpr std::uint8_t empty = 0;
  return data.empty() ? &empty : data.data();
}

// RFC 2104 HMAC through this thread's context for the key (pads absorbed at first use, RFC 2104
// 4). Writes the full tag to `tag`, returns the tag length for `alg` (0 on failure).
std::size_t compute_hmac(algorithm alg, const key& k, byte_view data,
                         std::array<std::uint8_t, EVP_MAX_MD_SIZE>& tag) {
  auto& cache = context_cache::this_thread();
  detail::hmac_context* ctx = cache.find_mac(k, alg);
  if (ctx == nullptr) {
    const auto secret = k.symmetric_bytes();
    if (secret.empty()) return 0;
    ctx = cache.insert_mac(k, alg, detail::hmac_context::create(hmac_digest(alg), secret));
    if (ctx == nullptr) return 0;
  }
  const std::size_t length = ctx->compute(data, tag.data());
  if (length == 0) {
    cache.discard(k, alg, purpose::mac);
    return 0;
  }
  return alg == algorithm::hmac_256_64 ? hmac_256_64_size : length;
}

// RFC 8032: Ed25519 hashes internally, so it signs the message through a digest-sign context;
// EVP_DigestSign/EVP_DigestVerify are one-shot and leave the context reusable.
EVP_MD_CTX* eddsa_context(const key& k, purpose use) {
  auto& cache = context_cache::this_thread();
  if (EVP_MD_CTX* ctx = cache.find_digest_signature(k, algorithm::eddsa, use)) return ctx;
  owned<EVP_MD_CTX> fresh(EVP_MD_CTX_new());
  if (!fresh) return nullptr;
  const int ok =
      use == purpose::sign
          ? EVP_DigestSignInit(fresh.get(), nullptr, nullptr, nullptr, k.native_handle())
          : EVP_DigestVerifyInit(fresh.get(), nullptr, nullptr, nullptr, k.native_handle());
  if (ok != 1) return nullptr;
  return cache.insert_digest_signature(k, algorithm::eddsa, use, fresh.release());
}

// ECDSA and RSA sign/verify a SHA-256 digest through an EVP_PKEY_CTX prepared once per key,
// algorithm and direction, with the padding each algorithm requires.
EVP_PKEY_CTX* digest_pkey_context(algorithm alg, const key& k, purpose use) {
  auto& cache = context_cache::this_thread();
  if (EVP_PKEY_CTX* ctx = cache.find_pkey(k, alg, use)) return ctx;
  EVP_MD* md = sha256_digest();
  if (md == nullptr || k.native_handle() == nullptr) return nullptr;
  owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, k.native_handle(), nullptr));
  if (!ctx) return nullptr;
  if ((use == purpose::sign ? EVP_PKEY_sign_init(ctx.get()) : EVP_PKEY_verify_init(ctx.get())) !=
      1) {
    return nullptr;
  }
  if (alg == algorithm::ps256) {
    // RFC 7518 3.5: MGF1 with SHA-256 and a salt as long as the hash (32 bytes).
    if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) != 1) {
      return nullptr;
    }
  } else if (alg == algorithm::rs256) {
    // RFC 8017 8.2: EMSA-PKCS1-v1_5, the DigestInfo added by OpenSSL from the signature digest.
    if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) return nullptr;
  }
  if (EVP_PKEY_CTX_set_signature_md(ctx.get(), md) != 1) return nullptr;
  return cache.insert_pkey(k, alg, use, ctx.release());
}

// SHA-256 of the message, in this thread's scratch digest context.
bool sha256(byte_view data, std::array<std::uint8_t, sha256_size>& out) {
  EVP_MD* md = sha256_digest();
  EVP_MD_CTX* ctx = context_cache::this_thread().scratch_digest();
  unsigned int length = 0;
  return md != nullptr && ctx != nullptr && EVP_DigestInit_ex2(ctx, md, nullptr) == 1 &&
         EVP_DigestUpdate(ctx, data_pointer(data), data.size()) == 1 &&
         EVP_DigestFinal_ex(ctx, out.data(), &length) == 1 && length == sha256_size;
}

failure openssl_failed(failure reason) {
  ERR_clear_error();  // do not leave OpenSSL's error queue to confuse later calls
  return reason;
}

}  // namespace

std::size_t signature_size(algorithm alg, const key& k) noexcept {
  switch (alg) {
    case algorithm::hs256:
      return 32;
    case algorithm::hs384:
      return 48;
    case algorithm::hs512:
      return 64;
    case algorithm::hmac_256_64:
      return hmac_256_64_size;
    case algorithm::eddsa:
      return ed25519_signature_size;
    case algorithm::es256:
      return detail::es256_raw_size;
    case algorithm::rs256:
    case algorithm::ps256:
      return k.type() == key_type::rsa && k.native_handle()
                 ? static_cast<std::size_t>(EVP_PKEY_get_size(k.native_handle()))
                 : 0;
    default:
      return 0;
  }
}

result<byte_vector, failure> sign(algorithm alg, const key& signing_key, byte_view data) {
  if (!is_signature_or_mac(alg)) return unexpected(failure::unsupported_algorithm);
  if (auto allowed = check_key_allows(signing_key, alg); !allowed) {
    return unexpected(allowed.error());
  }
  if (!signing_key.is_private()) return unexpected(failure::bad_key);
  if (is_hmac(alg)) {
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> tag;
    const std::size_t length = compute_hmac(alg, signing_key, data, tag);
    if (length == 0) return unexpected(openssl_failed(failure::bad_key));
    return byte_vector(tag.begin(), tag.begin() + static_cast<std::ptrdiff_t>(length));
  }

  if (alg == algorithm::eddsa) {
    EVP_MD_CTX* ctx = eddsa_context(signing_key, purpose::sign);
    byte_vector signature(ed25519_signature_size);
    std::size_t length = signature.size();
    if (ctx == nullptr ||
        EVP_DigestSign(ctx, signature.data(), &length, data_pointer(data), data.size()) != 1 ||
        length != ed25519_signature_size) {
      context_cache::this_thread().discard(signing_key, alg, purpose::sign);
      return unexpected(openssl_failed(failure::bad_key));
    }
    return signature;
  }

  std::array<std::uint8_t, sha256_size> digest;
  EVP_PKEY_CTX* ctx = digest_pkey_context(alg, signing_key, purpose::sign);
  if (ctx == nullptr || !sha256(data, digest)) return unexpected(openssl_failed(failure::bad_key));
  if (alg == algorithm::es256) {
    std::array<std::uint8_t, detail::es256_der_max_size> der;
    std::size_t length = der.size();
    if (EVP_PKEY_sign(ctx, der.data(), &length, digest.data(), digest.size()) != 1) {
      context_cache::this_thread().discard(signing_key, alg, purpose::sign);
      return unexpected(openssl_failed(failure::bad_key));
    }
    auto raw = detail::es256_der_to_raw(byte_view(der.data(), length));
    if (!raw) return unexpected(failure::bad_signature);
    return byte_vector(raw->begin(), raw->end());
  }
  byte_vector signature(signature_size(alg, signing_key));
  std::size_t length = signature.size();
  if (signature.empty() ||
      EVP_PKEY_sign(ctx, signature.data(), &length, digest.data(), digest.size()) != 1) {
    context_cache::this_thread().discard(signing_key, alg, purpose::sign);
    return unexpected(openssl_failed(failure::bad_key));
  }
  signature.resize(length);
  return signature;
}

result<void, failure> verify(algorithm alg, const key& verification_key, byte_view data,
                             byte_view signature) {
  if (!is_signature_or_mac(alg)) return unexpected(failure::unsupported_algorithm);
  if (auto allowed = check_key_allows(verification_key, alg); !allowed) {
    return unexpected(allowed.error());
  }
  // Exact lengths only: no truncated MAC, no DER-encoded ECDSA, no short RSA signature.
  if (signature.size() != signature_size(alg, verification_key)) {
    return unexpected(failure::bad_signature);
  }
  if (is_hmac(alg)) {
    std::array<std::uint8_t, EVP_MAX_MD_SIZE> tag;
    const std::size_t length = compute_hmac(alg, verification_key, data, tag);
    if (length == 0) return unexpected(openssl_failed(failure::bad_key));
    // Constant time, so a forger learns nothing from how long a wrong tag takes to refuse.
    if (!constant_time_equal(byte_view(tag.data(), length), signature)) {
      return unexpected(failure::bad_signature);
    }
    return {};
  }

  if (alg == algorithm::eddsa) {
    EVP_MD_CTX* ctx = eddsa_context(verification_key, purpose::verify);
    if (ctx == nullptr) return unexpected(openssl_failed(failure::bad_key));
    const int ok =
        EVP_DigestVerify(ctx, signature.data(), signature.size(), data_pointer(data), data.size());
    ERR_clear_error();
    if (ok != 1) return unexpected(failure::bad_signature);
    return {};
  }

  std::optional<detail::es256_der> der;
  byte_view to_check = signature;
  if (alg == algorithm::es256) {
    der = detail::es256_raw_to_der(signature);
    if (!der) return unexpected(failure::bad_signature);
    to_check = der->view();
  }
  std::array<std::uint8_t, sha256_size> digest;
  EVP_PKEY_CTX* ctx = digest_pkey_context(alg, verification_key, purpose::verify);
  if (ctx == nullptr || !sha256(data, digest)) return unexpected(openssl_failed(failure::bad_key));
  const int ok =
      EVP_PKEY_verify(ctx, to_check.data(), to_check.size(), digest.data(), digest.size());
  ERR_clear_error();
  if (ok != 1) return unexpected(failure::bad_signature);
  return {};
}

}  // namespace acemq::token::crypto
