#pragma once
// The authorization server's request handling: a pure `handle(request) -> response` core over
// storage, keys, a clock and a random source (conventions 1 and 3). The HTTPS transport
// (https_server.hpp) only moves bytes; every endpoint, error and status code is decided here.
//
// Endpoints: POST /token, POST /introspect, POST /revoke, GET /trl, GET /jwks,
// GET /.well-known/oauth-authorization-server, and the owner API under /owner/grants.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "acemq/as/audit.hpp"
#include "acemq/as/authentication_throttle.hpp"
#include "acemq/as/http.hpp"
#include "acemq/as/key_ring.hpp"
#include "acemq/as/request.hpp"
#include "acemq/as/storage.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"
#include "acemq/common/rate_limiter.hpp"

namespace acemq::as {

/// Behaviour settings of the service (the file/flag configuration maps onto these).
struct service_options {
  std::string issuer = "https://127.0.0.1:8443";
  /// Upper bound on any token lifetime, whatever a resource server registration says.
  std::int64_t max_token_lifetime = 24 * 3600;
  /// Rotate the signing key automatically after this many seconds; 0 = only on demand.
  std::int64_t key_rotation_interval = 0;
  request_limits limits;
  /// /token requests per client and per remote host (per_address_key: an IPv6 peer's /64; a
  /// refill rate of 0 turns a limit off).
  rate_limit_settings per_client{.burst = 20.0, .refill_per_second = 5.0, .max_entries = 10'000};
  rate_limit_settings per_address{.burst = 60.0, .refill_per_second = 20.0, .max_entries = 10'000};
  std::size_t max_trl_page = 500;
  std::size_t max_grant_listing = 1000;
  /// How long a successful secret verification is remembered (argon2id is deliberately slow);
  /// 0 disables the cache.
  std::int64_t verified_secret_ttl = 300;
  /// Guessing limits of every secret check (clients, resource servers, owners).
  authentication_throttle_settings authentication;
  /// Origins, besides the issuer's own, whose browsers may call the endpoints that take
  /// credentials (e.g. "https://console.example"); a request with any other Origin gets 403.
  std::vector<std::string> allowed_origins;
};

/// Outcome of a change to grants: how many tokens stopped being covered and were revoked.
struct grant_change_result {
  std::int64_t grant_id = 0;
  std::size_t tokens_revoked = 0;
};

class authorization_service {
 public:
  authorization_service(service_options options, storage& store, key_ring& keys,
                        const clock& time_source, random_source& random, audit_sink& audit);

  /// Handles one request. Thread-safe: storage and keys are used under one lock; the slow
  /// argon2id verification runs outside it.
  http_response handle(const http_request& request);

  /// Whether handling `request` may verify a secret (argon2id, tens of milliseconds).
  static bool may_check_secret(const http_request& request);
  /// Whether the transport must run `request` on its worker pool: it may verify a secret, unless
  /// its Basic credentials proved themselves within verified_secret_ttl (then the check is a
  /// cache hit, and the request does not queue behind other clients' argon2id work).
  bool needs_worker(const http_request& request);

  /// Retires the current signing key and starts a new one.
  storage_result<void> rotate_signing_key();

  /// Owner operations, also used by `acemq-as admin`. A grant's filter must lie inside a subtree
  /// the owner controls on that audience; otherwise invalid_scope.
  result<grant_change_result, request_error> create_grant(grant_record grant);
  result<grant_change_result, request_error> update_grant(const std::string& owner_id,
                                                          std::int64_t grant_id,
                                                          std::uint8_t permissions,
                                                          std::int64_t not_after);
  result<grant_change_result, request_error> revoke_grant(const std::string& owner_id,
                                                          std::int64_t grant_id);

  const service_options& options() const noexcept { return options_; }

 private:
  struct authenticated_client;
  struct lookup;

  http_response token_endpoint(const http_request& request);
  http_response introspection_endpoint(const http_request& request);
  http_response revocation_endpoint(const http_request& request);
  http_response revocation_list_endpoint(const http_request& request);
  http_response metadata_endpoint() const;
  http_response jwks_endpoint();
  http_response owner_endpoint(const http_request& request);

  result<authenticated_client, request_error> authenticate_client(
      const http_request& request, const std::optional<std::string>& body_client_id,
      const std::optional<std::string>& body_client_secret);
  bool check_secret(std::string_view kind, const std::string& id, std::string_view secret,
                    const std::string& encoded_hash);
  /// The cache entry saying that `secret` of `kind`/`id` was verified recently (a keyed MAC).
  std::string recently_verified_entry(std::string_view kind, std::string_view id,
                                      std::string_view secret) const;
  /// The guessing limits in front of check_secret: 0 = the check may run, else Retry-After.
  std::int64_t authentication_wait(std::string_view kind, std::string_view id,
                                   const http_request& request);
  /// Verifies `secret` against `encoded_hash` (nullptr: unknown identity, checked against the
  /// dummy hash so the time is the same) and charges or spares the guessing limits.
  bool verify_identity(std::string_view kind, const std::string& id, std::string_view secret,
                       const std::string* encoded_hash, const http_request& request);
  result<resource_server_record, request_error> authenticate_resource_server(
      const http_request& request);
  result<owner_record, request_error> authenticate_owner(const http_request& request);
  /// HTTP Basic authentication of a `Record` that `find` looks up by id under mutex_: the
  /// guessing limits of `kind`, then verify_identity; `refusal` (invalid_client) otherwise.
  template <typename Record, typename Find>
  result<Record, request_error> authenticate_basic(const http_request& request,
                                                   std::string_view kind, std::string_view refusal,
                                                   Find find);
  std::optional<http_response> refuse_cross_site(const http_request& request) const;
  std::optional<issued_token_record> find_token(const token_reference_request& reference);
  std::size_t revoke_uncovered_tokens(const std::string& client_id, const std::string& audience,
                                      std::int64_t now);
  void rotate_if_due(std::int64_t now);
  void audit(audit_kind kind, const http_request* request, std::string actor, std::string audience,
             std::string subject, std::string detail);

  service_options options_;
  storage& store_;
  key_ring& keys_;
  const clock& clock_;
  random_source& random_;
  audit_sink& audit_;
  rate_limiter client_limiter_;
  rate_limiter address_limiter_;
  std::mutex mutex_;  // guards store_, keys_ and random_
  std::mutex cache_mutex_;
  std::unordered_map<std::string, std::int64_t> verified_secrets_;  // keyed MAC -> valid until
  byte_vector cache_key_;
  std::int64_t last_purge_ = 0;
  authentication_throttle throttle_;
};

}  // namespace acemq::as
