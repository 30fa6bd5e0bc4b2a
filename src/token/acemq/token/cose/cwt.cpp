#include "acemq/token/cose/cwt.hpp"

#include <cmath>
#include <utility>

#include "acemq/token/cose/cose_key.hpp"

namespace acemq::token::cose {
namespace {

constexpr auto key_of(claim_key k) {
  return static_cast<std::int64_t>(k);
}
constexpr auto key_of(confirmation_method k) {
  return static_cast<std::int64_t>(k);
}

enum class rounding : std::uint8_t { down, up };

// RFC 8392 2: NumericDate is an integer or a floating-point number of seconds.
result<std::int64_t, failure> numeric_date(const cbor::value& item, rounding direction) {
  if (auto number = item.as_int64()) return *number;
  if (auto number = item.as_double()) {
    if (!std::isfinite(*number)) return unexpected{failure::bad_encoding};
    const double rounded = direction == rounding::down ? std::floor(*number) : std::ceil(*number);
    // Within +-2^62 the conversion is exact and cannot overflow.
    constexpr double bound = 4611686018427387904.0;
    if (rounded < -bound || rounded > bound) return unexpected{failure::bad_encoding};
    return static_cast<std::int64_t>(rounded);
  }
  return unexpected{failure::bad_encoding};
}

/// Reads the NumericDate `item` (RFC 8392 2) into `out`, a fraction rounded in `direction`.
result<void, failure> read_date(const cbor::value& item, rounding direction,
                                std::optional<std::int64_t>& out) {
  auto date = numeric_date(item, direction);
  if (!date) return unexpected{date.error()};
  out = *date;
  return {};
}

result<confirmation, failure> confirmation_from_value(const cbor::value& item) {
  // RFC 8747 3.1: cnf is a map with exactly one confirmation method.
  if (!item.is_map() || item.entries().size() != 1) return unexpected{failure::bad_cnf};
  confirmation cnf;
  const cbor::map_entry& only = item.entries().front();
  auto method = only.key.as_int64();
  if (!method) return unexpected{failure::bad_cnf};
  switch (static_cast<confirmation_method>(*method)) {
    case confirmation_method::cose_key:
      if (!only.item.is_map()) return unexpected{failure::bad_cnf};
      cnf.cose_key = only.item;
      break;
    case confirmation_method::encrypted_cose_key:
      // RFC 8747 3.3: a COSE_Encrypt0 or COSE_Encrypt structure; we take Encrypt0.
      if (!only.item.is_array() && !only.item.is_tag()) return unexpected{failure::bad_cnf};
      cnf.encrypted_cose_key = only.item;
      break;
    case confirmation_method::kid:
      if (!only.item.is_bytes()) return unexpected{failure::bad_cnf};
      cnf.kid = only.item.byte_content();
      break;
    default:
      return unexpected{failure::bad_cnf};
  }
  return cnf;
}

cbor::value confirmation_to_value(const confirmation& cnf) {
  cbor::value map = cbor::value::map();
  if (cnf.cose_key) {
    map.insert(key_of(confirmation_method::cose_key), *cnf.cose_key);
  } else if (cnf.encrypted_cose_key) {
    map.insert(key_of(confirmation_method::encrypted_cose_key), *cnf.encrypted_cose_key);
  } else if (cnf.kid) {
    map.insert(key_of(confirmation_method::kid), cbor::value::bytes(*cnf.kid));
  }
  return map;
}

bool is_message_tag(std::uint64_t number) {
  return number == static_cast<std::uint64_t>(message_type::sign1) ||
         number == static_cast<std::uint64_t>(message_type::mac0) ||
         number == static_cast<std::uint64_t>(message_type::encrypt0);
}

}  // namespace

cbor::value to_value(const claims& c) {
  cbor::value map = cbor::value::map();
  auto put = [&map](claim_key k, cbor::value item) { map.insert(key_of(k), std::move(item)); };
  if (c.iss) put(claim_key::iss, cbor::value::text(*c.iss));
  if (c.sub) put(claim_key::sub, cbor::value::text(*c.sub));
  if (c.aud.size() == 1) {
    put(claim_key::aud, cbor::value::text(c.aud.front()));
  } else if (!c.aud.empty()) {
    cbor::value audiences = cbor::value::array();
    for (const auto& audience : c.aud)
      audiences.push_back(cbor::value::text(audience));
    put(claim_key::aud, std::move(audiences));
  }
  if (c.exp) put(claim_key::exp, cbor::value::integer(*c.exp));
  if (c.nbf) put(claim_key::nbf, cbor::value::integer(*c.nbf));
  if (c.iat) put(claim_key::iat, cbor::value::integer(*c.iat));
  if (c.cti) put(claim_key::cti, cbor::value::bytes(*c.cti));
  if (c.cnf) put(claim_key::cnf, confirmation_to_value(*c.cnf));
  if (c.scope) put(claim_key::scope, *c.scope);
  if (c.ace_profile) put(claim_key::ace_profile, cbor::value::integer(*c.ace_profile));
  if (c.cnonce) put(claim_key::cnonce, cbor::value::bytes(*c.cnonce));
  if (c.exi) put(claim_key::exi, cbor::value::unsigned_integer(*c.exi));
  // Extra claims the typed fields do not cover.
  for (const auto& entry : c.all.entries()) {
    if (map.find(entry.key) == nullptr) map.insert(entry.key, entry.item);
  }
  return map;
}

byte_vector encode_claims(const claims& c) {
  return cbor::encode(to_value(c));
}

result<claims, failure> claims_from_value(const cbor::value& map) {
  // RFC 8392 7.2 step 9: the payload must be a claims map.
  if (!map.is_map()) return unexpected{failure::bad_encoding};
  claims c;
  c.all = map;
  for (const auto& entry : map.entries()) {
    auto number = entry.key.as_int64();
    if (!number) continue;  // text-keyed claims stay in `all`
    const cbor::value& item = entry.item;
    switch (static_cast<claim_key>(*number)) {
      case claim_key::iss:
        if (!item.is_text()) return unexpected{failure::bad_encoding};
        c.iss = item.text_content();
        break;
      case claim_key::sub:
        if (!item.is_text()) return unexpected{failure::bad_encoding};
        c.sub = item.text_content();
        break;
      case claim_key::aud:
        if (item.is_text()) {
          c.aud.push_back(item.text_content());
        } else if (item.is_array() && !item.items().empty()) {
          for (const auto& audience : item.items()) {
            if (!audience.is_text()) return unexpected{failure::bad_encoding};
            c.aud.push_back(audience.text_content());
          }
        } else {
          return unexpected{failure::bad_encoding};
        }
        break;
      case claim_key::exp:
        if (auto read = read_date(item, rounding::down, c.exp); !read)
          return unexpected{read.error()};
        break;
      case claim_key::nbf:
        if (auto read = read_date(item, rounding::up, c.nbf); !read)
          return unexpected{read.error()};
        break;
      case claim_key::iat:
        if (auto read = read_date(item, rounding::up, c.iat); !read)
          return unexpected{read.error()};
        break;
      case claim_key::cti:
        if (!item.is_bytes()) return unexpected{failure::bad_encoding};
        c.cti = item.byte_content();
        break;
      case claim_key::cnf: {
        auto cnf = confirmation_from_value(item);
        if (!cnf) return unexpected{cnf.error()};
        c.cnf = std::move(*cnf);
        break;
      }
      case claim_key::scope:
        if (!item.is_text() && !item.is_bytes() && !item.is_array()) {
          return unexpected{failure::bad_scope};
        }
        c.scope = item;
        break;
      case claim_key::ace_profile:
        if (!item.as_int64()) return unexpected{failure::bad_encoding};
        c.ace_profile = item.as_int64();
        break;
      case claim_key::cnonce:
        if (!item.is_bytes()) return unexpected{failure::bad_encoding};
        c.cnonce = item.byte_content();
        break;
      case claim_key::exi:
        if (!item.as_uint64()) return unexpected{failure::bad_encoding};
        c.exi = item.as_uint64();
        break;
      default:
        break;  // unregistered integer claims stay in `all`
    }
  }
  return c;
}

result<claims, failure> decode_claims(byte_view encoded, const cbor::decode_limits& limits) {
  auto item = cbor::decode(encoded, limits);
  if (!item) return unexpected{item.error()};
  return claims_from_value(*item);
}

byte_vector add_cwt_tag(byte_view message) {
  byte_vector out = cbor::encode(cbor::value::tag(cwt_tag, cbor::value::null()));
  out.pop_back();  // drop the placeholder content, keep the tag head (0xd8 0x3d)
  out.insert(out.end(), message.begin(), message.end());
  return out;
}

result<verified_cwt, failure> verify_cwt(byte_view token, const key_lookup& keys,
                                         const verify_options& options) {
  verified_cwt verified;
  auto item = cbor::decode(token, options.limits);
  if (!item) return unexpected{item.error()};
  cbor::value current = std::move(*item);
  std::optional<message_type> untagged = options.untagged_type;

  while (true) {
    // RFC 8392 6: the optional CWT tag wraps the COSE message.
    if (current.is_tag() && current.tag_number() == cwt_tag) {
      cbor::value inner = current.tagged();
      current = std::move(inner);
    }
    if (verified.layers.size() >= options.max_layers) return unexpected{failure::too_deep};
    auto msg = parse(current, untagged, options.limits);
    if (!msg) return unexpected{msg.error()};
    auto layer_key = keys(*msg);
    if (!layer_key) return unexpected{layer_key.error()};
    auto content = open(*msg, *layer_key, options.external_aad);
    if (!content) return unexpected{content.error()};
    verified.layers.push_back(msg->type);
    if (msg->type != message_type::encrypt0 || !verified.kid) verified.kid = msg->header.kid;

    auto payload = cbor::decode(*content, options.limits);
    if (!payload) return unexpected{payload.error()};
    // RFC 8392 7.2 step 8: a tagged COSE message or CWT inside is a nested token. An inner
    // layer must be tagged: untagged_type applies to the outermost layer only.
    if (payload->is_tag() &&
        (payload->tag_number() == cwt_tag || is_message_tag(payload->tag_number()))) {
      current = std::move(*payload);
      untagged.reset();
      continue;
    }
    auto claims_set = claims_from_value(*payload);
    if (!claims_set) return unexpected{claims_set.error()};
    verified.claims_set = std::move(*claims_set);
    return verified;
  }
}

result<crypto::key, failure> confirmation_key(const confirmation& cnf) {
  if (!cnf.cose_key) return unexpected{failure::bad_cnf};
  auto key = key_from_cose(*cnf.cose_key);
  if (!key) return unexpected{failure::bad_cnf};
  return key;
}

result<crypto::key, failure> decrypt_confirmation_key(const confirmation& cnf,
                                                      const crypto::key& kek,
                                                      byte_view external_aad,
                                                      const cbor::decode_limits& limits) {
  if (!cnf.encrypted_cose_key) return unexpected{failure::bad_cnf};
  auto msg = parse(*cnf.encrypted_cose_key, message_type::encrypt0, limits);
  if (!msg || msg->type != message_type::encrypt0) return unexpected{failure::bad_cnf};
  auto plaintext = decrypt(*msg, kek, external_aad);
  if (!plaintext) {
    if (plaintext.error() == failure::decryption_failed) return unexpected{failure::bad_cnf};
    return unexpected{plaintext.error()};
  }
  auto key = key_from_cose(*plaintext, limits);
  if (!key) return unexpected{failure::bad_cnf};
  return key;
}

}  // namespace acemq::token::cose
