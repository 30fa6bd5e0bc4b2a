#pragma once
// Internal: PUBACK, PUBREC, PUBREL and PUBCOMP share one layout (MQTT 5.0 3.4-3.7): Packet
// Identifier, then optionally Reason Code, then optionally Properties. Not part of the public API.

#include <acemq/mqtt/detail/codec.hpp>

namespace acemq::mqtt::detail {

/// Decodes an acknowledgement of `type`, whose fixed header flags must be `expected_flags`.
template <typename Ack>
result<Ack, reason_code> decode_ack(packet_type type, std::uint8_t expected_flags,
                                    property_context context, std::uint8_t flags, byte_view body,
                                    protocol_version v) {
  // [MQTT-2.1.3-1]: 0b0010 for PUBREL [MQTT-3.6.1-1], 0 for the others.
  if (flags != expected_flags) return unexpected{reason_code::malformed_packet};
  reader in(body);
  Ack out;
  ACEMQ_MQTT_TRY(out.packet_id, read_packet_id(in));
  if (v == protocol_version::v5 && !in.empty()) {
    // MQTT 5.0 3.4.2.1: Remaining Length 2 means Success with no properties.
    std::uint8_t code = 0;
    ACEMQ_MQTT_TRY(code, in.read_byte());
    if (!is_allowed_reason_code(type, code)) return unexpected{reason_code::malformed_packet};
    out.reason_code = static_cast<reason_code>(code);
    // MQTT 5.0 3.4.2.2.1: Remaining Length 3 means no Property Length.
    if (!in.empty()) ACEMQ_MQTT_TRY(out.properties, read_properties(in, context));
  }
  // MQTT 3.1.1 3.4.1: Remaining Length is exactly 2; in v5 nothing follows the properties.
  if (!in.empty()) return unexpected{reason_code::malformed_packet};
  return out;
}

template <typename Ack>
std::size_t ack_body_size(const Ack& p, protocol_version v) noexcept {
  if (v == protocol_version::v311) return 2;
  if (p.properties.empty()) return p.reason_code == reason_code::success ? 2 : 3;
  return 3 + properties_size(p.properties);
}

template <typename Ack>
void encode_ack_body(const Ack& p, protocol_version v, byte_vector& out) {
  write_two_byte_integer(p.packet_id, out);
  if (v == protocol_version::v311) return;
  // MQTT 5.0 3.4.2.1 short forms: leave out what the receiver can infer.
  const bool has_properties = !p.properties.empty();
  if (p.reason_code == reason_code::success && !has_properties) return;
  write_byte(static_cast<std::uint8_t>(p.reason_code), out);
  if (has_properties) write_properties(p.properties, out);
}

}  // namespace acemq::mqtt::detail
