#pragma once
// Username/password authentication against the argon2id password file (MQTT 5.0 3.1.3.5 and
// 3.1.3.6: the User Name and Password of CONNECT). Failed attempts are rate limited per client
// identifier and per remote address (see rate_limiter.hpp).

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "acemq/auth/acl.hpp"
#include "acemq/auth/password_file.hpp"
#include "acemq/auth/rate_limiter.hpp"
#include "acemq/broker/auth.hpp"
#include "acemq/common/clock.hpp"

namespace acemq::auth {

/// Runs a job, possibly on another thread: argon2 costs tens of milliseconds, so a production
/// broker hands it to a worker pool instead of stalling an I/O thread. Empty = run inline.
using executor = std::function<void(std::function<void()>)>;

struct password_provider_settings {
  argon2_bounds bounds;
  rate_limit_settings per_client_id;
  rate_limit_settings per_address;
  /// false (default): an unknown user name is refused with 0x86 after a dummy argon2 check, so
  /// neither the reason code nor the timing reveals which user names exist. true: unknown users
  /// are left to the next provider (for chains where another provider also reads CONNECT's
  /// User Name / Password, e.g. ACE over MQTT 3.1.1).
  bool pass_unknown_users = false;
};

/// The address part of "ip:port" or "[ipv6]:port" (what the rate limiter keys on).
std::string address_without_port(std::string_view remote_address);

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
