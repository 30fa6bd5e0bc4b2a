#include "ace_session.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <sys/stat.h>

#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "acemq/ace_client/server_identity.hpp"
#include "acemq/common/random.hpp"
#include "acemq/token/crypto/key.hpp"

namespace acemq::apps {

namespace {

std::int64_t unix_now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

std::optional<std::string> client_secret(const as_options& options, std::string& error) {
  if (options.client_secret_file.empty()) return options.client_secret;
  auto secret = read_text(options.client_secret_file);
  if (!secret) {
    error = "cannot read " + options.client_secret_file;
    return std::nullopt;
  }
  return trim(*secret);
}

std::optional<ace_client::pop_credentials> fetch_credentials(const as_options& options,
                                                             std::string& error) {
  ace_client::token_request request{.client_id = options.client_id,
                                    .client_secret = options.client_secret,
                                    .audience = options.audience,
                                    .scope = options.scope,
                                    .own_key = std::nullopt,
                                    .cnonce = options.cnonce,
                                    .format = options.ace_json
                                                  ? ace_client::request_format::ace_json
                                                  : ace_client::request_format::form};
  auto secret = client_secret(options, error);
  if (!secret) return std::nullopt;
  request.client_secret = std::move(*secret);
  if (!options.key_file.empty()) {
    auto pem = read_text(options.key_file);
    if (!pem) {
      error = "cannot read " + options.key_file;
      return std::nullopt;
    }
    auto own = token::crypto::key::from_pem(*pem);
    if (!own || !own->is_private()) {
      error = options.key_file + ": not an Ed25519 or P-256 private key";
      return std::nullopt;
    }
    request.own_key = std::move(*own);
  }
  ace_client::as_endpoint endpoint{.url = options.url, .ca_file = options.ca_file};
  auto response = ace_client::request_token(endpoint, request);
  if (!response) {
    error = "token request failed: " + ace_client::describe(response.error());
    return std::nullopt;
  }
  auto credentials = ace_client::make_credentials(*response, request.own_key, options.audience,
                                                  options.url, unix_now());
  if (!credentials) {
    error = "unusable token response: " + ace_client::describe(credentials.error());
    return std::nullopt;
  }
  return std::move(*credentials);
}

std::optional<ace_client::pop_credentials> load_or_fetch(const broker_options& broker,
                                                         const as_options& as, std::string& error) {
  if (broker.credentials_file.empty()) {
    if (as.url.empty()) {
      error = "give --credentials FILE or the AS flags (--as URL --client-id ...)";
      return std::nullopt;
    }
    return fetch_credentials(as, error);
  }
  auto text = read_text(broker.credentials_file);
  if (!text) {
    error = "cannot read " + broker.credentials_file;
    return std::nullopt;
  }
  auto credentials = ace_client::credentials_from_json(*text);
  if (!credentials) {
    error = broker.credentials_file + ": " + ace_client::describe(credentials.error());
    return std::nullopt;
  }
  return std::move(*credentials);
}

bool save_credentials(const ace_client::pop_credentials& credentials, const std::string& path,
                      std::string& error) {
  // The file holds the private PoP key: create it owner-only before writing.
  const mode_t previous = ::umask(0077);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  ::umask(previous);
  if (!out) {
    error = "cannot write " + path;
    return false;
  }
  out << ace_client::to_json(credentials) << '\n';
  ::chmod(path.c_str(), 0600);
  return static_cast<bool>(out);
}

session_outcome run_session(const broker_options& broker, const as_options& as,
                            const ace_client::pop_credentials* credentials,
                            session_script& script) {
  session_outcome outcome;
  const bool v5 = broker.mqtt_version != "3.1.1";
  client::tls_options tls;
  tls.ca_file = broker.ca_file;
  // RFC 9201 5: when the AS named the broker's key, the TLS server must hold it.
  if (credentials != nullptr && credentials->rs_cnf_key) {
    tls.pin = ace_client::rs_cnf_pin(*credentials->rs_cnf_key);
  }
  // RFC 9431 2.2.1 / 2.2.3.2: TLS-PSK with the token (or its key id) as identity and the
  // symmetric PoP key as the PSK; the handshake proves possession, MQTT then carries no `ace`.
  const bool psk = broker.pop == "psk";
  if (psk) {
    if (credentials == nullptr ||
        credentials->pop_key.type() != token::crypto::key_type::symmetric) {
      outcome.failure = {client::client_error::invalid_argument,
                         mqtt::reason_code::unspecified_error,
                         "--pop psk needs a token with a symmetric (AS-generated) PoP key"};
      return outcome;
    }
    client::external_psk external;
    const byte_view secret = credentials->pop_key.symmetric_bytes();
    external.key.assign(secret.begin(), secret.end());
    if (broker.psk_identity == "kid") {
      const auto& kid = credentials->pop_key.kid();
      if (!kid) {
        outcome.failure = {client::client_error::invalid_argument,
                           mqtt::reason_code::unspecified_error,
                           "--psk-identity kid needs a PoP key with a kid"};
        return outcome;
      }
      boost::json::object cnf;
      cnf["kid"] = std::string(as_string_view(*kid));
      boost::json::object identity;
      identity["cnf"] = std::move(cnf);
      external.identity = to_bytes(boost::json::serialize(identity));
    } else {
      external.identity = credentials->token;
    }
    tls.psk = std::move(external);
    tls.pin = nullptr;
  }
  auto context = client::tls_context::create(std::move(tls));
  if (!context) {
    outcome.failure = {client::client_error::tls_error, mqtt::reason_code::unspecified_error,
                       context.error()};
    return outcome;
  }

  std::optional<ace_client::ace_authentication> authentication;
  mqtt::connect packet;
  if (credentials != nullptr && !psk) {
    auto made = ace_client::ace_authentication::create(
        *credentials,
        ace_client::connect_settings{
            .method = broker.pop == "challenge" ? ace_client::pop_method::challenge
                                                : ace_client::pop_method::exporter,
            .version = v5 ? mqtt::protocol_version::v5 : mqtt::protocol_version::v311,
            .client_id = broker.client_id,
            .keep_alive = broker.keep_alive,
            .clean_start = true,
            .draft06 = broker.draft06,
            .token_in_connect = !broker.token_held},
        system_random::instance());
    if (!made) {
      outcome.failure = {client::client_error::invalid_argument,
                         mqtt::reason_code::unspecified_error,
                         std::string(ace_client::describe(made.error()))};
      return outcome;
    }
    authentication = std::move(*made);
    packet = authentication->connect_packet();
  } else {
    packet.protocol_version = v5 ? mqtt::protocol_version::v5 : mqtt::protocol_version::v311;
    packet.client_id = broker.client_id;
    packet.keep_alive = broker.keep_alive;
    // RFC 9431 2.2.1 / 2.4.1: the method without a token asks the broker for an AS hint.
    if (broker.discover && v5) {
      packet.properties.authentication_method = std::string(ace_client::authentication_method);
    }
  }

  boost::asio::io_context io;
  boost::asio::steady_timer reauth_timer(io);
  boost::asio::steady_timer deadline_timer(io);
  std::unique_ptr<client::client> connection;
  std::function<void()> arm_reauthentication;

  client::events events;
  events.on_connected = [&](const mqtt::connack&) {
    outcome.connected = true;
    if (arm_reauthentication) arm_reauthentication();
    if (script.on_connected) script.on_connected(*connection);
  };
  events.on_message = [&](const mqtt::publish& message) {
    if (script.on_message) script.on_message(*connection, message);
  };
  events.on_publish_complete = [&](std::uint16_t id, mqtt::reason_code reason) {
    if (script.on_publish_complete) script.on_publish_complete(*connection, id, reason);
  };
  events.on_subscribed = [&](const mqtt::suback& ack) {
    if (script.on_subscribed) script.on_subscribed(*connection, ack);
  };
  if (authentication) events.on_authentication = authentication->authentication_exchange();
  events.on_reauthenticated = [&](const mqtt::auth&) {
    ++outcome.reauthentications;
    if (arm_reauthentication) arm_reauthentication();
    if (script.on_reauthenticated) script.on_reauthenticated(*connection);
  };
  events.on_closed = [&](const client::failure& failure) {
    outcome.failure = failure;
    reauth_timer.cancel();
    deadline_timer.cancel();
  };

  if (authentication && broker.reauth_before > 0 && v5) {
    arm_reauthentication = [&] {
      auto delay = ace_client::reauthentication_delay(authentication->credentials(), unix_now(),
                                                      std::chrono::seconds{broker.reauth_before});
      if (!delay) return;
      reauth_timer.expires_after(*delay);
      reauth_timer.async_wait([&](const boost::system::error_code& ec) {
        if (ec) return;
        // RFC 9431 2.4: a fresh token before the old one expires, proven by challenge/response
        // inside the same session. The AS call blocks this thread for at most its timeout.
        std::string error;
        auto fresh = fetch_credentials(as, error);
        if (!fresh) {
          std::cerr << "acemq: re-authentication skipped: " << error << '\n';
          return;
        }
        if (auto sent = authentication->reauthenticate(*connection, std::move(*fresh)); !sent) {
          std::cerr << "acemq: re-authentication not sent: " << client::to_string(sent.error())
                    << '\n';
        }
      });
    };
  }

  connection =
      std::make_unique<client::client>(io,
                                       client::client_options{.host = broker.host,
                                                              .port = broker.port,
                                                              .bind_address = {},
                                                              .tls = std::move(*context),
                                                              .server_name = broker.server_name,
                                                              .machine = {}},
                                       std::move(events));
  client::before_connect_hook hook;
  if (authentication) hook = authentication->before_connect_hook();
  if (auto started = connection->connect(std::move(packet), std::move(hook)); !started) {
    outcome.failure = {started.error(), mqtt::reason_code::unspecified_error, "connect refused"};
    return outcome;
  }
  script.reauthenticate = [&](ace_client::pop_credentials fresh) -> std::optional<std::string> {
    // RFC 9431 4: re-authentication is an MQTT 5 AUTH exchange with the new token.
    if (!authentication || !v5) return std::string("re-authentication needs MQTT 5 and a token");
    if (auto sent = authentication->reauthenticate(*connection, std::move(fresh)); !sent) {
      return std::string(client::to_string(sent.error()));
    }
    return std::nullopt;
  };
  if (script.deadline.count() > 0) {
    deadline_timer.expires_after(script.deadline);
    deadline_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) connection->close();
    });
  }
  io.run();
  // The function refers to this frame's objects.
  script.reauthenticate = nullptr;
  return outcome;
}

as_options options_from_hint(const as_options& given, const ace_client::as_hint& hint) {
  as_options options = given;
  options.url = hint.as_url;
  if (!hint.audience.empty()) options.audience = hint.audience;
  if (options.scope.empty()) options.scope = hint.scope;
  // RFC 9200 5.3.1: the broker's cnonce goes back in the token request and comes back in the
  // token, proving freshness.
  options.cnonce = hint.cnonce;
  return options;
}

session_outcome run_following_hint(const broker_options& broker, const as_options& as,
                                   const ace_client::pop_credentials* credentials,
                                   session_script& script) {
  broker_options first = broker;
  first.discover = broker.discover && credentials == nullptr;
  session_outcome outcome = run_session(first, as, credentials, script);
  if (outcome.connected || outcome.failure.error != client::client_error::connection_refused ||
      outcome.failure.reason_code != mqtt::reason_code::not_authorized || as.client_id.empty()) {
    return outcome;
  }
  auto hint = ace_client::parse_as_hint(outcome.failure.properties);
  if (!hint) return outcome;
  const as_options hinted = options_from_hint(as, *hint);
  std::cout << "ace_as_hint: AS " << hinted.url << ", audience " << hinted.audience
            << (hinted.cnonce.empty() ? "" : ", cnonce") << std::endl;
  std::string error;
  auto fresh = fetch_credentials(hinted, error);
  if (!fresh) {
    outcome.failure.detail += "; following ace_as_hint: " + error;
    return outcome;
  }
  broker_options again = broker;
  again.discover = false;
  return run_session(again, hinted, &*fresh, script);
}

void add_as_flags(CLI::App& command, as_options& options) {
  command.add_option("--as", options.url, "AS base URL, e.g. https://127.0.0.1:8443");
  command.add_option("--as-cafile", options.ca_file, "PEM CA for the AS's TLS certificate");
  command.add_option("--client-id", options.client_id, "client id registered at the AS");
  command.add_option("--client-secret", options.client_secret, "client secret");
  command.add_option("--client-secret-file", options.client_secret_file,
                     "file holding the client secret (keeps it out of the process list)");
  command.add_option("--audience", options.audience, "the broker's audience at the AS");
  command.add_option("--scope", options.scope, R"(AIF-MQTT JSON, e.g. [["demo/#",["pub"]]])");
  command.add_option("--key", options.key_file,
                     "own Ed25519/P-256 private key (PEM) for req_cnf; default: AS-generated key");
  command.add_option("--cnonce", options.cnonce, "client nonce from the broker's AS hint");
  command.add_flag("--ace-json", options.ace_json, "send application/ace+json instead of a form");
}

void add_broker_flags(CLI::App& command, broker_options& options, bool with_pop) {
  // -h is the host, as in mosquitto_pub/sub; help stays on --help.
  command.set_help_flag("--help", "print this help and exit");
  command.add_option("-h,--host", options.host, "broker host")->capture_default_str();
  command.add_option("-p,--port", options.port, "broker TLS port")->capture_default_str();
  command.add_option("--cafile", options.ca_file, "PEM CA for the broker's certificate");
  command.add_option("--server-name", options.server_name, "name to verify (default: host)");
  command.add_option("--mqtt", options.mqtt_version, "MQTT version: 5 or 3.1.1")
      ->check(CLI::IsMember({"5", "3.1.1"}))
      ->capture_default_str();
  command.add_option("-i,--id", options.client_id, "MQTT client identifier");
  command.add_option("-k,--keep-alive", options.keep_alive, "keep alive (seconds)")
      ->capture_default_str();
  if (with_pop) {
    command
        .add_option("--pop", options.pop,
                    "proof of possession: exporter, challenge or psk (TLS 1.3 PSK, symmetric key)")
        ->check(CLI::IsMember({"exporter", "challenge", "psk"}))
        ->capture_default_str();
    command
        .add_option("--psk-identity", options.psk_identity,
                    "with --pop psk: the token, or the key id of a token the broker holds")
        ->check(CLI::IsMember({"token", "kid"}))
        ->capture_default_str();
    command.add_option("--credentials", options.credentials_file,
                       "credentials file from `acemq token get --out`");
    command.add_option("--reauth-before", options.reauth_before,
                       "re-authenticate this many seconds before expiry (MQTT 5; 0: never)");
    command.add_flag("--draft06", options.draft06, "answer challenges in the draft-06 layout");
    command.add_flag("--token-held", options.token_held,
                     "the broker holds the token (authz-info): CONNECT without it, answer the "
                     "challenge (needs --pop challenge, MQTT 5)");
    command.add_flag("--discover", options.discover,
                     "connect without a token and follow the broker's ace_as_hint to the AS "
                     "(MQTT 5; needs --client-id and a secret, --as-cafile for a private AS)");
  }
}

}  // namespace acemq::apps
