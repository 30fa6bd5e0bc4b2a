#pragma once
// Username/password authentication against the argon2id password file (MQTT 5.0 3.1.3.5 and
// 3.1.3.6: the User Name and Password of CONNECT). Guessing is throttled per remote address and
// per user name, without letting a stranger lock a legitimate device out (docs/authentication.md,
// "Rate limiting").

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "acemq/auth/acl.hpp"
#include "acemq/auth/password_file.hpp"
#include "acemq/broker/auth_provider.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/rate_limiter.hpp"

namespace acemq::auth {

/// Runs a job, possibly on another thread: argon2 costs tens of milliseconds, so a production
/// broker hands it to a worker pool instead of stalling an I/O thread. Empty = run inline.
using executor = std::function<void(std::function<void()>)>;

struct password_provider_settings {
  argon2_bounds bounds;
  /// Failures from one host (per_address_key: an IPv6 peer's /64): 5 back to back, then one
  /// every 12 s.
  rate_limit_settings per_address;
  /// Failures for one user name from anywhere: 20 back to back, then one a minute. Not applied to
  /// a host the user authenticated from within `trusted_for`, so guessing from elsewhere cannot
  /// lock the user's own devices out.
  rate_limit_settings per_user{.burst = 20, .refill_per_second = 1.0 / 60, .max_entries = 65'536};
  /// How long a successful authentication exempts its (user name, host) from the per-user limit.
  std::chrono::seconds trusted_for{std::chrono::hours(24 * 30)};
  /// (user name, host) pairs remembered; beyond it the least recently used is forgotten.
  std::size_t max_trusted = 65'536;
  /// false (default): an unknown user name is refused with 0x86 after a dummy argon2 check, so
  /// neither the reason code nor the timing reveals which user names exist. true: unknown users
  /// are left to the next provider (for chains where another provider also reads CONNECT's
  /// User Name / Password, e.g. ACE over MQTT 3.1.1).
  bool pass_unknown_users = false;
};

class password_provider final : public broker::authenticator {
 public:
  password_provider(std::shared_ptr<const password_file> users,
                    std::shared_ptr<const acl_store> acl, const clock& time,
                    password_provider_settings settings = {}, executor offload = {});

  std::string_view name() const override { return "password"; }
  void start(const broker::authentication_request& request, completion done) override;
  void continue_auth(const broker::authentication_request& request, completion done) override;
  void reauthenticate(const broker::authentication_request& request, completion done) override;

  /// Installs a new password file (e.g. re-read on SIGHUP); connections in progress keep the one
  /// they started with.
  void replace_users(std::shared_ptr<const password_file> users);

 private:
  struct shared_state;
  std::shared_ptr<shared_state> state_;
  std::atomic<std::shared_ptr<const password_file>> users_;
  executor offload_;
};

}  // namespace acemq::auth
