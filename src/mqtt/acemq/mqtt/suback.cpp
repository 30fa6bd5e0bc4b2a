#include <acemq/mqtt/detail/packet_codecs.hpp>
#include <acemq/mqtt/suback.hpp>

namespace acemq::mqtt::detail {

namespace {

// MQTT 3.1.1 3.9.3: 0x00, 0x01, 0x02 (granted QoS) and 0x80 (failure) only.
constexpr std::uint8_t failure_v311 = 0x80;

bool is_allowed_v311(std::uint8_t code) noexcept {
  return code <= 0x02 || code == failure_v311;
}

std::uint8_t to_v311(reason_code code) noexcept {
  return is_error(code) ? failure_v311 : static_cast<std::uint8_t>(code);
}

}  // namespace

result<suback, reason_code> decode_suback(std::uint8_t flags, byte_view body, protocol_version v) {
  if (flags != 0) return unexpected{reason_code::malformed_packet};  // [MQTT-2.1.3-1]
  reader in(body);
  suback out;
  ACEMQ_MQTT_TRY(out.packet_id, read_packet_id(in));
  if (v == protocol_version::v5) {
    ACEMQ_MQTT_TRY(out.properties, read_properties(in, property_context::suback));
  }
  const byte_view codes = in.read_rest();
  // One reason code per filter of the SUBSCRIBE, which has at least one [MQTT-3.8.3-3].
  if (codes.empty()) return unexpected{reason_code::malformed_packet};
  out.reason_codes.reserve(codes.size());
  for (const std::uint8_t code : codes) {
    const bool allowed = v == protocol_version::v311
                             ? is_allowed_v311(code)
                             : is_allowed_reason_code(packet_type::suback, code);
    if (!allowed) return unexpected{reason_code::malformed_packet};
    out.reason_codes.push_back(static_cast<reason_code>(code));
  }
  return out;
}

std::uint8_t fixed_header_flags(const suback&) noexcept {
  return 0;
}

std::size_t body_size(const suback& p, protocol_version v) noexcept {
  return 2 + (v == protocol_version::v5 ? properties_size(p.properties) : 0) +
         p.reason_codes.size();
}

void encode_body(const suback& p, protocol_version v, byte_vector& out) {
  write_two_byte_integer(p.packet_id, out);
  if (v == protocol_version::v5) write_properties(p.properties, out);
  for (const reason_code code : p.reason_codes) {
    write_byte(v == protocol_version::v5 ? static_cast<std::uint8_t>(code) : to_v311(code), out);
  }
}

}  // namespace acemq::mqtt::detail
