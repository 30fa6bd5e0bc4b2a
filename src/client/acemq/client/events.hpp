#pragma once
// What the client reports to the application. Every callback is optional; all run on the thread
// that drives the connection, one at a time.

#include <acemq/client/client_error.hpp>
#include <acemq/common/bytes.hpp>
#include <acemq/common/result.hpp>
#include <acemq/mqtt/packet.hpp>

#include <cstdint>
#include <functional>

namespace acemq::client {

/// The authentication exchange [MQTT 5.0 4.12]: given the server's AUTH with reason 0x18
/// (Continue authentication), returns the Authentication Data for the client's AUTH 0x18 reply
/// (RFC 9431 2.2.4.2.2: the PoP over the server's nonce), or a reason code to abort the exchange
/// with DISCONNECT.
using authentication_exchange =
    std::function<result<byte_vector, mqtt::reason_code>(const mqtt::auth& challenge)>;

/// Application callbacks.
struct events {
  /// CONNACK with reason success: the connection is usable. The CONNACK carries the server's
  /// limits (Receive Maximum, Maximum QoS, Topic Alias Maximum...), which the client applies.
  std::function<void(const mqtt::connack&)> on_connected;
  /// An application message from the server (QoS 1 and 2 are acknowledged by the client).
  std::function<void(const mqtt::publish&)> on_message;
  /// The server acknowledged a QoS 1 or 2 PUBLISH (PUBACK, or PUBCOMP / an error PUBREC for QoS 2).
  std::function<void(std::uint16_t packet_id, mqtt::reason_code)> on_publish_complete;
  std::function<void(const mqtt::suback&)> on_subscribed;
  std::function<void(const mqtt::unsuback&)> on_unsubscribed;
  /// Continues an enhanced authentication exchange at CONNECT or re-authentication.
  authentication_exchange on_authentication;
  /// The server accepted a re-authentication (AUTH 0x00 after AUTH 0x19) [MQTT 5.0 4.12.1].
  std::function<void(const mqtt::auth&)> on_reauthenticated;
  /// A command refused with window_full or send_queue_full may now succeed.
  std::function<void()> on_ready;
  /// The connection ended (or connecting failed); called once per connect().
  std::function<void(const failure&)> on_closed;
};

}  // namespace acemq::client
