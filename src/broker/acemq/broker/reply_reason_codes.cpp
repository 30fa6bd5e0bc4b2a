// Which reason codes each packet the broker sends may carry (MQTT 5.0 3.2.2.2 CONNACK, 3.4.2.1
// PUBACK, 3.5.2.1 PUBREC, 3.9.3 SUBACK, 3.14.2.1 DISCONNECT): the one place where a refusal from
// a provider, a principal or an interceptor becomes a code the client can read.

#include "acemq/broker/connection_internal.hpp"

namespace acemq::broker {

using mqtt::protocol_version;
using mqtt::reason_code;

namespace detail {

// Each packet type allows only some reason codes (MQTT 5.0 3.2.2.2, 3.4.2.1, 3.5.2.1, 3.9.3,
// 3.14.2.1); a provider or principal answering with another one must not produce a packet the
// client has to treat as malformed, so such codes become a generic one.
bool allowed_in_connack(reason_code code) {
  switch (code) {
    case reason_code::success:
    case reason_code::unspecified_error:
    case reason_code::malformed_packet:
    case reason_code::protocol_error:
    case reason_code::implementation_specific_error:
    case reason_code::unsupported_protocol_version:
    case reason_code::client_identifier_not_valid:
    case reason_code::bad_user_name_or_password:
    case reason_code::not_authorized:
    case reason_code::server_unavailable:
    case reason_code::server_busy:
    case reason_code::banned:
    case reason_code::bad_authentication_method:
    case reason_code::topic_name_invalid:
    case reason_code::packet_too_large:
    case reason_code::quota_exceeded:
    case reason_code::payload_format_invalid:
    case reason_code::retain_not_supported:
    case reason_code::qos_not_supported:
    case reason_code::use_another_server:
    case reason_code::server_moved:
    case reason_code::connection_rate_exceeded:
      return true;
    default:
      return false;
  }
}

bool allowed_in_disconnect(reason_code code) {
  switch (code) {
    case reason_code::success:
    case reason_code::disconnect_with_will:
    case reason_code::unspecified_error:
    case reason_code::malformed_packet:
    case reason_code::protocol_error:
    case reason_code::implementation_specific_error:
    case reason_code::not_authorized:
    case reason_code::server_busy:
    case reason_code::server_shutting_down:
    case reason_code::keep_alive_timeout:
    case reason_code::session_taken_over:
    case reason_code::topic_filter_invalid:
    case reason_code::topic_name_invalid:
    case reason_code::receive_maximum_exceeded:
    case reason_code::topic_alias_invalid:
    case reason_code::packet_too_large:
    case reason_code::message_rate_too_high:
    case reason_code::quota_exceeded:
    case reason_code::administrative_action:
    case reason_code::payload_format_invalid:
    case reason_code::retain_not_supported:
    case reason_code::qos_not_supported:
    case reason_code::use_another_server:
    case reason_code::server_moved:
    case reason_code::shared_subscriptions_not_supported:
    case reason_code::connection_rate_exceeded:
    case reason_code::maximum_connect_time:
    case reason_code::subscription_identifiers_not_supported:
    case reason_code::wildcard_subscriptions_not_supported:
      return true;
    default:
      return false;
  }
}

// PUBACK and PUBREC share their error codes (MQTT 5.0 3.4.2.1, 3.5.2.1).
bool allowed_in_puback(reason_code code) {
  switch (code) {
    case reason_code::success:
    case reason_code::no_matching_subscribers:
    case reason_code::unspecified_error:
    case reason_code::implementation_specific_error:
    case reason_code::not_authorized:
    case reason_code::topic_name_invalid:
    case reason_code::packet_identifier_in_use:
    case reason_code::quota_exceeded:
    case reason_code::payload_format_invalid:
      return true;
    default:
      return false;
  }
}

bool allowed_in_suback(reason_code code) {
  switch (code) {
    case reason_code::success:
    case reason_code::granted_qos_1:
    case reason_code::granted_qos_2:
    case reason_code::unspecified_error:
    case reason_code::implementation_specific_error:
    case reason_code::not_authorized:
    case reason_code::topic_filter_invalid:
    case reason_code::packet_identifier_in_use:
    case reason_code::quota_exceeded:
    case reason_code::shared_subscriptions_not_supported:
    case reason_code::subscription_identifiers_not_supported:
    case reason_code::wildcard_subscriptions_not_supported:
      return true;
    default:
      return false;
  }
}

// A refusal from a provider or principal as a reason code the packet allows.
reason_code refusal_for(reason_code code, bool (*allowed)(reason_code)) {
  if (!mqtt::is_error(code)) return reason_code::not_authorized;
  return allowed(code) ? code : reason_code::unspecified_error;
}

}  // namespace detail

}  // namespace acemq::broker
