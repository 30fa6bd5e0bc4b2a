// authorization_service: POST /introspect (RFC 7662, RFC 9200 5.9) for resource servers.
#include "acemq/as/service.hpp"

#include <boost/json.hpp>

#include <cstring>

#include "acemq/as/endpoint_common.hpp"
#include "acemq/as/token_minter.hpp"
#include "acemq/common/base64.hpp"
#include "acemq/token/cbor/codec.hpp"
#include "acemq/token/cose/cose_key.hpp"
#include "acemq/token/cose/cwt.hpp"

namespace acemq::as {

namespace cose = token::cose;
using namespace detail;  // the responses and keys every endpoint shares

std::optional<issued_token_record> authorization_service::find_token(
    const token_reference_request& reference) {
  std::vector<std::string> hashes;
  if (reference.token_bytes) hashes.push_back(token_hash(*reference.token_bytes));
  hashes.push_back(token_hash(as_bytes(reference.token)));
  // A CWT sent in a JSON or form body is the base64url of its bytes.
  if (auto decoded = base64url_decode(reference.token); decoded && !decoded->empty()) {
    hashes.push_back(token_hash(*decoded));
  }
  for (const auto& hash : hashes) {
    auto found = store_.find_token_by_hash(hash);
    if (found && found->has_value()) return std::move(**found);
  }
  return std::nullopt;
}

http_response authorization_service::introspection_endpoint(const http_request& request) {
  if (request.method != "POST") return method_not_allowed("POST");
  const auto format = content_format_from_media_type(request.header("content-type"));
  const auto reply_format = format.value_or(content_format::json);
  auto server = authenticate_resource_server(request);
  if (!server) {
    // RFC 7662 2.3 / RFC 9200 5.9: invalid credentials of the requesting RS -> 401.
    audit(audit_kind::introspection_refused, &request, "", "", "",
          server.error().retry_after > 0 ? "rate limited (authentication)" : "invalid_client");
    return authentication_refused(reply_format, server.error());
  }
  if (!format) return unsupported_media_type(content_format::json, accepted_token_media_types);
  auto parsed = parse_token_reference_request(*format, request.body, options_.limits);
  if (!parsed) return error_response(*format, parsed.error().code, parsed.error().description);

  std::lock_guard lock(mutex_);
  const auto now = clock_.unix_seconds();
  auto record = find_token(*parsed);
  // A token for another audience is reported inactive: an RS learns nothing about tokens that
  // are not meant for it (RFC 7662 4).
  const bool active = record && record->audience == server->audience && record->active_at(now);
  std::optional<token::scope::aif_scope> scope;
  if (active) {
    auto parsed_scope = token::scope::aif_scope::from_json(record->scope);
    if (parsed_scope) scope = std::move(*parsed_scope);
  }
  http_response response;
  if (*format == content_format::cbor) {
    auto body = cbor::value::map();
    body.insert(key::active, cbor::value::boolean(active && scope.has_value()));
    if (active && scope) {
      body.insert(key::scope, scope->to_cbor_value());
      body.insert(key::client_id, cbor::value::text(record->client_id));
      body.insert(key::sub, cbor::value::text(record->client_id));
      body.insert(key::aud, cbor::value::text(record->audience));
      body.insert(key::iss, cbor::value::text(options_.issuer));
      body.insert(key::exp, cbor::value::integer(record->expires_at));
      body.insert(key::iat, cbor::value::integer(record->issued_at));
      body.insert(key::cti, cbor::value::bytes(as_bytes(record->token_id)));
      if (auto cnf = cnf_json_to_cbor(record->cnf)) body.insert(key::cnf, std::move(*cnf));
      body.insert(key::ace_profile, cbor::value::integer(cose::ace_profile_mqtt_tls));
      body.insert(key::token_type, cbor::value::integer(token_type_pop_cbor));
      if (!record->cnonce.empty()) {
        if (auto cnonce = base64url_decode(record->cnonce)) {
          body.insert(key::cnonce, cbor::value::bytes(*cnonce));
        }
      }
      if (record->exi > 0) body.insert(key::exi, cbor::value::integer(record->exi));
    }
    response = cbor_response(200, body);
  } else {
    json::object body;
    body["active"] = active && scope.has_value();
    if (active && scope) {
      body["scope"] = record->scope;
      body["client_id"] = record->client_id;
      body["sub"] = record->client_id;
      body["aud"] = record->audience;
      body["iss"] = options_.issuer;
      body["exp"] = record->expires_at;
      body["iat"] = record->issued_at;
      body["jti"] = record->token_id;
      boost::system::error_code ec;
      auto cnf = json::parse(record->cnf, ec);
      if (!ec) body["cnf"] = std::move(cnf);
      body["ace_profile"] = profile_name;
      body["token_type"] = "PoP";
      if (!record->cnonce.empty()) body["cnonce"] = record->cnonce;
      if (record->exi > 0) body["exi"] = record->exi;
    }
    response = json_response(200, body);
  }
  no_store(response);
  return response;
}

}  // namespace acemq::as
