#include <acemq/mqtt/detail/ack_codec.hpp>
#include <acemq/mqtt/pubrec.hpp>

namespace acemq::mqtt::detail {

result<pubrec, reason_code> decode_pubrec(std::uint8_t flags, byte_view body, protocol_version v) {
  return decode_ack<pubrec>(packet_type::pubrec, 0, property_context::pubrec, flags, body, v);
}

std::uint8_t fixed_header_flags(const pubrec&) noexcept {
  return 0;
}

std::size_t body_size(const pubrec& p, protocol_version v) noexcept {
  return ack_body_size(p, v);
}

void encode_body(const pubrec& p, protocol_version v, byte_vector& out) {
  encode_ack_body(p, v, out);
}

}  // namespace acemq::mqtt::detail
