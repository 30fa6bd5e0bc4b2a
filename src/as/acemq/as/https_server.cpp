#include "acemq/as/https_server.hpp"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "acemq/common/base64.hpp"
#include "acemq/common/log.hpp"

namespace acemq::as {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr std::size_t max_drain = 1024 * 1024;

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

}  // namespace

struct https_server::impl {
  https_server_options options;
  request_handler handler;
  asio::io_context io{options.threads};
  ssl::context tls{ssl::context::tls_server};
  tcp::acceptor acceptor{io};
  asio::signal_set signals{io, SIGINT, SIGTERM};
  std::atomic<std::size_t> connections{0};

  impl(https_server_options o, request_handler h) : options(std::move(o)), handler(std::move(h)) {
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

  asio::awaitable<void> session(tcp::socket socket) {
    struct counter {
      std::atomic<std::size_t>& value;
      ~counter() { --value; }
    } guard{connections};
    std::string peer;
    boost::system::error_code ec;
    const auto endpoint = socket.remote_endpoint(ec);
    if (!ec) peer = endpoint.address().to_string();
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), tls);
    beast::get_lowest_layer(stream).expires_after(options.idle_timeout);
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
      auto reply = to_beast(handler(request), message.version(), keep_alive);
      auto [write_error, written] =
          co_await http::async_write(stream, reply, asio::as_tuple(asio::use_awaitable));
      (void)written;
      if (write_error || !keep_alive) break;
    }
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
  }

  asio::awaitable<void> accept_loop() {
    while (acceptor.is_open()) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;
      }
      if (connections.load() >= options.max_connections) continue;  // socket closes here
      ++connections;
      asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
    }
  }
};

https_server::https_server(https_server_options options, request_handler handler)
    : impl_(std::make_unique<impl>(std::move(options), std::move(handler))) {}

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
