#include "acemq/token/jose/jwe.hpp"

#include <openssl/crypto.h>

#include "acemq/common/base64.hpp"
#include "acemq/common/utf8.hpp"
#include "acemq/token/crypto/aead.hpp"

namespace acemq::token::jose {

namespace {

using crypto::algorithm;
using crypto::key;

// RFC 7518 5.3: the key sizes of the GCM content encryption algorithms.
std::optional<std::size_t> content_key_size(algorithm enc) {
  if (enc == algorithm::a128gcm) return 16;
  if (enc == algorithm::a256gcm) return 32;
  return std::nullopt;
}

bool is_key_management(algorithm alg) {
  return alg == algorithm::dir || alg == algorithm::a128kw || alg == algorithm::a256kw ||
         alg == algorithm::ecdh_es;
}

// Wipes a content-encryption key when it goes out of scope.
struct secret_bytes {
  byte_vector bytes;
  ~secret_bytes() {
    if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
  }
};

struct jwe_segments {
  boost::json::object header;
  algorithm alg;
  algorithm enc;
  std::optional<std::string> kid;
  std::string_view protected_header;  // the AAD (RFC 7516 5.2 step 14)
  byte_vector encrypted_key;
  byte_vector iv;
  byte_vector ciphertext_and_tag;
};

result<jwe_segments, failure> parse_jwe(std::string_view compact, const limits& bounds) {
  auto parts = read_compact(compact, 5, bounds);
  if (!parts) return unexpected(parts.error());
  const auto& segments = parts->segments;
  boost::json::object& header = parts->header;

  auto alg_name = optional_string(header, "alg");
  auto enc_name = optional_string(header, "enc");
  if (!alg_name || !*alg_name || !enc_name || !*enc_name) return unexpected(failure::bad_encoding);
  if (**alg_name == "none") return unexpected(failure::alg_none);
  auto alg = crypto::algorithm_from_jose_name(**alg_name);
  auto enc = crypto::algorithm_from_jose_name(**enc_name);
  if (!alg || !is_key_management(*alg) || !enc || !content_key_size(*enc)) {
    return unexpected(failure::unsupported_algorithm);
  }
  // RFC 7516 4.1.3: "zip" is refused by design (compression invites decompression bombs).
  if (header.contains("zip")) return unexpected(failure::unsupported_algorithm);
  if (auto critical = check_critical(header); !critical) return unexpected(critical.error());
  auto kid = optional_string(header, "kid");
  if (!kid) return unexpected(kid.error());

  auto encrypted_key = base64url_decode(segments[1]);
  auto iv = base64url_decode(segments[2]);
  auto ciphertext = base64url_decode(segments[3]);
  auto tag = base64url_decode(segments[4]);
  if (!encrypted_key || !iv || !ciphertext || !tag) return unexpected(failure::bad_encoding);
  if (iv->size() != crypto::gcm_iv_size) return unexpected(failure::bad_encoding);
  // A truncated tag is an authentication failure, never a shorter tag to check.
  if (tag->size() != crypto::gcm_tag_size) return unexpected(failure::decryption_failed);

  jwe_segments out{std::move(header),
                   *alg,
                   *enc,
                   *kid ? std::optional<std::string>(std::string(**kid)) : std::nullopt,
                   segments[0],
                   std::move(*encrypted_key),
                   std::move(*iv),
                   std::move(*ciphertext)};
  out.ciphertext_and_tag.insert(out.ciphertext_and_tag.end(), tag->begin(), tag->end());
  return out;
}

// RFC 7518 4.6.2: the CEK is derived from Z with AlgorithmID = the "enc" value (direct mode).
result<byte_vector, failure> derive_ecdh_es(const key& private_key, const key& public_key,
                                            algorithm enc, byte_view apu, byte_view apv) {
  auto z = crypto::ecdh_shared_secret(private_key, public_key);
  if (!z) return unexpected(z.error());
  secret_bytes shared{std::move(z).value()};
  return crypto::concat_kdf_sha256(shared.bytes, *content_key_size(enc), crypto::jose_name(enc),
                                   apu, apv);
}

result<decrypted_jwe, failure> decrypt_parsed(jwe_segments&& jwe, const key& recipient) {
  if (auto allowed = crypto::check_key_allows(recipient, jwe.alg); !allowed) {
    return unexpected(allowed.error());
  }
  const std::size_t key_size = *content_key_size(jwe.enc);
  secret_bytes cek;
  switch (jwe.alg) {
    case algorithm::dir: {
      // RFC 7516 5.2 step 10: the encrypted key must be empty for direct modes.
      if (!jwe.encrypted_key.empty()) return unexpected(failure::bad_encoding);
      const auto secret = recipient.symmetric_bytes();
      if (secret.size() != key_size) return unexpected(failure::algorithm_not_allowed);
      cek.bytes.assign(secret.begin(), secret.end());
      break;
    }
    case algorithm::a128kw:
    case algorithm::a256kw: {
      auto unwrapped = crypto::aes_key_unwrap(recipient.symmetric_bytes(), jwe.encrypted_key);
      if (!unwrapped) return unexpected(failure::decryption_failed);
      cek.bytes = std::move(unwrapped).value();
      if (cek.bytes.size() != key_size) return unexpected(failure::decryption_failed);
      break;
    }
    case algorithm::ecdh_es: {
      if (!jwe.encrypted_key.empty()) return unexpected(failure::bad_encoding);
      if (!recipient.is_private()) return unexpected(failure::bad_key);
      const auto* epk_value = jwe.header.if_contains("epk");
      const auto* epk_object = epk_value ? epk_value->if_object() : nullptr;
      if (epk_object == nullptr) return unexpected(failure::bad_encoding);
      // The ephemeral key must be a valid public P-256 point (no invalid-curve attacks).
      auto epk = parse_jwk(*epk_object, jwk_options{.public_only = true, .required_use = {}});
      if (!epk || epk->type() != crypto::key_type::ec_p256) return unexpected(failure::bad_key);
      auto apu = optional_base64url(jwe.header, "apu");
      auto apv = optional_base64url(jwe.header, "apv");
      if (!apu || !apv) return unexpected(failure::bad_encoding);
      auto derived = derive_ecdh_es(recipient, *epk, jwe.enc, apu->value_or(byte_vector{}),
                                    apv->value_or(byte_vector{}));
      if (!derived) return unexpected(derived.error());
      cek.bytes = std::move(derived).value();
      break;
    }
    default:
      return unexpected(failure::unsupported_algorithm);
  }
  auto plaintext = crypto::aes_gcm_decrypt(cek.bytes, jwe.iv, as_bytes(jwe.protected_header),
                                           jwe.ciphertext_and_tag);
  if (!plaintext) return unexpected(failure::decryption_failed);
  return decrypted_jwe{std::move(jwe.header), jwe.alg, jwe.enc, std::move(jwe.kid),
                       std::move(plaintext).value()};
}

}  // namespace

result<std::string, failure> encrypt_jwe(byte_view plaintext, const key& recipient,
                                         const jwe_encrypt_options& options,
                                         random_source& random) {
  const auto key_size = content_key_size(options.content);
  if (!is_key_management(options.key_management) || !key_size) {
    return unexpected(failure::unsupported_algorithm);
  }
  if (auto allowed = crypto::check_key_allows(recipient, options.key_management); !allowed) {
    return unexpected(allowed.error());
  }
  boost::json::object header;
  header["alg"] = crypto::jose_name(options.key_management);
  header["enc"] = crypto::jose_name(options.content);
  if (options.kid) {
    if (!options.kid->empty()) header["kid"] = *options.kid;
  } else if (recipient.kid() && is_valid_utf8(as_string_view(*recipient.kid()))) {
    header["kid"] = as_string_view(*recipient.kid());
  }
  if (options.typ) header["typ"] = *options.typ;
  if (options.cty) header["cty"] = *options.cty;

  secret_bytes cek;
  byte_vector encrypted_key;
  switch (options.key_management) {
    case algorithm::dir: {
      const auto secret = recipient.symmetric_bytes();
      if (secret.size() != *key_size) return unexpected(failure::algorithm_not_allowed);
      cek.bytes.assign(secret.begin(), secret.end());
      break;
    }
    case algorithm::a128kw:
    case algorithm::a256kw: {
      cek.bytes = random.bytes(*key_size);
      auto wrapped = crypto::aes_key_wrap(recipient.symmetric_bytes(), cek.bytes);
      if (!wrapped) return unexpected(wrapped.error());
      encrypted_key = std::move(wrapped).value();
      break;
    }
    case algorithm::ecdh_es: {
      const key ephemeral = key::generate_p256();
      auto ephemeral_public = ephemeral.public_key();
      if (!ephemeral_public) return unexpected(ephemeral_public.error());
      auto epk = to_jwk(*ephemeral_public, jwk_content::public_only);
      if (!epk) return unexpected(epk.error());
      header["epk"] = std::move(*epk);
      if (!options.apu.empty()) header["apu"] = base64url_encode(options.apu);
      if (!options.apv.empty()) header["apv"] = base64url_encode(options.apv);
      auto derived =
          derive_ecdh_es(ephemeral, recipient, options.content, options.apu, options.apv);
      if (!derived) return unexpected(derived.error());
      cek.bytes = std::move(derived).value();
      break;
    }
    default:
      return unexpected(failure::unsupported_algorithm);
  }

  const std::string protected_header = base64url_encode(as_bytes(serialize(header)));
  const byte_vector iv = random.bytes(crypto::gcm_iv_size);
  auto sealed = crypto::aes_gcm_encrypt(cek.bytes, iv, as_bytes(protected_header), plaintext);
  if (!sealed) return unexpected(sealed.error());
  const byte_view sealed_view(*sealed);
  const auto ciphertext = sealed_view.first(sealed_view.size() - crypto::gcm_tag_size);
  const auto tag = sealed_view.last(crypto::gcm_tag_size);

  std::string compact = protected_header;
  for (byte_view segment : {byte_view(encrypted_key), byte_view(iv), ciphertext, tag}) {
    compact += '.';
    compact += base64url_encode(segment);
  }
  return compact;
}

result<decrypted_jwe, failure> decrypt_jwe(std::string_view compact, const key& recipient,
                                           const limits& bounds) {
  auto parsed = parse_jwe(compact, bounds);
  if (!parsed) return unexpected(parsed.error());
  return decrypt_parsed(std::move(parsed).value(), recipient);
}

result<decrypted_jwe, failure> decrypt_jwe(std::string_view compact, std::span<const key> keys,
                                           const limits& bounds) {
  auto parsed = parse_jwe(compact, bounds);
  if (!parsed) return unexpected(parsed.error());
  bool tried = false;
  failure last = parsed->kid ? failure::unknown_key : failure::algorithm_not_allowed;
  for (const auto& candidate : keys) {
    if (parsed->kid) {
      if (!candidate.kid() || as_string_view(*candidate.kid()) != *parsed->kid) continue;
    } else if (!crypto::check_key_allows(candidate, parsed->alg)) {
      continue;
    }
    // decrypt_parsed consumes its input; each attempt works on a copy.
    auto copy = *parsed;
    auto attempt = decrypt_parsed(std::move(copy), candidate);
    if (attempt) return attempt;
    if (!tried || attempt.error() == failure::decryption_failed) last = attempt.error();
    tried = true;
  }
  return unexpected(last);
}

result<std::optional<std::string>, failure> peek_kid(std::string_view compact,
                                                     const limits& bounds) {
  if (compact.size() > bounds.max_size) return unexpected(failure::too_large);
  const auto dot = compact.find('.');
  if (dot == std::string_view::npos) return unexpected(failure::bad_encoding);
  auto header = decode_object(compact.substr(0, dot), bounds.max_depth);
  if (!header) return unexpected(header.error());
  auto kid = optional_string(*header, "kid");
  if (!kid) return unexpected(kid.error());
  if (!*kid) return std::optional<std::string>{};
  return std::optional<std::string>{std::string(**kid)};
}

}  // namespace acemq::token::jose
