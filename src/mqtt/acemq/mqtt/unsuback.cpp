#include <acemq/mqtt/detail/packet_codecs.hpp>
#include <acemq/mqtt/unsuback.hpp>

namespace acemq::mqtt::detail {

result<unsuback, reason_code> decode_unsuback(std::uint8_t flags, byte_view body,
                                              protocol_version v) {
  if (flags != 0) return unexpected{reason_code::malformed_packet};  // [MQTT-2.1.3-1]
  reader in(body);
  unsuback out;
  ACEMQ_MQTT_TRY(out.packet_id, read_packet_id(in));
  if (v == protocol_version::v311) {
    // MQTT 3.1.1 3.11.1: Remaining Length is exactly 2.
    if (!in.empty()) return unexpected{reason_code::malformed_packet};
    return out;
  }
  ACEMQ_MQTT_TRY(out.properties, read_properties(in, property_context::unsuback));
  const byte_view codes = in.read_rest();
  // [MQTT-3.11.3-1] one reason code per filter, and UNSUBSCRIBE has at least one.
  if (codes.empty()) return unexpected{reason_code::malformed_packet};
  out.reason_codes.reserve(codes.size());
  for (const std::uint8_t code : codes) {
    if (!is_allowed_reason_code(packet_type::unsuback, code)) {
      return unexpected{reason_code::malformed_packet};
    }
    out.reason_codes.push_back(static_cast<reason_code>(code));
  }
  return out;
}

std::uint8_t fixed_header_flags(const unsuback&) noexcept {
  return 0;
}

std::size_t body_size(const unsuback& p, protocol_version v) noexcept {
  if (v == protocol_version::v311) return 2;
  return 2 + properties_size(p.properties) + p.reason_codes.size();
}

void encode_body(const unsuback& p, protocol_version v, byte_vector& out) {
  write_two_byte_integer(p.packet_id, out);
  if (v == protocol_version::v311) return;
  write_properties(p.properties, out);
  for (const reason_code code : p.reason_codes)
    write_byte(static_cast<std::uint8_t>(code), out);
}

}  // namespace acemq::mqtt::detail
