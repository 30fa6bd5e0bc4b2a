// `acemq demo`: the ACE story against the services `make run` starts, one printed step at a time.
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "ace_commands.hpp"
#include "ace_session.hpp"

namespace acemq::apps {

namespace {

struct demo_options {
  broker_options broker;
  as_options as;
  demo_options() {
    broker.ca_file = "var/pki/ca.pem";
    as.url = "https://127.0.0.1:8443";
    as.ca_file = "var/as/tls/server.pem";
    as.client_id = "demo-device";
    as.client_secret_file = "var/demo/client-secret";
    as.audience = "acemq-broker";
    as.scope = R"([["demo/#",["pub","sub"]]])";
  }
};

void step(int number, const std::string& text) {
  std::cout << "\n[" << number << "] " << text << std::endl;
}

bool publish_once(const broker_options& broker, const as_options& as,
                  const ace_client::pop_credentials& credentials, const std::string& topic) {
  bool acknowledged = false;
  session_script script;
  script.on_connected = [&](client::client& connection) {
    std::cout << "    connected (PoP " << broker.pop << ", MQTT " << broker.mqtt_version << ")\n";
    mqtt::publish message;
    message.topic = topic;
    message.qos = 1;
    message.payload = std::make_shared<const byte_vector>(to_bytes("hello from acemq demo"));
    if (!connection.publish(message)) connection.close();
  };
  script.on_publish_complete = [&](client::client& connection, std::uint16_t,
                                   mqtt::reason_code reason) {
    acknowledged = !mqtt::is_error(reason);
    std::cout << "    PUBACK " << topic << ": " << mqtt::to_string(reason) << '\n';
    (void)connection.disconnect();
  };
  const session_outcome outcome = run_session(broker, as, &credentials, script);
  if (!outcome.connected) std::cout << "    refused: " << client::describe(outcome.failure) << '\n';
  return acknowledged;
}

mqtt::publish demo_message(const std::string& topic, const std::string& text) {
  mqtt::publish message;
  message.topic = topic;
  message.qos = 1;
  message.payload = std::make_shared<const byte_vector>(to_bytes(text));
  return message;
}

// Subscribed to demo/reauth/a and demo/reauth/b, the client swaps its token for one that may
// only publish to demo/reauth/b: the broker drops that subscription, so of the two messages
// published next only the one on demo/reauth/a comes back.
bool reauthenticate_step(const demo_options& options) {
  std::string error;
  auto broad = fetch_credentials(options.as, error);
  as_options narrow_request = options.as;
  narrow_request.scope = R"([["demo/reauth/a",["pub","sub"]],["demo/reauth/b",["pub"]]])";
  auto narrow = broad ? fetch_credentials(narrow_request, error) : std::nullopt;
  if (!narrow) {
    std::cout << "    no token: " << error << '\n';
    return false;
  }
  broker_options broker = options.broker;
  broker.pop = "challenge";
  bool reauthenticated = false;
  bool pruned_arrived = false;
  bool kept_arrived = false;
  session_script script;
  script.deadline = std::chrono::seconds{20};
  script.on_connected = [&](client::client& connection) {
    mqtt::subscription a;
    a.filter = "demo/reauth/a";
    a.options.maximum_qos = 1;
    mqtt::subscription b = a;
    b.filter = "demo/reauth/b";
    (void)connection.subscribe({a, b});
  };
  script.on_subscribed = [&](client::client& connection, const mqtt::suback& ack) {
    std::cout << "    SUBACK demo/reauth/a, demo/reauth/b: "
              << mqtt::to_string(ack.reason_codes.at(0)) << ", "
              << mqtt::to_string(ack.reason_codes.at(1)) << '\n';
    std::cout << "    AUTH 0x19 with a token for " << narrow->scope << '\n';
    if (auto refused = script.reauthenticate(std::move(*narrow))) {
      std::cout << "    re-authentication not sent: " << *refused << '\n';
      connection.close();
    }
  };
  script.on_reauthenticated = [&](client::client& connection) {
    reauthenticated = true;
    std::cout << "    re-authenticated (challenge answered with the new key)\n";
    // In order: if the pruned subscription were still there, its message would come first.
    (void)connection.publish(demo_message("demo/reauth/b", "pruned"));
    (void)connection.publish(demo_message("demo/reauth/a", "kept"));
  };
  script.on_message = [&](client::client& connection, const mqtt::publish& message) {
    std::cout << "    received " << message.topic << '\n';
    if (message.topic == "demo/reauth/b") pruned_arrived = true;
    if (message.topic == "demo/reauth/a") {
      kept_arrived = true;
      (void)connection.disconnect();
    }
  };
  const session_outcome outcome = run_session(broker, options.as, &*broad, script);
  if (!outcome.connected) std::cout << "    refused: " << client::describe(outcome.failure) << '\n';
  if (reauthenticated && kept_arrived && !pruned_arrived) {
    std::cout << "    the subscription the new scope disallows was removed\n";
    return true;
  }
  std::cout << "    unexpected: " << client::describe(outcome.failure) << '\n';
  return false;
}

// A subscriber whose token the client then revokes at the AS: within the broker's revocation
// poll interval the connection ends with DISCONNECT 0x87 (RFC 9431 3.2).
bool revocation_step(const demo_options& options) {
  std::string error;
  auto credentials = fetch_credentials(options.as, error);
  auto secret = credentials ? client_secret(options.as, error) : std::nullopt;
  if (!secret) {
    std::cout << "    no token: " << error << '\n';
    return false;
  }
  bool revoked = false;
  session_script script;
  script.deadline = std::chrono::seconds{20};
  script.on_connected = [&](client::client& connection) {
    mqtt::subscription subscription;
    subscription.filter = "demo/revoked";
    subscription.options.maximum_qos = 1;
    (void)connection.subscribe({subscription});
  };
  script.on_subscribed = [&](client::client& connection, const mqtt::suback&) {
    std::cout << "    subscribed to demo/revoked; POST /revoke\n";
    auto done = ace_client::revoke_token(
        ace_client::as_endpoint{.url = options.as.url, .ca_file = options.as.ca_file},
        options.as.client_id, *secret, credentials->token);
    if (!done) {
      std::cout << "    revocation failed: " << ace_client::describe(done.error()) << '\n';
      connection.close();
      return;
    }
    revoked = true;
    std::cout << "    revoked at the AS; waiting for the broker\n";
  };
  const session_outcome outcome = run_session(options.broker, options.as, &*credentials, script);
  std::cout << "    connection ended: " << client::describe(outcome.failure) << '\n';
  return revoked && outcome.failure.error == client::client_error::server_disconnected &&
         outcome.failure.reason_code == mqtt::reason_code::not_authorized;
}

int run_demo(demo_options options) {
  int failures = 0;
  std::string error;
  step(1, "token from the AS for " + options.as.client_id + " (AS-generated HS256 PoP key)");
  auto credentials = fetch_credentials(options.as, error);
  if (!credentials) {
    std::cerr << "acemq demo: " << error << "\n(is `make run` running?)\n";
    return EXIT_FAILURE;
  }
  std::cout << "    token " << credentials->token.size() << " bytes, scope " << credentials->scope
            << ", expires_at " << credentials->expires_at << '\n';

  step(2, "CONNECT with PoP over the TLS exporter (RFC 9431 2.2.4.1), PUBLISH demo/hello");
  options.broker.pop = "exporter";
  if (!publish_once(options.broker, options.as, *credentials, "demo/hello")) ++failures;

  step(3, "CONNECT with challenge/response (RFC 9431 2.2.4.2), PUBLISH demo/challenge");
  options.broker.pop = "challenge";
  if (!publish_once(options.broker, options.as, *credentials, "demo/challenge")) ++failures;

  step(4, "MQTT 3.1.1: username ace+token, password PoP over the exporter (RFC 9431 6)");
  options.broker.pop = "exporter";
  options.broker.mqtt_version = "3.1.1";
  if (!publish_once(options.broker, options.as, *credentials, "demo/v311")) ++failures;
  options.broker.mqtt_version = "5";

  step(5, "SUBSCRIBE demo/# and receive a message published on the same connection");
  int stage = 0;
  const ace_client::pop_credentials first = *credentials;
  options.broker.reauth_before = 0;
  session_script script;
  script.on_connected = [&](client::client& connection) {
    mqtt::subscription subscription;
    subscription.filter = "demo/#";
    subscription.options.maximum_qos = 1;
    (void)connection.subscribe({subscription});
  };
  script.on_subscribed = [&](client::client& connection, const mqtt::suback& ack) {
    std::cout << "    SUBACK demo/#: " << mqtt::to_string(ack.reason_codes.at(0)) << '\n';
    mqtt::publish message;
    message.topic = "demo/loop";
    message.qos = 1;
    message.payload = std::make_shared<const byte_vector>(to_bytes("round trip"));
    (void)connection.publish(message);
  };
  script.on_message = [&](client::client& connection, const mqtt::publish& message) {
    std::cout << "    received " << message.topic << ": " << as_string_view(message.payload_view())
              << '\n';
    if (stage == 0) {
      stage = 1;
      (void)connection.disconnect();
    }
  };
  const session_outcome outcome = run_session(options.broker, options.as, &first, script);
  if (stage != 1) {
    ++failures;
    std::cout << "    no round trip: " << client::describe(outcome.failure) << '\n';
  }

  step(6, "PUBLISH to a topic outside the scope (expect 0x87 not authorized)");
  if (publish_once(options.broker, options.as, *credentials, "private/secret")) ++failures;

  step(7, "re-authenticate in the session (AUTH 0x19, RFC 9431 4) with a narrower token");
  if (!reauthenticate_step(options)) ++failures;

  step(8, "revoke a connected client's token at the AS (RFC 7009); the broker disconnects it");
  if (!revocation_step(options)) ++failures;

  std::cout << "\ndemo finished with " << failures << " unexpected outcome(s)\n";
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<demo_options>();
  auto* demo = app.add_subcommand(
      "demo", "run the ACE story against `make run` (AS on 8443, broker on 8883, seeded demo)");
  demo->add_option("--as", options->as.url, "AS URL")->capture_default_str();
  demo->add_option("--as-cafile", options->as.ca_file, "AS CA")->capture_default_str();
  demo->add_option("--client-secret-file", options->as.client_secret_file, "demo client secret")
      ->capture_default_str();
  demo->set_help_flag("--help", "print this help and exit");
  demo->add_option("-h,--host", options->broker.host, "broker host")->capture_default_str();
  demo->add_option("-p,--port", options->broker.port, "broker TLS port")->capture_default_str();
  demo->add_option("--cafile", options->broker.ca_file, "broker CA")->capture_default_str();
  demo->callback([options, &exit_code] { exit_code = run_demo(*options); });
}

}  // namespace acemq::apps
