// The codec of PUBACK, PUBREC, PUBREL and PUBCOMP (MQTT 5.0 sections 3.4-3.7): one layout, four
// packet types; only PUBREL's fixed header flags differ.

#include <acemq/mqtt/acknowledgement.hpp>
#include <acemq/mqtt/detail/packet_codecs.hpp>

namespace acemq::mqtt::detail {
namespace {

/// Where the acknowledgement's properties appear, for the properties each may carry.
constexpr property_context context_of(packet_type type) noexcept {
  switch (type) {
    case packet_type::pubrec:
      return property_context::pubrec;
    case packet_type::pubrel:
      return property_context::pubrel;
    case packet_type::pubcomp:
      return property_context::pubcomp;
    default:
      return property_context::puback;
  }
}

}  // namespace

template <packet_type Type>
std::uint8_t fixed_header_flags(const acknowledgement<Type>&) noexcept {
  // [MQTT-3.6.1-1] PUBREL fixed header flags are 0b0010; 0 for the others [MQTT-2.1.3-1].
  return Type == packet_type::pubrel ? 0x02 : 0x00;
}

template <packet_type Type>
result<acknowledgement<Type>, reason_code> decode_acknowledgement(std::uint8_t flags,
                                                                  byte_view body,
                                                                  protocol_version v) {
  acknowledgement<Type> out;
  if (flags != fixed_header_flags(out)) return unexpected{reason_code::malformed_packet};
  reader in(body);
  ACEMQ_MQTT_TRY(out.packet_id, read_packet_id(in));
  if (v == protocol_version::v5 && !in.empty()) {
    // MQTT 5.0 3.4.2.1: Remaining Length 2 means Success with no properties.
    std::uint8_t code = 0;
    ACEMQ_MQTT_TRY(code, in.read_byte());
    if (!is_allowed_reason_code(Type, code)) return unexpected{reason_code::malformed_packet};
    out.reason_code = static_cast<reason_code>(code);
    // MQTT 5.0 3.4.2.2.1: Remaining Length 3 means no Property Length.
    if (!in.empty()) ACEMQ_MQTT_TRY(out.properties, read_properties(in, context_of(Type)));
  }
  // MQTT 3.1.1 3.4.1: Remaining Length is exactly 2; in v5 nothing follows the properties.
  if (!in.empty()) return unexpected{reason_code::malformed_packet};
  return out;
}

template <packet_type Type>
std::size_t body_size(const acknowledgement<Type>& p, protocol_version v) noexcept {
  if (v == protocol_version::v311) return 2;
  if (p.properties.empty()) return p.reason_code == reason_code::success ? 2 : 3;
  return 3 + properties_size(p.properties);
}

template <packet_type Type>
void encode_body(const acknowledgement<Type>& p, protocol_version v, byte_vector& out) {
  write_two_byte_integer(p.packet_id, out);
  if (v == protocol_version::v311) return;
  // MQTT 5.0 3.4.2.1 short forms: leave out what the receiver can infer.
  const bool has_properties = !p.properties.empty();
  if (p.reason_code == reason_code::success && !has_properties) return;
  write_byte(static_cast<std::uint8_t>(p.reason_code), out);
  if (has_properties) write_properties(p.properties, out);
}

#define ACEMQ_MQTT_ACKNOWLEDGEMENT(Type)                                                   \
  template std::uint8_t fixed_header_flags(const acknowledgement<Type>&) noexcept;         \
  template result<acknowledgement<Type>, reason_code> decode_acknowledgement<Type>(        \
      std::uint8_t, byte_view, protocol_version);                                          \
  template std::size_t body_size(const acknowledgement<Type>&, protocol_version) noexcept; \
  template void encode_body(const acknowledgement<Type>&, protocol_version, byte_vector&);

ACEMQ_MQTT_ACKNOWLEDGEMENT(packet_type::puback)
ACEMQ_MQTT_ACKNOWLEDGEMENT(packet_type::pubrec)
ACEMQ_MQTT_ACKNOWLEDGEMENT(packet_type::pubrel)
ACEMQ_MQTT_ACKNOWLEDGEMENT(packet_type::pubcomp)
#undef ACEMQ_MQTT_ACKNOWLEDGEMENT

}  // namespace acemq::mqtt::detail
