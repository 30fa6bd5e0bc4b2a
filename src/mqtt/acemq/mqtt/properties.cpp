#include <acemq/common/topic.hpp>
#include <acemq/mqtt/detail/packet_codecs.hpp>
#include <acemq/mqtt/frame.hpp>
#include <acemq/mqtt/properties.hpp>

namespace acemq::mqtt {

bool properties::empty() const noexcept {
  return !payload_format_indicator && !message_expiry_interval && !content_type &&
         !response_topic && !correlation_data && subscription_identifiers.empty() &&
         !session_expiry_interval && !assigned_client_identifier && !server_keep_alive &&
         !authentication_method && !authentication_data && !request_problem_information &&
         !will_delay_interval && !request_response_information && !response_information &&
         !server_reference && !reason_string && !receive_maximum && !topic_alias_maximum &&
         !topic_alias && !maximum_qos && !retain_available && user_properties.empty() &&
         !maximum_packet_size && !wildcard_subscription_available &&
         !subscription_identifier_available && !shared_subscription_available;
}

namespace detail {

namespace {

using context_mask = std::uint16_t;

constexpr context_mask bit(property_context context) noexcept {
  return static_cast<context_mask>(1U << static_cast<unsigned>(context));
}

constexpr context_mask publish_and_will =
    bit(property_context::publish) | bit(property_context::will);
constexpr context_mask every_context = 0x3FFF;
constexpr context_mask with_reason_string =
    bit(property_context::connack) | bit(property_context::puback) | bit(property_context::pubrec) |
    bit(property_context::pubrel) | bit(property_context::pubcomp) | bit(property_context::suback) |
    bit(property_context::unsuback) | bit(property_context::disconnect) |
    bit(property_context::auth);

// MQTT 5.0 2.2.2.2, table 2-4: the packets (and Will Properties) each property may appear in.
// Zero means the identifier is not defined.
constexpr context_mask allowed_contexts(std::uint32_t id) noexcept {
  // Defined identifiers are one-byte Variable Byte Integers; check before narrowing.
  if (id > 0x7F) return 0;
  switch (static_cast<property_id>(id)) {
    case property_id::payload_format_indicator:
    case property_id::message_expiry_interval:
    case property_id::content_type:
    case property_id::response_topic:
    case property_id::correlation_data:
      return publish_and_will;
    case property_id::subscription_identifier:
      return bit(property_context::publish) | bit(property_context::subscribe);
    case property_id::session_expiry_interval:
      return bit(property_context::connect) | bit(property_context::connack) |
             bit(property_context::disconnect);
    case property_id::assigned_client_identifier:
    case property_id::server_keep_alive:
    case property_id::response_information:
    case property_id::maximum_qos:
    case property_id::retain_available:
    case property_id::wildcard_subscription_available:
    case property_id::subscription_identifier_available:
    case property_id::shared_subscription_available:
      return bit(property_context::connack);
    case property_id::authentication_method:
    case property_id::authentication_data:
      return bit(property_context::connect) | bit(property_context::connack) |
             bit(property_context::auth);
    case property_id::request_problem_information:
    case property_id::request_response_information:
      return bit(property_context::connect);
    case property_id::will_delay_interval:
      return bit(property_context::will);
    case property_id::server_reference:
      return bit(property_context::connack) | bit(property_context::disconnect);
    case property_id::reason_string:
      return with_reason_string;
    case property_id::receive_maximum:
    case property_id::topic_alias_maximum:
    case property_id::maximum_packet_size:
      return bit(property_context::connect) | bit(property_context::connack);
    case property_id::topic_alias:
      return bit(property_context::publish);
    case property_id::user_property:
      return every_context;
  }
  return 0;
}

// A non-repeatable property may appear once: a second one is a Protocol Error
// (MQTT 5.0 3.1.2.11 and the matching sentence for each property).
template <typename T>
result<void, reason_code> store_once(std::optional<T>& target, T value) {
  if (target.has_value()) return unexpected{reason_code::protocol_error};
  target = std::move(value);
  return {};
}

result<void, reason_code> read_byte_property(reader& in, std::optional<std::uint8_t>& target,
                                             std::uint8_t maximum) {
  std::uint8_t value = 0;
  ACEMQ_MQTT_TRY(value, in.read_byte());
  // Booleans, Payload Format Indicator and Maximum QoS are 0 or 1: anything else is a
  // Protocol Error (e.g. MQTT 5.0 3.1.2.11.6, 3.2.2.3.4).
  if (value > maximum) return unexpected{reason_code::protocol_error};
  return store_once(target, value);
}

result<void, reason_code> read_two_byte_property(reader& in, std::optional<std::uint16_t>& target,
                                                 bool zero_allowed) {
  std::uint16_t value = 0;
  ACEMQ_MQTT_TRY(value, in.read_two_byte_integer());
  // MQTT 5.0: Receive Maximum 0 (3.1.2.11.3) and Topic Alias 0 (3.3.2.3.4) are Protocol Errors.
  if (value == 0 && !zero_allowed) return unexpected{reason_code::protocol_error};
  return store_once(target, value);
}

result<void, reason_code> read_four_byte_property(reader& in, std::optional<std::uint32_t>& target,
                                                  bool zero_allowed) {
  std::uint32_t value = 0;
  ACEMQ_MQTT_TRY(value, in.read_four_byte_integer());
  // Maximum Packet Size 0 is a Protocol Error (MQTT 5.0 3.1.2.11.4).
  if (value == 0 && !zero_allowed) return unexpected{reason_code::protocol_error};
  return store_once(target, value);
}

result<void, reason_code> read_string_property(reader& in, std::optional<std::string>& target) {
  std::string value;
  ACEMQ_MQTT_TRY(value, in.read_utf8_string());
  return store_once(target, std::move(value));
}

result<void, reason_code> read_binary_property(reader& in, std::optional<byte_vector>& target) {
  byte_vector value;
  ACEMQ_MQTT_TRY(value, in.read_binary_data());
  return store_once(target, std::move(value));
}

result<void, reason_code> read_one_property(reader& in, property_id id, property_context context,
                                            properties& out) {
  switch (id) {
    case property_id::payload_format_indicator:
      return read_byte_property(in, out.payload_format_indicator, 1);
    case property_id::message_expiry_interval:
      return read_four_byte_property(in, out.message_expiry_interval, true);
    case property_id::content_type:
      return read_string_property(in, out.content_type);
    case property_id::response_topic: {
      std::string value;
      ACEMQ_MQTT_TRY(value, in.read_utf8_string());
      // MQTT 5.0 3.3.2.3.5: the Response Topic is a topic name, so it has no wildcards.
      if (!topic::is_valid_name(value)) return unexpected{reason_code::protocol_error};
      return store_once(out.response_topic, std::move(value));
    }
    case property_id::correlation_data:
      return read_binary_property(in, out.correlation_data);
    case property_id::subscription_identifier: {
      std::uint32_t value = 0;
      ACEMQ_MQTT_TRY(value, in.read_variable_byte_integer());
      // [MQTT 5.0 3.8.2.1.2] 1..268435455; 0 is a Protocol Error.
      if (value == 0) return unexpected{reason_code::protocol_error};
      // Only PUBLISH to a client may carry several [MQTT 5.0 3.3.2.3.8]; one in SUBSCRIBE.
      if (context != property_context::publish && !out.subscription_identifiers.empty()) {
        return unexpected{reason_code::protocol_error};
      }
      out.subscription_identifiers.push_back(value);
      return {};
    }
    case property_id::session_expiry_interval:
      return read_four_byte_property(in, out.session_expiry_interval, true);
    case property_id::assigned_client_identifier:
      return read_string_property(in, out.assigned_client_identifier);
    case property_id::server_keep_alive:
      return read_two_byte_property(in, out.server_keep_alive, true);
    case property_id::authentication_method:
      return read_string_property(in, out.authentication_method);
    case property_id::authentication_data:
      return read_binary_property(in, out.authentication_data);
    case property_id::request_problem_information:
      return read_byte_property(in, out.request_problem_information, 1);
    case property_id::will_delay_interval:
      return read_four_byte_property(in, out.will_delay_interval, true);
    case property_id::request_response_information:
      return read_byte_property(in, out.request_response_information, 1);
    case property_id::response_information:
      return read_string_property(in, out.response_information);
    case property_id::server_reference:
      return read_string_property(in, out.server_reference);
    case property_id::reason_string:
      return read_string_property(in, out.reason_string);
    case property_id::receive_maximum:
      return read_two_byte_property(in, out.receive_maximum, false);
    case property_id::topic_alias_maximum:
      return read_two_byte_property(in, out.topic_alias_maximum, true);
    case property_id::topic_alias:
      return read_two_byte_property(in, out.topic_alias, false);
    case property_id::maximum_qos:
      return read_byte_property(in, out.maximum_qos, 1);
    case property_id::retain_available:
      return read_byte_property(in, out.retain_available, 1);
    case property_id::user_property: {
      // MQTT 5.0 3.1.2.11.8: may repeat; order is kept.
      std::string name;
      std::string value;
      ACEMQ_MQTT_TRY(name, in.read_utf8_string());
      ACEMQ_MQTT_TRY(value, in.read_utf8_string());
      out.user_properties.emplace_back(std::move(name), std::move(value));
      return {};
    }
    case property_id::maximum_packet_size:
      return read_four_byte_property(in, out.maximum_packet_size, false);
    case property_id::wildcard_subscription_available:
      return read_byte_property(in, out.wildcard_subscription_available, 1);
    case property_id::subscription_identifier_available:
      return read_byte_property(in, out.subscription_identifier_available, 1);
    case property_id::shared_subscription_available:
      return read_byte_property(in, out.shared_subscription_available, 1);
  }
  return unexpected{reason_code::malformed_packet};
}

// Encoding helpers: the size of each property including its one-byte identifier.
constexpr std::size_t byte_size = 1 + 1;
constexpr std::size_t two_byte_size = 1 + 2;
constexpr std::size_t four_byte_size = 1 + 4;
std::size_t string_size(std::size_t length) noexcept {
  return 1 + length_prefixed_size(length);
}

void write_id(property_id id, byte_vector& out) {
  // Every defined identifier is below 128, so its Variable Byte Integer is one byte.
  out.push_back(static_cast<std::uint8_t>(id));
}

template <typename T>
void write_optional(property_id id, const std::optional<T>& value, byte_vector& out) {
  if (!value) return;
  write_id(id, out);
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    write_byte(*value, out);
  } else if constexpr (std::is_same_v<T, std::uint16_t>) {
    write_two_byte_integer(*value, out);
  } else if constexpr (std::is_same_v<T, std::uint32_t>) {
    write_four_byte_integer(*value, out);
  } else if constexpr (std::is_same_v<T, std::string>) {
    write_utf8_string(*value, out);
  } else {
    static_assert(std::is_same_v<T, byte_vector>);
    write_length_prefixed(*value, out);
  }
}

template <typename T>
std::size_t optional_size(const std::optional<T>& value) noexcept {
  if (!value) return 0;
  if constexpr (std::is_same_v<T, std::uint8_t>) {
    return byte_size;
  } else if constexpr (std::is_same_v<T, std::uint16_t>) {
    return two_byte_size;
  } else if constexpr (std::is_same_v<T, std::uint32_t>) {
    return four_byte_size;
  } else {
    return string_size(value->size());
  }
}

}  // namespace

result<properties, reason_code> read_properties(reader& in, property_context context) {
  std::uint32_t length = 0;
  ACEMQ_MQTT_TRY(length, in.read_variable_byte_integer());
  byte_view content;
  // MQTT 5.0 2.2.2.1: the Property Length must fit in what is left of the packet.
  ACEMQ_MQTT_TRY(content, in.read_bytes(length));
  reader property_reader(content);
  properties out;
  while (!property_reader.empty()) {
    std::uint32_t id = 0;
    ACEMQ_MQTT_TRY(id, property_reader.read_variable_byte_integer());
    const context_mask allowed = allowed_contexts(id);
    // An undefined identifier cannot be skipped (its length is unknown): malformed.
    if (allowed == 0) return unexpected{reason_code::malformed_packet};
    // A property in a packet that does not allow it is a Protocol Error (e.g. [MQTT-3.1.2-...],
    // MQTT 5.0 2.2.2.2).
    if ((allowed & bit(context)) == 0) return unexpected{reason_code::protocol_error};
    ACEMQ_MQTT_CHECK(
        read_one_property(property_reader, static_cast<property_id>(id), context, out));
  }
  return out;
}

std::size_t properties_content_size(const properties& p) noexcept {
  std::size_t size = optional_size(p.payload_format_indicator) +
                     optional_size(p.message_expiry_interval) + optional_size(p.content_type) +
                     optional_size(p.response_topic) + optional_size(p.correlation_data);
  for (const std::uint32_t id : p.subscription_identifiers) {
    size += 1 + variable_byte_integer_size(id);
  }
  size += optional_size(p.session_expiry_interval) + optional_size(p.assigned_client_identifier) +
          optional_size(p.server_keep_alive) + optional_size(p.authentication_method) +
          optional_size(p.authentication_data) + optional_size(p.request_problem_information) +
          optional_size(p.will_delay_interval) + optional_size(p.request_response_information) +
          optional_size(p.response_information) + optional_size(p.server_reference) +
          optional_size(p.reason_string) + optional_size(p.receive_maximum) +
          optional_size(p.topic_alias_maximum) + optional_size(p.topic_alias) +
          optional_size(p.maximum_qos) + optional_size(p.retain_available);
  for (const auto& [name, value] : p.user_properties) {
    size += 1 + length_prefixed_size(name.size()) + length_prefixed_size(value.size());
  }
  size += optional_size(p.maximum_packet_size) + optional_size(p.wildcard_subscription_available) +
          optional_size(p.subscription_identifier_available) +
          optional_size(p.shared_subscription_available);
  return size;
}

std::size_t properties_size(const properties& p) noexcept {
  if (p.empty()) return 1;  // a Property Length of 0
  const std::size_t content = properties_content_size(p);
  return variable_byte_integer_size(to_remaining_length(content)) + content;
}

void write_properties(const properties& p, byte_vector& out) {
  if (p.empty()) {
    out.push_back(0);  // Property Length 0
    return;
  }
  write_variable_byte_integer(to_remaining_length(properties_content_size(p)), out);
  write_optional(property_id::payload_format_indicator, p.payload_format_indicator, out);
  write_optional(property_id::message_expiry_interval, p.message_expiry_interval, out);
  write_optional(property_id::content_type, p.content_type, out);
  write_optional(property_id::response_topic, p.response_topic, out);
  write_optional(property_id::correlation_data, p.correlation_data, out);
  for (const std::uint32_t id : p.subscription_identifiers) {
    write_id(property_id::subscription_identifier, out);
    write_variable_byte_integer(id, out);
  }
  write_optional(property_id::session_expiry_interval, p.session_expiry_interval, out);
  write_optional(property_id::assigned_client_identifier, p.assigned_client_identifier, out);
  write_optional(property_id::server_keep_alive, p.server_keep_alive, out);
  write_optional(property_id::authentication_method, p.authentication_method, out);
  write_optional(property_id::authentication_data, p.authentication_data, out);
  write_optional(property_id::request_problem_information, p.request_problem_information, out);
  write_optional(property_id::will_delay_interval, p.will_delay_interval, out);
  write_optional(property_id::request_response_information, p.request_response_information, out);
  write_optional(property_id::response_information, p.response_information, out);
  write_optional(property_id::server_reference, p.server_reference, out);
  write_optional(property_id::reason_string, p.reason_string, out);
  write_optional(property_id::receive_maximum, p.receive_maximum, out);
  write_optional(property_id::topic_alias_maximum, p.topic_alias_maximum, out);
  write_optional(property_id::topic_alias, p.topic_alias, out);
  write_optional(property_id::maximum_qos, p.maximum_qos, out);
  write_optional(property_id::retain_available, p.retain_available, out);
  for (const auto& [name, value] : p.user_properties) {
    write_id(property_id::user_property, out);
    write_utf8_string(name, out);
    write_utf8_string(value, out);
  }
  write_optional(property_id::maximum_packet_size, p.maximum_packet_size, out);
  write_optional(property_id::wildcard_subscription_available, p.wildcard_subscription_available,
                 out);
  write_optional(property_id::subscription_identifier_available,
                 p.subscription_identifier_available, out);
  write_optional(property_id::shared_subscription_available, p.shared_subscription_available, out);
}

}  // namespace detail

}  // namespace acemq::mqtt
