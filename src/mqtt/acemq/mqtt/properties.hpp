#pragma once
// MQTT 5.0 properties (MQTT 5.0 section 2.2.2). MQTT 3.1.1 packets have none: the encoder leaves
// them out for v311 and the decoder returns them empty.

#include <acemq/common/bytes.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace acemq::mqtt {

/// Property identifiers (MQTT 5.0 section 2.2.2.2, table 2-4).
enum class property_id : std::uint8_t {
  payload_format_indicator = 0x01,
  message_expiry_interval = 0x02,
  content_type = 0x03,
  response_topic = 0x08,
  correlation_data = 0x09,
  subscription_identifier = 0x0B,
  session_expiry_interval = 0x11,
  assigned_client_identifier = 0x12,
  server_keep_alive = 0x13,
  authentication_method = 0x15,
  authentication_data = 0x16,
  request_problem_information = 0x17,
  will_delay_interval = 0x18,
  request_response_information = 0x19,
  response_information = 0x1A,
  server_reference = 0x1C,
  reason_string = 0x1F,
  receive_maximum = 0x21,
  topic_alias_maximum = 0x22,
  topic_alias = 0x23,
  maximum_qos = 0x24,
  retain_available = 0x25,
  user_property = 0x26,
  maximum_packet_size = 0x27,
  wildcard_subscription_available = 0x28,
  subscription_identifier_available = 0x29,
  shared_subscription_available = 0x2A,
};

/// Largest Subscription Identifier: the largest Variable Byte Integer [MQTT 5.0 3.8.2.1.2].
inline constexpr std::uint32_t max_subscription_identifier = 268'435'455;

/// All MQTT 5.0 properties; an absent property is std::nullopt (or an empty vector for the
/// repeatable ones). Which properties a packet may carry is checked by the decoder; the encoder
/// writes whatever is set, so callers only set what the packet allows.
struct properties {
  std::optional<std::uint8_t> payload_format_indicator;      // 0x01: 0 bytes, 1 UTF-8
  std::optional<std::uint32_t> message_expiry_interval;      // 0x02: seconds
  std::optional<std::string> content_type;                   // 0x03
  std::optional<std::string> response_topic;                 // 0x08
  std::optional<byte_vector> correlation_data;               // 0x09
  std::vector<std::uint32_t> subscription_identifiers;       // 0x0B: repeats only in PUBLISH
  std::optional<std::uint32_t> session_expiry_interval;      // 0x11: seconds
  std::optional<std::string> assigned_client_identifier;     // 0x12
  std::optional<std::uint16_t> server_keep_alive;            // 0x13: seconds
  std::optional<std::string> authentication_method;          // 0x15
  std::optional<byte_vector> authentication_data;            // 0x16
  std::optional<std::uint8_t> request_problem_information;   // 0x17: 0/1
  std::optional<std::uint32_t> will_delay_interval;          // 0x18: seconds
  std::optional<std::uint8_t> request_response_information;  // 0x19: 0/1
  std::optional<std::string> response_information;           // 0x1A
  std::optional<std::string> server_reference;               // 0x1C
  std::optional<std::string> reason_string;                  // 0x1F
  std::optional<std::uint16_t> receive_maximum;              // 0x21: non-zero
  std::optional<std::uint16_t> topic_alias_maximum;          // 0x22
  std::optional<std::uint16_t> topic_alias;                  // 0x23: non-zero
  std::optional<std::uint8_t> maximum_qos;                   // 0x24: 0/1
  std::optional<std::uint8_t> retain_available;              // 0x25: 0/1
  std::vector<std::pair<std::string, std::string>> user_properties;  // 0x26: order preserved
  std::optional<std::uint32_t> maximum_packet_size;                  // 0x27: non-zero
  std::optional<std::uint8_t> wildcard_subscription_available;       // 0x28: 0/1
  std::optional<std::uint8_t> subscription_identifier_available;     // 0x29: 0/1
  std::optional<std::uint8_t> shared_subscription_available;         // 0x2A: 0/1

  /// True when no property is set (the encoder may then use the short forms of acks).
  bool empty() const noexcept;

  bool operator==(const properties&) const = default;
};

}  // namespace acemq::mqtt
