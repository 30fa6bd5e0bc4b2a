#include "acemq/ace_client/token_request.hpp"

#include <boost/json.hpp>

#include <utility>

#include "acemq/common/base64.hpp"
#include "acemq/common/form.hpp"
#include "acemq/token/jose/jwk.hpp"

namespace acemq::ace_client {

namespace json = boost::json;

namespace {

token_failure fail(token_error error, std::string description, unsigned status = 0) {
  return token_failure{error, status, {}, std::move(description)};
}

// Reads a cnf / rs_cnf object {"jwk": {...}} into a key. Private members are allowed only for the
// cnf of an AS-generated symmetric key.
result<token::crypto::key, token_failure> key_from_cnf(const json::value& cnf, bool public_only) {
  const auto* object = cnf.if_object();
  const json::value* jwk = object ? object->if_contains("jwk") : nullptr;
  if (jwk == nullptr || !jwk->is_object()) {
    return unexpected(fail(token_error::bad_key, "cnf without a jwk"));
  }
  token::jose::jwk_options options;
  options.public_only = public_only;
  auto parsed = token::jose::parse_jwk(jwk->as_object(), options);
  if (!parsed) {
    return unexpected(fail(token_error::bad_key,
                           std::string("cnf jwk: ") + std::string(to_string(parsed.error()))));
  }
  return std::move(*parsed);
}

}  // namespace

std::string_view to_string(token_error error) noexcept {
  switch (error) {
    case token_error::unreachable:
      return "unreachable";
    case token_error::http_error:
      return "http_error";
    case token_error::oauth_error:
      return "oauth_error";
    case token_error::bad_response:
      return "bad_response";
    case token_error::wrong_profile:
      return "wrong_profile";
    case token_error::bad_key:
      return "bad_key";
    case token_error::invalid_argument:
      return "invalid_argument";
  }
  return "unknown";
}

std::string describe(const token_failure& failure) {
  std::string out(to_string(failure.error));
  std::string detail;
  if (failure.http_status != 0) detail += std::to_string(failure.http_status);
  if (!failure.oauth_error.empty()) {
    if (!detail.empty()) detail += ' ';
    detail += failure.oauth_error;
  }
  if (!failure.description.empty()) {
    if (!detail.empty()) detail += ": ";
    detail += failure.description;
  }
  if (!detail.empty()) out += " (" + detail + ")";
  return out;
}

result<encoded_token_request, token_failure> encode_token_request(const token_request& request) {
  if (request.client_id.empty() || request.audience.empty()) {
    return unexpected(fail(token_error::invalid_argument, "client id and audience are required"));
  }
  std::optional<json::value> scope;
  if (!request.scope.empty()) {
    // AIF-MQTT is a JSON array (RFC 9431 2.3); catching a typo here beats an invalid_scope later.
    boost::system::error_code ec;
    json::value parsed = json::parse(request.scope, ec);
    if (ec || !parsed.is_array()) {
      return unexpected(fail(token_error::invalid_argument, "scope is not a JSON array"));
    }
    scope = std::move(parsed);
  }
  std::optional<json::object> req_cnf;
  if (request.own_key) {
    const auto type = request.own_key->type();
    if (type != token::crypto::key_type::okp_ed25519 && type != token::crypto::key_type::ec_p256) {
      return unexpected(fail(token_error::invalid_argument, "own key must be Ed25519 or P-256"));
    }
    // RFC 9201 3.1: only the public key is sent.
    auto public_half = request.own_key->public_key();
    if (!public_half) return unexpected(fail(token_error::bad_key, "own key has no public half"));
    auto jwk = token::jose::to_jwk(*public_half, token::jose::jwk_content::public_only);
    if (!jwk) return unexpected(fail(token_error::bad_key, "own key cannot be written as a JWK"));
    req_cnf = json::object{{"jwk", std::move(*jwk)}};
  }

  encoded_token_request out;
  out.authorization = basic_authorization(request.client_id, request.client_secret);
  if (request.format == request_format::form) {
    out.content_type = "application/x-www-form-urlencoded";
    out.body = "grant_type=client_credentials&audience=" + form_encode(request.audience);
    if (scope) out.body += "&scope=" + form_encode(request.scope);
    if (req_cnf) out.body += "&req_cnf=" + form_encode(json::serialize(*req_cnf));
    if (!request.cnonce.empty()) out.body += "&cnonce=" + form_encode(request.cnonce);
  } else {
    out.content_type = "application/ace+json";
    json::object body{{"grant_type", "client_credentials"}, {"audience", request.audience}};
    if (scope) body["scope"] = std::move(*scope);
    if (req_cnf) body["req_cnf"] = std::move(*req_cnf);
    if (!request.cnonce.empty()) body["cnonce"] = request.cnonce;
    out.body = json::serialize(body);
  }
  return out;
}

result<token_response, token_failure> parse_token_response(unsigned http_status,
                                                           std::string_view body) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 16;
  json::value parsed = json::parse(body, ec, {}, options);
  const json::object* object = (!ec && parsed.is_object()) ? &parsed.as_object() : nullptr;

  // RFC 6749 5.2: an error response names the error in "error".
  if (object != nullptr) {
    if (const auto* error = object->if_contains("error"); error && error->is_string()) {
      token_failure failure{
          token_error::oauth_error, http_status, std::string(error->as_string()), {}};
      if (const auto* text = object->if_contains("error_description"); text && text->is_string()) {
        failure.description = std::string(text->as_string());
      }
      return unexpected(std::move(failure));
    }
  }
  if (http_status != 200) {
    return unexpected(fail(token_error::http_error, "unexpected HTTP status", http_status));
  }
  if (object == nullptr) {
    return unexpected(fail(token_error::bad_response, "body is not a JSON object", http_status));
  }

  token_response out;
  const auto* access_token = object->if_contains("access_token");
  if (access_token == nullptr || !access_token->is_string() || access_token->as_string().empty()) {
    return unexpected(fail(token_error::bad_response, "no access_token", http_status));
  }
  out.access_token = std::string(access_token->as_string());

  if (const auto* expires_in = object->if_contains("expires_in")) {
    if (!expires_in->is_int64() || expires_in->as_int64() < 0) {
      return unexpected(fail(token_error::bad_response, "expires_in is not a count", http_status));
    }
    out.expires_in = expires_in->as_int64();
  }
  if (const auto* scope = object->if_contains("scope")) {
    // RFC 6749 5.1 says a string; accept the AIF array itself too (RFC 9431 2.3).
    if (scope->is_string()) {
      out.scope = std::string(scope->as_string());
    } else if (scope->is_array()) {
      out.scope = json::serialize(*scope);
    } else {
      return unexpected(fail(token_error::bad_response, "scope of the wrong type", http_status));
    }
  }
  if (const auto* profile = object->if_contains("ace_profile")) {
    if (!profile->is_string()) {
      return unexpected(fail(token_error::bad_response, "ace_profile not a string", http_status));
    }
    out.ace_profile = std::string(profile->as_string());
    // RFC 9431 2.1: the profile identifier of MQTT-TLS.
    if (out.ace_profile != "mqtt_tls") {
      return unexpected(fail(token_error::wrong_profile, out.ace_profile, http_status));
    }
  }
  if (const auto* cnf = object->if_contains("cnf")) {
    auto key = key_from_cnf(*cnf, false);
    if (!key) return unexpected(std::move(key.error()));
    // RFC 9200 5.8.2: a cnf in the response carries the key the AS generated: a secret.
    if (!key->is_private()) {
      return unexpected(fail(token_error::bad_key, "cnf key is not usable for PoP"));
    }
    out.cnf_key = std::move(*key);
  }
  if (const auto* rs_cnf = object->if_contains("rs_cnf")) {
    auto key = key_from_cnf(*rs_cnf, true);
    if (!key) return unexpected(std::move(key.error()));
    out.rs_cnf_key = std::move(*key);
  }
  if (const auto* refresh = object->if_contains("refresh_token"); refresh && refresh->is_string()) {
    out.refresh_token = std::string(refresh->as_string());
  }
  return out;
}

byte_vector token_bytes_from_text(std::string_view access_token) {
  // A JWT (compact, with dots) or a reference handle is sent as its text. A CWT is CBOR: tag 61
  // (0xD8 0x3D) around a COSE message (RFC 8392 6) or a bare COSE_Sign1 tag 18 (0xD2).
  if (access_token.find('.') == std::string_view::npos) {
    if (auto decoded = base64url_decode(access_token)) {
      const byte_vector& bytes = *decoded;
      const bool cwt_tag = bytes.size() > 3 && bytes[0] == 0xD8 && bytes[1] == 0x3D &&
                           (bytes[2] == 0xD2 || bytes[2] == 0xD0 || bytes[2] == 0xD1);
      const bool sign1_tag = bytes.size() > 1 && bytes[0] == 0xD2 && bytes[1] == 0x84;
      if (cwt_tag || sign1_tag) return std::move(*decoded);
    }
  }
  return to_bytes(access_token);
}

result<encoded_token_request, token_failure> encode_revocation_request(
    std::string_view client_id, std::string_view client_secret, std::string_view token) {
  if (client_id.empty() || token.empty()) {
    return unexpected(token_failure{
        token_error::invalid_argument, 0, {}, "revocation needs a client and a token"});
  }
  encoded_token_request out;
  // RFC 7009 2.1: a form body, the client authenticated as at the token endpoint.
  out.content_type = "application/x-www-form-urlencoded";
  out.authorization = basic_authorization(client_id, client_secret);
  out.body = "token=" + form_encode(token) + "&token_type_hint=access_token";
  return out;
}

result<void, token_failure> parse_revocation_response(unsigned http_status, std::string_view body) {
  if (http_status == 200) return {};
  auto decoded = parse_token_response(http_status, body);
  if (!decoded) return unexpected(std::move(decoded.error()));
  return unexpected(token_failure{
      token_error::bad_response, http_status, {}, "the AS did not confirm the revocation"});
}

}  // namespace acemq::ace_client
