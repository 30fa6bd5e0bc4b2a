#include <acemq/mqtt/detail/ack_codec.hpp>
#include <acemq/mqtt/pubcomp.hpp>

namespace acemq::mqtt::detail {

result<pubcomp, reason_code> decode_pubcomp(std::uint8_t flags, byte_view body,
                                            protocol_version v) {
  return decode_ack<pubcomp>(packet_type::pubcomp, 0, property_context::pubcomp, flags, body, v);
}

std::uint8_t fixed_header_flags(const pubcomp&) noexcept {
  return 0;
}

std::size_t body_size(const pubcomp& p, protocol_version v) noexcept {
  return ack_body_size(p, v);
}

void encode_body(const pubcomp& p, protocol_version v, byte_vector& out) {
  encode_ack_body(p, v, out);
}

}  // namespace acemq::mqtt::detail
