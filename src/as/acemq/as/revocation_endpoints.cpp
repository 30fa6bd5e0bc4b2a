// authorization_service: POST /revoke (RFC 7009) for clients and GET /trl, the token revocation
// list resource servers poll.
#include "acemq/as/service.hpp"

#include <boost/json.hpp>

#include <algorithm>

#include "acemq/as/endpoint_common.hpp"
#include "acemq/as/token_minter.hpp"

namespace acemq::as {

using namespace detail;  // the responses and keys every endpoint shares

http_response authorization_service::revocation_endpoint(const http_request& request) {
  if (request.method != "POST") return method_not_allowed("POST");
  const auto format = content_format_from_media_type(request.header("content-type"));
  if (!format) return unsupported_media_type(content_format::json, accepted_token_media_types);
  auto parsed = parse_token_reference_request(*format, request.body, options_.limits);
  if (!parsed) return error_response(*format, parsed.error().code, parsed.error().description);
  auto client = authenticate_client(request, parsed->client_id, parsed->client_secret);
  if (!client) return authentication_refused(*format, client.error());
  const auto& client_id = client->client.client_id;

  std::lock_guard lock(mutex_);
  const auto now = clock_.unix_seconds();
  if (auto record = find_token(*parsed)) {
    if (record->client_id != client_id) {
      // RFC 7009 2.1: the token was not issued to this client.
      return error_response(*format, oauth_error::unauthorized_client,
                            "token was not issued to this client");
    }
    if (auto revoked = store_.revoke_token(record->token_id, now); !revoked) {
      return server_error(*format);
    }
    audit(audit_kind::token_revoked, &request, client_id, record->audience, record->token_id,
          "revoked by client");
  } else {
    auto refresh = store_.find_refresh_token_by_hash(token_hash(as_bytes(parsed->token)));
    if (!refresh) return server_error(*format);
    if (refresh->has_value()) {
      if ((*refresh)->client_id != client_id) {
        return error_response(*format, oauth_error::unauthorized_client,
                              "token was not issued to this client");
      }
      if (auto revoked = store_.revoke_refresh_token((*refresh)->refresh_id, now); !revoked) {
        return server_error(*format);
      }
      // RFC 7009 2.1: revoking a refresh token also revokes the access tokens issued with it.
      auto tokens = store_.active_tokens(client_id, (*refresh)->audience, now);
      if (!tokens) return server_error(*format);
      for (const auto& token : *tokens) {
        if (token.refresh_id == (*refresh)->refresh_id)
          (void)store_.revoke_token(token.token_id, now);
      }
      audit(audit_kind::refresh_revoked, &request, client_id, (*refresh)->audience,
            (*refresh)->refresh_id, "revoked by client");
    }
    // RFC 7009 2.2: an unknown token is not an error.
  }
  http_response response;
  response.status = 200;
  no_store(response);
  return response;
}

// --- /trl ---

http_response authorization_service::revocation_list_endpoint(const http_request& request) {
  if (request.method != "GET") return method_not_allowed("GET");
  auto server = authenticate_resource_server(request);
  if (!server) return authentication_refused(content_format::json, server.error());
  std::int64_t cursor = 0;
  std::int64_t limit = static_cast<std::int64_t>(options_.max_trl_page);
  auto pairs = parse_form(split_target(request.target).second, 8);
  if (!pairs)
    return error_response(content_format::json, oauth_error::invalid_request, "bad query");
  for (const auto& [name, value] : *pairs) {
    auto number = parse_integer(value);
    if (!number || *number < 0) {
      return error_response(content_format::json, oauth_error::invalid_request,
                            "bad query parameter " + name);
    }
    if (name == "cursor") cursor = *number;
    if (name == "limit") limit = std::clamp<std::int64_t>(*number, 1, limit);
  }
  std::lock_guard lock(mutex_);
  const auto now = clock_.unix_seconds();
  auto entries = store_.revocations_since(cursor, static_cast<std::size_t>(limit) + 1, now);
  if (!entries) return server_error(content_format::json);
  const bool more = entries->size() > static_cast<std::size_t>(limit);
  if (more) entries->pop_back();
  json::array revoked;
  std::int64_t next = cursor;
  for (const auto& entry : *entries) {
    next = entry.sequence;
    if (entry.audience != server->audience) continue;
    json::object item;
    item["token_hash"] = entry.token_hash;
    item["exp"] = entry.expires_at;
    item["iat"] = entry.issued_at;
    item["revoked_at"] = entry.revoked_at;
    revoked.push_back(std::move(item));
  }
  if (!more && entries->empty()) {
    // Nothing new: move the cursor to the high-water mark so purged gaps are skipped.
    auto latest = store_.latest_revocation();
    if (latest && *latest > next) next = *latest;
  }
  json::object body;
  body["cursor"] = next;
  body["more"] = more;
  body["revoked"] = std::move(revoked);
  auto response = json_response(200, body);
  no_store(response);
  return response;
}

}  // namespace acemq::as
