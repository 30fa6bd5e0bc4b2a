// Benchmark of acemq-as over HTTPS: tokens issued per second (client_credentials, JWT, EdDSA)
// and introspections per second, on one keep-alive TLS connection, compared with the same
// requests each on a fresh TLS connection. The server runs in process on a free port with a
// temporary SQLite database; argon2id verification is cached after the first request, as in
// production. --json prints one object in acemq-bench's form, for bench/compare.
//
//   build/release/bench/as_bench [--json] [requests]     (default 2000)

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string_view>
#include <thread>

#include "acemq/as/audit.hpp"
#include "acemq/as/dev_tls.hpp"
#include "acemq/as/https_front.hpp"
#include "acemq/as/key_ring.hpp"
#include "acemq/as/secret_hash.hpp"
#include "acemq/as/service.hpp"
#include "acemq/as/sqlite_storage.hpp"
#include "acemq/common/base64.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/log.hpp"
#include "acemq/common/random.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using namespace acemq::as;

struct client {
  asio::io_context io;
  ssl::context tls{ssl::context::tls_client};
  std::uint16_t port;
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream;
  beast::flat_buffer buffer;

  explicit client(std::uint16_t p, const std::string& ca) : port(p) {
    tls.load_verify_file(ca);
    tls.set_verify_mode(ssl::verify_peer);
  }
  void connect() {
    stream.emplace(io, tls);
    beast::get_lowest_layer(*stream).connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    stream->handshake(ssl::stream_base::client);
    buffer.clear();
  }
  void close() {
    boost::system::error_code ec;
    stream->shutdown(ec);
    stream.reset();
  }
  unsigned post(const std::string& target, const std::string& body, const std::string& auth,
                bool keep_alive) {
    http::request<http::string_body> request{http::verb::post, target, 11};
    request.set(http::field::host, "127.0.0.1");
    request.set(http::field::content_type, "application/x-www-form-urlencoded");
    request.set(http::field::authorization, auth);
    request.keep_alive(keep_alive);
    request.body() = body;
    request.prepare_payload();
    http::write(*stream, request);
    http::response<http::string_body> response;
    http::read(*stream, buffer, response);
    last_body = std::move(response.body());
    return response.result_int();
  }
  std::string last_body;
};

std::string basic(const std::string& id, const std::string& secret) {
  return "Basic " + acemq::base64_encode(acemq::as_bytes(id + ":" + secret));
}

double per_second(std::size_t count, std::chrono::steady_clock::duration elapsed) {
  return static_cast<double>(count) / std::chrono::duration<double>(elapsed).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t requests = 2000;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view argument = argv[i];
    if (argument == "--json") {
      json = true;
    } else if (!argument.empty() && argument.find_first_not_of("0123456789") == argument.npos) {
      requests = std::stoul(argv[i]);
    } else {
      std::cerr << "usage: as_bench [--json] [requests]\n";
      return 2;
    }
  }
  if (requests == 0) {
    std::cerr << "as_bench: requests must be at least 1\n";
    return 2;
  }
  // stdout carries the figures (bench/compare parses the --json line): no log lines there.
  acemq::log::set_level("warn");
  const auto dir =
      std::filesystem::temp_directory_path() / ("acemq-as-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto& random = acemq::system_random::instance();
  auto& clock = acemq::system_clock::instance();
  auto store = std::move(*sqlite_storage::open((dir / "as.db").string()));
  client_record c;
  c.client_id = "bench";
  c.secret_hash = hash_secret("bench-secret", random);
  (void)store->insert_client(c);
  resource_server_record rs;
  rs.audience = "broker";
  rs.secret_hash = hash_secret("rs-secret", random);
  rs.encryption_key = R"({"kty":"oct","k":"AAECAwQFBgcICQoLDA0ODw"})";
  (void)store->insert_resource_server(rs);
  (void)store->insert_owner({"owner", hash_secret("o", random), "", 0});
  (void)store->insert_owner_subtree({"owner", "broker", "bench/#"});
  auto keys = key_ring::load(*store, acemq::token::crypto::algorithm::eddsa, clock.unix_seconds());
  memory_audit_sink audit(16);
  service_options options;
  options.per_client.refill_per_second = 0;  // no rate limits while measuring
  options.per_address.refill_per_second = 0;
  authorization_service service(options, *store, keys, clock, random, audit);
  grant_record g;
  g.owner_id = "owner";
  g.client_id = "bench";
  g.audience = "broker";
  g.filter = "bench/#";
  g.permissions = 0x03;
  g.not_after = clock.unix_seconds() + 3600;
  (void)service.create_grant(g);

  const auto tls = ensure_dev_tls((dir / "tls").string());
  https_server_options server_options;
  server_options.port = 0;
  server_options.certificate_file = tls.certificate;
  server_options.private_key_file = tls.private_key;
  server_options.threads = 1;
  // Routed as in acemq-as: requests whose secret check is cached run on the I/O thread.
  auto server =
      make_https_front(server_options, [&]() -> authorization_service& { return service; });
  const auto port = server.start();
  std::thread runner([&] { server.run(); });

  client cl(port, tls.certificate);
  const std::string token_body = "grant_type=client_credentials&audience=broker";
  const auto token_auth = basic("bench", "bench-secret");
  cl.connect();
  if (cl.post("/token", token_body, token_auth, true) != 200) {
    std::cerr << "as_bench: token request failed: " << cl.last_body << '\n';
    return 1;
  }
  const auto token_start = std::chrono::steady_clock::now();
  // Every answer is checked: a refused request is fast, and counting it would inflate the rate.
  std::size_t refused = 0;
  for (std::size_t i = 0; i < requests; ++i) {
    if (cl.post("/token", token_body, token_auth, true) != 200) ++refused;
  }
  const auto token_rate = per_second(requests, std::chrono::steady_clock::now() - token_start);
  const auto token_json = cl.last_body;
  const auto begin = token_json.find("\"access_token\":\"") + 16;
  const auto token = token_json.substr(begin, token_json.find('"', begin) - begin);
  const std::string introspect_body = "token=" + token;
  const auto rs_auth = basic("broker", "rs-secret");
  const auto introspect_start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < requests; ++i) {
    if (cl.post("/introspect", introspect_body, rs_auth, true) != 200 ||
        cl.last_body.find("\"active\":true") == std::string::npos) {
      ++refused;
    }
  }
  const auto introspect_rate =
      per_second(requests, std::chrono::steady_clock::now() - introspect_start);
  cl.close();

  // Peer run: a fresh TLS connection per request.
  const std::size_t fresh_requests = std::max<std::size_t>(1, requests / 10);
  const auto fresh_start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < fresh_requests; ++i) {
    cl.connect();
    if (cl.post("/token", token_body, token_auth, false) != 200) ++refused;
    cl.close();
  }
  if (refused != 0) {
    std::cerr << "as_bench: " << refused << " requests were not answered with success\n";
    server.stop();
    runner.join();
    std::filesystem::remove_all(dir);
    return 1;
  }
  const auto fresh_rate =
      per_second(fresh_requests, std::chrono::steady_clock::now() - fresh_start);

  if (json) {
    std::printf(
        "{\"scenario\":\"as\",\"parameters\":{\"requests\":\"%zu\",\"server_threads\":\"1\","
        "\"token\":\"JWT EdDSA\"},\"figures\":{\"tokens_per_second\":%.1f,"
        "\"introspections_per_second\":%.1f,\"tokens_per_second_new_connection\":%.1f},"
        "\"units\":{\"tokens_per_second\":\"tokens/s\",\"introspections_per_second\":"
        "\"introspections/s\",\"tokens_per_second_new_connection\":\"tokens/s\"},\"notes\":[]}\n",
        requests, token_rate, introspect_rate, fresh_rate);
  } else {
    std::printf("command: %s %zu\n", argv[0], requests);
    std::printf("tokens issued/s (keep-alive HTTPS, JWT EdDSA): %.0f\n", token_rate);
    std::printf("introspections/s (keep-alive HTTPS):           %.0f\n", introspect_rate);
    std::printf("tokens issued/s (new TLS connection each):     %.0f\n", fresh_rate);
    std::printf("keep-alive / new-connection ratio:             %.1fx\n", token_rate / fresh_rate);
  }
  server.stop();
  runner.join();
  std::filesystem::remove_all(dir);
  return 0;
}
