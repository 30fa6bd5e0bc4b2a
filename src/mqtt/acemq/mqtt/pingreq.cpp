#include <acemq/mqtt/detail/packet_codecs.hpp>
#include <acemq/mqtt/pingreq.hpp>

namespace acemq::mqtt::detail {

result<pingreq, reason_code> decode_pingreq(std::uint8_t flags, byte_view body) {
  // [MQTT-2.1.3-1] flags 0; no variable header or payload.
  if (flags != 0 || !body.empty()) return unexpected{reason_code::malformed_packet};
  return pingreq{};
}

std::uint8_t fixed_header_flags(const pingreq&) noexcept {
  return 0;
}

std::size_t body_size(const pingreq&, protocol_version) noexcept {
  return 0;
}

void encode_body(const pingreq&, protocol_version, byte_vector&) {}

}  // namespace acemq::mqtt::detail
