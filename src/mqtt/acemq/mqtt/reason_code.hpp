#pragma once
// MQTT 5.0 reason codes (MQTT 5.0 section 2.4) and the MQTT 3.1.1 CONNACK return codes
// (MQTT 3.1.1 section 3.2.2.3). Decoders fail with a reason_code, so a malformed packet travels to
// the DISCONNECT/CONNACK without translation tables.

#include <acemq/mqtt/packet_type.hpp>

#include <cstdint>
#include <string_view>

namespace acemq::mqtt {

/// Every MQTT 5.0 reason code. 0x00 has several names (Success, Normal disconnection, Granted
/// QoS 0); the enum names it `success` and the aliases are the constants below.
enum class reason_code : std::uint8_t {
  success = 0x00,
  granted_qos_1 = 0x01,
  granted_qos_2 = 0x02,
  disconnect_with_will = 0x04,
  no_matching_subscribers = 0x10,
  no_subscription_existed = 0x11,
  continue_authentication = 0x18,
  reauthenticate = 0x19,
  unspecified_error = 0x80,
  malformed_packet = 0x81,
  protocol_error = 0x82,
  implementation_specific_error = 0x83,
  unsupported_protocol_version = 0x84,
  client_identifier_not_valid = 0x85,
  bad_user_name_or_password = 0x86,
  not_authorized = 0x87,
  server_unavailable = 0x88,
  server_busy = 0x89,
  banned = 0x8A,
  server_shutting_down = 0x8B,
  bad_authentication_method = 0x8C,
  keep_alive_timeout = 0x8D,
  session_taken_over = 0x8E,
  topic_filter_invalid = 0x8F,
  topic_name_invalid = 0x90,
  packet_identifier_in_use = 0x91,
  packet_identifier_not_found = 0x92,
  receive_maximum_exceeded = 0x93,
  topic_alias_invalid = 0x94,
  packet_too_large = 0x95,
  message_rate_too_high = 0x96,
  quota_exceeded = 0x97,
  administrative_action = 0x98,
  payload_format_invalid = 0x99,
  retain_not_supported = 0x9A,
  qos_not_supported = 0x9B,
  use_another_server = 0x9C,
  server_moved = 0x9D,
  shared_subscriptions_not_supported = 0x9E,
  connection_rate_exceeded = 0x9F,
  maximum_connect_time = 0xA0,
  subscription_identifiers_not_supported = 0xA1,
  wildcard_subscriptions_not_supported = 0xA2,
};

/// 0x00 in DISCONNECT [MQTT 5.0 3.14.2.1].
inline constexpr reason_code normal_disconnection = reason_code::success;
/// 0x00 in SUBACK [MQTT 5.0 3.9.3].
inline constexpr reason_code granted_qos_0 = reason_code::success;

/// Whether a reason code is an error: values of 0x80 and above [MQTT 5.0 2.4].
constexpr bool is_error(reason_code code) noexcept {
  return static_cast<std::uint8_t>(code) >= 0x80;
}

/// Whether `value` is one of the reason codes defined by MQTT 5.0.
bool is_known_reason_code(std::uint8_t value) noexcept;

/// Whether MQTT 5.0 allows `code` as the reason code of a packet of `type` [MQTT 5.0 2.4,
/// table 2-6]; PUBREC shares PUBACK's codes and PUBCOMP PUBREL's.
bool is_allowed_reason_code(packet_type type, reason_code code) noexcept;

/// A refusal (from an authentication provider, a principal, an interceptor) as a reason code a
/// packet of `type` may carry: a code that is not an error becomes Not authorized, and an error
/// the packet does not allow becomes Unspecified error, so the peer never receives a packet it
/// has to treat as malformed.
reason_code refusal_for(packet_type type, reason_code code) noexcept;

/// The specification's name in snake_case, e.g. "malformed_packet"; "unknown" for a value the
/// enum does not define.
std::string_view to_string(reason_code code) noexcept;

/// MQTT 3.1.1 CONNACK return codes (MQTT 3.1.1 section 3.2.2.3); 6..255 are reserved.
enum class connect_return_code_v311 : std::uint8_t {
  accepted = 0x00,
  unacceptable_protocol_version = 0x01,
  identifier_rejected = 0x02,
  server_unavailable = 0x03,
  bad_user_name_or_password = 0x04,
  not_authorized = 0x05,
};

/// Maps a v5 CONNACK reason code to the closest 3.1.1 return code (used when encoding CONNACK
/// for a 3.1.1 client). Errors without a 3.1.1 equivalent become server_unavailable, except the
/// authorization failures (banned, bad_authentication_method), which become not_authorized.
connect_return_code_v311 to_connect_return_code_v311(reason_code code) noexcept;

/// The v5 reason code a 3.1.1 return code stands for; the inverse of to_connect_return_code_v311
/// on the six codes it produces.
reason_code from_connect_return_code_v311(connect_return_code_v311 code) noexcept;

std::string_view to_string(connect_return_code_v311 code) noexcept;

}  // namespace acemq::mqtt
