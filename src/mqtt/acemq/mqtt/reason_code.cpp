#include <acemq/mqtt/detail/packet_codecs.hpp>
#include <acemq/mqtt/reason_code.hpp>

#include <algorithm>
#include <array>

namespace acemq::mqtt {

namespace {

// MQTT 5.0 2.4, table 2-6: which packets may carry each reason code.
constexpr std::array<std::uint8_t, 22> connack_codes{0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86,
                                                     0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
                                                     0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F};
constexpr std::array<std::uint8_t, 9> puback_codes{0x00, 0x10, 0x80, 0x83, 0x87,
                                                   0x90, 0x91, 0x97, 0x99};
constexpr std::array<std::uint8_t, 2> pubrel_codes{0x00, 0x92};
constexpr std::array<std::uint8_t, 12> suback_codes{0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                                                    0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
constexpr std::array<std::uint8_t, 7> unsuback_codes{0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
constexpr std::array<std::uint8_t, 29> disconnect_codes{
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94,
    0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
constexpr std::array<std::uint8_t, 3> auth_codes{0x00, 0x18, 0x19};

template <std::size_t N>
bool contains(const std::array<std::uint8_t, N>& codes, std::uint8_t value) noexcept {
  return std::find(codes.begin(), codes.end(), value) != codes.end();
}

}  // namespace

bool is_known_reason_code(std::uint8_t value) noexcept {
  return to_string(static_cast<reason_code>(value)) != "unknown";
}

std::string_view to_string(reason_code code) noexcept {
  switch (code) {
    case reason_code::success:
      return "success";
    case reason_code::granted_qos_1:
      return "granted_qos_1";
    case reason_code::granted_qos_2:
      return "granted_qos_2";
    case reason_code::disconnect_with_will:
      return "disconnect_with_will";
    case reason_code::no_matching_subscribers:
      return "no_matching_subscribers";
    case reason_code::no_subscription_existed:
      return "no_subscription_existed";
    case reason_code::continue_authentication:
      return "continue_authentication";
    case reason_code::reauthenticate:
      return "reauthenticate";
    case reason_code::unspecified_error:
      return "unspecified_error";
    case reason_code::malformed_packet:
      return "malformed_packet";
    case reason_code::protocol_error:
      return "protocol_error";
    case reason_code::implementation_specific_error:
      return "implementation_specific_error";
    case reason_code::unsupported_protocol_version:
      return "unsupported_protocol_version";
    case reason_code::client_identifier_not_valid:
      return "client_identifier_not_valid";
    case reason_code::bad_user_name_or_password:
      return "bad_user_name_or_password";
    case reason_code::not_authorized:
      return "not_authorized";
    case reason_code::server_unavailable:
      return "server_unavailable";
    case reason_code::server_busy:
      return "server_busy";
    case reason_code::banned:
      return "banned";
    case reason_code::server_shutting_down:
      return "server_shutting_down";
    case reason_code::bad_authentication_method:
      return "bad_authentication_method";
    case reason_code::keep_alive_timeout:
      return "keep_alive_timeout";
    case reason_code::session_taken_over:
      return "session_taken_over";
    case reason_code::topic_filter_invalid:
      return "topic_filter_invalid";
    case reason_code::topic_name_invalid:
      return "topic_name_invalid";
    case reason_code::packet_identifier_in_use:
      return "packet_identifier_in_use";
    case reason_code::packet_identifier_not_found:
      return "packet_identifier_not_found";
    case reason_code::receive_maximum_exceeded:
      return "receive_maximum_exceeded";
    case reason_code::topic_alias_invalid:
      return "topic_alias_invalid";
    case reason_code::packet_too_large:
      return "packet_too_large";
    case reason_code::message_rate_too_high:
      return "message_rate_too_high";
    case reason_code::quota_exceeded:
      return "quota_exceeded";
    case reason_code::administrative_action:
      return "administrative_action";
    case reason_code::payload_format_invalid:
      return "payload_format_invalid";
    case reason_code::retain_not_supported:
      return "retain_not_supported";
    case reason_code::qos_not_supported:
      return "qos_not_supported";
    case reason_code::use_another_server:
      return "use_another_server";
    case reason_code::server_moved:
      return "server_moved";
    case reason_code::shared_subscriptions_not_supported:
      return "shared_subscriptions_not_supported";
    case reason_code::connection_rate_exceeded:
      return "connection_rate_exceeded";
    case reason_code::maximum_connect_time:
      return "maximum_connect_time";
    case reason_code::subscription_identifiers_not_supported:
      return "subscription_identifiers_not_supported";
    case reason_code::wildcard_subscriptions_not_supported:
      return "wildcard_subscriptions_not_supported";
  }
  return "unknown";
}

connect_return_code_v311 to_connect_return_code_v311(reason_code code) noexcept {
  switch (code) {
    case reason_code::success:
      return connect_return_code_v311::accepted;
    case reason_code::unsupported_protocol_version:
      return connect_return_code_v311::unacceptable_protocol_version;
    case reason_code::client_identifier_not_valid:
      return connect_return_code_v311::identifier_rejected;
    case reason_code::bad_user_name_or_password:
      return connect_return_code_v311::bad_user_name_or_password;
    case reason_code::not_authorized:
    case reason_code::banned:
    case reason_code::bad_authentication_method:
      return connect_return_code_v311::not_authorized;
    default:
      return connect_return_code_v311::server_unavailable;
  }
}

reason_code from_connect_return_code_v311(connect_return_code_v311 code) noexcept {
  switch (code) {
    case connect_return_code_v311::accepted:
      return reason_code::success;
    case connect_return_code_v311::unacceptable_protocol_version:
      return reason_code::unsupported_protocol_version;
    case connect_return_code_v311::identifier_rejected:
      return reason_code::client_identifier_not_valid;
    case connect_return_code_v311::server_unavailable:
      return reason_code::server_unavailable;
    case connect_return_code_v311::bad_user_name_or_password:
      return reason_code::bad_user_name_or_password;
    case connect_return_code_v311::not_authorized:
      return reason_code::not_authorized;
  }
  return reason_code::unspecified_error;
}

std::string_view to_string(connect_return_code_v311 code) noexcept {
  switch (code) {
    case connect_return_code_v311::accepted:
      return "accepted";
    case connect_return_code_v311::unacceptable_protocol_version:
      return "unacceptable_protocol_version";
    case connect_return_code_v311::identifier_rejected:
      return "identifier_rejected";
    case connect_return_code_v311::server_unavailable:
      return "server_unavailable";
    case connect_return_code_v311::bad_user_name_or_password:
      return "bad_user_name_or_password";
    case connect_return_code_v311::not_authorized:
      return "not_authorized";
  }
  return "unknown";
}

bool is_allowed_reason_code(packet_type type, reason_code code) noexcept {
  return detail::is_allowed_reason_code(type, static_cast<std::uint8_t>(code));
}

reason_code refusal_for(packet_type type, reason_code code) noexcept {
  if (!is_error(code)) return reason_code::not_authorized;
  return is_allowed_reason_code(type, code) ? code : reason_code::unspecified_error;
}

namespace detail {

bool is_allowed_reason_code(packet_type type, std::uint8_t value) noexcept {
  switch (type) {
    case packet_type::connack:
      return contains(connack_codes, value);
    case packet_type::puback:
    case packet_type::pubrec:
      return contains(puback_codes, value);
    case packet_type::pubrel:
    case packet_type::pubcomp:
      return contains(pubrel_codes, value);
    case packet_type::suback:
      return contains(suback_codes, value);
    case packet_type::unsuback:
      return contains(unsuback_codes, value);
    case packet_type::disconnect:
      return contains(disconnect_codes, value);
    case packet_type::auth:
      return contains(auth_codes, value);
    default:
      return false;
  }
}

}  // namespace detail

}  // namespace acemq::mqtt
