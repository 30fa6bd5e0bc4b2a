#pragma once
// The MQTT client over TCP or TLS: a thin Boost.Asio driver around protocol_machine. One client
// object is one connection attempt (connect once; reconnect with a new object). All member
// functions and callbacks run on the thread that runs the io_context; create, use and destroy the
// client there. Asio stays out of this header.

#include <acemq/client/client_error.hpp>
#include <acemq/client/events.hpp>
#include <acemq/client/protocol_machine.hpp>
#include <acemq/client/tls_context.hpp>
#include <acemq/common/bytes.hpp>
#include <acemq/common/result.hpp>
#include <acemq/mqtt/packet.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace acemq::client {

/// Where to connect and how.
struct client_options {
  /// Server address: an IP literal (no lookup) or a host name (resolved asynchronously).
  std::string host = "127.0.0.1";
  std::uint16_t port = 1883;
  /// Local source address to bind before connecting (e.g. 127.0.0.2, to spread many connections
  /// over several source addresses); empty lets the system choose.
  std::string bind_address;
  /// TLS when set; plain TCP when null.
  std::shared_ptr<const tls_context> tls;
  /// SNI and the name the certificate must carry; empty means `host`. No SNI is sent for an IP
  /// literal (RFC 6066 3).
  std::string server_name;
  machine_settings machine;
};

class client;

/// Runs once the transport (and TLS) is up, before CONNECT is encoded: the place to compute a
/// proof of possession over the TLS exporter (RFC 9431 2.2.4.1) and put it into the CONNECT's
/// Authentication Data. An error ends the attempt with that failure.
using before_connect_hook = std::function<result<void, failure>(client&, mqtt::connect&)>;

/// One MQTT connection driven by Asio.
class client {
 public:
  client(boost::asio::io_context& io, client_options options, events callbacks);
  /// Closes the connection without calling any further callback.
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Connects (TCP, TLS, then CONNECT); the outcome arrives as on_connected or on_closed.
  /// Errors: already_started.
  result<void, client_error> connect(mqtt::connect packet, before_connect_hook hook = {});

  /// See protocol_machine for the commands' semantics and errors.
  result<std::uint16_t, client_error> publish(const mqtt::publish& message);
  result<std::uint16_t, client_error> subscribe(std::vector<mqtt::subscription> subscriptions,
                                                std::uint32_t subscription_identifier = 0,
                                                mqtt::properties properties = {});
  result<std::uint16_t, client_error> unsubscribe(std::vector<std::string> filters,
                                                  mqtt::properties properties = {});
  result<void, client_error> reauthenticate(byte_vector data);
  /// Sends DISCONNECT, then closes; on_closed reports closed_by_client.
  result<void, client_error> disconnect(mqtt::reason_code reason = mqtt::normal_disconnection,
                                        mqtt::properties properties = {});
  /// Closes at once, without DISCONNECT (the server publishes the Will, if any).
  void close();

  /// TLS exporter (RFC 5705, RFC 8446 7.5) with a context (use_context = 1, so an empty context
  /// differs from none in TLS 1.2). Errors: not_supported without TLS, not_connected before the
  /// handshake, invalid_argument for a length above 65535, tls_error if OpenSSL fails.
  result<byte_vector, client_error> export_keying_material(std::string_view label,
                                                           byte_view context,
                                                           std::size_t length) const;

  /// True once a TLS handshake completed by resuming a cached session (tls_options::
  /// resume_sessions) or with an external PSK.
  bool tls_session_resumed() const noexcept;

  connection_state state() const noexcept;
  bool can_publish(std::uint8_t qos) const noexcept;
  const server_limits& limits() const noexcept;
  std::uint16_t in_flight() const noexcept;
  const std::string& client_id() const noexcept;

  class impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace acemq::client
