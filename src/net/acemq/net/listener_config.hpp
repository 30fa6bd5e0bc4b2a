#pragma once
// The network layer's own settings: the listeners (transport, address, TLS files, limits) and the
// server's transport bounds. The program's configuration (acemq::app) fills them from TOML and
// the command line; the network layer reads nothing else.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/broker/persistence.hpp"
#include "acemq/common/enum_names.hpp"

namespace acemq::net {

/// The transport of a listener: MQTT over TCP, TLS, WebSocket (MQTT 5.0 section 6) or WebSocket
/// over TLS, or the HTTP endpoint that serves /metrics.
enum class transport { tcp, tls, ws, wss, http };
/// The names of the transports in the configuration (`type = "ws"`) and in logs.
inline constexpr enum_name<transport> transport_names[] = {{transport::tcp, "tcp"},
                                                           {transport::tls, "tls"},
                                                           {transport::ws, "ws"},
                                                           {transport::wss, "wss"},
                                                           {transport::http, "http"}};

/// Whether the transport runs over TLS (and needs a certificate and key).
constexpr bool uses_tls(transport value) noexcept {
  return value == transport::tls || value == transport::wss;
}

/// Whether the listener carries MQTT (every type except http).
constexpr bool carries_mqtt(transport value) noexcept {
  return value != transport::http;
}

/// Whether a TLS listener asks for a client certificate, and whether it insists on one.
enum class client_certificate_mode { none, optional, required };
inline constexpr enum_name<client_certificate_mode> client_certificate_mode_names[] = {
    {client_certificate_mode::none, "none"},
    {client_certificate_mode::optional, "optional"},
    {client_certificate_mode::required, "required"}};

/// One listening socket.
struct listener_config {
  std::string name = "tcp";
  transport type = transport::tcp;
  std::string address = "127.0.0.1";
  std::uint16_t port = 1883;  ///< 0: the operating system picks; the bound port is reported
  std::string certificate;    ///< PEM chain (TLS); relative paths are resolved against data_dir
  std::string key;            ///< PEM private key (TLS)
  std::string ca;             ///< PEM CA bundle for client certificates (TLS), may be empty
  client_certificate_mode client_certificates = client_certificate_mode::none;
  std::chrono::seconds handshake_timeout{10};  ///< TLS handshake must finish within this
  /// TLS 1.3 session resumption: lifetime of the session tickets the listener issues (one per
  /// connection); zero issues none, so every connection is a full handshake.
  std::chrono::seconds session_ticket_lifetime{3600};
  std::string path = "/mqtt";  ///< ws/wss: the HTTP path of the WebSocket upgrade
  /// The authentication providers of this listener, in chain order ("ace", "device_jwt",
  /// "certificate", "password", "anonymous", "public_topics_only"); empty = every configured
  /// provider (the default chain). "deny_all" always ends the chain.
  std::vector<std::string> auth;
  /// New connections accepted per second on this listener (token bucket of `connection_burst`);
  /// 0 = unlimited. Connections over the rate are closed at accept.
  double connection_rate = 0;
  double connection_burst = 0;
  /// The same, per remote IP address (the port is ignored); 0 = unlimited.
  double address_connection_rate = 0;
  double address_connection_burst = 0;
};

/// Settings of the network layer itself.
struct server_config {
  std::vector<listener_config> listeners;
  unsigned threads = 0;                   ///< 0: one per hardware core
  std::size_t max_connections = 100'000;  ///< beyond it new sockets are closed at once (copied
                                          ///< from broker_settings by finalize())
  std::size_t write_queue_limit = 8 * 1024 * 1024;  ///< bytes queued on a socket before the
                                                    ///< consumer is disconnected as too slow
  /// Back-pressure: at this many unwritten bytes on a socket the connection stops moving
  /// deliveries from its session queue (they wait there, within the session's bounds) until the
  /// socket has drained to half of it.
  std::size_t write_high_water = 256 * 1024;
  /// A reader whose socket stays above write_high_water this long while deliveries wait is
  /// disconnected as a slow consumer; zero = never.
  std::chrono::seconds slow_consumer_timeout{10};
  std::size_t read_chunk = 16 * 1024;  ///< bytes read per system call
  /// How long a connection the machine closed waits for its queued bytes to be written before
  /// it is dropped (a peer that stops reading must not keep it open).
  std::chrono::milliseconds close_linger{10'000};
  /// Largest WebSocket message read (copied from broker.maximum_packet_size by finalize()).
  std::size_t max_websocket_message = 1024 * 1024;
  /// Remote addresses tracked by the per-address connection rate limits (least recently seen
  /// forgotten beyond it).
  std::size_t max_tracked_addresses = 65'536;
  /// Largest HTTP request header accepted on http, ws and wss listeners.
  std::size_t max_http_header = 8 * 1024;
  /// The broker's durable store (set by the program, not a setting); null = in-memory mode.
  /// Before writing while changes are pending a connection waits for its barrier(), so no
  /// PUBACK/PUBREC leaves before what it acknowledges is durable (docs/broker-core.md).
  broker::persistence* persistence = nullptr;
  /// File holding the bearer token every /metrics request must present (RFC 6750 2.1); empty =
  /// none, which finalize() allows on loopback http listeners only. Read at start.
  std::string metrics_bearer_token_file;
  /// The token read from it by finalize() (a secret: never logged).
  std::string metrics_bearer_token;
};

inline std::string_view to_string(transport value) {
  return name_in(transport_names, value, "tcp");
}

inline std::string_view to_string(client_certificate_mode value) {
  return name_in(client_certificate_mode_names, value, "none");
}

}  // namespace acemq::net
