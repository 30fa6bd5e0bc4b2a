#include "ace_commands.hpp"

#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "ace_session.hpp"
#include "acemq/common/base64.hpp"

namespace acemq::apps {

namespace {

struct token_get_options {
  as_options as;
  std::string out;
};

struct publish_options {
  broker_options broker;
  as_options as;
  std::string topic;
  std::string message;
  int qos = 0;
  bool retain = false;
};

struct subscribe_options {
  broker_options broker;
  as_options as;
  std::vector<std::string> topics;
  int qos = 0;
  int count = 0;            // exit after this many messages (0: run until closed)
  std::string reauth_with;  // credentials file for one re-authentication after SUBACK
};

int fail(const std::string& message) {
  std::cerr << "acemq: " << message << '\n';
  return EXIT_FAILURE;
}

int report_close(const session_outcome& outcome, bool expected) {
  if (expected) return EXIT_SUCCESS;
  return fail(client::describe(outcome.failure));
}

// The credentials to connect with; none when the CONNECT is a discovery request (--discover
// without a credentials file or an AS address).
bool load_for_connect(const broker_options& broker, const as_options& as,
                      std::optional<ace_client::pop_credentials>& credentials, std::string& error) {
  if (broker.discover && broker.credentials_file.empty() && as.url.empty()) return true;
  credentials = load_or_fetch(broker, as, error);
  return credentials.has_value();
}

int run_token_get(const token_get_options& options) {
  std::string error;
  auto credentials = fetch_credentials(options.as, error);
  if (!credentials) return fail(error);
  std::cout << "token: " << credentials->token.size() << " bytes, scope " << credentials->scope
            << ", expires_at " << credentials->expires_at << ", PoP key "
            << (credentials->pop_key.type() == token::crypto::key_type::symmetric
                    ? "AS-generated (symmetric)"
                    : "own (req_cnf)")
            << (credentials->rs_cnf_key ? ", rs_cnf present" : "") << '\n';
  if (options.out.empty()) {
    // The token alone on stdout, for scripts; the PoP key stays in memory.
    std::cout << std::string(as_string_view(credentials->token)) << '\n';
    return EXIT_SUCCESS;
  }
  if (!save_credentials(*credentials, options.out, error)) return fail(error);
  std::cout << "credentials written to " << options.out << '\n';
  return EXIT_SUCCESS;
}

int run_token_revoke(const as_options& as, const std::string& credentials_file) {
  std::string error;
  broker_options from_file;
  from_file.credentials_file = credentials_file;
  auto credentials = load_or_fetch(from_file, as, error);
  if (!credentials) return fail(error);
  auto secret = client_secret(as, error);
  if (!secret) return fail(error);
  const std::string url = as.url.empty() ? credentials->as_url : as.url;
  auto done = ace_client::revoke_token(ace_client::as_endpoint{.url = url, .ca_file = as.ca_file},
                                       as.client_id, *secret, credentials->token);
  if (!done) return fail("revocation failed: " + ace_client::describe(done.error()));
  std::cout << "token revoked at " << url << '\n';
  return EXIT_SUCCESS;
}

int run_publish(const publish_options& options) {
  std::string error;
  std::optional<ace_client::pop_credentials> credentials;
  if (!load_for_connect(options.broker, options.as, credentials, error)) return fail(error);
  bool done = false;
  session_script script;
  script.on_connected = [&](client::client& connection) {
    mqtt::publish message;
    message.topic = options.topic;
    message.qos = static_cast<std::uint8_t>(options.qos);
    message.retain = options.retain;
    message.payload = std::make_shared<const byte_vector>(to_bytes(options.message));
    if (auto sent = connection.publish(message); !sent) {
      std::cerr << "acemq: publish refused: " << client::to_string(sent.error()) << '\n';
      connection.close();
      return;
    }
    if (options.qos == 0) {
      done = true;
      (void)connection.disconnect();
    }
  };
  script.on_publish_complete = [&](client::client& connection, std::uint16_t,
                                   mqtt::reason_code reason) {
    // RFC 9431 6.2 / 2.2.5: 0x87 (or 0x80) in PUBACK when the scope does not allow the topic.
    if (mqtt::is_error(reason)) {
      std::cerr << "acemq: publish refused by the broker: " << mqtt::to_string(reason) << '\n';
    } else {
      done = true;
    }
    (void)connection.disconnect();
  };
  const session_outcome outcome =
      run_following_hint(options.broker, options.as, credentials ? &*credentials : nullptr, script);
  return report_close(outcome, done);
}

int run_subscribe(const subscribe_options& options) {
  std::string error;
  std::optional<ace_client::pop_credentials> credentials;
  if (!load_for_connect(options.broker, options.as, credentials, error)) return fail(error);
  std::optional<ace_client::pop_credentials> reauth_with;
  if (!options.reauth_with.empty()) {
    broker_options from_file;
    from_file.credentials_file = options.reauth_with;
    reauth_with = load_or_fetch(from_file, {}, error);
    if (!reauth_with) return fail(error);
  }
  int received = 0;
  bool done = false;
  session_script script;
  script.on_connected = [&](client::client& connection) {
    std::vector<mqtt::subscription> subscriptions;
    for (const auto& topic : options.topics) {
      mqtt::subscription subscription;
      subscription.filter = topic;
      subscription.options.maximum_qos = static_cast<std::uint8_t>(options.qos);
      subscriptions.push_back(std::move(subscription));
    }
    if (auto sent = connection.subscribe(std::move(subscriptions)); !sent) {
      std::cerr << "acemq: subscribe refused: " << client::to_string(sent.error()) << '\n';
      connection.close();
    }
  };
  script.on_subscribed = [&](client::client& connection, const mqtt::suback& ack) {
    bool any = false;
    for (std::size_t i = 0; i < ack.reason_codes.size() && i < options.topics.size(); ++i) {
      // Per-filter 0x87 when the scope does not allow the filter (RFC 9431 2.2.5).
      if (mqtt::is_error(ack.reason_codes[i])) {
        std::cerr << "acemq: subscription to " << options.topics[i]
                  << " refused: " << mqtt::to_string(ack.reason_codes[i]) << '\n';
      } else {
        any = true;
      }
    }
    std::cout << "subscribed" << std::endl;
    if (!any) {
      (void)connection.disconnect();
      return;
    }
    // RFC 9431 4: a new token within the session; its scope replaces the old one at once.
    if (reauth_with) {
      auto fresh = std::move(*reauth_with);
      reauth_with.reset();
      if (auto refused = script.reauthenticate(std::move(fresh))) {
        std::cerr << "acemq: re-authentication not sent: " << *refused << '\n';
        connection.close();
      }
    }
  };
  script.on_message = [&](client::client& connection, const mqtt::publish& message) {
    std::cout << message.topic << ' ' << as_string_view(message.payload_view()) << std::endl;
    if (options.count > 0 && ++received >= options.count) {
      done = true;
      (void)connection.disconnect();
    }
  };
  script.on_reauthenticated = [](client::client&) { std::cout << "re-authenticated" << std::endl; };
  const session_outcome outcome =
      run_following_hint(options.broker, options.as, credentials ? &*credentials : nullptr, script);
  return report_close(outcome, done);
}

int run_authz_info(const broker_options& broker, const as_options& as) {
  std::string error;
  auto credentials = load_or_fetch(broker, as, error);
  if (!credentials) return fail(error);
  bool accepted = false;
  session_script script;
  script.on_connected = [&](client::client& connection) {
    // RFC 9431 2.2.2: the token is the payload of a PUBLISH to the public `authz-info` topic,
    // over TLS without client authentication.
    mqtt::publish message;
    message.topic = "authz-info";
    message.qos = 1;
    message.payload = std::make_shared<const byte_vector>(credentials->token);
    if (auto sent = connection.publish(message); !sent) connection.close();
  };
  script.on_publish_complete = [&](client::client& connection, std::uint16_t,
                                   mqtt::reason_code reason) {
    accepted = !mqtt::is_error(reason);
    std::cout << "authz-info: " << (accepted ? "token stored" : "refused: ")
              << (accepted ? "" : mqtt::to_string(reason)) << std::endl;
    (void)connection.disconnect();
  };
  const session_outcome outcome = run_session(broker, as, nullptr, script);
  return accepted ? EXIT_SUCCESS : report_close(outcome, false);
}

}  // namespace

void add_token_get_command(CLI::App& token_app, int& exit_code) {
  auto options = std::make_shared<token_get_options>();
  auto* command = token_app.add_subcommand(
      "get", "obtain a PoP access token from the AS (client credentials, RFC 9200 5.8)");
  add_as_flags(*command, options->as);
  command->get_option("--as")->required();
  command->get_option("--audience")->required();
  command->add_option("--out", options->out, "write token and PoP key to this JSON file (0600)");
  command->callback([options, &exit_code] { exit_code = run_token_get(*options); });

  auto revoke = std::make_shared<std::pair<as_options, std::string>>();
  auto* revoke_command = token_app.add_subcommand(
      "revoke", "revoke the token of a credentials file at the AS (RFC 7009 /revoke)");
  revoke_command->add_option("--as", revoke->first.url, "AS base URL (default: the file's)");
  revoke_command->add_option("--as-cafile", revoke->first.ca_file, "PEM CA of the AS");
  revoke_command->add_option("--client-id", revoke->first.client_id, "client id at the AS")
      ->required();
  revoke_command->add_option("--client-secret", revoke->first.client_secret, "client secret");
  revoke_command->add_option("--client-secret-file", revoke->first.client_secret_file,
                             "file holding the client secret");
  revoke_command->add_option("--credentials", revoke->second, "credentials file")->required();
  revoke_command->callback(
      [revoke, &exit_code] { exit_code = run_token_revoke(revoke->first, revoke->second); });
}

void add_mqtt_commands(CLI::App& app, int& exit_code) {
  auto publish = std::make_shared<publish_options>();
  auto* pub = app.add_subcommand("pub", "publish one message with ACE authentication");
  add_broker_flags(*pub, publish->broker);
  add_as_flags(*pub, publish->as);
  pub->add_option("-t,--topic", publish->topic, "topic")->required();
  pub->add_option("-m,--message", publish->message, "payload");
  pub->add_option("-q,--qos", publish->qos, "QoS")->check(CLI::Range(0, 2));
  pub->add_flag("-r,--retain", publish->retain, "retain the message");
  pub->callback([publish, &exit_code] { exit_code = run_publish(*publish); });

  auto subscribe = std::make_shared<subscribe_options>();
  auto* sub = app.add_subcommand("sub", "subscribe with ACE authentication and print messages");
  add_broker_flags(*sub, subscribe->broker);
  add_as_flags(*sub, subscribe->as);
  sub->add_option("-t,--topic", subscribe->topics, "topic filter (repeatable)")->required();
  sub->add_option("-q,--qos", subscribe->qos, "maximum QoS")->check(CLI::Range(0, 2));
  sub->add_option("-C,--count", subscribe->count, "exit after this many messages");
  sub->add_option("--reauth-with", subscribe->reauth_with,
                  "once subscribed, re-authenticate (AUTH 0x19, MQTT 5) with the token in this "
                  "credentials file");
  sub->callback([subscribe, &exit_code] { exit_code = run_subscribe(*subscribe); });

  auto authz = std::make_shared<std::pair<broker_options, as_options>>();
  auto* authz_info = app.add_subcommand(
      "authz-info", "hand a token to the broker on its authz-info topic (RFC 9431 2.2.2)");
  add_broker_flags(*authz_info, authz->first, false);
  authz_info->add_option("--credentials", authz->first.credentials_file, "credentials file");
  add_as_flags(*authz_info, authz->second);
  authz_info->callback(
      [authz, &exit_code] { exit_code = run_authz_info(authz->first, authz->second); });
}

}  // namespace acemq::apps
