// authorization_service: construction, the dispatch of a request to its endpoint, the checks
// every request passes (cross-site origin) and the audit trail. The endpoints live in their own
// files (see endpoint_common.hpp).
#include "acemq/as/service.hpp"

#include <boost/json.hpp>

#include <cctype>
#include <cstring>

#include "acemq/as/endpoint_common.hpp"
#include "acemq/common/base64.hpp"
#include "acemq/token/crypto/aead.hpp"

namespace acemq::as {

namespace crypto = token::crypto;
using namespace detail;  // the responses and keys every endpoint shares

namespace {

/// The ASCII origin of an absolute URL (RFC 6454 6.2): scheme://host[:port], lower case, without
/// the scheme's default port and without path; the text itself when it is not such a URL.
std::string origin_of(std::string_view url) {
  std::string text(url);
  for (auto& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string::npos) return text;
  const auto path = text.find_first_of("/?#", scheme_end + 3);
  if (path != std::string::npos) text.resize(path);
  const std::string_view scheme = std::string_view(text).substr(0, scheme_end);
  for (const auto& [name, port] : {std::pair{"https", ":443"}, std::pair{"http", ":80"}}) {
    if (scheme == name && text.ends_with(port)) text.resize(text.size() - std::strlen(port));
  }
  return text;
}

}  // namespace

authorization_service::authorization_service(service_options options, storage& store,
                                             key_ring& keys, const clock& time_source,
                                             random_source& random, audit_sink& audit)
    : options_(std::move(options)),
      store_(store),
      keys_(keys),
      clock_(time_source),
      random_(random),
      audit_(audit),
      client_limiter_(time_source, options_.per_client),
      address_limiter_(time_source, options_.per_address),
      cache_key_(random.bytes(32)),
      throttle_(time_source, options_.authentication) {}

void authorization_service::audit(audit_kind kind, const http_request* request, std::string actor,
                                  std::string audience, std::string subject, std::string detail) {
  audit_event event;
  event.time = clock_.unix_seconds();
  event.kind = kind;
  event.actor = std::move(actor);
  if (request != nullptr) event.address = request->peer_address;
  event.audience = std::move(audience);
  event.subject = std::move(subject);
  event.detail = std::move(detail);
  audit_.record(event);
}

bool authorization_service::may_check_secret(const http_request& request) {
  const auto path = split_target(request.target).first;
  return path != "/jwks" && path != "/.well-known/oauth-authorization-server";
}

std::string authorization_service::recently_verified_entry(std::string_view kind,
                                                           std::string_view id,
                                                           std::string_view secret) const {
  return keyed_digest(cache_key_, {"recent", kind, id, secret});
}

bool authorization_service::needs_worker(const http_request& request) {
  if (!may_check_secret(request)) return false;
  if (options_.verified_secret_ttl <= 0 || !request.has_header("authorization")) return true;
  const auto path = split_target(request.target).first;
  std::string_view kind;
  if (path == "/token" || path == "/revoke") kind = "client";
  if (path == "/introspect" || path == "/trl") kind = "resource_server";
  if (path == "/owner/grants" || path.starts_with("/owner/grants/")) kind = "owner";
  if (kind.empty()) return true;
  const auto basic = parse_basic_authorization(request.header("authorization"));
  if (!basic) return true;
  // A guess the limits refuse costs no hashing: its 429 is answered at once on the I/O thread
  // instead of waiting in the queue behind other hosts' checks.
  if (authentication_wait(kind, basic->client_id, request) > 0) return false;
  const auto entry = recently_verified_entry(kind, basic->client_id, basic->client_secret);
  std::lock_guard lock(cache_mutex_);
  const auto it = verified_secrets_.find(entry);
  return it == verified_secrets_.end() || it->second <= clock_.unix_seconds();
}

std::optional<http_response> authorization_service::refuse_cross_site(
    const http_request& request) const {
  // A browser names the page's origin in every cross-origin POST, PATCH and DELETE (RFC 6454 7,
  // Fetch "Origin header"): a page elsewhere must not spend the credentials the browser holds
  // for the AS. Requests without Origin (every non-browser client) are not concerned.
  if (!request.has_header("origin")) return std::nullopt;
  const auto origin = origin_of(request.header("origin"));
  if (origin == origin_of(options_.issuer)) return std::nullopt;
  for (const auto& allowed : options_.allowed_origins) {
    if (origin == origin_of(allowed)) return std::nullopt;
  }
  json::object body;
  body["error"] = "invalid_request";
  body["error_description"] = "cross-origin request refused";
  return json_response(403, body);
}

http_response authorization_service::handle(const http_request& request) {
  const auto [path, query] = split_target(request.target);
  // Public documents: any origin may read them.
  if (path == "/jwks") {
    if (request.method != "GET") return method_not_allowed("GET");
    return jwks_endpoint();
  }
  if (path == "/.well-known/oauth-authorization-server") {
    if (request.method != "GET") return method_not_allowed("GET");
    return metadata_endpoint();
  }
  if (auto refused = refuse_cross_site(request)) return std::move(*refused);
  if (path == "/token") return token_endpoint(request);
  if (path == "/introspect") return introspection_endpoint(request);
  if (path == "/revoke") return revocation_endpoint(request);
  if (path == "/trl") return revocation_list_endpoint(request);
  if (path == "/owner/grants" || path.starts_with("/owner/grants/")) {
    return owner_endpoint(request);
  }
  json::object body;
  body["error"] = "not_found";
  return json_response(404, body);
}

}  // namespace acemq::as
