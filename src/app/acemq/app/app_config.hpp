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

#include "acemq/ace/ace_settings.hpp"
#include "acemq/ace/https_as_client.hpp"
#include "acemq/auth/providers.hpp"
#include "acemq/broker/settings.hpp"
#include "acemq/common/enum_names.hpp"
#include "acemq/common/result.hpp"
#include "acemq/net/listener_config.hpp"

namespace acemq::app {

// The network layer's settings, read and written by this loader under their own names.
using net::carries_mqtt;
using net::client_certificate_mode;
using net::listener_config;
using net::server_config;
using net::to_string;
using net::transport;
using net::uses_tls;

/// How log lines are written: human-readable text, or one JSON object per line.
enum class log_format { text, json };
inline constexpr enum_name<log_format> log_format_names[] = {{log_format::text, "text"},
                                                             {log_format::json, "json"}};

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

std::string_view to_string(log_format value);

}  // namespace acemq::app
