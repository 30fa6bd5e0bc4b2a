#include "acemq/token/cose/cose_key.hpp"

#include <optional>
#include <utility>

namespace acemq::token::cose {
namespace {

constexpr auto label(key_label l) {
  return static_cast<std::int64_t>(l);
}

// A bstr parameter, or nullopt when absent; `ok` turns false when present but not a bstr.
std::optional<byte_view> bytes_param(const cbor::value& map, key_label l, bool& ok) {
  const cbor::value* item = map.find(label(l));
  if (item == nullptr) return std::nullopt;
  if (!item->is_bytes()) {
    ok = false;
    return std::nullopt;
  }
  return byte_view(item->byte_content());
}

}  // namespace

result<crypto::key, failure> key_from_cose(const cbor::value& cose_key) {
  if (!cose_key.is_map()) return unexpected{failure::bad_encoding};
  const cbor::value* kty = cose_key.find(label(key_label::kty));
  if (kty == nullptr || !kty->as_int64()) return unexpected{failure::bad_key};

  bool ok = true;
  result<crypto::key, failure> built = unexpected{failure::bad_key};
  switch (static_cast<key_type_id>(*kty->as_int64())) {
    case key_type_id::okp: {
      // RFC 9053 7.2: OKP with crv Ed25519, x the public key, d the private key.
      const cbor::value* crv = cose_key.find(label(key_label::crv));
      if (crv == nullptr || crv->as_int64() != static_cast<std::int64_t>(curve_id::ed25519)) {
        return unexpected{failure::bad_key};
      }
      auto x = bytes_param(cose_key, key_label::x, ok);
      auto d = bytes_param(cose_key, key_label::d, ok);
      if (!ok || (!x && !d)) return unexpected{failure::bad_key};
      built = d ? crypto::key::ed25519_from_private(*d, x) : crypto::key::ed25519_from_public(*x);
      break;
    }
    case key_type_id::ec2: {
      // RFC 9053 7.1.1: EC2 with crv P-256, x and y coordinates (the compressed form with a
      // boolean y is not supported), d the private scalar.
      const cbor::value* crv = cose_key.find(label(key_label::crv));
      if (crv == nullptr || crv->as_int64() != static_cast<std::int64_t>(curve_id::p256)) {
        return unexpected{failure::bad_key};
      }
      auto x = bytes_param(cose_key, key_label::x, ok);
      auto y = bytes_param(cose_key, key_label::y, ok);
      auto d = bytes_param(cose_key, key_label::d, ok);
      if (!ok || !x || !y) return unexpected{failure::bad_key};
      built =
          d ? crypto::key::p256_from_private(*x, *y, *d) : crypto::key::p256_from_public(*x, *y);
      break;
    }
    case key_type_id::symmetric: {
      // RFC 9053 7.3: k is the secret.
      auto k = bytes_param(cose_key, key_label::k, ok);
      if (!ok || !k || k->empty()) return unexpected{failure::bad_key};
      built = crypto::key::symmetric_from_bytes(*k);
      break;
    }
    default:
      return unexpected{failure::bad_key};
  }
  if (!built) return unexpected{built.error()};
  crypto::key result_key = std::move(*built);

  if (const cbor::value* kid = cose_key.find(label(key_label::kid))) {
    if (!kid->is_bytes()) return unexpected{failure::bad_key};
    result_key.set_kid(kid->byte_content());
  }
  if (const cbor::value* alg = cose_key.find(label(key_label::alg))) {
    if (!alg->is_integer() && !alg->is_text()) return unexpected{failure::bad_key};
    auto id = alg->as_int64();
    if (!id) return unexpected{failure::unsupported_algorithm};
    auto algorithm = crypto::algorithm_from_cose_id(*id);
    if (!algorithm) return unexpected{failure::unsupported_algorithm};
    // A key whose own alg it cannot serve (an Ed25519 key marked ES256) is malformed.
    if (!crypto::check_key_allows(result_key, *algorithm)) return unexpected{failure::bad_key};
    result_key.bind_algorithm(*algorithm);
  }
  return result_key;
}

result<crypto::key, failure> key_from_cose(byte_view encoded, const cbor::decode_limits& limits) {
  auto item = cbor::decode(encoded, limits);
  if (!item) return unexpected{item.error()};
  return key_from_cose(*item);
}

result<cbor::value, failure> key_to_cose(const crypto::key& k, bool include_private) {
  cbor::value map = cbor::value::map();
  auto put_type = [&map](key_type_id type) {
    map.insert(label(key_label::kty), cbor::value::integer(static_cast<std::int64_t>(type)));
  };
  switch (k.type()) {
    case crypto::key_type::okp_ed25519: {
      put_type(key_type_id::okp);
      map.insert(label(key_label::crv),
                 cbor::value::integer(static_cast<std::int64_t>(curve_id::ed25519)));
      auto x = k.ed25519_public();
      if (!x) return unexpected{x.error()};
      map.insert(label(key_label::x), cbor::value::bytes(std::move(*x)));
      if (include_private && k.is_private()) {
        auto d = k.ed25519_private();
        if (!d) return unexpected{d.error()};
        map.insert(label(key_label::d), cbor::value::bytes(std::move(*d)));
      }
      break;
    }
    case crypto::key_type::ec_p256: {
      put_type(key_type_id::ec2);
      map.insert(label(key_label::crv),
                 cbor::value::integer(static_cast<std::int64_t>(curve_id::p256)));
      auto point = k.p256_public();
      if (!point) return unexpected{point.error()};
      map.insert(label(key_label::x), cbor::value::bytes(std::move(point->x)));
      map.insert(label(key_label::y), cbor::value::bytes(std::move(point->y)));
      if (include_private && k.is_private()) {
        auto d = k.p256_private();
        if (!d) return unexpected{d.error()};
        map.insert(label(key_label::d), cbor::value::bytes(std::move(*d)));
      }
      break;
    }
    case crypto::key_type::symmetric:
      if (!include_private) return unexpected{failure::bad_key};
      put_type(key_type_id::symmetric);
      map.insert(label(key_label::k), cbor::value::bytes(k.symmetric_bytes()));
      break;
    case crypto::key_type::rsa:
      return unexpected{failure::bad_key};
  }
  if (k.kid()) map.insert(label(key_label::kid), cbor::value::bytes(*k.kid()));
  if (auto alg = k.bound_algorithm()) {
    auto id = crypto::cose_id(*alg);
    if (!id) return unexpected{failure::unsupported_algorithm};
    map.insert(label(key_label::alg), cbor::value::integer(*id));
  }
  return map;
}

}  // namespace acemq::token::cose
