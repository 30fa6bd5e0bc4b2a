#include <acemq/common/utf8.hpp>
#include <acemq/mqtt/detail/wire.hpp>

namespace acemq::mqtt::detail {

result<std::uint8_t, reason_code> reader::read_byte() noexcept {
  if (remaining() < 1) return unexpected{reason_code::malformed_packet};
  return data_[position_++];
}

result<std::uint16_t, reason_code> reader::read_two_byte_integer() noexcept {
  // MQTT 5.0 1.5.2: big-endian.
  if (remaining() < 2) return unexpected{reason_code::malformed_packet};
  const auto value = static_cast<std::uint16_t>((data_[position_] << 8) | data_[position_ + 1]);
  position_ += 2;
  return value;
}

result<std::uint32_t, reason_code> reader::read_four_byte_integer() noexcept {
  // MQTT 5.0 1.5.3: big-endian.
  if (remaining() < 4) return unexpected{reason_code::malformed_packet};
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i)
    value = (value << 8) | data_[position_ + i];
  position_ += 4;
  return value;
}

result<std::uint32_t, reason_code> reader::read_variable_byte_integer() noexcept {
  // MQTT 5.0 1.5.5: 7 bits per byte, least significant first, at most 4 bytes.
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    if (remaining() < 1) return unexpected{reason_code::malformed_packet};
    const std::uint8_t byte = data_[position_++];
    value |= static_cast<std::uint32_t>(byte & 0x7FU) << (7 * i);
    if ((byte & 0x80U) == 0) {
      // [MQTT-1.5.5-1] minimum number of bytes: a trailing zero byte is an overlong form.
      if (i > 0 && byte == 0) return unexpected{reason_code::malformed_packet};
      return value;
    }
  }
  return unexpected{reason_code::malformed_packet};
}

result<byte_view, reason_code> reader::read_bytes(std::size_t count) noexcept {
  if (remaining() < count) return unexpected{reason_code::malformed_packet};
  const byte_view bytes = data_.subspan(position_, count);
  position_ += count;
  return bytes;
}

byte_view reader::read_rest() noexcept {
  const byte_view bytes = data_.subspan(position_);
  position_ = data_.size();
  return bytes;
}

result<std::string_view, reason_code> reader::read_utf8_view() noexcept {
  std::uint16_t length = 0;
  ACEMQ_MQTT_TRY(length, read_two_byte_integer());
  byte_view bytes;
  ACEMQ_MQTT_TRY(bytes, read_bytes(length));
  const std::string_view text = as_string_view(bytes);
  // [MQTT-1.5.4-1] well-formed UTF-8, [MQTT-1.5.4-2] no U+0000.
  if (!is_valid_utf8(text, false)) return unexpected{reason_code::malformed_packet};
  return text;
}

result<std::string, reason_code> reader::read_utf8_string() {
  std::string_view text;
  ACEMQ_MQTT_TRY(text, read_utf8_view());  // bounded by the packet before allocating
  return std::string(text);
}

result<byte_vector, reason_code> reader::read_binary_data() {
  std::uint16_t length = 0;
  ACEMQ_MQTT_TRY(length, read_two_byte_integer());
  byte_view bytes;
  ACEMQ_MQTT_TRY(bytes, read_bytes(length));
  return byte_vector(bytes.begin(), bytes.end());
}

result<std::uint16_t, reason_code> read_packet_id(reader& in) noexcept {
  std::uint16_t id = 0;
  ACEMQ_MQTT_TRY(id, in.read_two_byte_integer());
  // [MQTT-2.2.1-3] a packet that needs a Packet Identifier carries a non-zero one.
  if (id == 0) return unexpected{reason_code::malformed_packet};
  return id;
}

}  // namespace acemq::mqtt::detail
