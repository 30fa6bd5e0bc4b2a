#include <acemq/common/topic.hpp>
#include <acemq/mqtt/connect.hpp>
#include <acemq/mqtt/detail/packet_codecs.hpp>

namespace acemq::mqtt::detail {

namespace {

constexpr std::string_view protocol_name = "MQTT";  // [MQTT-3.1.2-1]

// Connect Flags bits [MQTT 5.0 3.1.2.3].
constexpr std::uint8_t reserved_flag = 0x01;
constexpr std::uint8_t clean_start_flag = 0x02;
constexpr std::uint8_t will_flag = 0x04;
constexpr std::uint8_t will_qos_shift = 3;
constexpr std::uint8_t will_qos_mask = 0x18;
constexpr std::uint8_t will_retain_flag = 0x20;
constexpr std::uint8_t password_flag = 0x40;
constexpr std::uint8_t username_flag = 0x80;

}  // namespace

result<connect, reason_code> decode_connect_body(std::uint8_t flags, byte_view body) {
  // [MQTT-2.1.3-1] reserved fixed header flags are 0.
  if (flags != 0) return unexpected{reason_code::malformed_packet};
  reader in(body);
  connect out;

  std::uint16_t name_length = 0;
  ACEMQ_MQTT_TRY(name_length, in.read_two_byte_integer());
  byte_view name;
  ACEMQ_MQTT_TRY(name, in.read_bytes(name_length));
  std::uint8_t level = 0;
  ACEMQ_MQTT_TRY(level, in.read_byte());
  // [MQTT-3.1.2-1] name "MQTT"; [MQTT-3.1.2-2] level 4 (3.1.1) or 5. Anything else (including
  // MQTT 3.1's "MQIsdp"/3) is answered with 0x84 / return code 0x01.
  if (as_string_view(name) != protocol_name) {
    return unexpected{reason_code::unsupported_protocol_version};
  }
  if (level != static_cast<std::uint8_t>(protocol_version::v311) &&
      level != static_cast<std::uint8_t>(protocol_version::v5)) {
    return unexpected{reason_code::unsupported_protocol_version};
  }
  out.protocol_version = static_cast<protocol_version>(level);
  const bool v5 = out.protocol_version == protocol_version::v5;

  std::uint8_t connect_flags = 0;
  ACEMQ_MQTT_TRY(connect_flags, in.read_byte());
  // [MQTT-3.1.2-3] the reserved flag is 0.
  if ((connect_flags & reserved_flag) != 0) return unexpected{reason_code::malformed_packet};
  out.clean_start = (connect_flags & clean_start_flag) != 0;
  const bool has_will = (connect_flags & will_flag) != 0;
  const auto will_qos =
      static_cast<std::uint8_t>((connect_flags & will_qos_mask) >> will_qos_shift);
  const bool will_retain = (connect_flags & will_retain_flag) != 0;
  // [MQTT-3.1.2-12] Will QoS 3 is malformed.
  if (will_qos > 2) return unexpected{reason_code::malformed_packet};
  // [MQTT-3.1.2-11] / [MQTT-3.1.2-13] / [MQTT-3.1.2-15]: without a Will, Will QoS and Will
  // Retain are 0.
  if (!has_will && (will_qos != 0 || will_retain)) {
    return unexpected{reason_code::malformed_packet};
  }
  const bool has_username = (connect_flags & username_flag) != 0;
  const bool has_password = (connect_flags & password_flag) != 0;
  // [MQTT-3.1.2-22] (3.1.1 only): no password without a user name. MQTT 5.0 allows it.
  if (!v5 && has_password && !has_username) return unexpected{reason_code::malformed_packet};

  ACEMQ_MQTT_TRY(out.keep_alive, in.read_two_byte_integer());
  if (v5) {
    ACEMQ_MQTT_TRY(out.properties, read_properties(in, property_context::connect));
    // MQTT 5.0 3.1.2.11.10: Authentication Data without Authentication Method is a
    // Protocol Error.
    if (out.properties.authentication_data && !out.properties.authentication_method) {
      return unexpected{reason_code::protocol_error};
    }
  }

  // [MQTT-3.1.3-1] payload order: Client Identifier, Will Properties, Will Topic, Will Payload,
  // User Name, Password.
  ACEMQ_MQTT_TRY(out.client_id, in.read_utf8_string());
  if (has_will) {
    will_message will;
    will.qos = will_qos;
    will.retain = will_retain;
    if (v5) ACEMQ_MQTT_TRY(will.properties, read_properties(in, property_context::will));
    ACEMQ_MQTT_TRY(will.topic, in.read_utf8_string());
    // [MQTT-3.1.3-11] the Will Topic is a topic name: no wildcards, not empty.
    if (!topic::is_valid_name(will.topic)) return unexpected{reason_code::topic_name_invalid};
    ACEMQ_MQTT_TRY(will.payload, in.read_binary_data());
    out.will = std::move(will);
  }
  if (has_username) {
    std::string username;
    ACEMQ_MQTT_TRY(username, in.read_utf8_string());
    out.username = std::move(username);
  }
  if (has_password) {
    byte_vector password;
    ACEMQ_MQTT_TRY(password, in.read_binary_data());
    out.password = std::move(password);
  }
  // Bytes after the last field mean the Remaining Length disagrees with the content.
  if (!in.empty()) return unexpected{reason_code::malformed_packet};
  return out;
}

std::uint8_t fixed_header_flags(const connect&) noexcept {
  return 0;
}

std::size_t body_size(const connect& p, protocol_version) noexcept {
  const bool v5 = p.protocol_version == protocol_version::v5;
  std::size_t size = length_prefixed_size(protocol_name.size()) + 1 + 1 + 2;
  if (v5) size += properties_size(p.properties);
  size += length_prefixed_size(p.client_id.size());
  if (p.will) {
    if (v5) size += properties_size(p.will->properties);
    size +=
        length_prefixed_size(p.will->topic.size()) + length_prefixed_size(p.will->payload.size());
  }
  if (p.username) size += length_prefixed_size(p.username->size());
  if (p.password) size += length_prefixed_size(p.password->size());
  return size;
}

void encode_body(const connect& p, protocol_version, byte_vector& out) {
  const bool v5 = p.protocol_version == protocol_version::v5;
  write_utf8_string(protocol_name, out);
  write_byte(static_cast<std::uint8_t>(p.protocol_version), out);
  std::uint8_t flags = 0;
  if (p.clean_start) flags |= clean_start_flag;
  if (p.will) {
    assert(p.will->qos <= 2);
    flags |= will_flag;
    flags |= static_cast<std::uint8_t>(p.will->qos << will_qos_shift);
    if (p.will->retain) flags |= will_retain_flag;
  }
  if (p.username) flags |= username_flag;
  if (p.password) flags |= password_flag;
  write_byte(flags, out);
  write_two_byte_integer(p.keep_alive, out);
  if (v5) write_properties(p.properties, out);
  write_utf8_string(p.client_id, out);
  if (p.will) {
    if (v5) write_properties(p.will->properties, out);
    write_utf8_string(p.will->topic, out);
    write_length_prefixed(p.will->payload, out);
  }
  if (p.username) write_utf8_string(*p.username, out);
  if (p.password) write_length_prefixed(*p.password, out);
}

}  // namespace acemq::mqtt::detail
