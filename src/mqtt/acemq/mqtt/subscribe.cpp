#include <acemq/common/topic.hpp>
#include <acemq/mqtt/detail/packet_codecs.hpp>
#include <acemq/mqtt/subscribe.hpp>

namespace acemq::mqtt::detail {

namespace {

constexpr std::uint8_t required_flags = 0x02;  // [MQTT-3.8.1-1]

// Subscription Options [MQTT 5.0 3.8.3.1]: QoS bits 1-0, No Local bit 2, Retain As Published
// bit 3, Retain Handling bits 5-4, bits 7-6 reserved.
constexpr std::uint8_t qos_mask = 0x03;
constexpr std::uint8_t no_local_flag = 0x04;
constexpr std::uint8_t retain_as_published_flag = 0x08;
constexpr std::uint8_t retain_handling_shift = 4;
constexpr std::uint8_t retain_handling_mask = 0x30;
constexpr std::uint8_t reserved_mask_v5 = 0xC0;
constexpr std::uint8_t reserved_mask_v311 = 0xFC;

result<subscription_options, reason_code> read_options(std::uint8_t byte, protocol_version v) {
  subscription_options options;
  options.maximum_qos = static_cast<std::uint8_t>(byte & qos_mask);
  if (v == protocol_version::v311) {
    // MQTT 3.1.1 [MQTT-3-8.3-4]: reserved bits non-zero or QoS 3 is malformed.
    if ((byte & reserved_mask_v311) != 0 || options.maximum_qos > 2) {
      return unexpected{reason_code::malformed_packet};
    }
    return options;
  }
  // [MQTT-3.8.3-5] reserved bits are 0, else malformed.
  if ((byte & reserved_mask_v5) != 0) return unexpected{reason_code::malformed_packet};
  // MQTT 5.0 3.8.3.1: Maximum QoS 3 and Retain Handling 3 are Protocol Errors.
  if (options.maximum_qos > 2) return unexpected{reason_code::protocol_error};
  const auto handling =
      static_cast<std::uint8_t>((byte & retain_handling_mask) >> retain_handling_shift);
  if (handling > 2) return unexpected{reason_code::protocol_error};
  options.no_local = (byte & no_local_flag) != 0;
  options.retain_as_published = (byte & retain_as_published_flag) != 0;
  options.retain_handling = static_cast<retain_handling>(handling);
  return options;
}

std::uint8_t options_byte(const subscription_options& options, protocol_version v) noexcept {
  assert(options.maximum_qos <= 2);
  auto byte = static_cast<std::uint8_t>(options.maximum_qos & qos_mask);
  if (v == protocol_version::v311) return byte;
  if (options.no_local) byte |= no_local_flag;
  if (options.retain_as_published) byte |= retain_as_published_flag;
  byte |= static_cast<std::uint8_t>(static_cast<std::uint8_t>(options.retain_handling)
                                    << retain_handling_shift);
  return byte;
}

}  // namespace

result<subscribe, reason_code> decode_subscribe(std::uint8_t flags, byte_view body,
                                                protocol_version v) {
  if (flags != required_flags) return unexpected{reason_code::malformed_packet};
  reader in(body);
  subscribe out;
  ACEMQ_MQTT_TRY(out.packet_id, read_packet_id(in));
  if (v == protocol_version::v5) {
    ACEMQ_MQTT_TRY(out.properties, read_properties(in, property_context::subscribe));
  }
  while (!in.empty()) {
    subscription entry;
    // Only the string is checked here: an invalid filter is answered per filter with SUBACK
    // 0x8F (MQTT 5.0 3.9.3) rather than by closing the connection.
    ACEMQ_MQTT_TRY(entry.filter, in.read_utf8_string());
    std::uint8_t byte = 0;
    ACEMQ_MQTT_TRY(byte, in.read_byte());
    ACEMQ_MQTT_TRY(entry.options, read_options(byte, v));
    // [MQTT-3.8.3-4] No Local on a Shared Subscription is a Protocol Error.
    if (entry.options.no_local && topic::parse_shared(entry.filter).is_shared) {
      return unexpected{reason_code::protocol_error};
    }
    out.subscriptions.push_back(std::move(entry));
  }
  // [MQTT-3.8.3-3] at least one Topic Filter.
  if (out.subscriptions.empty()) return unexpected{reason_code::protocol_error};
  return out;
}

std::uint8_t fixed_header_flags(const subscribe&) noexcept {
  return required_flags;
}

std::size_t body_size(const subscribe& p, protocol_version v) noexcept {
  std::size_t size = 2;
  if (v == protocol_version::v5) size += properties_size(p.properties);
  for (const subscription& entry : p.subscriptions) {
    size += length_prefixed_size(entry.filter.size()) + 1;
  }
  return size;
}

void encode_body(const subscribe& p, protocol_version v, byte_vector& out) {
  write_two_byte_integer(p.packet_id, out);
  if (v == protocol_version::v5) write_properties(p.properties, out);
  for (const subscription& entry : p.subscriptions) {
    write_utf8_string(entry.filter, out);
    write_byte(options_byte(entry.options, v), out);
  }
}

}  // namespace acemq::mqtt::detail
