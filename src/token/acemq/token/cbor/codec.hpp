#pragma once
// Strict, bounded CBOR decoding and deterministic encoding (RFC 8949), through libcbor.

#include <cstddef>
#include <cstdint>

#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/cbor/value.hpp"
#include "acemq/token/failure.hpp"

namespace acemq::token::cbor {

/// Bounds applied before any byte reaches libcbor, so a hostile input can neither exhaust memory
/// nor recurse deeply.
struct decode_limits {
  std::size_t max_size = 64 * 1024;  // bytes; above -> failure::too_large
  std::size_t max_depth = 16;        // nested arrays/maps/tags; above -> failure::too_deep
  std::size_t max_items = 4096;      // data items in total; above -> failure::too_large
  /// Strict mode (the default) refuses indefinite-length items (RFC 8949 3.2.1); the token
  /// formats we read never need them and they are a classic source of parser confusion.
  bool strict = true;
};

/// Decodes exactly one data item that fills `bytes` (no trailing bytes). Refuses, with
/// failure::bad_encoding, anything not well-formed (RFC 8949 appendix C), text strings that are not
/// valid UTF-8 and maps with duplicate keys (RFC 8949 5.6).
result<value, failure> decode(byte_view bytes, const decode_limits& limits = {});

/// Deterministic encoding (RFC 8949 4.2.1): shortest-form arguments, definite lengths, map keys
/// sorted by the bytewise order of their encodings, floats in the shortest form that keeps the
/// value (preferred serialization, 4.2.2). Maps with duplicate keys encode as given: the caller
/// builds maps; decode() never produces one.
byte_vector encode(const value& item);
/// Appends the encoding of `item` to `out`.
void encode_to(const value& item, byte_vector& out);

}  // namespace acemq::token::cbor
