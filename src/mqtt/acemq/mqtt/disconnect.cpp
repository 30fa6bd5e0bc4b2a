#include <acemq/mqtt/detail/packet_codecs.hpp>
#include <acemq/mqtt/disconnect.hpp>

namespace acemq::mqtt::detail {

result<disconnect, reason_code> decode_disconnect(std::uint8_t flags, byte_view body,
                                                  protocol_version v) {
  if (flags != 0) return unexpected{reason_code::malformed_packet};  // [MQTT-2.1.3-1]
  disconnect out;
  reader in(body);
  if (v == protocol_version::v5 && !in.empty()) {
    // MQTT 5.0 3.14.2.1: Remaining Length 0 means Normal disconnection.
    std::uint8_t code = 0;
    ACEMQ_MQTT_TRY(code, in.read_byte());
    if (!is_allowed_reason_code(packet_type::disconnect, code)) {
      return unexpected{reason_code::malformed_packet};
    }
    out.reason_code = static_cast<reason_code>(code);
    // MQTT 5.0 3.14.2.2.1: Remaining Length below 2 means no properties.
    if (!in.empty())
      ACEMQ_MQTT_TRY(out.properties, read_properties(in, property_context::disconnect));
  }
  // MQTT 3.1.1 3.14: no variable header; in v5 nothing follows the properties.
  if (!in.empty()) return unexpected{reason_code::malformed_packet};
  return out;
}

std::uint8_t fixed_header_flags(const disconnect&) noexcept {
  return 0;
}

std::size_t body_size(const disconnect& p, protocol_version v) noexcept {
  if (v == protocol_version::v311) return 0;
  if (p.properties.empty() && p.reason_code == normal_disconnection) return 0;
  // Reason code plus the Property Length, written even when it is 0 (see encode_body).
  return 1 + properties_size(p.properties);
}

void encode_body(const disconnect& p, protocol_version v, byte_vector& out) {
  if (v == protocol_version::v311) return;
  // MQTT 5.0 3.14.2.1: Remaining Length 0 means Normal disconnection.
  if (p.reason_code == normal_disconnection && p.properties.empty()) return;
  write_byte(static_cast<std::uint8_t>(p.reason_code), out);
  // MQTT 5.0 3.14.2.2.1 lets the Property Length be omitted when it is 0 (Remaining Length 1),
  // but some clients (Eclipse Paho Python 1.6) then ignore the reason code, so it is always
  // written: E0 02 8E 00 instead of E0 01 8E. Decoders accept both forms.
  write_properties(p.properties, out);
}

}  // namespace acemq::mqtt::detail
