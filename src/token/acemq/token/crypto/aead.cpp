#include "acemq/token/crypto/aead.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/hmac.h>

#include <climits>

#include "acemq/token/crypto/openssl_handles.hpp"

namespace acemq::token::crypto {

namespace {

using detail::owned;

// OpenSSL's update functions take int lengths; tokens are far below this bound.
constexpr std::size_t max_message_size = INT_MAX / 2;

int as_int(std::size_t size) {
  return static_cast<int>(size);
}

const std::uint8_t* pointer(byte_view data) {
  static constexpr std::uint8_t empty = 0;
  return data.empty() ? &empty : data.data();
}

const EVP_CIPHER* gcm_cipher(std::size_t key_size) {
  if (key_size == 16) return EVP_aes_128_gcm();
  if (key_size == 32) return EVP_aes_256_gcm();
  return nullptr;
}

const EVP_CIPHER* wrap_cipher(std::size_t key_size) {
  if (key_size == 16) return EVP_aes_128_wrap();
  if (key_size == 32) return EVP_aes_256_wrap();
  return nullptr;
}

failure decryption_failed() {
  ERR_clear_error();
  return failure::decryption_failed;
}

failure bad_key() {
  ERR_clear_error();
  return failure::bad_key;
}

}  // namespace

result<byte_vector, failure> aes_gcm_encrypt(byte_view key, byte_view iv, byte_view aad,
                                             byte_view plaintext) {
  const EVP_CIPHER* cipher = gcm_cipher(key.size());
  if (cipher == nullptr || iv.size() != gcm_iv_size) return unexpected(failure::bad_key);
  if (plaintext.size() > max_message_size || aad.size() > max_message_size) {
    return unexpected(failure::too_large);
  }
  owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, as_int(iv.size()), nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), iv.data()) != 1) {
    return unexpected(bad_key());
  }
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, aad.data(), as_int(aad.size())) != 1) {
    return unexpected(bad_key());
  }
  byte_vector out(plaintext.size() + gcm_tag_size);
  int written = 0;
  if (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), out.data(), &written, plaintext.data(),
                                              as_int(plaintext.size())) != 1) {
    return unexpected(bad_key());
  }
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + written, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, as_int(gcm_tag_size),
                          out.data() + plaintext.size()) != 1) {
    return unexpected(bad_key());
  }
  return out;
}

result<byte_vector, failure> aes_gcm_decrypt(byte_view key, byte_view iv, byte_view aad,
                                             byte_view ciphertext_and_tag) {
  const EVP_CIPHER* cipher = gcm_cipher(key.size());
  if (cipher == nullptr || iv.size() != gcm_iv_size) return unexpected(failure::bad_key);
  if (ciphertext_and_tag.size() < gcm_tag_size) return unexpected(failure::decryption_failed);
  if (ciphertext_and_tag.size() > max_message_size || aad.size() > max_message_size) {
    return unexpected(failure::too_large);
  }
  const std::size_t ciphertext_size = ciphertext_and_tag.size() - gcm_tag_size;
  byte_vector tag(ciphertext_and_tag.begin() + static_cast<std::ptrdiff_t>(ciphertext_size),
                  ciphertext_and_tag.end());
  owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, as_int(iv.size()), nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), iv.data()) != 1) {
    return unexpected(bad_key());
  }
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &length, aad.data(), as_int(aad.size())) != 1) {
    return unexpected(decryption_failed());
  }
  byte_vector out(ciphertext_size);
  int written = 0;
  if (ciphertext_size > 0 &&
      EVP_DecryptUpdate(ctx.get(), out.data(), &written, ciphertext_and_tag.data(),
                        as_int(ciphertext_size)) != 1) {
    return unexpected(decryption_failed());
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, as_int(gcm_tag_size), tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out.data() + written, &length) != 1) {
    // Release nothing that was decrypted under a tag that does not verify.
    OPENSSL_cleanse(out.data(), out.size());
    return unexpected(decryption_failed());
  }
  return out;
}

result<byte_vector, failure> aes_ccm_16_64_128_encrypt(byte_view key, byte_view nonce,
                                                       byte_view aad, byte_view plaintext) {
  if (key.size() != ccm_16_64_128_key_size || nonce.size() != ccm_16_64_128_nonce_size) {
    return unexpected(failure::bad_key);
  }
  // RFC 9053 4.2: L = 16 bits limits the message to 2^16 - 1 bytes.
  if (plaintext.size() > 0xFFFF || aad.size() > max_message_size) {
    return unexpected(failure::too_large);
  }
  owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_ccm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_CCM_SET_IVLEN, as_int(nonce.size()), nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_CCM_SET_TAG, as_int(ccm_16_64_128_tag_size),
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce.data()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, nullptr, as_int(plaintext.size())) != 1) {
    return unexpected(bad_key());
  }
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, aad.data(), as_int(aad.size())) != 1) {
    return unexpected(bad_key());
  }
  byte_vector out(plaintext.size() + ccm_16_64_128_tag_size);
  int written = 0;
  if (EVP_EncryptUpdate(ctx.get(), out.data(), &written, pointer(plaintext),
                        as_int(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + written, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_CCM_GET_TAG, as_int(ccm_16_64_128_tag_size),
                          out.data() + plaintext.size()) != 1) {
    return unexpected(bad_key());
  }
  return out;
}

result<byte_vector, failure> aes_ccm_16_64_128_decrypt(byte_view key, byte_view nonce,
                                                       byte_view aad,
                                                       byte_view ciphertext_and_tag) {
  if (key.size() != ccm_16_64_128_key_size || nonce.size() != ccm_16_64_128_nonce_size) {
    return unexpected(failure::bad_key);
  }
  if (ciphertext_and_tag.size() < ccm_16_64_128_tag_size) {
    return unexpected(failure::decryption_failed);
  }
  const std::size_t ciphertext_size = ciphertext_and_tag.size() - ccm_16_64_128_tag_size;
  if (ciphertext_size > 0xFFFF || aad.size() > max_message_size) {
    return unexpected(failure::too_large);
  }
  byte_vector tag(ciphertext_and_tag.begin() + static_cast<std::ptrdiff_t>(ciphertext_size),
                  ciphertext_and_tag.end());
  owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_128_ccm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_CCM_SET_IVLEN, as_int(nonce.size()), nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_CCM_SET_TAG, as_int(tag.size()), tag.data()) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key.data(), nonce.data()) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &length, nullptr, as_int(ciphertext_size)) != 1) {
    return unexpected(bad_key());
  }
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &length, aad.data(), as_int(aad.size())) != 1) {
    return unexpected(decryption_failed());
  }
  byte_vector out(ciphertext_size + 1);  // +1: a valid pointer even for an empty message
  // For CCM the tag is checked by this single update call.
  if (EVP_DecryptUpdate(ctx.get(), out.data(), &length, pointer(ciphertext_and_tag),
                        as_int(ciphertext_size)) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return unexpected(decryption_failed());
  }
  out.resize(ciphertext_size);
  return out;
}

result<byte_vector, failure> aes_key_wrap(byte_view kek, byte_view key_to_wrap) {
  const EVP_CIPHER* cipher = wrap_cipher(kek.size());
  // RFC 3394 2.2.1: at least two 64-bit blocks.
  if (cipher == nullptr || key_to_wrap.size() < 16 || key_to_wrap.size() % 8 != 0 ||
      key_to_wrap.size() > 4096) {
    return unexpected(failure::bad_key);
  }
  owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return unexpected(bad_key());
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  byte_vector out(key_to_wrap.size() + 8);
  int written = 0;
  int final_length = 0;
  if (EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, kek.data(), nullptr) != 1 ||
      EVP_EncryptUpdate(ctx.get(), out.data(), &written, key_to_wrap.data(),
                        as_int(key_to_wrap.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), out.data() + written, &final_length) != 1) {
    return unexpected(bad_key());
  }
  out.resize(static_cast<std::size_t>(written + final_length));
  return out;
}

result<byte_vector, failure> aes_key_unwrap(byte_view kek, byte_view wrapped) {
  const EVP_CIPHER* cipher = wrap_cipher(kek.size());
  if (cipher == nullptr) return unexpected(failure::bad_key);
  if (wrapped.size() < 24 || wrapped.size() % 8 != 0 || wrapped.size() > 4096 + 8) {
    return unexpected(failure::decryption_failed);
  }
  owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return unexpected(bad_key());
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  byte_vector out(wrapped.size());
  int written = 0;
  int final_length = 0;
  if (EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, kek.data(), nullptr) != 1) {
    return unexpected(bad_key());
  }
  // RFC 3394 2.2.3: the integrity check value must come out as A6A6A6A6A6A6A6A6.
  if (EVP_DecryptUpdate(ctx.get(), out.data(), &written, wrapped.data(), as_int(wrapped.size())) !=
          1 ||
      written <= 0 || EVP_DecryptFinal_ex(ctx.get(), out.data() + written, &final_length) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return unexpected(decryption_failed());
  }
  out.resize(static_cast<std::size_t>(written + final_length));
  return out;
}

byte_vector sha256(byte_view data) {
  byte_vector out(32);
  unsigned int length = 0;
  EVP_Digest(pointer(data), data.size(), out.data(), &length, EVP_sha256(), nullptr);
  return out;
}

byte_vector hmac_sha256(byte_view key, byte_view data) {
  byte_vector out(32);
  unsigned int length = 0;
  HMAC(EVP_sha256(), pointer(key), as_int(key.size()), pointer(data), data.size(), out.data(),
       &length);
  return out;
}

result<byte_vector, failure> hkdf_sha256(byte_view ikm, byte_view salt, byte_view info,
                                         std::size_t length) {
  // RFC 5869 2.3: L <= 255 * HashLen.
  if (length == 0 || length > 255 * 32 || ikm.empty() || ikm.size() > max_message_size ||
      info.size() > 1024 || salt.size() > max_message_size) {
    return unexpected(failure::bad_key);
  }
  owned<EVP_KDF> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return unexpected(bad_key());
  owned<EVP_KDF_CTX> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return unexpected(bad_key());
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  std::size_t count = 0;
  params[count++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[count++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(ikm.data()), ikm.size());
  // An absent salt is a string of HashLen zeros (RFC 5869 2.2); OpenSSL does the same.
  if (!salt.empty()) {
    params[count++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SALT, const_cast<std::uint8_t*>(salt.data()), salt.size());
  }
  if (!info.empty()) {
    params[count++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_INFO, const_cast<std::uint8_t*>(info.data()), info.size());
  }
  params[count] = OSSL_PARAM_construct_end();
  byte_vector out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1) {
    return unexpected(bad_key());
  }
  return out;
}

result<byte_vector, failure> ecdh_shared_secret(const key& private_key, const key& peer_public) {
  if (private_key.type() != key_type::ec_p256 || peer_public.type() != key_type::ec_p256 ||
      !private_key.is_private()) {
    return unexpected(failure::bad_key);
  }
  owned<EVP_PKEY_CTX> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, private_key.native_handle(), nullptr));
  std::size_t length = 0;
  // derive_set_peer validates the peer's public key in OpenSSL 3.
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), peer_public.native_handle()) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &length) != 1) {
    return unexpected(bad_key());
  }
  byte_vector z(length);
  if (EVP_PKEY_derive(ctx.get(), z.data(), &length) != 1) return unexpected(bad_key());
  z.resize(length);
  return z;
}

byte_vector concat_kdf_sha256(byte_view z, std::size_t key_size, std::string_view algorithm_id,
                              byte_view apu, byte_view apv) {
  auto append_u32 = [](byte_vector& out, std::uint32_t value) {
    out.push_back(static_cast<std::uint8_t>(value >> 24));
    out.push_back(static_cast<std::uint8_t>(value >> 16));
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value));
  };
  auto append_with_length = [&](byte_vector& out, byte_view data) {
    append_u32(out, static_cast<std::uint32_t>(data.size()));
    out.insert(out.end(), data.begin(), data.end());
  };
  // RFC 7518 4.6.2: OtherInfo = AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo, each
  // variable field prefixed by its 32-bit big-endian length; SuppPubInfo = keydatalen in bits.
  byte_vector other_info;
  append_with_length(other_info, as_bytes(algorithm_id));
  append_with_length(other_info, apu);
  append_with_length(other_info, apv);
  append_u32(other_info, static_cast<std::uint32_t>(key_size * 8));

  byte_vector derived;
  for (std::uint32_t counter = 1; derived.size() < key_size; ++counter) {
    byte_vector round;
    append_u32(round, counter);
    round.insert(round.end(), z.begin(), z.end());
    round.insert(round.end(), other_info.begin(), other_info.end());
    const auto digest = sha256(round);
    OPENSSL_cleanse(round.data(), round.size());
    derived.insert(derived.end(), digest.begin(), digest.end());
  }
  derived.resize(key_size);
  return derived;
}

}  // namespace acemq::token::crypto
