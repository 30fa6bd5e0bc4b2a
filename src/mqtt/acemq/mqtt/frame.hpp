#pragma once
// Fixed header framing (MQTT 5.0 section 2.1, MQTT 3.1.1 section 2.2): finds packet boundaries in
// a byte stream without decoding the packet, so the network layer knows how much to read.

#include <acemq/common/bytes.hpp>
#include <acemq/common/result.hpp>
#include <acemq/mqtt/packet_type.hpp>
#include <acemq/mqtt/reason_code.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>

namespace acemq::mqtt {

/// Largest Remaining Length a 4-byte Variable Byte Integer holds [MQTT 5.0 1.5.5].
inline constexpr std::uint32_t max_remaining_length = 268'435'455;
/// Fixed header: one type/flags byte and a 1..4-byte Remaining Length.
inline constexpr std::size_t max_fixed_header_size = 5;

/// The decoded fixed header of one packet.
struct frame_header {
  packet_type type = packet_type::connect;
  std::uint8_t flags = 0;       // low nibble of the first byte
  std::size_t header_size = 0;  // 2..5 bytes
  std::uint32_t remaining_length = 0;

  /// Bytes of the whole packet: fixed header plus Remaining Length.
  std::size_t total_size() const noexcept { return header_size + remaining_length; }

  bool operator==(const frame_header&) const = default;
};

/// Reads the fixed header at the start of `buffer`. Returns nullopt when more bytes are needed to
/// know the header (the body need not be buffered yet). Errors: packet type 0 or a Remaining
/// Length longer than 4 bytes or not minimally encoded -> malformed_packet [MQTT-1.5.5-1];
/// a packet whose total size exceeds `maximum_packet_size` -> packet_too_large, returned as soon
/// as the header is known so the caller can refuse it before reading the body
/// (Maximum Packet Size, MQTT 5.0 3.1.2.11.4 and 3.2.2.3.6).
result<std::optional<frame_header>, reason_code> peek_frame(byte_view buffer,
                                                            std::uint32_t maximum_packet_size);

/// Appends `value` (at most max_remaining_length) as a Variable Byte Integer [MQTT 5.0 1.5.5].
void write_variable_byte_integer(std::uint32_t value, byte_vector& out);

/// Bytes write_variable_byte_integer() uses for `value`: 1..4.
constexpr std::size_t variable_byte_integer_size(std::uint32_t value) noexcept {
  return value < 128U ? 1 : value < 16'384U ? 2 : value < 2'097'152U ? 3 : 4;
}

}  // namespace acemq::mqtt
