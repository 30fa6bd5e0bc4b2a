#pragma once
// Sans-I/O HTTP messages: the request handling core sees these values only, never a socket, so it
// is tested in process and driven by a thin Boost.Beast server (https_server.hpp).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace acemq::as {

/// One HTTP request as the transport delivered it. Header names are lower case.
struct http_request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // origin-form: path and optional query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string peer_address;  // remote IP address, for per-address rate limits and the audit log
  /// base64url SHA-256 of the DER client certificate when the TLS handshake verified one
  /// (RFC 8705 tls_client_auth); empty otherwise.
  std::string client_certificate_thumbprint;

  /// The first header with this (lower-case) name, or an empty view.
  std::string_view header(std::string_view name) const noexcept {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return {};
  }
  bool has_header(std::string_view name) const noexcept {
    for (const auto& entry : headers) {
      if (entry.first == name) return true;
    }
    return false;
  }
};

/// One HTTP response; the transport adds Content-Length, Date and connection headers.
struct http_response {
  unsigned status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  std::string_view header(std::string_view name) const noexcept {
    for (const auto& [key, value] : headers) {
      if (key == name) return value;
    }
    return {};
  }
};

}  // namespace acemq::as
