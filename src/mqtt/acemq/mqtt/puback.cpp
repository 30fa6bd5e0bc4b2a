#include <acemq/mqtt/detail/ack_codec.hpp>
#include <acemq/mqtt/puback.hpp>

namespace acemq::mqtt::detail {

result<puback, reason_code> decode_puback(std::uint8_t flags, byte_view body, protocol_version v) {
  return decode_ack<puback>(packet_type::puback, 0, property_context::puback, flags, body, v);
}

std::uint8_t fixed_header_flags(const puback&) noexcept {
  return 0;
}

std::size_t body_size(const puback& p, protocol_version v) noexcept {
  return ack_body_size(p, v);
}

void encode_body(const puback& p, protocol_version v, byte_vector& out) {
  encode_ack_body(p, v, out);
}

}  // namespace acemq::mqtt::detail
