#pragma once
// Internal: primitive data representations (MQTT 5.0 section 1.5, MQTT 3.1.1 section 1.5) read
// from a bounded view and appended to a vector. Not part of the public API.

#include <acemq/common/bytes.hpp>
#include <acemq/common/result.hpp>
#include <acemq/mqtt/reason_code.hpp>

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

// Propagates the error of a result-returning expression, else assigns its value to `target`.
#define ACEMQ_MQTT_TRY(target, expression)                       \
  do {                                                           \
    auto acemq_mqtt_try_result = (expression);                   \
    if (!acemq_mqtt_try_result) {                                \
      return ::acemq::unexpected{acemq_mqtt_try_result.error()}; \
    }                                                            \
    (target) = std::move(acemq_mqtt_try_result).value();         \
  } while (false)

// Propagates the error of a result<void, reason_code> expression.
#define ACEMQ_MQTT_CHECK(expression)                               \
  do {                                                             \
    auto acemq_mqtt_check_result = (expression);                   \
    if (!acemq_mqtt_check_result) {                                \
      return ::acemq::unexpected{acemq_mqtt_check_result.error()}; \
    }                                                              \
  } while (false)

namespace acemq::mqtt::detail {

/// Largest string or binary field: a two-byte length prefix [MQTT 5.0 1.5.4, 1.5.6].
inline constexpr std::size_t max_field_length = 65535;

/// A cursor over the bytes of one packet. Every read checks the bytes that remain, so a length
/// read from the wire can never make the decoder allocate or read beyond the packet.
class reader {
 public:
  explicit reader(byte_view data) noexcept : data_(data) {}

  std::size_t remaining() const noexcept { return data_.size() - position_; }
  bool empty() const noexcept { return remaining() == 0; }

  result<std::uint8_t, reason_code> read_byte() noexcept;
  result<std::uint16_t, reason_code> read_two_byte_integer() noexcept;
  result<std::uint32_t, reason_code> read_four_byte_integer() noexcept;
  /// At most 4 bytes, minimally encoded [MQTT-1.5.5-1]; else malformed_packet.
  result<std::uint32_t, reason_code> read_variable_byte_integer() noexcept;
  /// Length-prefixed UTF-8 without U+0000 [MQTT-1.5.4-1, MQTT-1.5.4-2]; else malformed_packet.
  result<std::string, reason_code> read_utf8_string();
  /// The same, as a view into the packet's bytes (no copy).
  result<std::string_view, reason_code> read_utf8_view() noexcept;
  /// Length-prefixed Binary Data [MQTT 5.0 1.5.6].
  result<byte_vector, reason_code> read_binary_data();
  /// `count` bytes, or malformed_packet if fewer remain.
  result<byte_view, reason_code> read_bytes(std::size_t count) noexcept;
  /// Everything that remains.
  byte_view read_rest() noexcept;

 private:
  byte_view data_;
  std::size_t position_ = 0;
};

inline void write_byte(std::uint8_t value, byte_vector& out) {
  out.push_back(value);
}

inline void write_two_byte_integer(std::uint16_t value, byte_vector& out) {
  out.push_back(static_cast<std::uint8_t>(value >> 8));
  out.push_back(static_cast<std::uint8_t>(value & 0xFFU));
}

inline void write_four_byte_integer(std::uint32_t value, byte_vector& out) {
  out.push_back(static_cast<std::uint8_t>(value >> 24));
  out.push_back(static_cast<std::uint8_t>((value >> 16) & 0xFFU));
  out.push_back(static_cast<std::uint8_t>((value >> 8) & 0xFFU));
  out.push_back(static_cast<std::uint8_t>(value & 0xFFU));
}

/// Two-byte length followed by the bytes; used for both UTF-8 strings and Binary Data.
inline void write_length_prefixed(byte_view bytes, byte_vector& out) {
  assert(bytes.size() <= max_field_length);
  write_two_byte_integer(static_cast<std::uint16_t>(bytes.size()), out);
  out.insert(out.end(), bytes.begin(), bytes.end());
}
inline void write_utf8_string(std::string_view text, byte_vector& out) {
  write_length_prefixed(as_bytes(text), out);
}

/// Encoded size of a length-prefixed field.
constexpr std::size_t length_prefixed_size(std::size_t length) noexcept {
  return 2 + length;
}

/// Narrows a size computed by the encoder to a Remaining Length; the caller guarantees the
/// packet fits (see encode.hpp preconditions).
inline std::uint32_t to_remaining_length(std::size_t size) noexcept {
  assert(size <= 268'435'455U);
  return static_cast<std::uint32_t>(size);
}

}  // namespace acemq::mqtt::detail
