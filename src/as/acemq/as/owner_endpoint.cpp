// authorization_service: the owner API under /owner/grants (the HTTP side of the future owner
// console).
#include "acemq/as/service.hpp"

#include <boost/json.hpp>

#include <cstring>

#include "acemq/as/endpoint_common.hpp"

namespace acemq::as {

using namespace detail;  // the responses and keys every endpoint shares

namespace {

json::object grant_to_json(const grant_record& g) {
  json::object out;
  out["grant_id"] = g.grant_id;
  out["owner_id"] = g.owner_id;
  out["client_id"] = g.client_id;
  out["audience"] = g.audience;
  out["filter"] = g.filter;
  json::array permissions;
  if ((g.permissions & 0x01) != 0) permissions.emplace_back("pub");
  if ((g.permissions & 0x02) != 0) permissions.emplace_back("sub");
  out["permissions"] = std::move(permissions);
  out["not_after"] = g.not_after;
  out["created_at"] = g.created_at;
  out["revoked_at"] = g.revoked_at;
  return out;
}

std::optional<std::uint8_t> permissions_from_json(const json::value* value) {
  if (value == nullptr || !value->is_array() || value->get_array().size() > 2) return std::nullopt;
  std::uint8_t bits = 0;
  for (const auto& item : value->get_array()) {
    if (!item.is_string()) return std::nullopt;
    if (item.get_string() == "pub") {
      bits |= 0x01;
    } else if (item.get_string() == "sub") {
      bits |= 0x02;
    } else {
      return std::nullopt;
    }
  }
  if (bits == 0) return std::nullopt;
  return bits;
}

}  // namespace

http_response authorization_service::owner_endpoint(const http_request& request) {
  // Bodies are JSON only: text/plain, form and multipart bodies are what a browser sends
  // cross-site without asking (no CORS preflight), so they are refused before anything else.
  if ((request.method == "POST" || request.method == "PATCH") &&
      content_format_from_media_type(request.header("content-type")) != content_format::json) {
    return unsupported_media_type(content_format::json, "application/json");
  }
  auto owner = authenticate_owner(request);
  if (!owner) return authentication_refused(content_format::json, owner.error());
  const auto path = split_target(request.target).first;
  const auto to_response = [](const result<grant_change_result, request_error>& outcome,
                              unsigned success_status) {
    if (!outcome) {
      return error_response(content_format::json, outcome.error().code, outcome.error().description,
                            outcome.error().code == oauth_error::invalid_grant ? 404 : 400);
    }
    json::object body;
    body["grant_id"] = outcome->grant_id;
    body["tokens_revoked"] = outcome->tokens_revoked;
    return json_response(success_status, body);
  };
  const auto read_body = [&](json::object& out) -> bool {
    if (request.body.size() > options_.limits.max_body) return false;
    json::parse_options parse_options;
    parse_options.max_depth = 8;
    boost::system::error_code ec;
    auto value = json::parse(request.body, ec, json::storage_ptr(), parse_options);
    if (ec || !value.is_object()) return false;
    out = std::move(value.get_object());
    return true;
  };
  const auto bad_body = [] {
    return error_response(content_format::json, oauth_error::invalid_request, "malformed body");
  };

  if (path == "/owner/grants") {
    if (request.method == "GET") {
      grant_query query;
      query.owner_id = owner->owner_id;
      std::lock_guard lock(mutex_);
      query.now = clock_.unix_seconds();
      auto grants = store_.list_grants(query);
      if (!grants) return server_error(content_format::json);
      json::array list;
      for (const auto& g : *grants) {
        if (list.size() >= options_.max_grant_listing) break;
        list.push_back(grant_to_json(g));
      }
      json::object body;
      body["grants"] = std::move(list);
      return json_response(200, body);
    }
    if (request.method == "POST") {
      json::object body;
      if (!read_body(body)) return bad_body();
      const auto* client_id = body.if_contains("client_id");
      const auto* audience = body.if_contains("audience");
      const auto* filter = body.if_contains("filter");
      const auto permissions = permissions_from_json(body.if_contains("permissions"));
      const auto* not_after = body.if_contains("not_after");
      const auto* lifetime = body.if_contains("lifetime");
      if (client_id == nullptr || !client_id->is_string() || audience == nullptr ||
          !audience->is_string() || filter == nullptr || !filter->is_string() || !permissions) {
        return bad_body();
      }
      grant_record grant;
      grant.owner_id = owner->owner_id;
      grant.client_id = std::string(client_id->get_string());
      grant.audience = std::string(audience->get_string());
      grant.filter = std::string(filter->get_string());
      grant.permissions = *permissions;
      if (not_after != nullptr && not_after->is_int64()) {
        grant.not_after = not_after->get_int64();
      } else if (lifetime != nullptr && lifetime->is_int64() && lifetime->get_int64() > 0) {
        grant.not_after = clock_.unix_seconds() + lifetime->get_int64();
      } else {
        return bad_body();
      }
      return to_response(create_grant(std::move(grant)), 201);
    }
    return method_not_allowed("GET, POST");
  }
  auto id = parse_integer(path.substr(std::string_view("/owner/grants/").size()));
  if (!id) return bad_body();
  if (request.method == "DELETE") return to_response(revoke_grant(owner->owner_id, *id), 200);
  if (request.method == "PATCH") {
    json::object body;
    if (!read_body(body)) return bad_body();
    const auto permissions = permissions_from_json(body.if_contains("permissions"));
    const auto* not_after = body.if_contains("not_after");
    if (!permissions || not_after == nullptr || !not_after->is_int64()) return bad_body();
    return to_response(update_grant(owner->owner_id, *id, *permissions, not_after->get_int64()),
                       200);
  }
  return method_not_allowed("PATCH, DELETE");
}

}  // namespace acemq::as
