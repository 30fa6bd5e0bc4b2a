#pragma once
// Parsing of /token, /introspect and /revoke request bodies in the three content formats the AS
// accepts: application/x-www-form-urlencoded (RFC 6749), application/ace+json and
// application/ace+cbor (RFC 9200 5.8.1 with the CBOR abbreviations of Tables 5 and 6). Bodies are
// untrusted: every failure is a value carrying the OAuth error to answer with.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/cbor/value.hpp"
#include "acemq/token/scope/aif.hpp"

namespace acemq::as {

/// The body encodings of the AS endpoints.
enum class content_format : std::uint8_t {
  form = 0x01,  // application/x-www-form-urlencoded
  json = 0x02,  // application/ace+json or application/json
  cbor = 0x03,  // application/ace+cbor
};

/// The media type for a Content-Type header value (parameters such as charset are ignored);
/// nullopt for anything else.
std::optional<content_format> content_format_from_media_type(std::string_view content_type);
std::string_view media_type(content_format format) noexcept;

/// OAuth 2.0 error codes (RFC 6749 5.2, RFC 9200 5.8.3) with their CBOR abbreviations (Table 3).
enum class oauth_error : std::uint8_t {
  invalid_request = 0x01,
  invalid_client = 0x02,
  invalid_grant = 0x03,
  unauthorized_client = 0x04,
  unsupported_grant_type = 0x05,
  invalid_scope = 0x06,
  unsupported_pop_key = 0x07,
  incompatible_ace_profiles = 0x08,
};

std::string_view to_string(oauth_error error) noexcept;

/// A refusal: the error code and a human-readable description (never containing secrets).
struct request_error {
  oauth_error code = oauth_error::invalid_request;
  std::string description;
  /// > 0: refused by a guessing limit before any secret check; the seconds for Retry-After.
  std::int64_t retry_after = 0;
};

/// The grant types of RFC 6749 with their CBOR abbreviations (RFC 9200 Table 4).
enum class grant_type : std::uint8_t {
  password = 0x00,
  authorization_code = 0x01,
  client_credentials = 0x02,
  refresh_token = 0x03,
};

/// The client's requested PoP key (RFC 9201 3.1): a JWK, a COSE_Key, or a key id.
struct requested_cnf {
  std::string jwk_json;                        // set for {"jwk": {...}} (JSON text of the JWK)
  std::optional<token::cbor::value> cose_key;  // set for {1: COSE_Key}
  std::optional<byte_vector> kid;              // set for {"kid": ...} / {3: kid}
};

/// Bounds on untrusted request bodies.
struct request_limits {
  std::size_t max_body = 16 * 1024;
  std::size_t max_parameters = 32;
  std::size_t max_string = 4096;
};

/// POST /token (RFC 6749 4.4.2 and 6, RFC 9200 5.8.1).
struct token_request {
  std::optional<grant_type> grant;
  std::string grant_type_text;  // as sent, for error messages
  std::optional<std::string> client_id;
  std::optional<std::string> client_secret;
  std::optional<std::string> audience;
  /// The requested AIF-MQTT entries; nullopt when the request carried no scope.
  std::optional<std::vector<token::scope::grant>> scope;
  std::optional<requested_cnf> req_cnf;
  std::optional<byte_vector> cnonce;
  std::optional<std::string> refresh_token;
  bool ace_profile_requested = false;  // RFC 9200 5.8.4.3: empty string / null asks for it
};

/// POST /introspect (RFC 7662 2.1, RFC 9200 5.9.1) and POST /revoke (RFC 7009 2.1).
struct token_reference_request {
  std::string token;  // the token as text (JWT, reference handle, or base64url of a CWT)
  std::optional<byte_vector> token_bytes;  // the raw bytes when sent as a CBOR byte string
  std::optional<std::string> token_type_hint;
  std::optional<std::string> client_id;  // client_secret_post on /revoke
  std::optional<std::string> client_secret;
};

result<token_request, request_error> parse_token_request(content_format format,
                                                         std::string_view body,
                                                         const request_limits& limits = {});

result<token_reference_request, request_error> parse_token_reference_request(
    content_format format, std::string_view body, const request_limits& limits = {});

/// Splits an `Authorization: Basic` header into client id and secret, undoing the
/// form-urlencoding RFC 6749 2.3.1 requires. nullopt when the header is not well-formed Basic.
struct basic_credentials {
  std::string client_id;
  std::string client_secret;
};
std::optional<basic_credentials> parse_basic_authorization(std::string_view header_value);

/// Decodes an application/x-www-form-urlencoded body into (name, value) pairs ('+' is a space).
/// nullopt when malformed (bad percent-encoding, invalid UTF-8, too many pairs).
std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(
    std::string_view body, std::size_t max_parameters);

}  // namespace acemq::as
