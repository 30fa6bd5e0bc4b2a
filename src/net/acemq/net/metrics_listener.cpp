// The http listener: GET /metrics over Beast, guarded by an optional bearer token.

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <string_view>

#include "acemq/net/transport_core.hpp"

namespace acemq::net::detail {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;

/// case-insensitive, RFC 9110 11.1). The tokens are compared as SHA-256 digests with
/// CRYPTO_memcmp, so the time taken tells nothing about the expected token, not even its length.
bool bearer_matches(std::string_view authorization, std::string_view expected) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size()) return false;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    const char c = authorization[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != scheme[i]) return false;
  }
  const std::string_view presented = authorization.substr(scheme.size());
  std::array<unsigned char, EVP_MAX_MD_SIZE> presented_digest{};
  std::array<unsigned char, EVP_MAX_MD_SIZE> expected_digest{};
  unsigned int size = 0;
  if (EVP_Digest(presented.data(), presented.size(), presented_digest.data(), &size, EVP_sha256(),
                 nullptr) != 1 ||
      EVP_Digest(expected.data(), expected.size(), expected_digest.data(), &size, EVP_sha256(),
                 nullptr) != 1) {
    return false;
  }
  return CRYPTO_memcmp(presented_digest.data(), expected_digest.data(), size) == 0;
}

/// An http listener: GET /metrics (Prometheus text format 0.0.4), keep-alive, one request at a
/// time, each bounded by the header limit and the listener's handshake_timeout.
class http_connection final : public std::enable_shared_from_this<http_connection> {
 public:
  http_connection(detail::server_state& owner, worker& home, const listener_config& listener,
                  tcp_socket socket)
      : owner_(owner),
        listener_(listener),
        socket_(std::move(socket)),
        timer_(home.io),
        buffer_(owner.config.max_http_header) {}
  ~http_connection() { --owner_.http_active; }
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  void start() { read_request(); }

 private:
  void read_request() {
    if (owner_.stopping) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(owner_.config.max_http_header));
    parser_->body_limit(0);
    timer_.expires_after(listener_.handshake_timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->close();
    });
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                       self->on_request(ec);
                     });
  }

  void on_request(const boost::system::error_code& ec) {
    timer_.cancel();
    if (ec) return close();
    ++owner_.counters.http_requests;
    const auto& request = parser_->get();
    std::string_view target(request.target().data(), request.target().size());
    target = target.substr(0, target.find('?'));
    auto response =
        std::make_shared<http::response<http::string_body>>(http::status::ok, request.version());
    response->set(http::field::server, "acemq");
    const std::string& bearer = owner_.config.metrics_bearer_token;
    const auto authorization = request.find(http::field::authorization);
    if (!bearer.empty() && (authorization == request.end() ||
                            !bearer_matches(std::string_view(authorization->value().data(),
                                                             authorization->value().size()),
                                            bearer))) {
      // RFC 6750 3: no credentials -> the challenge alone; wrong ones -> invalid_token (3.1).
      response->result(http::status::unauthorized);
      response->set(http::field::www_authenticate,
                    authorization == request.end()
                        ? R"(Bearer realm="acemq-metrics")"
                        : R"(Bearer realm="acemq-metrics", error="invalid_token")");
      response->set(http::field::content_type, "text/plain");
      response->body() = "unauthorized\n";
    } else if (target != "/metrics" || !owner_.metrics) {
      response->result(http::status::not_found);
      response->set(http::field::content_type, "text/plain");
      response->body() = "not found\n";
    } else if (request.method() != http::verb::get && request.method() != http::verb::head) {
      response->result(http::status::method_not_allowed);
      response->set(http::field::allow, "GET, HEAD");
      response->set(http::field::content_type, "text/plain");
      response->body() = "method not allowed\n";
    } else {
      response->set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      if (request.method() == http::verb::get) response->body() = owner_.metrics();
    }
    response->keep_alive(request.keep_alive());
    response->prepare_payload();
    if (request.method() == http::verb::head) response->body().clear();
    http::async_write(
        socket_, *response,
        [self = shared_from_this(), response](const boost::system::error_code& write, std::size_t) {
          if (write || !response->keep_alive()) return self->close();
          self->read_request();
        });
  }

  void close() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

  detail::server_state& owner_;
  const listener_config& listener_;
  tcp_socket socket_;
  steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
};

}  // namespace

void start_metrics_connection(server_state& owner, worker& home, const listener_config& listener,
                              tcp_socket socket) {
  auto connection = std::make_shared<http_connection>(owner, home, listener, std::move(socket));
  asio::post(home.io, [connection] { connection->start(); });
}

}  // namespace acemq::net::detail
