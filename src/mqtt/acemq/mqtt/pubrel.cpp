#include <acemq/mqtt/detail/ack_codec.hpp>
#include <acemq/mqtt/pubrel.hpp>

namespace acemq::mqtt::detail {

// [MQTT-3.6.1-1] PUBREL fixed header flags are 0b0010.

result<pubrel, reason_code> decode_pubrel(std::uint8_t flags, byte_view body, protocol_version v) {
  return decode_ack<pubrel>(packet_type::pubrel, 0x02, property_context::pubrel, flags, body, v);
}

std::uint8_t fixed_header_flags(const pubrel&) noexcept {
  return 0x02;
}

std::size_t body_size(const pubrel& p, protocol_version v) noexcept {
  return ack_body_size(p, v);
}

void encode_body(const pubrel& p, protocol_version v, byte_vector& out) {
  encode_ack_body(p, v, out);
}

}  // namespace acemq::mqtt::detail
