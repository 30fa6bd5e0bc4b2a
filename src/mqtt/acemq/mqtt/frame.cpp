#include <acemq/mqtt/frame.hpp>

#include <cassert>

namespace acemq::mqtt {

result<std::optional<frame_header>, reason_code> peek_frame(byte_view buffer,
                                                            std::uint32_t maximum_packet_size) {
  if (buffer.empty()) return std::optional<frame_header>{};
  const std::uint8_t first = buffer[0];
  const auto type_value = static_cast<std::uint8_t>(first >> 4);
  // MQTT 5.0 2.1.2: packet type 0 is reserved (forbidden). The flags and type 15 depend on the
  // version and packet type, so decode() checks them.
  if (type_value == 0) return unexpected{reason_code::malformed_packet};

  std::uint32_t remaining_length = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    if (buffer.size() < i + 2) return std::optional<frame_header>{};  // need more bytes
    const std::uint8_t byte = buffer[i + 1];
    remaining_length |= static_cast<std::uint32_t>(byte & 0x7FU) << (7 * i);
    if ((byte & 0x80U) != 0) continue;
    // [MQTT-1.5.5-1] minimally encoded: no trailing zero continuation byte.
    if (i > 0 && byte == 0) return unexpected{reason_code::malformed_packet};
    frame_header header;
    header.type = static_cast<packet_type>(type_value);
    header.flags = static_cast<std::uint8_t>(first & 0x0FU);
    header.header_size = i + 2;
    header.remaining_length = remaining_length;
    // MQTT 5.0 3.1.2.11.4 / 3.2.2.3.6 (Maximum Packet Size): refuse before the body is read.
    if (header.total_size() > maximum_packet_size) {
      return unexpected{reason_code::packet_too_large};
    }
    return std::optional<frame_header>{header};
  }
  // MQTT 5.0 1.5.5: a fifth byte would be needed.
  return unexpected{reason_code::malformed_packet};
}

void write_variable_byte_integer(std::uint32_t value, byte_vector& out) {
  assert(value <= max_remaining_length);
  do {
    auto byte = static_cast<std::uint8_t>(value & 0x7FU);
    value >>= 7;
    if (value > 0) byte = static_cast<std::uint8_t>(byte | 0x80U);
    out.push_back(byte);
  } while (value > 0);
}

}  // namespace acemq::mqtt
