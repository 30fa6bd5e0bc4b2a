#include <acemq/mqtt/connack.hpp>
#include <acemq/mqtt/detail/packet_codecs.hpp>

namespace acemq::mqtt::detail {

namespace {
constexpr std::uint8_t session_present_flag = 0x01;
}  // namespace

result<connack, reason_code> decode_connack(std::uint8_t flags, byte_view body,
                                            protocol_version v) {
  // [MQTT-2.1.3-1] reserved fixed header flags are 0.
  if (flags != 0) return unexpected{reason_code::malformed_packet};
  reader in(body);
  connack out;
  std::uint8_t acknowledge_flags = 0;
  ACEMQ_MQTT_TRY(acknowledge_flags, in.read_byte());
  // [MQTT-3.2.2-1] bits 7-1 are reserved and 0.
  if ((acknowledge_flags & ~session_present_flag) != 0) {
    return unexpected{reason_code::malformed_packet};
  }
  out.session_present = (acknowledge_flags & session_present_flag) != 0;
  std::uint8_t code = 0;
  ACEMQ_MQTT_TRY(code, in.read_byte());
  if (v == protocol_version::v311) {
    // MQTT 3.1.1 3.2.2.3: return codes 6-255 are reserved.
    if (code > static_cast<std::uint8_t>(connect_return_code_v311::not_authorized)) {
      return unexpected{reason_code::malformed_packet};
    }
    out.reason_code = from_connect_return_code_v311(static_cast<connect_return_code_v311>(code));
  } else {
    // MQTT 5.0 3.2.2.2: only the CONNACK reason codes of table 3-1.
    if (!is_allowed_reason_code(packet_type::connack, code)) {
      return unexpected{reason_code::malformed_packet};
    }
    out.reason_code = static_cast<reason_code>(code);
    ACEMQ_MQTT_TRY(out.properties, read_properties(in, property_context::connack));
  }
  if (!in.empty()) return unexpected{reason_code::malformed_packet};
  return out;
}

std::uint8_t fixed_header_flags(const connack&) noexcept {
  return 0;
}

std::size_t body_size(const connack& p, protocol_version v) noexcept {
  return 2 + (v == protocol_version::v5 ? properties_size(p.properties) : 0);
}

void encode_body(const connack& p, protocol_version v, byte_vector& out) {
  write_byte(p.session_present ? session_present_flag : 0, out);
  if (v == protocol_version::v311) {
    write_byte(static_cast<std::uint8_t>(to_connect_return_code_v311(p.reason_code)), out);
    return;
  }
  write_byte(static_cast<std::uint8_t>(p.reason_code), out);
  write_properties(p.properties, out);
}

}  // namespace acemq::mqtt::detail
