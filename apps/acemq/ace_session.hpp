#pragma once
// Shared by the ACE commands: obtaining credentials (from a file or from the AS) and running one
// MQTT connection with ACE authentication on an io_context until it closes.

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "acemq/ace_client/ace_authentication.hpp"
#include "acemq/ace_client/as_hint.hpp"
#include "acemq/ace_client/credentials.hpp"
#include "acemq/ace_client/https_token_client.hpp"
#include "acemq/client/client.hpp"

namespace acemq::apps {

/// Where the AS is and who the client is there.
struct as_options {
  std::string url;
  std::string ca_file;
  std::string client_id;
  std::string client_secret;
  std::string client_secret_file;
  std::string audience;
  std::string scope;
  std::string key_file;  // own Ed25519 / P-256 private key (PEM) for req_cnf
  std::string cnonce;
  bool ace_json = false;
};

/// Where the broker is and how to authenticate.
struct broker_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8883;
  std::string ca_file;
  std::string server_name;
  std::string mqtt_version = "5";
  std::string pop = "exporter";
  std::string client_id;
  std::uint16_t keep_alive = 60;
  bool draft06 = false;
  /// Re-authenticate this many seconds before the token expires (0: never).
  std::int64_t reauth_before = 0;
  std::string credentials_file;
  /// The broker already holds the token (authz-info): CONNECT without it, then challenge/response
  /// (RFC 9431 2.2.4.2.2).
  bool token_held = false;
  /// Connect without a token first and take the AS from the broker's `ace_as_hint`
  /// (RFC 9431 2.4.1).
  bool discover = false;
  /// With --pop psk: the TLS PSK identity is the token itself ("token") or
  /// {"cnf":{"kid":...}} naming the key of a token the broker holds ("kid"), RFC 9431 2.2.3.2.
  std::string psk_identity = "token";
};

/// The client secret: --client-secret, or the first line of --client-secret-file.
std::optional<std::string> client_secret(const as_options& options, std::string& error);
/// A token from the AS, or an error message.
std::optional<ace_client::pop_credentials> fetch_credentials(const as_options& options,
                                                             std::string& error);
/// Reads a credentials file, or fetches from the AS when no file is given.
std::optional<ace_client::pop_credentials> load_or_fetch(const broker_options& broker,
                                                         const as_options& as, std::string& error);
/// Writes the credentials JSON with owner-only permissions.
bool save_credentials(const ace_client::pop_credentials& credentials, const std::string& path,
                      std::string& error);

/// What happens on one connection, from the application's side.
struct session_script {
  /// CONNACK success: start publishing / subscribing.
  std::function<void(client::client&)> on_connected;
  std::function<void(client::client&, const mqtt::publish&)> on_message;
  std::function<void(client::client&, std::uint16_t, mqtt::reason_code)> on_publish_complete;
  std::function<void(client::client&, const mqtt::suback&)> on_subscribed;
  std::function<void(client::client&)> on_reauthenticated;
  /// Filled by run_session while the session runs: starts a re-authentication (AUTH 0x19) with
  /// other credentials; returns an error text when it cannot be sent. Empty outside run_session.
  std::function<std::optional<std::string>(ace_client::pop_credentials)> reauthenticate;
  /// Close the connection after this long if it is still open (0: no limit); the outcome then
  /// reports closed_by_client.
  std::chrono::seconds deadline{0};
};

/// How a session ended.
struct session_outcome {
  bool connected = false;
  client::failure failure;
  int reauthentications = 0;
};

/// Connects with ACE authentication (or anonymously when `credentials` is null; with the method
/// `ace` but no token when `broker.discover`), runs `script` until the connection closes, and
/// re-authenticates before expiry when asked (fetching a fresh token from `as`).
session_outcome run_session(const broker_options& broker, const as_options& as,
                            const ace_client::pop_credentials* credentials, session_script& script);

/// run_session, then, when the broker refused the CONNECT with 0x87 and an `ace_as_hint`
/// (RFC 9431 2.4.1) and `as` names the client at the AS, fetches a token from the hinted AS
/// (its audience, scope unless `as.scope` is set, and cnonce) and connects once more with it.
/// Without `credentials` the first CONNECT carries no token (the discovery request of 2.2.1).
session_outcome run_following_hint(const broker_options& broker, const as_options& as,
                                   const ace_client::pop_credentials* credentials,
                                   session_script& script);

/// The AS options a hint implies: its AS, audience and cnonce; its scope unless one is given.
as_options options_from_hint(const as_options& given, const ace_client::as_hint& hint);

/// Adds the AS flags to a command.
void add_as_flags(CLI::App& command, as_options& options);
/// Adds the broker flags (-h -p --cafile --mqtt --pop ...) to a command.
void add_broker_flags(CLI::App& command, broker_options& options, bool with_pop = true);

}  // namespace acemq::apps
