// ace_publish: the smallest complete use of acemq_ace_client. It asks the AS for a token bound to
// an AS-generated key, connects to the broker over TLS proving possession of that key over the
// TLS exporter (RFC 9431 2.2.4.1), publishes one message at QoS 1 and disconnects.
//
//   ace_publish AS_URL AS_CA CLIENT_ID CLIENT_SECRET AUDIENCE BROKER_HOST BROKER_PORT BROKER_CA
//               TOPIC MESSAGE

#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>

#include "acemq/ace_client/ace_authentication.hpp"
#include "acemq/ace_client/https_token_client.hpp"
#include "acemq/ace_client/server_identity.hpp"
#include "acemq/client/client.hpp"

int main(int argc, char** argv) {
  if (argc != 11) {
    std::cerr << "usage: ace_publish AS_URL AS_CA CLIENT_ID CLIENT_SECRET AUDIENCE HOST PORT "
                 "BROKER_CA TOPIC MESSAGE\n";
    return EXIT_FAILURE;
  }
  namespace ace = acemq::ace_client;

  // 1. A token from the AS (client credentials); without req_cnf the AS generates the PoP key.
  ace::token_request request;
  request.client_id = argv[3];
  request.client_secret = argv[4];
  request.audience = argv[5];
  ace::as_endpoint endpoint;
  endpoint.url = argv[1];
  endpoint.ca_file = argv[2];
  auto response = ace::request_token(endpoint, request);
  if (!response) {
    std::cerr << "token: " << ace::describe(response.error()) << '\n';
    return EXIT_FAILURE;
  }
  auto credentials = ace::make_credentials(*response, std::nullopt, request.audience, endpoint.url,
                                           static_cast<std::int64_t>(std::time(nullptr)));
  if (!credentials) {
    std::cerr << "token: " << ace::describe(credentials.error()) << '\n';
    return EXIT_FAILURE;
  }

  // 2. The ACE authentication: PoP over the TLS exporter in CONNECT.
  ace::connect_settings settings;
  settings.method = ace::pop_method::exporter;
  auto authentication =
      ace::ace_authentication::create(*credentials, settings, acemq::system_random::instance());
  if (!authentication) {
    std::cerr << "the token does not fit in Authentication Data\n";
    return EXIT_FAILURE;
  }

  // 3. TLS to the broker; when the AS named the broker's key (rs_cnf), the certificate must hold
  // it.
  acemq::client::tls_options tls;
  tls.ca_file = argv[8];
  if (credentials->rs_cnf_key) tls.pin = ace::rs_cnf_pin(*credentials->rs_cnf_key);
  auto context = acemq::client::tls_context::create(std::move(tls));
  if (!context) {
    std::cerr << "TLS: " << context.error() << '\n';
    return EXIT_FAILURE;
  }

  boost::asio::io_context io;
  std::unique_ptr<acemq::client::client> connection;
  int status = EXIT_FAILURE;
  acemq::client::events events;
  events.on_authentication = authentication->authentication_exchange();
  events.on_connected = [&](const acemq::mqtt::connack&) {
    acemq::mqtt::publish message;
    message.topic = argv[9];
    message.qos = 1;
    message.payload = std::make_shared<const acemq::byte_vector>(acemq::to_bytes(argv[10]));
    if (!connection->publish(message)) connection->close();
  };
  events.on_publish_complete = [&](std::uint16_t, acemq::mqtt::reason_code reason) {
    std::cout << "PUBACK: " << acemq::mqtt::to_string(reason) << '\n';
    if (!acemq::mqtt::is_error(reason)) status = EXIT_SUCCESS;
    (void)connection->disconnect();
  };
  events.on_closed = [&](const acemq::client::failure& failure) {
    if (failure.error != acemq::client::client_error::closed_by_client) {
      std::cerr << acemq::client::describe(failure) << '\n';
    }
  };

  acemq::client::client_options options;
  options.host = argv[6];
  options.port = static_cast<std::uint16_t>(std::stoul(argv[7]));
  options.tls = std::move(*context);
  connection = std::make_unique<acemq::client::client>(io, options, std::move(events));
  if (!connection->connect(authentication->connect_packet(),
                           authentication->before_connect_hook())) {
    return EXIT_FAILURE;
  }
  io.run();
  return status;
}
