// The responses and request-target helpers every endpoint of authorization_service uses.
#include "acemq/as/endpoint_common.hpp"

#include <charconv>

#include "acemq/common/base64.hpp"
#include "acemq/token/crypto/aead.hpp"

namespace acemq::as::detail {

std::string keyed_digest(byte_view key, std::initializer_list<std::string_view> parts) {
  std::string material;
  bool first = true;
  for (const std::string_view part : parts) {
    if (!first) material += '\0';
    first = false;
    material += part;
  }
  return base64url_encode(token::crypto::hmac_sha256(key, as_bytes(material)));
}

void no_store(http_response& response) {
  // RFC 6749 5.1: responses carrying tokens or credentials are never cached.
  response.headers.emplace_back("cache-control", "no-store");
  response.headers.emplace_back("pragma", "no-cache");
}

http_response json_response(unsigned status, const json::value& body) {
  http_response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = json::serialize(body);
  return response;
}

http_response cbor_response(unsigned status, const cbor::value& body) {
  http_response response;
  response.status = status;
  response.content_type = "application/ace+cbor";
  const auto bytes = cbor::encode(body);
  response.body.assign(bytes.begin(), bytes.end());
  return response;
}

http_response error_response(content_format format, oauth_error code, std::string_view description,
                             unsigned status) {
  if (status == 0) status = code == oauth_error::invalid_client ? 401 : 400;
  http_response response;
  if (format == content_format::cbor) {
    auto body = cbor::value::map();
    body.insert(key::error, cbor::value::unsigned_integer(static_cast<std::uint8_t>(code)));
    if (!description.empty()) body.insert(key::error_description, cbor::value::text(description));
    response = cbor_response(status, body);
  } else {
    json::object body;
    body["error"] = to_string(code);
    if (!description.empty()) body["error_description"] = description;
    response = json_response(status, body);
  }
  if (code == oauth_error::invalid_client) {
    // RFC 6749 5.2: a 401 carries the authentication scheme the client should use.
    response.headers.emplace_back("www-authenticate", "Basic realm=\"acemq-as\"");
  }
  no_store(response);
  return response;
}

http_response server_error(content_format format) {
  http_response response;
  if (format == content_format::cbor) {
    auto body = cbor::value::map();
    body.insert(key::error_description, cbor::value::text("server_error"));
    response = cbor_response(500, body);
  } else {
    json::object body;
    body["error"] = "server_error";
    response = json_response(500, body);
  }
  no_store(response);
  return response;
}

http_response method_not_allowed(std::string_view allowed) {
  json::object body;
  body["error"] = "invalid_request";
  body["error_description"] = "method not allowed";
  auto response = json_response(405, body);
  response.headers.emplace_back("allow", std::string(allowed));
  return response;
}

http_response too_many_requests(content_format format, std::int64_t retry_after) {
  auto response = error_response(format, oauth_error::invalid_request, "rate limit exceeded", 429);
  response.headers.emplace_back("retry-after", std::to_string(retry_after));
  return response;
}

/// A refused authentication: 429 + Retry-After when a guessing limit refused it before any
/// secret check (the answer of the /token request limits too: RFC 8628's slow_down belongs to the
/// device flow and has no CBOR abbreviation in RFC 9200 8.4), else the error as it is.
http_response authentication_refused(content_format format, const request_error& error) {
  if (error.retry_after > 0) return too_many_requests(format, error.retry_after);
  return error_response(format, error.code, error.description);
}

http_response unsupported_media_type(content_format format, std::string_view accepted) {
  return error_response(format, oauth_error::invalid_request,
                        "unsupported content type; send " + std::string(accepted), 415);
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return {target, {}};
  return {target.substr(0, question), target.substr(question + 1)};
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace acemq::as::detail
