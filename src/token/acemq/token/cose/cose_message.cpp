#include "acemq/token/cose/cose_message.hpp"

#include <utility>

#include "acemq/token/crypto/aead.hpp"
#include "acemq/token/crypto/sign.hpp"

namespace acemq::token::cose {
namespace {

constexpr auto label(header_label l) {
  return static_cast<std::int64_t>(l);
}

bool is_signature(crypto::algorithm alg) {
  return alg == crypto::algorithm::eddsa || alg == crypto::algorithm::es256 ||
         alg == crypto::algorithm::rs256 || alg == crypto::algorithm::ps256;
}

bool is_mac(crypto::algorithm alg) {
  return alg == crypto::algorithm::hs256 || alg == crypto::algorithm::hs384 ||
         alg == crypto::algorithm::hs512 || alg == crypto::algorithm::hmac_256_64;
}

bool is_content_encryption(crypto::algorithm alg) {
  return alg == crypto::algorithm::a128gcm || alg == crypto::algorithm::a256gcm ||
         alg == crypto::algorithm::aes_ccm_16_64_128;
}

bool type_allows(message_type type, crypto::algorithm alg) {
  switch (type) {
    case message_type::sign1:
      return is_signature(alg);
    case message_type::mac0:
      return is_mac(alg);
    case message_type::encrypt0:
      return is_content_encryption(alg);
  }
  return false;
}

// The labels whose meaning we implement, and so may appear in crit (RFC 9052 3.1).
bool understood(const cbor::value& crit_label) {
  auto number = crit_label.as_int64();
  if (!number) return false;
  return *number >= label(header_label::alg) && *number <= label(header_label::partial_iv) &&
         *number != label(header_label::crit);
}

// Reads the common parameters of one bucket into `out`.
result<void, failure> read_bucket(const cbor::value& bucket, bool is_protected, headers& out) {
  for (const auto& entry : bucket.entries()) {
    // RFC 9052 3: labels are integers or text strings.
    if (!entry.key.is_integer() && !entry.key.is_text()) return unexpected{failure::bad_encoding};
    auto number = entry.key.as_int64();
    if (!number) continue;  // text labels: application-defined, ignored unless critical
    const cbor::value& item = entry.item;
    switch (*number) {
      case label(header_label::alg):
        if (!item.is_integer() && !item.is_text()) return unexpected{failure::bad_encoding};
        // Text algorithm names are private-use (RFC 9052 3.1); none is implemented.
        if (!item.is_integer() || !item.as_int64()) {
          return unexpected{failure::unsupported_algorithm};
        }
        out.alg = item.as_int64();
        out.alg_protected = is_protected;
        break;
      case label(header_label::crit):
        // RFC 9052 3.1: crit is protected, a non-empty array of labels.
        if (!is_protected || !item.is_array() || item.items().empty()) {
          return unexpected{failure::bad_encoding};
        }
        for (const auto& critical : item.items()) {
          if (!critical.is_integer() && !critical.is_text()) {
            return unexpected{failure::bad_encoding};
          }
          if (!understood(critical)) return unexpected{failure::unknown_critical_header};
        }
        break;
      case label(header_label::content_type):
        if (!item.as_uint64() && !item.is_text()) return unexpected{failure::bad_encoding};
        out.content_type = item;
        break;
      case label(header_label::kid):
        if (!item.is_bytes()) return unexpected{failure::bad_encoding};
        out.kid = item.byte_content();
        break;
      case label(header_label::iv):
        if (!item.is_bytes()) return unexpected{failure::bad_encoding};
        out.iv = item.byte_content();
        break;
      case label(header_label::partial_iv):
        if (!item.is_bytes()) return unexpected{failure::bad_encoding};
        out.partial_iv = item.byte_content();
        break;
      default:
        break;
    }
  }
  return {};
}

result<headers, failure> read_headers(const cbor::value& protected_item,
                                      const cbor::value& unprotected_item,
                                      const cbor::decode_limits& limits) {
  headers out;
  // RFC 9052 3: the protected bucket is a bstr wrapping a map; a zero-length bstr is an empty map.
  if (!protected_item.is_bytes()) return unexpected{failure::bad_encoding};
  out.protected_bytes = protected_item.byte_content();
  if (!out.protected_bytes.empty()) {
    auto decoded = cbor::decode(out.protected_bytes, limits);
    if (!decoded) return unexpected{decoded.error()};
    if (!decoded->is_map()) return unexpected{failure::bad_encoding};
    out.protected_map = std::move(*decoded);
  }
  if (!unprotected_item.is_map()) return unexpected{failure::bad_encoding};
  out.unprotected_map = unprotected_item;

  // RFC 9052 3: a label must not appear in both buckets.
  for (const auto& entry : out.unprotected_map.entries()) {
    if (out.protected_map.find(entry.key) != nullptr) return unexpected{failure::bad_encoding};
  }
  if (auto read = read_bucket(out.protected_map, true, out); !read) {
    return unexpected{read.error()};
  }
  if (auto read = read_bucket(out.unprotected_map, false, out); !read) {
    return unexpected{read.error()};
  }
  // RFC 9052 3.1: IV and Partial IV must not both be present.
  if (out.iv && out.partial_iv) return unexpected{failure::bad_encoding};
  return out;
}

byte_vector to_be_covered(const char* context, byte_view protected_bytes, byte_view external_aad,
                          const byte_view* payload) {
  cbor::value structure = cbor::value::array();
  structure.push_back(cbor::value::text(context));
  structure.push_back(cbor::value::bytes(protected_bytes));
  structure.push_back(cbor::value::bytes(external_aad));
  if (payload != nullptr) structure.push_back(cbor::value::bytes(*payload));
  return cbor::encode(structure);
}

cbor::value protected_bucket(crypto::algorithm alg, const protect_options& options) {
  cbor::value map = cbor::value::map();
  map.insert(label(header_label::alg), cbor::value::integer(*crypto::cose_id(alg)));
  if (options.content_type) map.insert(label(header_label::content_type), *options.content_type);
  return map;
}

cbor::value unprotected_bucket(const crypto::key& key, const protect_options& options) {
  cbor::value map = cbor::value::map();
  if (!options.omit_kid) {
    if (options.kid) {
      map.insert(label(header_label::kid), cbor::value::bytes(*options.kid));
    } else if (key.kid()) {
      map.insert(label(header_label::kid), cbor::value::bytes(*key.kid()));
    }
  }
  return map;
}

byte_vector finish(message_type type, cbor::value structure, bool tagged) {
  if (tagged) return cbor::encode(cbor::value::tag(static_cast<std::uint64_t>(type), structure));
  return cbor::encode(structure);
}

result<void, failure> check_for_building(message_type type, crypto::algorithm alg,
                                         const crypto::key& key) {
  if (!type_allows(type, alg) || !crypto::cose_id(alg)) {
    return unexpected{failure::algorithm_not_allowed};
  }
  return crypto::check_key_allows(key, alg);
}

}  // namespace

byte_vector sig_structure(byte_view protected_bytes, byte_view external_aad, byte_view payload) {
  // RFC 9052 4.4: ["Signature1", body_protected, external_aad, payload].
  return to_be_covered("Signature1", protected_bytes, external_aad, &payload);
}

byte_vector mac_structure(byte_view protected_bytes, byte_view external_aad, byte_view payload) {
  // RFC 9052 6.3: ["MAC0", protected, external_aad, payload].
  return to_be_covered("MAC0", protected_bytes, external_aad, &payload);
}

byte_vector enc_structure(byte_view protected_bytes, byte_view external_aad) {
  // RFC 9052 5.3: ["Encrypt0", protected, external_aad].
  return to_be_covered("Encrypt0", protected_bytes, external_aad, nullptr);
}

result<message, failure> parse(const cbor::value& item, std::optional<message_type> untagged_type,
                               const cbor::decode_limits& limits) {
  message msg;
  const cbor::value* body = &item;
  if (item.is_tag()) {
    const std::uint64_t number = item.tag_number();
    if (number != static_cast<std::uint64_t>(message_type::sign1) &&
        number != static_cast<std::uint64_t>(message_type::mac0) &&
        number != static_cast<std::uint64_t>(message_type::encrypt0)) {
      return unexpected{failure::bad_encoding};
    }
    msg.type = static_cast<message_type>(number);
    // The caller expecting one type must not be handed another (e.g. a Mac0 where a Sign1 is due).
    if (untagged_type && *untagged_type != msg.type) return unexpected{failure::bad_encoding};
    msg.tagged = true;
    body = &item.tagged();
  } else {
    if (!untagged_type) return unexpected{failure::bad_encoding};
    msg.type = *untagged_type;
  }

  const std::size_t expected_size = msg.type == message_type::encrypt0 ? 3 : 4;
  if (!body->is_array() || body->items().size() != expected_size) {
    return unexpected{failure::bad_encoding};
  }
  const auto& parts = body->items();
  auto header = read_headers(parts[0], parts[1], limits);
  if (!header) return unexpected{header.error()};
  msg.header = std::move(*header);
  // Detached content (nil) is not used by tokens and not supported.
  if (!parts[2].is_bytes()) return unexpected{failure::bad_encoding};
  msg.content = parts[2].byte_content();
  if (msg.type != message_type::encrypt0) {
    if (!parts[3].is_bytes()) return unexpected{failure::bad_encoding};
    msg.signature_or_tag = parts[3].byte_content();
  }
  return msg;
}

result<message, failure> parse(byte_view bytes, std::optional<message_type> untagged_type,
                               const cbor::decode_limits& limits) {
  auto item = cbor::decode(bytes, limits);
  if (!item) return unexpected{item.error()};
  return parse(*item, untagged_type, limits);
}

result<crypto::algorithm, failure> checked_algorithm(const message& msg, const crypto::key& key) {
  if (!msg.header.alg) return unexpected{failure::bad_encoding};  // RFC 9052 3.1: alg required
  // Sign1/Mac0: an unprotected alg could be rewritten in transit.
  if (msg.type != message_type::encrypt0 && !msg.header.alg_protected) {
    return unexpected{failure::algorithm_not_allowed};
  }
  auto alg = crypto::algorithm_from_cose_id(*msg.header.alg);
  if (!alg) return unexpected{failure::unsupported_algorithm};
  if (!type_allows(msg.type, *alg)) return unexpected{failure::algorithm_not_allowed};
  if (auto allowed = crypto::check_key_allows(key, *alg); !allowed) {
    return unexpected{allowed.error()};
  }
  return *alg;
}

result<byte_vector, failure> verify(const message& msg, const crypto::key& key,
                                    byte_view external_aad) {
  if (msg.type == message_type::encrypt0) return unexpected{failure::bad_encoding};
  auto alg = checked_algorithm(msg, key);
  if (!alg) return unexpected{alg.error()};
  const byte_vector to_be_verified =
      msg.type == message_type::sign1
          ? sig_structure(msg.header.protected_bytes, external_aad, msg.content)
          : mac_structure(msg.header.protected_bytes, external_aad, msg.content);
  // crypto::verify compares MACs in constant time and refuses wrong-length signatures and tags.
  if (auto verified = crypto::verify(*alg, key, to_be_verified, msg.signature_or_tag); !verified) {
    return unexpected{verified.error()};
  }
  return msg.content;
}

result<byte_vector, failure> decrypt(const message& msg, const crypto::key& key,
                                     byte_view external_aad) {
  if (msg.type != message_type::encrypt0) return unexpected{failure::bad_encoding};
  auto alg = checked_algorithm(msg, key);
  if (!alg) return unexpected{alg.error()};
  // Partial IVs need a base IV from a context this library does not keep (RFC 9052 3.1).
  if (!msg.header.iv) return unexpected{failure::bad_encoding};
  const byte_vector aad = enc_structure(msg.header.protected_bytes, external_aad);
  const byte_view secret = key.symmetric_bytes();
  result<byte_vector, failure> plaintext = unexpected{failure::decryption_failed};
  if (*alg == crypto::algorithm::aes_ccm_16_64_128) {
    if (msg.header.iv->size() != crypto::ccm_16_64_128_nonce_size) {
      return unexpected{failure::bad_encoding};
    }
    plaintext = crypto::aes_ccm_16_64_128_decrypt(secret, *msg.header.iv, aad, msg.content);
  } else {
    if (msg.header.iv->size() != crypto::gcm_iv_size) return unexpected{failure::bad_encoding};
    plaintext = crypto::aes_gcm_decrypt(secret, *msg.header.iv, aad, msg.content);
  }
  if (!plaintext) return unexpected{failure::decryption_failed};
  return plaintext;
}

result<byte_vector, failure> open(const message& msg, const crypto::key& key,
                                  byte_view external_aad) {
  if (msg.type == message_type::encrypt0) return decrypt(msg, key, external_aad);
  return verify(msg, key, external_aad);
}

result<byte_vector, failure> sign1(crypto::algorithm alg, const crypto::key& key, byte_view payload,
                                   const protect_options& options) {
  if (auto allowed = check_for_building(message_type::sign1, alg, key); !allowed) {
    return unexpected{allowed.error()};
  }
  const byte_vector protected_bytes = cbor::encode(protected_bucket(alg, options));
  auto signature =
      crypto::sign(alg, key, sig_structure(protected_bytes, options.external_aad, payload));
  if (!signature) return unexpected{signature.error()};
  cbor::value structure =
      cbor::value::array({cbor::value::bytes(protected_bytes), unprotected_bucket(key, options),
                          cbor::value::bytes(payload), cbor::value::bytes(std::move(*signature))});
  return finish(message_type::sign1, std::move(structure), options.tagged);
}

result<byte_vector, failure> mac0(crypto::algorithm alg, const crypto::key& key, byte_view payload,
                                  const protect_options& options) {
  if (auto allowed = check_for_building(message_type::mac0, alg, key); !allowed) {
    return unexpected{allowed.error()};
  }
  const byte_vector protected_bytes = cbor::encode(protected_bucket(alg, options));
  auto tag = crypto::sign(alg, key, mac_structure(protected_bytes, options.external_aad, payload));
  if (!tag) return unexpected{tag.error()};
  cbor::value structure =
      cbor::value::array({cbor::value::bytes(protected_bytes), unprotected_bucket(key, options),
                          cbor::value::bytes(payload), cbor::value::bytes(std::move(*tag))});
  return finish(message_type::mac0, std::move(structure), options.tagged);
}

result<cbor::value, failure> encrypt0_value(crypto::algorithm alg, const crypto::key& key,
                                            byte_view plaintext, random_source& random,
                                            const protect_options& options) {
  if (auto allowed = check_for_building(message_type::encrypt0, alg, key); !allowed) {
    return unexpected{allowed.error()};
  }
  const bool ccm = alg == crypto::algorithm::aes_ccm_16_64_128;
  const std::size_t iv_size = ccm ? crypto::ccm_16_64_128_nonce_size : crypto::gcm_iv_size;
  byte_vector iv = options.iv ? *options.iv : random.bytes(iv_size);
  if (iv.size() != iv_size) return unexpected{failure::bad_key};

  const byte_vector protected_bytes = cbor::encode(protected_bucket(alg, options));
  const byte_vector aad = enc_structure(protected_bytes, options.external_aad);
  auto ciphertext =
      ccm ? crypto::aes_ccm_16_64_128_encrypt(key.symmetric_bytes(), iv, aad, plaintext)
          : crypto::aes_gcm_encrypt(key.symmetric_bytes(), iv, aad, plaintext);
  if (!ciphertext) return unexpected{ciphertext.error()};
  cbor::value unprotected = unprotected_bucket(key, options);
  unprotected.insert(label(header_label::iv), cbor::value::bytes(std::move(iv)));
  cbor::value structure =
      cbor::value::array({cbor::value::bytes(protected_bytes), std::move(unprotected),
                          cbor::value::bytes(std::move(*ciphertext))});
  if (options.tagged) {
    return cbor::value::tag(static_cast<std::uint64_t>(message_type::encrypt0),
                            std::move(structure));
  }
  return structure;
}

result<byte_vector, failure> encrypt0(crypto::algorithm alg, const crypto::key& key,
                                      byte_view plaintext, random_source& random,
                                      const protect_options& options) {
  auto item = encrypt0_value(alg, key, plaintext, random, options);
  if (!item) return unexpected{item.error()};
  return cbor::encode(*item);
}

}  // namespace acemq::token::cose
