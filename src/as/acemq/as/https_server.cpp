#include "acemq/as/https_server.hpp"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "acemq/common/base64.hpp"
#include "acemq/common/log.hpp"
#include "acemq/common/rate_limiter.hpp"

namespace acemq::as {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr std::size_t max_drain = 1024 * 1024;
/// The pause after a failed accept, doubling per further failure up to the most; reset by the
/// next accepted connection.
constexpr std::chrono::milliseconds accept_backoff_first{10};
constexpr std::chrono::milliseconds accept_backoff_most{1000};

/// base64url SHA-256 of the verified peer certificate's DER encoding; empty when none.
std::string peer_certificate_thumbprint(SSL* handle) {
  if (SSL_get_verify_result(handle) != X509_V_OK) return {};
  X509* certificate = SSL_get1_peer_certificate(handle);
  if (certificate == nullptr) return {};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  const bool ok = X509_digest(certificate, EVP_sha256(), digest, &size) == 1;
  X509_free(certificate);
  if (!ok) return {};
  return base64url_encode(byte_view(digest, size));
}

http::response<http::string_body> to_beast(const http_response& response, unsigned version,
                                           bool keep_alive) {
  http::response<http::string_body> out{static_cast<http::status>(response.status), version};
  out.set(http::field::server, "acemq-as");
  if (!response.content_type.empty()) out.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers)
    out.set(name, value);
  out.body() = response.body;
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

http_response plain_error(unsigned status, std::string_view description) {
  http_response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::string(R"({"error":"invalid_request","error_description":")") +
                  std::string(description) + "\"}";
  return response;
}

/// The answer when every worker is busy and the queue is full: cheap, and the client may retry.
http_response server_busy() {
  http_response response;
  response.status = 503;
  response.content_type = "application/json";
  response.body =
      R"({"error":"temporarily_unavailable","error_description":"server busy, retry later"})";
  response.headers.emplace_back("retry-after", "1");
  return response;
}

}  // namespace

struct https_server::impl {
  https_server_options options;
  request_handler handler;
  request_classifier needs_worker;
  // Connection slots, in total and per remote address; declared before the io_context so that
  // sessions destroyed with it can still give their slot back.
  std::mutex slots_mutex;
  std::size_t connections = 0;
  std::unordered_map<std::string, std::size_t> connections_by_address;
  // Requests on the worker pool, running or waiting.
  std::atomic<std::size_t> pending{0};
  asio::io_context io{options.threads};
  ssl::context tls{ssl::context::tls_server};
  tcp::acceptor acceptor{io};
  asio::signal_set signals{io, SIGINT, SIGTERM};
  // Destroyed first: its threads are joined before anything they use goes away.
  asio::thread_pool workers{static_cast<std::size_t>(options.workers)};

  impl(https_server_options o, request_handler h, request_classifier c)
      : options(std::move(o)), handler(std::move(h)), needs_worker(std::move(c)) {
    tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                    ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                    ssl::context::single_dh_use);
    boost::system::error_code ec;
    tls.use_certificate_chain_file(options.certificate_file, ec);
    if (ec) throw std::runtime_error("cannot load TLS certificate " + options.certificate_file);
    tls.use_private_key_file(options.private_key_file, ssl::context::pem, ec);
    if (ec) throw std::runtime_error("cannot load TLS key " + options.private_key_file);
    if (!options.client_ca_file.empty()) {
      tls.load_verify_file(options.client_ca_file, ec);
      if (ec) throw std::runtime_error("cannot load client CA " + options.client_ca_file);
      // Ask for a certificate but do not require one: secrets remain a valid method.
      tls.set_verify_mode(ssl::verify_peer);
      tls.set_verify_callback([](bool, ssl::verify_context&) { return true; });
    }
  }

  /// Takes a connection slot for `key` (per_address_key); false when the total or the
  /// key's share is full.
  bool take_slot(const std::string& key) {
    std::lock_guard lock(slots_mutex);
    if (connections >= options.max_connections) return false;
    auto& held = connections_by_address[key];
    if (held >= options.max_connections_per_address) return false;
    ++held;
    ++connections;
    return true;
  }
  void release_slot(const std::string& key) {
    std::lock_guard lock(slots_mutex);
    --connections;
    const auto it = connections_by_address.find(key);
    if (it != connections_by_address.end() && --it->second == 0) connections_by_address.erase(it);
  }

  /// Runs the handler: inline for cheap requests, else on the worker pool, so a secret check
  /// (argon2id) never stalls the I/O threads; a full pool queue is answered 503 at once.
  asio::awaitable<http_response> respond(const http_request& request) {
    if (needs_worker && !needs_worker(request)) co_return handler(request);
    const auto capacity = static_cast<std::size_t>(options.workers) + options.max_queued;
    if (pending.fetch_add(1) >= capacity) {
      --pending;
      co_return server_busy();
    }
    co_return co_await asio::co_spawn(
        workers,
        [this, &request]() -> asio::awaitable<http_response> {
          struct done {
            std::atomic<std::size_t>& value;
            ~done() { --value; }
          } guard{pending};
          co_return handler(request);
        },
        asio::use_awaitable);
  }

  asio::awaitable<void> session(tcp::socket socket, std::string peer, std::string key) {
    struct slot {
      impl& server;
      const std::string& key;
      ~slot() { server.release_slot(key); }
    } guard{*this, key};
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), tls);
    // A client that never completes its handshake holds the slot this long at most.
    beast::get_lowest_layer(stream).expires_after(options.handshake_timeout);
    auto [handshake_error] = co_await stream.async_handshake(ssl::stream_base::server,
                                                             asio::as_tuple(asio::use_awaitable));
    if (handshake_error) co_return;
    const auto thumbprint = peer_certificate_thumbprint(stream.native_handle());
    beast::flat_buffer buffer;
    while (true) {
      beast::get_lowest_layer(stream).expires_after(options.idle_timeout);
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header));
      parser.body_limit(options.max_body);
      auto [read_error, bytes] =
          co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      (void)bytes;
      if (read_error == http::error::end_of_stream) break;
      if (read_error) {
        // Oversized input gets a status, then the connection closes (its framing is lost).
        unsigned status = 0;
        if (read_error == http::error::body_limit) status = 413;
        if (read_error == http::error::header_limit) status = 431;
        if (read_error == http::error::bad_method || read_error == http::error::bad_target ||
            read_error == http::error::bad_version || read_error == http::error::bad_field ||
            read_error == http::error::bad_value) {
          status = 400;
        }
        if (status != 0) {
          auto reply = to_beast(plain_error(status, status == 413   ? "request body too large"
                                                    : status == 431 ? "request header too large"
                                                                    : "malformed request"),
                                11, false);
          co_await http::async_write(stream, reply, asio::as_tuple(asio::use_awaitable));
          // Read (and drop) what the client is still sending, bounded, so closing the socket
          // with unread data does not reset the connection before the client reads the status.
          std::array<char, 4096> sink{};
          std::size_t drained = 0;
          beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
          while (drained < max_drain) {
            auto [drain_error, n] = co_await stream.async_read_some(
                asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
            if (drain_error) break;
            drained += n;
          }
        }
        break;
      }
      auto& message = parser.get();
      http_request request;
      request.method = std::string(message.method_string());
      request.target = std::string(message.target());
      for (const auto& field : message) {
        std::string name(field.name_string());
        for (auto& c : name)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        request.headers.emplace_back(std::move(name), std::string(field.value()));
      }
      request.body = std::move(message.body());
      request.peer_address = peer;
      request.client_certificate_thumbprint = thumbprint;
      const bool keep_alive = message.keep_alive();
      auto reply = to_beast(co_await respond(request), message.version(), keep_alive);
      beast::get_lowest_layer(stream).expires_after(options.idle_timeout);
      auto [write_error, written] =
          co_await http::async_write(stream, reply, asio::as_tuple(asio::use_awaitable));
      (void)written;
      if (write_error || !keep_alive) break;
    }
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
  }

  asio::awaitable<void> accept_loop() {
    // A failed accept (EMFILE/ENFILE: descriptors exhausted, ENOBUFS, ENOMEM) leaves the waiting
    // connection in the backlog, so the listening socket stays readable and an immediate retry
    // fails again: without a pause the loop spins a core for as long as an attacker holds the
    // descriptors. Wait accept_backoff_first, doubling to accept_backoff_most, until an accept
    // succeeds; log the episode once, not per failure.
    auto pause = accept_backoff_first;
    std::size_t failures = 0;
    asio::steady_timer backoff(acceptor.get_executor());
    while (acceptor.is_open()) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        if (failures++ == 0) {
          spdlog::warn(
              "https: accepting connections failed ({}); backing off, retrying from {} ms up to "
              "every {} ms until one succeeds",
              ec.message(), accept_backoff_first.count(), accept_backoff_most.count());
        }
        backoff.expires_after(pause);
        auto [wait_error] = co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
        if (wait_error) co_return;
        pause = std::min(pause * 2, accept_backoff_most);
        continue;
      }
      if (failures != 0) {
        spdlog::info("https: accepting connections again after {} failed attempts", failures);
        failures = 0;
        pause = accept_backoff_first;
      }
      boost::system::error_code address_error;
      const auto endpoint = socket.remote_endpoint(address_error);
      if (address_error) continue;
      std::string peer = endpoint.address().to_string();
      std::string slot = per_address_key(peer);
      if (!take_slot(slot)) continue;  // the socket closes here
      asio::co_spawn(acceptor.get_executor(),
                     session(std::move(socket), std::move(peer), std::move(slot)), asio::detached);
    }
  }
};

https_server::https_server(https_server_options options, request_handler handler,
                           request_classifier needs_worker)
    : impl_(std::make_unique<impl>(std::move(options), std::move(handler),
                                   std::move(needs_worker))) {}

https_server::~https_server() {
  stop();
}

std::uint16_t https_server::start() {
  const tcp::endpoint endpoint(asio::ip::make_address(impl_->options.address), impl_->options.port);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  impl_->signals.async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) stop();
  });
  return impl_->acceptor.local_endpoint().port();
}

void https_server::run() {
  // Also the logger's first use, before any connection (the caller's own line comes first: tests
  // read it). In a build with UBSan, the first check of an object's dynamic type needs a pipe,
  // which EMFILE would make fail.
  spdlog::info("https: serving with {} I/O threads and {} workers", impl_->options.threads,
               impl_->options.workers);
  std::vector<std::thread> workers;
  for (int i = 1; i < impl_->options.threads; ++i)
    workers.emplace_back([this] { impl_->io.run(); });
  impl_->io.run();
  for (auto& worker : workers)
    worker.join();
}

void https_server::stop() {
  asio::post(impl_->io, [this] {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    impl_->signals.cancel(ec);
  });
  impl_->io.stop();
}

}  // namespace acemq::as
