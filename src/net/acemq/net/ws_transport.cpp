// MQTT over WebSocket (MQTT 5.0 section 6), plain and over TLS: the Beast connection driver and
// the choice of subprotocol.

#include <spdlog/spdlog.h>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <string_view>
#include <type_traits>

#include "acemq/common/text.hpp"
#include "acemq/net/connection_base.hpp"

namespace acemq::net::detail {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;

/// MQTT 5.0 section 6: the WebSocket subprotocol; MQTT 3.1 clients still offer "mqttv3.1".
constexpr std::string_view mqtt_subprotocol = "mqtt";
constexpr std::string_view legacy_mqtt_subprotocol = "mqttv3.1";

/// The subprotocol to answer for a Sec-WebSocket-Protocol list: "mqtt" when offered, else
/// "mqttv3.1", else empty (refused).
std::string_view choose_subprotocol(std::string_view offered) {
  bool legacy = false;
  while (!offered.empty()) {
    const auto comma = offered.find(',');
    const std::string_view item = trim_blanks(offered.substr(0, comma));
    offered = comma == std::string_view::npos ? std::string_view{} : offered.substr(comma + 1);
    if (item == mqtt_subprotocol) return mqtt_subprotocol;
    if (item == legacy_mqtt_subprotocol) legacy = true;
  }
  return legacy ? legacy_mqtt_subprotocol : std::string_view{};
}

/// MQTT over WebSocket (MQTT 5.0 section 6) on plain TCP (`Next` = tcp_socket) or TLS
/// (`Next` = tls_stream): the TLS handshake (wss), the HTTP upgrade on the configured path with
/// the mqtt subprotocol, then binary messages carrying MQTT bytes in any split.
template <typename Next>
class websocket_connection final : public connection_base {
  static constexpr bool secure = std::is_same_v<Next, tls_stream>;

 public:
  template <typename... NextArguments>
  websocket_connection(worker& home, const listener_config& listener,
                       std::shared_ptr<ssl::context> context, const tcp::endpoint& remote,
                       NextArguments&&... next)
      : connection_base(home, listener, remote),
        context_(std::move(context)),
        ws_(std::forward<NextArguments>(next)...),
        http_buffer_(home.owner.config.max_http_header) {}

  void start() override {
    if (owner().stopping) {
      finish();
      return;
    }
    home_.connections.insert(this);
    // One deadline for the TLS handshake and the WebSocket upgrade together.
    home_.deadlines.schedule(*this, std::chrono::steady_clock::now() + listener_.handshake_timeout);
    if constexpr (secure) {
      ws_.next_layer().async_handshake(
          ssl::stream_base::server,
          [self = shared_from_this()](const boost::system::error_code& ec) {
            static_cast<websocket_connection&>(*self).on_tls_handshake(ec);
          });
    } else {
      read_upgrade();
    }
  }

  const broker::tls_facts* tls() const override { return facts_.get(); }

  void handshake_timed_out() override {
    spdlog::info("{}: WebSocket handshake timed out", remote_address().view());
    finish();
  }

 private:
  std::vector<std::uint8_t>& own_read_buffer() {
    if (read_buffer_.empty()) read_buffer_.resize(owner().config.read_chunk);
    return read_buffer_;
  }

  void on_read(const boost::system::error_code& ec, std::size_t size) {
    on_read_bytes(ec, byte_view(read_buffer_.data(), ec ? 0 : size));
  }

  /// `ec`, or a reset when the failure-injection seam (tests) fails this `step`.
  boost::system::error_code outcome_of(io_step step, const boost::system::error_code& ec) const {
    if (!ec && injected_failure(step)) return asio::error::connection_reset;
    return ec;
  }

  void on_tls_handshake(const boost::system::error_code& completed) {
    if (finished_) return;
    const auto ec = outcome_of(io_step::handshake, completed);
    if (ec) {
      ++owner().counters.tls_handshake_failures;
      spdlog::info("{}: TLS handshake failed: {}", remote_address().view(), ec.message());
      finish();
      return;
    }
    if constexpr (secure) {
      if (auto reason = refusal_reason(ws_.next_layer().native_handle())) {
        ++owner().counters.tls_refused_no_ems;
        spdlog::warn("{}: TLS session refused: {}", remote_address().view(), *reason);
        finish();
        return;
      }
      facts_ = std::make_unique<openssl_tls_facts>(ws_.next_layer().native_handle());
    }
    read_upgrade();
  }

  void read_upgrade() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(owner().config.max_http_header));
    parser_->body_limit(0);  // an upgrade request has no body
    http::async_read(ws_.next_layer(), http_buffer_, *parser_,
                     [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                       static_cast<websocket_connection&>(*self).on_upgrade_request(ec);
                     });
  }

  void on_upgrade_request(const boost::system::error_code& completed) {
    if (finished_) return;
    const auto ec = outcome_of(io_step::handshake, completed);
    if (ec) {
      spdlog::debug("{}: WebSocket upgrade request: {}", remote_address().view(), ec.message());
      finish();
      return;
    }
    const auto& request = parser_->get();
    std::string_view target(request.target().data(), request.target().size());
    target = target.substr(0, target.find('?'));
    if (!websocket::is_upgrade(request)) {
      refuse(http::status::upgrade_required, "WebSocket upgrade required\n");
      return;
    }
    if (target != listener_.path) {
      refuse(http::status::not_found, "no MQTT WebSocket endpoint at this path\n");
      return;
    }
    const auto offered = request[http::field::sec_websocket_protocol];
    // [MQTT-6.0.0-3] the client offers "mqtt"; [MQTT-6.0.0-4] the server selects it.
    const std::string_view protocol =
        choose_subprotocol(std::string_view(offered.data(), offered.size()));
    if (protocol.empty()) {
      refuse(http::status::bad_request, "Sec-WebSocket-Protocol must offer mqtt\n");
      return;
    }
    ws_.set_option(websocket::stream_base::decorator(
        [chosen = std::string(protocol)](websocket::response_type& response) {
          response.set(http::field::sec_websocket_protocol, chosen);
          response.set(http::field::server, "acemq");
        }));
    ws_.set_option(websocket::stream_base::timeout{
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            listener_.handshake_timeout),
        websocket::stream_base::none(), false});
    // No message larger than the largest MQTT packet is ever buffered whole.
    ws_.read_message_max(owner().config.max_websocket_message);
    ws_.binary(true);
    ws_.async_accept(request,
                     [self = shared_from_this()](const boost::system::error_code& accept_error) {
                       static_cast<websocket_connection&>(*self).on_accepted(accept_error);
                     });
  }

  void refuse(http::status status, std::string body) {
    ++owner().counters.websocket_refused;
    spdlog::info("{}: WebSocket upgrade refused: {}", remote_address().view(),
                 static_cast<unsigned>(status));
    auto response = std::make_shared<http::response<http::string_body>>(status, 11);
    response->set(http::field::server, "acemq");
    response->set(http::field::content_type, "text/plain");
    response->set(http::field::connection, "close");
    response->body() = std::move(body);
    response->prepare_payload();
    http::async_write(
        ws_.next_layer(), *response,
        [self = shared_from_this(), response](const boost::system::error_code&, std::size_t) {
          static_cast<websocket_connection&>(*self).close_transport();
        });
  }

  void on_accepted(const boost::system::error_code& completed) {
    if (finished_) return;
    const auto ec = outcome_of(io_step::handshake, completed);
    clear_deadline();
    if (ec) {
      spdlog::info("{}: WebSocket handshake failed: {}", remote_address().view(), ec.message());
      finish();
      return;
    }
    parser_.reset();
    home_.connections.erase(this);  // attach() registers it again together with the machine
    if (!attach()) return;
    read_more();
  }

  void read_more() override {
    ws_.async_read_some(
        asio::buffer(own_read_buffer()),
        [self = shared_from_this()](const boost::system::error_code& completed, std::size_t size) {
          auto& me = static_cast<websocket_connection&>(*self);
          const auto ec = me.outcome_of(io_step::read, completed);
          // [MQTT-6.0.0-1] MQTT travels in binary frames; any other data frame closes.
          if (!ec && size > 0 && !me.ws_.got_binary()) {
            spdlog::info("{}: WebSocket text frame; closing [MQTT-6.0.0-1]",
                         me.remote_address().view());
            me.finish();
            return;
          }
          me.on_read(ec == websocket::error::closed ? asio::error::eof : ec, size);
        });
  }

  void write_queued() override {
    if (!durable_before_write()) return;
    // Plain variables, not a structured binding: clang 14 cannot capture those in the lambda.
    const auto gathered = gather_queued(gather_);
    const std::size_t items = gathered.first;
    const std::size_t bytes = gathered.second;
    writing_ = true;
    // One binary message per batch; MQTT packets may span messages ([MQTT-6.0.0-2]).
    ws_.async_write(gather_, [self = shared_from_this(), items, bytes](
                                 const boost::system::error_code& ec, std::size_t) {
      auto& me = static_cast<websocket_connection&>(*self);
      me.on_written(me.outcome_of(io_step::write, ec), items, bytes);
    });
  }

  void close_transport() override {
    // As for TLS: the final MQTT packet is flushed; no close handshake a silent peer could stall.
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws_).shutdown(tcp::socket::shutdown_send, ignored);
    finish();
  }

  void close_socket() override {
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);
  }

  std::shared_ptr<ssl::context> context_;  // null for ws
  websocket::stream<Next> ws_;
  /// Frames are read into this buffer (allocated at the first read); plain TCP and TLS
  /// connections read into the worker's.
  std::vector<std::uint8_t> read_buffer_;
  beast::flat_buffer http_buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::unique_ptr<openssl_tls_facts> facts_;
  std::vector<asio::const_buffer> gather_;
};

}  // namespace

std::size_t websocket_connection_size(bool secure) noexcept {
  return secure ? sizeof(websocket_connection<tls_stream>)
                : sizeof(websocket_connection<tcp_socket>);
}

std::shared_ptr<connection_base> make_websocket_connection(worker& home,
                                                           const listener_config& listener,
                                                           std::shared_ptr<ssl::context> context,
                                                           tcp_socket socket,
                                                           const tcp::endpoint& remote) {
  if (!context) {
    return std::make_shared<websocket_connection<tcp_socket>>(home, listener, nullptr, remote,
                                                              std::move(socket));
  }
  auto& next = *context;
  return std::make_shared<websocket_connection<tls_stream>>(home, listener, std::move(context),
                                                            remote, std::move(socket), next);
}

}  // namespace acemq::net::detail
