#include "acemq/token/crypto/sign.hpp"

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include "acemq/token/crypto/openssl_handles.hpp"

namespace acemq::token::crypto {

namespace {

using detail::owned;

constexpr std::size_t ed25519_signature_size = 64;
constexpr std::size_t es256_component_size = 32;
constexpr std::size_t hmac_256_64_size = 8;  // RFC 9053 3.1: HMAC 256/64 truncates to 64 bits

const EVP_MD* hmac_digest(algorithm alg) {
  switch (alg) {
    case algorithm::hs256:
    case algorithm::hmac_256_64:
      return EVP_sha256();
    case algorithm::hs384:
      return EVP_sha384();
    case algorithm::hs512:
      return EVP_sha512();
    default:
      return nullptr;
  }
}

// Never hand OpenSSL a null pointer for an empty message.
const std::uint8_t* data_pointer(byte_view data) {
  static constexpr std::uint8_t empty = 0;
  return data.empty() ? &empty : data.data();
}

result<byte_vector, failure> compute_hmac(algorithm alg, const key& k, byte_view data) {
  const EVP_MD* md = hmac_digest(alg);
  const auto secret = k.symmetric_bytes();
  byte_vector tag(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  if (HMAC(md, secret.data(), static_cast<int>(secret.size()), data_pointer(data), data.size(),
           tag.data(), &length) == nullptr) {
    ERR_clear_error();
    return unexpected(failure::bad_key);
  }
  tag.resize(alg == algorithm::hmac_256_64 ? hmac_256_64_size : length);
  return tag;
}

// Sets up a digest-sign or digest-verify context with the padding each algorithm requires.
owned<EVP_MD_CTX> init_context(algorithm alg, const key& k, bool signing) {
  owned<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
  if (!ctx) return nullptr;
  // RFC 8032: Ed25519 hashes internally; OpenSSL wants no digest for it.
  const EVP_MD* md = alg == algorithm::eddsa ? nullptr : EVP_sha256();
  EVP_PKEY_CTX* pctx = nullptr;
  const int ok = signing ? EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, k.native_handle())
                         : EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, k.native_handle());
  if (ok != 1) return nullptr;
  if (alg == algorithm::ps256) {
    // RFC 7518 3.5: MGF1 with SHA-256 and a salt as long as the hash (32 bytes).
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1) {
      return nullptr;
    }
  } else if (alg == algorithm::rs256) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return nullptr;
  }
  return ctx;
}

// RFC 7518 3.4: the JWS/COSE form of an ECDSA P-256 signature is R || S, 32 bytes each.
result<byte_vector, failure> der_to_raw(byte_view der) {
  const unsigned char* cursor = der.data();
  owned<ECDSA_SIG> sig(d2i_ECDSA_SIG(nullptr, &cursor, static_cast<long>(der.size())));
  if (!sig) return unexpected(failure::bad_signature);
  byte_vector raw(2 * es256_component_size);
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), es256_component_size) < 0 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + es256_component_size,
                   es256_component_size) < 0) {
    return unexpected(failure::bad_signature);
  }
  return raw;
}

result<byte_vector, failure> raw_to_der(byte_view raw) {
  if (raw.size() != 2 * es256_component_size) return unexpected(failure::bad_signature);
  owned<ECDSA_SIG> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw.data(), es256_component_size, nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + es256_component_size, es256_component_size, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return unexpected(failure::bad_signature);
  }
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0) return unexpected(failure::bad_signature);
  byte_vector out(der, der + length);
  OPENSSL_free(der);
  return out;
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
      return 2 * es256_component_size;
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
  if (hmac_digest(alg) != nullptr) return compute_hmac(alg, signing_key, data);

  auto ctx = init_context(alg, signing_key, true);
  std::size_t length = 0;
  if (!ctx || EVP_DigestSign(ctx.get(), nullptr, &length, data_pointer(data), data.size()) != 1) {
    ERR_clear_error();
    return unexpected(failure::bad_key);
  }
  byte_vector signature(length);
  if (EVP_DigestSign(ctx.get(), signature.data(), &length, data_pointer(data), data.size()) != 1) {
    ERR_clear_error();
    return unexpected(failure::bad_key);
  }
  signature.resize(length);
  if (alg == algorithm::es256) return der_to_raw(signature);
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
  if (hmac_digest(alg) != nullptr) {
    auto expected = compute_hmac(alg, verification_key, data);
    if (!expected) return unexpected(expected.error());
    if (!constant_time_equal(*expected, signature)) return unexpected(failure::bad_signature);
    return {};
  }

  byte_vector der;
  byte_view to_check = signature;
  if (alg == algorithm::es256) {
    auto converted = raw_to_der(signature);
    if (!converted) return unexpected(converted.error());
    der = std::move(converted).value();
    to_check = der;
  }
  auto ctx = init_context(alg, verification_key, false);
  if (!ctx) {
    ERR_clear_error();
    return unexpected(failure::bad_key);
  }
  const int ok = EVP_DigestVerify(ctx.get(), to_check.data(), to_check.size(), data_pointer(data),
                                  data.size());
  ERR_clear_error();
  if (ok != 1) return unexpected(failure::bad_signature);
  return {};
}

}  // namespace acemq::token::crypto
