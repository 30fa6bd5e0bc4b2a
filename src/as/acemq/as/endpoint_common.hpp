#pragma once
// Internal to acemq_as (not installed): what the endpoint files of authorization_service share —
// the CBOR keys of responses, the OAuth/ACE success and error responses, and request-target
// parsing. Each endpoint lives in its own file (token_endpoint.cpp, introspection_endpoint.cpp,
// revocation_endpoints.cpp, metadata_endpoints.cpp, owner_endpoint.cpp); service.cpp keeps the
// constructor and the dispatch.

#include <boost/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "acemq/as/service.hpp"
#include "acemq/token/cbor/codec.hpp"

namespace acemq::as {

struct authorization_service::authenticated_client {
  client_record client;
  std::string method;  // client_secret_basic, client_secret_post, tls_client_auth
};

namespace detail {

namespace json = boost::json;
namespace cbor = token::cbor;

/// HMAC-SHA-256 under `key` (base64url) of `parts` joined by NUL bytes: what the secret caches
/// hold instead of a secret (the key lives only in this process).
std::string keyed_digest(byte_view key, std::initializer_list<std::string_view> parts);

inline constexpr std::string_view profile_name = "mqtt_tls";
inline constexpr std::int64_t token_type_pop_cbor = 2;  // RFC 9200 8.7: "PoP" -> 2

// RFC 9200 Table 5 / Table 6 and RFC 9201 CBOR keys used in responses.
namespace key {
inline constexpr std::int64_t iss = 1;
inline constexpr std::int64_t sub = 2;
inline constexpr std::int64_t aud = 3;
inline constexpr std::int64_t exp = 4;
inline constexpr std::int64_t iat = 6;
inline constexpr std::int64_t cti = 7;
inline constexpr std::int64_t access_token = 1;
inline constexpr std::int64_t expires_in = 2;
inline constexpr std::int64_t cnf = 8;
inline constexpr std::int64_t scope = 9;
inline constexpr std::int64_t active = 10;
inline constexpr std::int64_t client_id = 24;
inline constexpr std::int64_t error = 30;
inline constexpr std::int64_t error_description = 31;
inline constexpr std::int64_t token_type = 34;
inline constexpr std::int64_t refresh_token = 37;
inline constexpr std::int64_t ace_profile = 38;
inline constexpr std::int64_t cnonce = 39;
inline constexpr std::int64_t exi = 40;
inline constexpr std::int64_t rs_cnf = 41;
}  // namespace key

void no_store(http_response& response);
http_response json_response(unsigned status, const json::value& body);
http_response cbor_response(unsigned status, const cbor::value& body);
/// RFC 6749 5.2 (JSON) or RFC 9200 5.8.3 (CBOR, abbreviated codes) error response.
http_response error_response(content_format format, oauth_error code, std::string_view description,
                             unsigned status = 0);
http_response server_error(content_format format);
http_response method_not_allowed(std::string_view allowed);
http_response too_many_requests(content_format format, std::int64_t retry_after);
/// A refused authentication: 429 + Retry-After when a guessing limit refused it before any
/// secret check, else the error as it is.
http_response authentication_refused(content_format format, const request_error& error);

/// RFC 9110 15.5.16: a body in a content type the endpoint does not take.
inline constexpr std::string_view accepted_token_media_types =
    "application/x-www-form-urlencoded, application/ace+json or application/ace+cbor";

http_response unsupported_media_type(content_format format, std::string_view accepted);
/// The path and the query of a request target.
std::pair<std::string_view, std::string_view> split_target(std::string_view target);
std::optional<std::int64_t> parse_integer(std::string_view text);

}  // namespace detail
}  // namespace acemq::as
