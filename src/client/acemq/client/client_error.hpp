#pragma once
// Errors of the MQTT client, as values (conventions 2). A failure that ends a connection carries
// the MQTT reason code involved: the server's (CONNACK, DISCONNECT) or the one the client sent.

#include <acemq/mqtt/properties.hpp>
#include <acemq/mqtt/reason_code.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace acemq::client {

/// Why a command was refused or a connection ended.
enum class client_error : std::uint8_t {
  not_connected = 0x01,          // the command needs an established MQTT connection
  already_started = 0x02,        // connect() on a client that is not idle
  window_full = 0x03,            // QoS > 0 in flight equals the server's Receive Maximum
  send_queue_full = 0x04,        // the bytes waiting to be written exceed the configured bound
  invalid_argument = 0x05,       // a topic, filter, QoS or identifier the protocol forbids
  packet_too_large = 0x06,       // larger than the server's Maximum Packet Size
  qos_not_supported = 0x07,      // above the server's Maximum QoS
  retain_not_supported = 0x08,   // the server said Retain Available = 0
  connection_refused = 0x09,     // CONNACK with an error reason code
  protocol_violation = 0x0A,     // the server sent something the protocol forbids
  server_disconnected = 0x0B,    // DISCONNECT from the server, or end of stream
  keep_alive_timeout = 0x0C,     // no PINGRESP within the keep alive
  connect_timeout = 0x0D,        // no CONNACK in time
  authentication_failed = 0x0E,  // the authentication exchange callback refused to continue
  transport_error = 0x0F,        // socket: resolve, connect, read or write failed
  tls_error = 0x10,              // handshake, verification or pinning failed
  closed_by_client = 0x11,       // disconnect() or close() by the application
  not_supported = 0x12,          // a feature the negotiated protocol version lacks
};

/// snake_case name, e.g. "window_full".
std::string_view to_string(client_error error) noexcept;

/// How a connection ended (or why connecting failed).
struct failure {
  client_error error = client_error::transport_error;
  /// The reason code sent or received in CONNACK/DISCONNECT, or the one a decoder reported.
  mqtt::reason_code reason_code = mqtt::reason_code::unspecified_error;
  /// Human-readable detail (a system error message, a reason string); never secrets.
  std::string detail;
  /// The properties of the refusing CONNACK or the server's DISCONNECT (MQTT 5), e.g. the
  /// `ace_as_hint` User Property of RFC 9431 2.4.1; empty otherwise.
  mqtt::properties properties{};
};

/// One line for logs, e.g. "connection_refused (not_authorized): ...".
std::string describe(const failure& f);

}  // namespace acemq::client
