#pragma once
// The client's side of the AS /token endpoint (RFC 6749 4.4 client credentials, RFC 9200 5.8,
// RFC 9201 3.1 req_cnf, RFC 9431 2.1): encoding a request and decoding the response. Pure: no
// sockets here (https_token_client.hpp does the HTTPS).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/crypto/key.hpp"

namespace acemq::ace_client {

/// How the request body is encoded (RFC 9200 5.8.1 allows both for HTTP).
enum class request_format : std::uint8_t {
  form = 0x01,      // application/x-www-form-urlencoded (RFC 6749 4.4.2)
  ace_json = 0x02,  // application/ace+json (RFC 9200 5.8)
};

/// A client credentials token request.
struct token_request {
  std::string client_id;
  /// Sent with client_secret_basic (RFC 6749 2.3.1); never logged.
  std::string client_secret;
  /// The broker, as registered at the AS (RFC 9200 5.8.1 `audience`).
  std::string audience;
  /// AIF-MQTT JSON text (RFC 9431 2.3), e.g. `[["demo/#",["pub","sub"]]]`; empty = everything
  /// the client's grants allow.
  std::string scope;
  /// The client's own public key for `req_cnf` (RFC 9201 3.1); absent = the AS generates a
  /// symmetric PoP key and returns it in `cnf`. Only the public half is ever sent.
  std::optional<token::crypto::key> own_key;
  /// Client nonce from a broker's AS hint (RFC 9200 5.8.4.4), base64url; copied into the token.
  std::string cnonce;
  request_format format = request_format::form;
};

/// An encoded request: what goes into the HTTP headers and body.
struct encoded_token_request {
  std::string content_type;
  std::string body;
  /// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 2.3.1). Contains the secret.
  std::string authorization;
};

/// Why a token could not be obtained.
enum class token_error : std::uint8_t {
  unreachable = 0x01,       // DNS, TCP, TLS or timeout
  http_error = 0x02,        // a status without an OAuth error body
  oauth_error = 0x03,       // RFC 6749 5.2 error response (see `oauth_error`)
  bad_response = 0x04,      // 200 with a body that is not a valid token response
  wrong_profile = 0x05,     // ace_profile present and not mqtt_tls (RFC 9431 2.1)
  bad_key = 0x06,           // own key or returned cnf key unusable as a PoP key
  invalid_argument = 0x07,  // a malformed URL or request parameter
};

std::string_view to_string(token_error error) noexcept;

/// A failure with its detail: the HTTP status and the AS's `error` / `error_description`.
struct token_failure {
  token_error error = token_error::bad_response;
  unsigned http_status = 0;
  std::string oauth_error;
  std::string description;
};

/// One line for the user, e.g. "oauth_error (400 invalid_scope: nothing requested is granted)".
std::string describe(const token_failure& failure);

/// A successful response (RFC 9200 5.8.2).
struct token_response {
  std::string access_token;
  /// Lifetime in seconds; 0 when the AS did not say.
  std::int64_t expires_in = 0;
  /// The scope granted (AIF-MQTT JSON text), or empty when the AS granted what was asked.
  std::string scope;
  std::string ace_profile;
  /// `cnf` when the AS generated the PoP key: the symmetric key, with its kid.
  std::optional<token::crypto::key> cnf_key;
  /// `rs_cnf` (RFC 9201 5): the broker's public key, to check the TLS server against.
  std::optional<token::crypto::key> rs_cnf_key;
  std::string refresh_token;
};

/// Encodes a request; fails (invalid_argument) for an empty client id or audience, an own key
/// that is not Ed25519 / P-256, or a scope that is not a JSON array.
result<encoded_token_request, token_failure> encode_token_request(const token_request& request);

/// Decodes an HTTP response from /token. `body` is bounded by the caller. A JSON body with
/// `error` is an oauth_error whatever the status; a 200 needs `access_token` and, when present,
/// `ace_profile` = `mqtt_tls` (RFC 9431 2.1) and a usable `cnf` / `rs_cnf`.
result<token_response, token_failure> parse_token_response(unsigned http_status,
                                                           std::string_view body);

/// A revocation request (RFC 7009 2.1): the client revokes one of its own tokens at the AS
/// `/revoke` endpoint, authenticated as for /token. Fails (invalid_argument) for an empty client
/// id or token.
result<encoded_token_request, token_failure> encode_revocation_request(
    std::string_view client_id, std::string_view client_secret, std::string_view token);

/// Decodes the AS answer to a revocation: 200 is success (also for an unknown token, RFC 7009
/// 2.2); otherwise the OAuth error or the status, as parse_token_response reports them.
result<void, token_failure> parse_revocation_response(unsigned http_status, std::string_view body);

/// The bytes of an access token as they go into Authentication Data: a JWT or a reference token
/// is its ASCII text; a CWT arrives base64url-encoded in a JSON response and is decoded (RFC 9200
/// 5.8.2 says the token is a byte string in CBOR, text in JSON).
byte_vector token_bytes_from_text(std::string_view access_token);

}  // namespace acemq::ace_client
