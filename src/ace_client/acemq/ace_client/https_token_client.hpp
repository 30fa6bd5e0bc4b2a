#pragma once
// A blocking HTTPS client for the AS /token endpoint. One call is one TLS connection on a private
// io_context with a deadline, so it can be used from a command-line tool or from a worker thread;
// do not call it on the thread that drives MQTT connections.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "acemq/common/bytes.hpp"

#include "acemq/ace_client/token_request.hpp"
#include "acemq/common/result.hpp"

namespace acemq::ace_client {

/// Where the AS is and how to trust it.
struct as_endpoint {
  /// `https://host[:port][/base]` (a trailing "/token" is accepted); the endpoint path ("/token",
  /// "/revoke") is appended to the base.
  std::string url;
  /// PEM trust anchors for the AS's certificate (e.g. its dev certificate); empty uses the system
  /// defaults. The chain and the host name are always verified.
  std::string ca_file;
  /// Deadline for the whole exchange (resolve, connect, handshake, request, response).
  std::chrono::milliseconds timeout{10'000};
  /// Largest response body accepted.
  std::size_t max_body = 64 * 1024;
};

/// POSTs the request to the AS and decodes the answer (see parse_token_response).
/// Errors: invalid_argument for a URL that is not https, unreachable for network/TLS failures and
/// timeouts, the decoder's errors otherwise.
result<token_response, token_failure> request_token(const as_endpoint& endpoint,
                                                    const token_request& request);

/// Revokes the client's own access token at the AS `/revoke` endpoint (RFC 7009), which puts it
/// on the revocation list brokers poll (RFC 9431 3.2). Errors as for request_token.
result<void, token_failure> revoke_token(const as_endpoint& endpoint, std::string_view client_id,
                                         std::string_view client_secret, byte_view token);

}  // namespace acemq::ace_client
