// authorization_service: who is calling — client authentication (RFC 6749 2.3: Basic, body
// credentials, RFC 8705 certificates), resource servers and owners, with the guessing limits and
// the cache of recently verified secrets in front of argon2id.
#include "acemq/as/service.hpp"

#include <cstring>

#include "acemq/as/endpoint_common.hpp"
#include "acemq/as/secret_hash.hpp"
#include "acemq/common/base64.hpp"
#include "acemq/token/crypto/aead.hpp"

namespace acemq::as {

namespace crypto = token::crypto;
using namespace detail;  // the responses and keys every endpoint shares

namespace {

constexpr std::size_t max_verified_secrets = 4096;

}  // namespace

bool authorization_service::check_secret(std::string_view kind, const std::string& id,
                                         std::string_view secret, const std::string& encoded_hash) {
  if (encoded_hash.empty() || secret.empty()) return false;
  // The cache holds a keyed MAC, never the secret; the key lives only in this process.
  const auto cache_entry = keyed_digest(cache_key_, {kind, id, secret, encoded_hash});
  const auto now = clock_.unix_seconds();
  if (options_.verified_secret_ttl > 0) {
    std::lock_guard lock(cache_mutex_);
    const auto it = verified_secrets_.find(cache_entry);
    if (it != verified_secrets_.end() && it->second > now) return true;
  }
  if (!verify_secret(secret, encoded_hash)) return false;
  if (options_.verified_secret_ttl > 0) {
    std::lock_guard lock(cache_mutex_);
    if (verified_secrets_.size() >= max_verified_secrets) {
      std::erase_if(verified_secrets_, [now](const auto& entry) { return entry.second <= now; });
      if (verified_secrets_.size() >= max_verified_secrets) verified_secrets_.clear();
    }
    verified_secrets_[cache_entry] = now + options_.verified_secret_ttl;
    verified_secrets_[recently_verified_entry(kind, id, secret)] =
        now + options_.verified_secret_ttl;
  }
  return true;
}

std::int64_t authorization_service::authentication_wait(std::string_view kind, std::string_view id,
                                                        const http_request& request) {
  std::string identity(kind);
  identity += '\n';
  identity += id;
  return throttle_.wait_before_check(identity, per_address_key(request.peer_address));
}

bool authorization_service::verify_identity(std::string_view kind, const std::string& id,
                                            std::string_view secret,
                                            const std::string* encoded_hash,
                                            const http_request& request) {
  // An unknown identity costs one argon2id check like a known one (same parameters), and is
  // charged to the limits like a wrong secret: neither the time nor the limits tell which exist.
  bool matched = false;
  if (!secret.empty()) {
    if (encoded_hash != nullptr && !encoded_hash->empty()) {
      matched = check_secret(kind, id, secret, *encoded_hash);
    } else {
      (void)verify_secret(secret, dummy_secret_hash());
    }
  }
  std::string identity(kind);
  identity += '\n';
  identity += id;
  const auto host = per_address_key(request.peer_address);
  if (matched) {
    throttle_.succeeded(identity, host);
  } else {
    throttle_.failed(identity, host);
  }
  return matched;
}

result<authorization_service::authenticated_client, request_error>
authorization_service::authenticate_client(const http_request& request,
                                           const std::optional<std::string>& body_client_id,
                                           const std::optional<std::string>& body_client_secret) {
  const auto refuse = [](std::string description) {
    return unexpected(request_error{oauth_error::invalid_client, std::move(description)});
  };
  std::optional<basic_credentials> basic;
  if (request.has_header("authorization")) {
    basic = parse_basic_authorization(request.header("authorization"));
    if (!basic) return refuse("malformed Authorization header");
  }
  if (basic && body_client_secret) {
    // RFC 6749 2.3: a client MUST NOT use more than one authentication method per request.
    return unexpected(
        request_error{oauth_error::invalid_request, "more than one client authentication method"});
  }
  if (basic && body_client_id && *body_client_id != basic->client_id) {
    return unexpected(request_error{oauth_error::invalid_request, "client_id mismatch"});
  }
  const std::string client_id = basic ? basic->client_id : body_client_id.value_or("");
  if (client_id.empty()) return refuse("client authentication required");
  const bool with_secret = basic || body_client_secret;
  if (with_secret) {
    // Refused before the lookup and before any argon2id work while a guessing limit holds.
    if (const auto wait = authentication_wait("client", client_id, request); wait > 0) {
      return unexpected(request_error{oauth_error::invalid_request, "rate limit exceeded", wait});
    }
  }

  std::optional<client_record> client;
  {
    std::lock_guard lock(mutex_);
    auto found = store_.find_client(client_id);
    if (!found) return refuse("client lookup failed");
    client = std::move(*found);
  }
  const bool usable = client && !client->disabled;
  if (with_secret) {
    const std::string_view secret =
        basic ? std::string_view(basic->client_secret) : std::string_view(*body_client_secret);
    if (!verify_identity("client", client_id, secret, usable ? &client->secret_hash : nullptr,
                         request)) {
      return refuse("unknown client or bad credentials");
    }
    return authenticated_client{std::move(*client),
                                basic ? "client_secret_basic" : "client_secret_post"};
  }
  if (!usable) return refuse("unknown client or bad credentials");
  // RFC 8705 2.1.2 (tls_client_auth, here pinned to the certificate's SHA-256 thumbprint).
  if (!request.client_certificate_thumbprint.empty() && !client->certificate_thumbprint.empty() &&
      constant_time_equal(as_bytes(request.client_certificate_thumbprint),
                          as_bytes(client->certificate_thumbprint))) {
    return authenticated_client{std::move(*client), "tls_client_auth"};
  }
  return refuse("unknown client or bad credentials");
}

// RFC 7662 2.1: a resource server authenticates at /introspect (and /trl), an owner at the
// owner API, both with HTTP Basic. The same guessing limits and timing apply to either.
template <typename Record, typename Find>
result<Record, request_error> authorization_service::authenticate_basic(const http_request& request,
                                                                        std::string_view kind,
                                                                        std::string_view refusal,
                                                                        Find find) {
  const auto refuse = [refusal] {
    return unexpected(request_error{oauth_error::invalid_client, std::string(refusal)});
  };
  auto basic = parse_basic_authorization(request.header("authorization"));
  if (!basic) return refuse();
  if (const auto wait = authentication_wait(kind, basic->client_id, request); wait > 0) {
    return unexpected(request_error{oauth_error::invalid_request, "rate limit exceeded", wait});
  }
  std::optional<Record> record;
  {
    std::lock_guard lock(mutex_);
    auto found = find(basic->client_id);
    if (!found) return refuse();
    record = std::move(*found);
  }
  if (!verify_identity(kind, basic->client_id, basic->client_secret,
                       record ? &record->secret_hash : nullptr, request)) {
    return refuse();
  }
  return std::move(*record);
}

result<resource_server_record, request_error> authorization_service::authenticate_resource_server(
    const http_request& request) {
  return authenticate_basic<resource_server_record>(
      request, "resource_server", "resource server authentication required",
      [this](const std::string& audience) { return store_.find_resource_server(audience); });
}

result<owner_record, request_error> authorization_service::authenticate_owner(
    const http_request& request) {
  return authenticate_basic<owner_record>(
      request, "owner", "owner authentication required",
      [this](const std::string& owner_id) { return store_.find_owner(owner_id); });
}

}  // namespace acemq::as
