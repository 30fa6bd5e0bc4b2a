#include "acemq/ace_client/https_token_client.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>

#include <utility>

#include "acemq/common/base64.hpp"
#include "acemq/token/verify.hpp"

namespace acemq::ace_client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

struct target {
  std::string host;
  std::string port;
  std::string path;
};

// `url` names the AS (or its /token endpoint); `endpoint` is the path to reach on it.
result<target, token_failure> parse_url(std::string_view url, std::string_view endpoint) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed || parsed->scheme() != "https" || parsed->host().empty()) {
    return unexpected(
        token_failure{token_error::invalid_argument, 0, {}, "the AS address must be an https URL"});
  }
  target out;
  out.host = parsed->host_address();
  // An IPv6 literal is written in brackets in a URL but not for the resolver.
  if (out.host.size() > 2 && out.host.front() == '[')
    out.host = out.host.substr(1, out.host.size() - 2);
  out.port = parsed->has_port() ? std::string(parsed->port()) : std::string("443");
  std::string path(parsed->encoded_path());
  while (!path.empty() && path.back() == '/')
    path.pop_back();
  constexpr std::string_view token_path = "/token";
  if (path.size() >= token_path.size() &&
      path.compare(path.size() - token_path.size(), token_path.size(), token_path) == 0) {
    path.resize(path.size() - token_path.size());
  }
  out.path = std::move(path) + std::string(endpoint);
  return out;
}

struct exchange_outcome {
  beast::error_code error;
  unsigned status = 0;
  std::string body;
};

asio::awaitable<void> exchange(asio::ssl::context& tls, const target& where,
                               http::request<http::string_body>& request,
                               std::chrono::milliseconds timeout, std::size_t max_body,
                               exchange_outcome& outcome) {
  auto executor = co_await asio::this_coro::executor;
  beast::ssl_stream<beast::tcp_stream> stream(executor, tls);
  // SNI, and the name the AS certificate must carry. SSL_set_tlsext_host_name is a macro with a
  // C cast; this is the call it stands for.
  if (SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               static_cast<void*>(const_cast<char*>(where.host.c_str()))) != 1) {
    outcome.error = asio::error::invalid_argument;
    co_return;
  }
  stream.set_verify_callback(asio::ssl::host_name_verification(where.host));
  // One deadline for the whole exchange: expires_after is absolute for every later operation.
  beast::get_lowest_layer(stream).expires_after(timeout);
  auto use = asio::redirect_error(asio::use_awaitable, outcome.error);

  tcp::resolver resolver(executor);
  auto endpoints = co_await resolver.async_resolve(where.host, where.port, use);
  if (outcome.error) co_return;
  co_await beast::get_lowest_layer(stream).async_connect(endpoints, use);
  if (outcome.error) co_return;
  co_await stream.async_handshake(asio::ssl::stream_base::client, use);
  if (outcome.error) co_return;
  co_await http::async_write(stream, request, use);
  if (outcome.error) co_return;

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_body);
  parser.header_limit(16 * 1024);
  co_await http::async_read(stream, buffer, parser, use);
  if (outcome.error) co_return;
  outcome.status = parser.get().result_int();
  outcome.body = std::move(parser.get().body());
  // Close politely; the answer is already complete, so a failing shutdown does not matter.
  beast::error_code ignored;
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ignored));
}

// One POST of `encoded` to `path` on the AS; the HTTP status and body, or unreachable.
result<exchange_outcome, token_failure> post(const as_endpoint& endpoint, const target& where,
                                             encoded_token_request encoded) {
  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1);
  tls.set_verify_mode(asio::ssl::verify_peer);
  beast::error_code ec;
  if (endpoint.ca_file.empty()) {
    tls.set_default_verify_paths(ec);
  } else {
    tls.load_verify_file(endpoint.ca_file, ec);
  }
  if (ec) {
    return unexpected(token_failure{
        token_error::invalid_argument, 0, {}, "cannot load the AS trust anchors: " + ec.message()});
  }

  http::request<http::string_body> http_request{http::verb::post, where.path, 11};
  http_request.set(http::field::host, where.host);
  http_request.set(http::field::user_agent, "acemq");
  http_request.set(http::field::content_type, encoded.content_type);
  http_request.set(http::field::accept, "application/ace+json, application/json");
  http_request.set(http::field::authorization, encoded.authorization);
  http_request.body() = std::move(encoded.body);
  http_request.prepare_payload();

  asio::io_context io;
  exchange_outcome outcome;
  asio::co_spawn(io,
                 exchange(tls, where, http_request, endpoint.timeout, endpoint.max_body, outcome),
                 asio::detached);
  io.run();
  if (outcome.status == 0) {
    const std::string reason = outcome.error ? outcome.error.message() : "no response";
    return unexpected(token_failure{token_error::unreachable, 0, {}, reason});
  }
  return outcome;
}

}  // namespace

result<token_response, token_failure> request_token(const as_endpoint& endpoint,
                                                    const token_request& request) {
  auto where = parse_url(endpoint.url, "/token");
  if (!where) return unexpected(std::move(where.error()));
  auto encoded = encode_token_request(request);
  if (!encoded) return unexpected(std::move(encoded.error()));
  auto answer = post(endpoint, *where, std::move(*encoded));
  if (!answer) return unexpected(std::move(answer.error()));
  return parse_token_response(answer->status, answer->body);
}

result<void, token_failure> revoke_token(const as_endpoint& endpoint, std::string_view client_id,
                                         std::string_view client_secret, byte_view token) {
  auto where = parse_url(endpoint.url, "/revoke");
  if (!where) return unexpected(std::move(where.error()));
  // RFC 7009 2.1: the token as the AS issued it (JWT or reference text; a CWT in base64url).
  const std::string text = token::detect_format(token) == token::token_format::cwt
                               ? base64url_encode(token)
                               : std::string(as_string_view(token));
  auto encoded = encode_revocation_request(client_id, client_secret, text);
  if (!encoded) return unexpected(std::move(encoded.error()));
  auto answer = post(endpoint, *where, std::move(*encoded));
  if (!answer) return unexpected(std::move(answer.error()));
  return parse_revocation_response(answer->status, answer->body);
}

}  // namespace acemq::ace_client
