#pragma once
// Configuration of the broker program: listeners, threads, transport bounds, the broker engine's
// bounds and the authentication defaults. Loaded from TOML and overridden from the command line
// with `--set key=value`; every setting is described by one registry entry (key, default, help),
// so the file format, the overrides and `--help` cannot drift apart.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/ace/https_as_client.hpp"
#include "acemq/ace/settings.hpp"
#include "acemq/auth/providers.hpp"
#include "acemq/broker/persistence.hpp"
#include "acemq/broker/settings.hpp"
#include "acemq/common/result.hpp"

namespace acemq::net {

/// The transport of a listener: MQTT over TCP, TLS, WebSocket (MQTT 5.0 section 6) or WebSocket
/// over TLS, or the HTTP endpoint that serves /metrics.
enum class transport { tcp, tls, ws, wss, http };

/// Whether the transport runs over TLS (and needs a certificate and key).
constexpr bool uses_tls(transport value) noexcept {
  return value == transport::tls || value == transport::wss;
}

/// Whether the listener carries MQTT (every type except http).
constexpr bool carries_mqtt(transport value) noexcept {
  return value != transport::http;
}

/// How log lines are written: human-readable text, or one JSON object per line.
enum class log_format { text, json };

/// Whether a TLS listener asks for a client certificate, and whether it insists on one.
enum class client_certificate_mode { none, optional, required };

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

/// The ACE provider (RFC 9431), the [ace] section. Keys are loaded from the files when the chain
/// is assembled (see auth_setup.hpp).
struct ace_config {
  bool enabled = false;
  /// Everything except `keys` and `discovery`, which come from the fields below.
  ace::ace_settings settings;
  /// JWK Set (RFC 7517 5) of the AS verification keys; may be empty when /jwks is fetched.
  std::string keys_file;
  /// JWK Set of the broker's own private keys (encrypted tokens and cnf keys); may be empty.
  std::string decryption_keys_file;
  /// AS discovery hint; empty as_uri = no hint.
  ace::discovery_settings discovery;
  /// The AS endpoints; empty base_url = no AS calls (self-contained tokens with configured keys
  /// only, no introspection, no revocation list).
  ace::https_as_settings as;
  /// File holding the broker's secret at the AS (HTTP Basic); read at start, never logged.
  std::string as_client_secret_file;
};

/// The [persistence] section: the broker's durable store (docs/operations.md, "Persistence").
struct persistence_config {
  bool enabled = true;  ///< false: in-memory mode
  /// SQLite database; relative paths are resolved against data_dir by finalize().
  std::string path = "var/broker/acemq-broker.db";
  /// "sync" (commit before acknowledging) or an interval such as "10ms" (1 ms to 10 s).
  std::string durability = "sync";
};

/// The commit interval of a valid persistence.durability value; nullopt for "sync".
std::optional<std::chrono::milliseconds> durability_interval(std::string_view durability);

/// Everything the program reads from its configuration.
struct app_config {
  server_config server;
  broker::broker_settings broker;
  bool allow_anonymous = true;  ///< development default; a warning is printed when enabled
  /// The topic filters anonymous clients may use: the public subtree by default; a filter that
  /// matches everything ("#") is warned about at start.
  std::vector<std::string> anonymous_topics{"public/#"};
  auth::provider_settings auth;  ///< the auth.* keys, parsed by acemq::auth::apply_setting
  ace_config ace;
  persistence_config persistence;
  std::string log_level = "info";
  log_format log_output = log_format::text;
  std::string data_dir = ".";  ///< base for relative certificate paths
  std::string port_file;       ///< if set, "name port" lines are written here once listening
};

/// One warning per insecure choice in `config`, for the operator at start (docs/operations.md,
/// "Insecure settings"): anonymous access (and anonymous access to everything), the ace method
/// over plain TCP, MQTT without TLS on an address other machines can reach.
std::vector<std::string> insecure_settings(const app_config& config);

/// The embedded defaults: TCP on 127.0.0.1:1883 and TLS on 127.0.0.1:8883 with the development PKI
/// in var/pki/, anonymous access allowed on the public subtree "public/#".
app_config default_config();

/// A configuration error, with where it was found (file:line or the override) and why.
struct config_error {
  std::string message;
};

/// One documented setting, as listed by `--help`.
struct setting_help {
  std::string key;
  std::string default_value;
  std::string description;
};

/// Every scalar setting with its default (listener fields are listed as `listener.<name>.*`).
std::vector<setting_help> describe_settings();

/// Every scalar setting with its value in `config` (listener fields with the defaults of a new
/// listener).
std::vector<setting_help> describe_settings(app_config config);

/// Applies a TOML document (the text of a configuration file) on top of `config`. Unknown keys,
/// wrong types and out-of-range values are errors that name the key and the line.
result<void, config_error> apply_toml(app_config& config, std::string_view toml_text,
                                      std::string_view source_name);

/// Reads and applies a TOML file.
result<void, config_error> apply_toml_file(app_config& config, const std::string& path);

/// Applies one `key=value` override. The value is read as a TOML value when it parses as one
/// (`true`, `1884`, `"text"`) and as a bare string otherwise. Listener fields are addressed as
/// `listener.<name>.<field>`; naming a listener that does not exist creates it.
result<void, config_error> apply_override(app_config& config, std::string_view assignment);

/// Cross-field checks after all sources are applied (unique listener names, TLS listeners have a
/// certificate and key, ...). Resolves relative certificate paths against data_dir.
result<void, config_error> finalize(app_config& config);

std::string_view to_string(transport value);
std::string_view to_string(log_format value);
std::string_view to_string(client_certificate_mode value);

}  // namespace acemq::net
