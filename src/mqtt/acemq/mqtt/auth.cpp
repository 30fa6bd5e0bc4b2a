#include <acemq/mqtt/auth.hpp>
#include <acemq/mqtt/detail/packet_codecs.hpp>

namespace acemq::mqtt::detail {

result<auth, reason_code> decode_auth(std::uint8_t flags, byte_view body) {
  // [MQTT-3.15.1-1] reserved flags are 0.
  if (flags != 0) return unexpected{reason_code::malformed_packet};
  auth out;
  reader in(body);
  if (!in.empty()) {
    // MQTT 5.0 3.15.2.1: Remaining Length 0 means Success with no properties.
    std::uint8_t code = 0;
    ACEMQ_MQTT_TRY(code, in.read_byte());
    // [MQTT-3.15.2-1] only the AUTH reason codes.
    if (!is_allowed_reason_code(packet_type::auth, code)) {
      return unexpected{reason_code::malformed_packet};
    }
    out.reason_code = static_cast<reason_code>(code);
    if (!in.empty()) ACEMQ_MQTT_TRY(out.properties, read_properties(in, property_context::auth));
  }
  if (!in.empty()) return unexpected{reason_code::malformed_packet};
  return out;
}

std::uint8_t fixed_header_flags(const auth&) noexcept {
  return 0;
}

std::size_t body_size(const auth& p, protocol_version) noexcept {
  if (p.reason_code == reason_code::success && p.properties.empty()) return 0;
  return 1 + properties_size(p.properties);
}

void encode_body(const auth& p, protocol_version, byte_vector& out) {
  if (p.reason_code == reason_code::success && p.properties.empty()) return;
  write_byte(static_cast<std::uint8_t>(p.reason_code), out);
  write_properties(p.properties, out);
}

}  // namespace acemq::mqtt::detail
