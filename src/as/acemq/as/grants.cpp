// authorization_service: grants — the owner decides which client may publish or subscribe where;
// creating, narrowing or revoking a grant revokes the tokens it no longer covers.
#include "acemq/as/service.hpp"

#include <algorithm>
#include <cstring>

#include "acemq/as/endpoint_common.hpp"
#include "acemq/as/policy.hpp"
#include "acemq/common/topic.hpp"

namespace acemq::as {

using namespace detail;  // the responses and keys every endpoint shares

namespace {

std::string permissions_text(std::uint8_t permissions) {
  std::string out;
  if ((permissions & 0x01) != 0) out += "pub";
  if ((permissions & 0x02) != 0) out += out.empty() ? "sub" : ",sub";
  return out;
}

}  // namespace

std::size_t authorization_service::revoke_uncovered_tokens(const std::string& client_id,
                                                           const std::string& audience,
                                                           std::int64_t now) {
  auto tokens = store_.active_tokens(client_id, audience, now);
  grant_query query;
  query.client_id = client_id;
  query.audience = audience;
  query.now = now;
  auto grants = store_.list_grants(query);
  if (!tokens || !grants) return 0;
  std::size_t revoked = 0;
  for (const auto& token : *tokens) {
    // Revoked when the grants no longer allow its whole scope until its exp: a grant revoked,
    // narrowed (fewer permissions) or ended earlier than the token.
    auto scope = token::scope::aif_scope::from_json(token.scope);
    if (scope && policy::covered_until(scope->grants(), *grants, now) >= token.expires_at) continue;
    if (store_.revoke_token(token.token_id, now)) {
      ++revoked;
      audit(audit_kind::token_revoked, nullptr, client_id, audience, token.token_id,
            "grant revoked, narrowed or shortened");
    }
  }
  return revoked;
}

result<grant_change_result, request_error> authorization_service::create_grant(grant_record grant) {
  const auto invalid = [](oauth_error code, std::string description) {
    return unexpected(request_error{code, std::move(description)});
  };
  if (!topic::is_valid_filter(grant.filter)) {
    return invalid(oauth_error::invalid_scope, "not a valid topic filter");
  }
  if ((grant.permissions & 0x03) == 0 || (grant.permissions & ~0x03) != 0) {
    return invalid(oauth_error::invalid_request, "permissions must be pub and/or sub");
  }
  std::lock_guard lock(mutex_);
  const auto now = clock_.unix_seconds();
  if (grant.not_after <= now) return invalid(oauth_error::invalid_request, "grant already ended");
  auto owner = store_.find_owner(grant.owner_id);
  auto client = store_.find_client(grant.client_id);
  auto server = store_.find_resource_server(grant.audience);
  if (!owner || !client || !server) return invalid(oauth_error::invalid_request, "storage error");
  if (!owner->has_value()) return invalid(oauth_error::invalid_request, "unknown owner");
  if (!client->has_value()) return invalid(oauth_error::invalid_request, "unknown client");
  if (!server->has_value()) return invalid(oauth_error::invalid_request, "unknown audience");
  auto subtrees = store_.list_owner_subtrees(grant.owner_id);
  if (!subtrees) return invalid(oauth_error::invalid_request, "storage error");
  // An owner can only hand out what they own: the filter must lie inside one of their subtrees.
  const bool owned = std::any_of(subtrees->begin(), subtrees->end(), [&](const owner_subtree& s) {
    if (s.audience != grant.audience) return false;
    const auto common = policy::intersect_filters(grant.filter, s.filter);
    return common && *common == grant.filter;
  });
  if (!owned) {
    return invalid(oauth_error::invalid_scope, "filter is outside the owner's topic subtrees");
  }
  grant.created_at = now;
  grant.revoked_at = 0;
  auto id = store_.insert_grant(grant);
  if (!id) return invalid(oauth_error::invalid_request, id.error().message);
  audit(audit_kind::grant_created, nullptr, grant.owner_id, grant.audience, std::to_string(*id),
        grant.client_id + " " + permissions_text(grant.permissions) + " " + grant.filter);
  return grant_change_result{*id, 0};
}

result<grant_change_result, request_error> authorization_service::update_grant(
    const std::string& owner_id, std::int64_t grant_id, std::uint8_t permissions,
    std::int64_t not_after) {
  if ((permissions & 0x03) == 0 || (permissions & ~0x03) != 0) {
    return unexpected(
        request_error{oauth_error::invalid_request, "permissions must be pub and/or sub"});
  }
  std::lock_guard lock(mutex_);
  const auto now = clock_.unix_seconds();
  auto found = store_.find_grant(grant_id);
  if (!found || !found->has_value() || (*found)->owner_id != owner_id ||
      (*found)->revoked_at != 0) {
    return unexpected(request_error{oauth_error::invalid_grant, "no such grant"});
  }
  auto grant = **found;
  grant.permissions = permissions;
  grant.not_after = not_after;
  if (auto updated = store_.update_grant(grant); !updated) {
    return unexpected(request_error{oauth_error::invalid_request, updated.error().message});
  }
  audit(audit_kind::grant_changed, nullptr, owner_id, grant.audience, std::to_string(grant_id),
        permissions_text(permissions) + " until " + std::to_string(not_after));
  return grant_change_result{grant_id,
                             revoke_uncovered_tokens(grant.client_id, grant.audience, now)};
}

result<grant_change_result, request_error> authorization_service::revoke_grant(
    const std::string& owner_id, std::int64_t grant_id) {
  std::lock_guard lock(mutex_);
  const auto now = clock_.unix_seconds();
  auto found = store_.find_grant(grant_id);
  if (!found || !found->has_value() || (*found)->owner_id != owner_id) {
    return unexpected(request_error{oauth_error::invalid_grant, "no such grant"});
  }
  if (auto revoked = store_.revoke_grant(grant_id, now); !revoked) {
    return unexpected(request_error{oauth_error::invalid_request, revoked.error().message});
  }
  audit(audit_kind::grant_revoked, nullptr, owner_id, (*found)->audience, std::to_string(grant_id),
        "");
  return grant_change_result{grant_id,
                             revoke_uncovered_tokens((*found)->client_id, (*found)->audience, now)};
}

}  // namespace acemq::as
