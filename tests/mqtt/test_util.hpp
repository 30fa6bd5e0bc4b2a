#pragma once
// Helpers shared by the codec tests: byte-array literals, encode/decode shorthands and printers
// so that failures show reason codes by name.

#include <acemq/mqtt/decode.hpp>
#include <acemq/mqtt/encode.hpp>
#include <acemq/mqtt/reason_code.hpp>

#include <gtest/gtest.h>

#include <initializer_list>
#include <ostream>
#include <string_view>

#include "versions.hpp"

namespace acemq::mqtt {

inline void PrintTo(reason_code code, std::ostream* os) {
  *os << to_string(code) << " (0x" << std::hex << static_cast<unsigned>(code) << std::dec << ")";
}

inline void PrintTo(protocol_version version, std::ostream* os) {
  *os << (version == protocol_version::v5 ? "v5" : "v311");
}

namespace test {

/// Bytes from an annotated list of integers.
inline byte_vector bytes(std::initializer_list<unsigned> values) {
  byte_vector out;
  out.reserve(values.size());
  for (const unsigned value : values)
    out.push_back(static_cast<std::uint8_t>(value));
  return out;
}

/// Appends the characters of `text` to `out` (for strings inside vectors).
inline byte_vector operator+(byte_vector left, std::string_view text) {
  left.insert(left.end(), text.begin(), text.end());
  return left;
}
inline byte_vector operator+(byte_vector left, const byte_vector& right) {
  left.insert(left.end(), right.begin(), right.end());
  return left;
}

inline byte_vector encoded(const packet& p, protocol_version version) {
  byte_vector out;
  encode(p, version, out);
  return out;
}

inline std::shared_ptr<const byte_vector> shared_bytes(std::string_view text) {
  return std::make_shared<const byte_vector>(to_bytes(text));
}

/// Decodes `wire` and returns the alternative T; fails the test if decoding fails or gives
/// another packet type.
template <typename T>
T decode_as(const byte_vector& wire, protocol_version version) {
  auto decoded = decode(wire, version);
  if (!decoded) {
    ADD_FAILURE() << "decode failed: " << to_string(decoded.error());
    return T{};
  }
  if (!std::holds_alternative<T>(*decoded)) {
    ADD_FAILURE() << "decoded another packet type: " << to_string(type_of(*decoded));
    return T{};
  }
  return std::get<T>(*decoded);
}

/// The reason code decoding fails with; `success` (and a test failure) if it does not fail.
inline reason_code decode_failure(const byte_vector& wire, protocol_version version) {
  auto decoded = decode(wire, version);
  if (decoded) {
    ADD_FAILURE() << "decode unexpectedly succeeded";
    return reason_code::success;
  }
  return decoded.error();
}

/// Encodes, checks encoded_size, decodes and checks the result equals the original.
template <typename T>
void expect_round_trip(const T& original, protocol_version version) {
  const byte_vector wire = encoded(original, version);
  EXPECT_EQ(wire.size(), encoded_size(original, version));
  const T decoded = decode_as<T>(wire, version);
  EXPECT_TRUE(decoded == original) << "round trip changed the packet";
}

}  // namespace test

// Lets test code in acemq::mqtt concatenate byte arrays (ADL only searches namespace std).
using test::operator+;

}  // namespace acemq::mqtt
