#pragma once
// Token validation (RFC 9431 2.2.5, RFC 9200 5.10.1.1): self-contained JWT/CWT verified locally
// with the AS keys (configured, plus the AS /jwks fetched again, rate-limited, when an unknown
// kid appears); reference tokens through /introspect with a TTL. Results are cached by token
// hash in a bounded LRU so a reconnect with the same token costs only the PoP check.
// Asynchronous: the completion may run inside validate() or later on an AS client thread.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/ace/ace_settings.hpp"
#include "acemq/ace/as_client.hpp"
#include "acemq/ace/discovery.hpp"
#include "acemq/ace/revocation.hpp"
#include "acemq/ace/validation.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/lru_cache.hpp"
#include "acemq/common/rate_limiter.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/verify.hpp"

namespace acemq::ace {

class token_validator : public std::enable_shared_from_this<token_validator> {
 public:
  using outcome = result<validated_token_ptr, validation_error>;
  using completion = std::function<void(outcome)>;
  /// Finds a PoP key the broker already holds, for a token whose cnf names only a kid
  /// (RFC 9431 2.2.5: "a reference to it").
  using key_lookup = std::function<std::optional<token::crypto::key>(byte_view kid)>;

  /// `as`, `revocations` and `cnonces` may be null (no AS calls / no revocation / no cnonces);
  /// all must outlive the validator. Create with std::make_shared (callbacks hold weak refs).
  token_validator(const ace_settings& settings, const clock& time, as_client* as,
                  revocation_list* revocations, cnonce_registry* cnonces);

  void set_key_lookup(key_lookup lookup);

  /// Validates `token` (copied as needed). `done` is called exactly once. `requester` is the
  /// remote host the token came from (per_address_key of the address: an IPv6 peer's /64): a
  /// reference token that needs the AS takes one introspection from that host's budget, or is
  /// refused (rate_limited). Empty: no per-host budget (the caller bounds its own calls).
  void validate(byte_view token, completion done, std::string_view requester = {});
  /// Cache and local verification only, never the AS: for synchronous callers (TLS-PSK).
  outcome validate_local(byte_view token);

  /// Replaces the keys fetched from the AS by the JWK Set in `json` (configured keys stay).
  /// Returns the number of keys installed.
  result<std::size_t, token::failure> install_jwks(std::string_view json);

  std::size_t cache_size() const;
  /// Signature/MAC verifications and introspection calls performed (cache misses).
  std::uint64_t verifications() const;
  std::uint64_t jwks_fetches() const;
  /// Reference tokens refused without an introspection call: answered inactive a moment ago,
  /// or over their host's introspection budget.
  std::uint64_t introspections_avoided() const;

 private:
  struct waiter {
    byte_vector token;
    completion done;
  };

  outcome cached(const byte_vector& hash, const std::string& hash_text);
  /// Whether the AS answered this reference token inactive within inactive_cache_ttl.
  bool known_inactive(const byte_vector& hash);
  using key_set = std::shared_ptr<const token::trusted_keys>;
  /// Verifies against the current key set; when the token's kid is not in it and
  /// `unknown_key_in` is given, that key set goes there.
  outcome verify_locally(byte_view token, const byte_vector& hash, std::string hash_text,
                         key_set* unknown_key_in);
  outcome finish(byte_view token_bytes, token::claims verified, const byte_vector& hash,
                 std::string hash_text, bool introspected);
  /// After a lookup in the key set `seen` found no key for the token's kid: fetches the AS's
  /// keys (rate-limited) and verifies again, or verifies again at once against a key set
  /// installed since `seen`.
  void refresh_keys_then(byte_vector token, const key_set& seen, completion done);
  void on_jwks(result<std::string, as_error> body);
  void introspect(byte_vector token, byte_vector hash, std::string hash_text, completion done);
  key_set keys() const;

  const ace_settings& settings_;
  const token::expectations expectations_;
  const clock& clock_;
  as_client* as_;
  revocation_list* revocations_;
  cnonce_registry* cnonces_;

  mutable std::mutex mutex_;
  key_lookup lookup_;
  key_set keys_;
  lru_cache<std::string, validated_token_ptr> cache_;
  lru_cache<std::string, clock::time_point> inactive_;  // token hash -> refused until
  rate_limiter introspection_budget_;                   // by remote host, own lock
  std::optional<clock::time_point> last_jwks_fetch_;
  bool jwks_in_flight_ = false;
  std::vector<waiter> key_waiters_;
  std::size_t introspections_in_flight_ = 0;
  std::uint64_t verifications_ = 0;
  std::uint64_t jwks_fetches_ = 0;
  std::uint64_t introspections_avoided_ = 0;
};

}  // namespace acemq::ace
