#pragma once
// Guessing limits of the authorization server's secret checks (client, resource-server and owner
// secrets), the same design as the broker's password throttle (src/auth/password_provider):
// failures are charged per remote host (per_address_key, which the caller passes as `host`: an
// IPv6 peer's /64) and per identity, a request is refused before any argon2id work while a bucket
// is empty, and the per-identity bucket does not bind a host where that identity recently proved
// its secret, so a stranger's guesses cannot lock the identity's own clients out
// (docs/authorization-server.md, "Secret checks").

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "acemq/common/clock.hpp"
#include "acemq/common/lru_cache.hpp"
#include "acemq/common/rate_limiter.hpp"

namespace acemq::as {

struct authentication_throttle_settings {
  /// Failed secret checks from one host: 10 back to back, then one every 10 s.
  rate_limit_settings per_address{.burst = 10.0, .refill_per_second = 0.1, .max_entries = 65'536};
  /// Failed secret checks of one identity from anywhere: 20 back to back, then one a minute; not
  /// applied to a host the identity authenticated from within `trusted_for`.
  rate_limit_settings per_identity{
      .burst = 20.0, .refill_per_second = 1.0 / 60, .max_entries = 65'536};
  std::chrono::seconds trusted_for{std::chrono::hours(24 * 30)};
  /// (identity, host) pairs remembered; beyond it the least recently used is forgotten.
  std::size_t max_trusted = 65'536;
};

class authentication_throttle {
 public:
  authentication_throttle(const clock& time, authentication_throttle_settings settings = {});

  /// 0 when a secret check of `identity` (e.g. "owner\nalice") from `host` may run now; else the
  /// whole seconds to wait (Retry-After). Takes nothing: only failures are charged.
  std::int64_t wait_before_check(std::string_view identity, std::string_view host);
  /// A wrong secret (or an unknown identity: charged alike, so limits do not tell which exist).
  void failed(std::string_view identity, std::string_view host);
  /// The right secret: `host` is spared the per-identity limit of `identity` for trusted_for.
  void succeeded(std::string_view identity, std::string_view host);

 private:
  static std::string pair_of(std::string_view identity, std::string_view host);
  bool trusts(const std::string& pair);

  const clock& clock_;
  authentication_throttle_settings settings_;
  rate_limiter by_address_;
  rate_limiter by_identity_;
  std::mutex trusted_mutex_;
  lru_cache<std::string, clock::time_point> trusted_;  // "identity\0host" -> until
};

}  // namespace acemq::as
