#include "acemq/ace/https_as_client.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>

#include <stdexcept>
#include <thread>
#include <utility>

#include "acemq/common/base64.hpp"
#include "acemq/common/form.hpp"
#include "acemq/token/verify.hpp"

namespace acemq::ace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// One request: resolve, connect, TLS handshake (with host name verification), write, read.
class call : public std::enable_shared_from_this<call> {
 public:
  call(asio::io_context& io, asio::ssl::context& tls, const https_as_settings& settings,
       std::string host, std::string port, http::request<http::string_body> request,
       as_client::completion done)
      : resolver_(io),
        stream_(io, tls),
        settings_(settings),
        host_(std::move(host)),
        port_(std::move(port)),
        request_(std::move(request)),
        done_(std::move(done)) {
    parser_.body_limit(settings.max_body);
  }

  void run() {
    // Server Name Indication and certificate host name check.
    // SSL_set_tlsext_host_name is a macro with a C cast; the call it stands for:
    if (SSL_ctrl(stream_.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 static_cast<void*>(const_cast<char*>(host_.c_str()))) != 1) {
      finish(unexpected(as_error::unreachable));
      return;
    }
    stream_.set_verify_callback(asio::ssl::host_name_verification(host_));
    beast::get_lowest_layer(stream_).expires_after(settings_.timeout);
    resolver_.async_resolve(
        host_, port_,
        [self = shared_from_this()](beast::error_code ec,
                                    const tcp::resolver::results_type& found) {
          if (ec) return self->fail(ec);
          beast::get_lowest_layer(self->stream_)
              .async_connect(found, [self](beast::error_code connect_ec, const tcp::endpoint&) {
                if (connect_ec) return self->fail(connect_ec);
                self->handshake();
              });
        });
  }

 private:
  void handshake() {
    stream_.async_handshake(asio::ssl::stream_base::client,
                            [self = shared_from_this()](beast::error_code ec) {
                              if (ec) return self->fail(ec);
                              self->write();
                            });
  }

  void write() {
    http::async_write(stream_, request_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->fail(ec);
                        self->read();
                      });
  }

  void read() {
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec == http::error::body_limit) {
                         return self->finish(unexpected(as_error::too_large));
                       }
                       if (ec) return self->fail(ec);
                       auto& response = self->parser_.get();
                       if (response.result() != http::status::ok) {
                         return self->finish(unexpected(as_error::http_status));
                       }
                       self->finish(std::move(response.body()));
                     });
  }

  void fail(beast::error_code ec) {
    finish(unexpected(ec == beast::error::timeout ? as_error::timeout : as_error::unreachable));
  }

  void finish(result<std::string, as_error> outcome) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().close(ignored);
    done(std::move(outcome));
  }

  tcp::resolver resolver_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  const https_as_settings& settings_;
  std::string host_;
  std::string port_;
  http::request<http::string_body> request_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
  as_client::completion done_;
};

}  // namespace

struct https_as_client::impl {
  https_as_settings settings;
  std::string host;
  std::string port;
  asio::io_context io;
  asio::ssl::context tls{asio::ssl::context::tls_client};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread;

  explicit impl(https_as_settings s) : settings(std::move(s)) {
    auto url = boost::urls::parse_absolute_uri(settings.base_url);
    if (!url || url->scheme() != "https" || url->host().empty()) {
      throw std::invalid_argument("ace: the AS URL must be https://host[:port]");
    }
    host = url->host();
    port = url->has_port() ? std::string(url->port()) : std::string("443");
    tls.set_verify_mode(asio::ssl::verify_peer);
    // RFC 9431 2.2.3 / 2: the AS channel is authenticated and protected; TLS 1.2 at least.
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
    boost::system::error_code ec;
    if (settings.ca_file.empty()) {
      tls.set_default_verify_paths(ec);
    } else {
      tls.load_verify_file(settings.ca_file, ec);
    }
    if (ec) throw std::runtime_error("ace: cannot load the AS trust anchors: " + ec.message());
    thread = std::thread([this] { io.run(); });
  }

  ~impl() {
    work.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }

  http::request<http::string_body> request(http::verb verb, std::string target) const {
    http::request<http::string_body> r{verb, target, 11};
    r.set(http::field::host, host);
    r.set(http::field::user_agent, "acemq-broker");
    r.set(http::field::accept, "application/json");
    if (!settings.client_id.empty()) {
      // RFC 7662 2.1 / RFC 6749 2.3.1: the broker authenticates as an OAuth client, its id and
      // secret form-encoded before base64 (the AS form-decodes them).
      r.set(http::field::authorization,
            basic_authorization(settings.client_id, settings.client_secret));
    }
    return r;
  }

  void start(http::request<http::string_body> r, completion done) {
    r.prepare_payload();
    auto one = std::make_shared<call>(io, tls, settings, host, port, std::move(r), std::move(done));
    asio::post(io, [one] { one->run(); });
  }
};

https_as_client::https_as_client(https_as_settings settings)
    : impl_(std::make_unique<impl>(std::move(settings))) {}

https_as_client::~https_as_client() = default;

void https_as_client::fetch_jwks(completion done) {
  impl_->start(impl_->request(http::verb::get, impl_->settings.jwks_path), std::move(done));
}

void https_as_client::introspect(byte_view token, completion done) {
  auto r = impl_->request(http::verb::post, impl_->settings.introspection_path);
  r.set(http::field::content_type, "application/x-www-form-urlencoded");
  // A JWT or reference token is text; a CWT travels as base64url (as the AS expects).
  const bool binary = token::detect_format(token) == token::token_format::cwt;
  r.body() =
      "token=" + form_encode(binary ? base64url_encode(token) : std::string(as_string_view(token)));
  impl_->start(std::move(r), std::move(done));
}

void https_as_client::fetch_revocations(std::int64_t cursor, completion done) {
  impl_->start(impl_->request(http::verb::get, impl_->settings.revocation_list_path +
                                                   "?cursor=" + std::to_string(cursor)),
               std::move(done));
}

}  // namespace acemq::ace
