#include <acemq/common/topic.hpp>
#include <acemq/mqtt/detail/packet_codecs.hpp>
#include <acemq/mqtt/publish.hpp>

#include <algorithm>

namespace acemq::mqtt {

bool publish::operator==(const publish& other) const {
  const byte_view mine = payload_view();
  const byte_view theirs = other.payload_view();
  return dup == other.dup && qos == other.qos && retain == other.retain && topic == other.topic &&
         packet_id == other.packet_id && properties == other.properties &&
         std::equal(mine.begin(), mine.end(), theirs.begin(), theirs.end());
}

namespace detail {

namespace {
// PUBLISH fixed header flags [MQTT 5.0 3.3.1]: DUP bit 3, QoS bits 2-1, RETAIN bit 0.
constexpr std::uint8_t dup_flag = 0x08;
constexpr std::uint8_t qos_shift = 1;
constexpr std::uint8_t qos_mask = 0x06;
constexpr std::uint8_t retain_flag = 0x01;
}  // namespace

result<publish, reason_code> decode_publish(std::uint8_t flags, byte_view body,
                                            protocol_version v) {
  publish out;
  ACEMQ_MQTT_CHECK(decode_publish_into(flags, body, v, out));
  return out;
}

result<void, reason_code> decode_publish_into(std::uint8_t flags, byte_view body,
                                              protocol_version v, publish& out,
                                              std::shared_ptr<byte_vector> payload_buffer) {
  out.dup = (flags & dup_flag) != 0;
  out.qos = static_cast<std::uint8_t>((flags & qos_mask) >> qos_shift);
  out.retain = (flags & retain_flag) != 0;
  // [MQTT-3.3.1-4] QoS 3 is malformed.
  if (out.qos > 2) return unexpected{reason_code::malformed_packet};
  // [MQTT-3.3.1-2] DUP is 0 for every QoS 0 message.
  if (out.dup && out.qos == 0) return unexpected{reason_code::malformed_packet};

  reader in(body);
  std::string_view topic;
  ACEMQ_MQTT_TRY(topic, in.read_utf8_view());
  out.topic.assign(topic);
  out.packet_id = 0;
  if (out.qos > 0) ACEMQ_MQTT_TRY(out.packet_id, read_packet_id(in));
  if (v == protocol_version::v5) {
    ACEMQ_MQTT_TRY(out.properties, read_properties(in, property_context::publish));
  } else if (!out.properties.empty()) {
    out.properties = {};
  }
  if (out.topic.empty()) {
    // MQTT 5.0 3.3.2.3.4: an empty Topic Name needs a Topic Alias, else Protocol Error.
    // MQTT 3.1.1 [MQTT-4.7.3-1]: topic names are at least one character.
    if (v == protocol_version::v311) return unexpected{reason_code::topic_name_invalid};
    if (!out.properties.topic_alias) return unexpected{reason_code::protocol_error};
  } else if (!topic::is_valid_name(out.topic)) {
    // [MQTT-3.3.2-2] no wildcard characters in a Topic Name.
    return unexpected{reason_code::topic_name_invalid};
  }
  const byte_view payload = in.read_rest();
  if (payload_buffer) {
    payload_buffer->assign(payload.begin(), payload.end());
  } else {
    payload_buffer = std::make_shared<byte_vector>(payload.begin(), payload.end());
  }
  out.payload = std::move(payload_buffer);
  return {};
}

std::uint8_t fixed_header_flags(const publish& p) noexcept {
  assert(p.qos <= 2);
  std::uint8_t flags = static_cast<std::uint8_t>(p.qos << qos_shift);
  if (p.dup) flags |= dup_flag;
  if (p.retain) flags |= retain_flag;
  return flags;
}

std::size_t body_size(const publish& p, protocol_version v) noexcept {
  std::size_t size = length_prefixed_size(p.topic.size());
  if (p.qos > 0) size += 2;
  if (v == protocol_version::v5) size += properties_size(p.properties);
  return size + p.payload_view().size();
}

void encode_publish_variable_header(const publish& p, protocol_version v, byte_vector& out) {
  write_utf8_string(p.topic, out);
  if (p.qos > 0) write_two_byte_integer(p.packet_id, out);
  if (v == protocol_version::v5) write_properties(p.properties, out);
}

void encode_body(const publish& p, protocol_version v, byte_vector& out) {
  encode_publish_variable_header(p, v, out);
  const byte_view payload = p.payload_view();
  out.insert(out.end(), payload.begin(), payload.end());
}

}  // namespace detail

}  // namespace acemq::mqtt
