#include "acemq/auth/password_provider.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

#include "acemq/common/log.hpp"
#include "acemq/common/lru_cache.hpp"
#include "acemq/common/random.hpp"

namespace acemq::auth {

namespace {

/// A well-formed hash of a random password, checked for unknown users so that the time taken
/// does not reveal whether a user name exists.
const std::string& dummy_hash() {
  static const std::string hash = [] {
    auto hashed = hash_password("acemq-unknown-user", system_random::instance());
    return hashed ? *hashed : std::string{};
  }();
  return hash;
}

}  // namespace

struct password_provider::shared_state {
  shared_state(std::shared_ptr<const acl_store> acl_rules, const clock& time,
               password_provider_settings config)
      : acl(std::move(acl_rules)),
        settings(config),
        clock_(time),
        by_address(time, config.per_address),
        by_user(time, config.per_user),
        trusted(config.max_trusted) {}

  /// Whether `user` authenticated from `host` within settings.trusted_for.
  bool trusts(const std::string& pair) {
    std::lock_guard lock(trusted_mutex);
    const clock::time_point* until = trusted.find(pair);
    return until != nullptr && *until > clock_.now();
  }
  void trust(const std::string& pair) {
    std::lock_guard lock(trusted_mutex);
    trusted.put(pair, clock_.now() + settings.trusted_for);
  }

  std::shared_ptr<const acl_store> acl;
  password_provider_settings settings;
  const clock& clock_;
  rate_limiter by_address;
  rate_limiter by_user;
  std::mutex trusted_mutex;
  lru_cache<std::string, clock::time_point> trusted;  // "user\nhost" -> until
};

password_provider::password_provider(std::shared_ptr<const password_file> users,
                                     std::shared_ptr<const acl_store> acl, const clock& time,
                                     password_provider_settings settings, executor offload)
    : state_(std::make_shared<shared_state>(std::move(acl), time, settings)),
      users_(std::move(users)),
      offload_(std::move(offload)) {}

void password_provider::replace_users(std::shared_ptr<const password_file> users) {
  users_.store(std::move(users));
}

void password_provider::start(const broker::authentication_request& request, completion done) {
  // Enhanced authentication (an Authentication Method) belongs to another provider, and so does
  // a CONNECT without a User Name and Password.
  if (request.method || !request.username || !request.password) {
    done(broker::auth_step::pass());
    return;
  }
  const auto users = users_.load();
  const std::string* stored = users ? users->find(*request.username) : nullptr;
  if (!stored && state_->settings.pass_unknown_users) {
    done(broker::auth_step::pass());
    return;
  }
  // Per address: an IPv6 peer by its /64 (per_address_key); the log names the peer itself.
  const std::string host = per_address_key(request.remote_address);
  const std::string& user = *request.username;
  std::string pair = user;
  pair += '\n';
  pair += host;
  // Refuse before hashing while a bucket is empty: no argon2 work for a limited guesser. The
  // per-user bucket does not bind a host the user proved itself from: a stranger's guesses
  // cannot lock the user's own devices out. Nothing is keyed by the client identifier, which
  // the stranger chooses.
  const bool address_limited = !state_->by_address.allowed(host);
  if (address_limited || (!state_->by_user.allowed(user) && !state_->trusts(pair))) {
    spdlog::info("password: {} from {} rate limited ({})", request.client_id,
                 request.remote_address, address_limited ? "address" : "user name");
    done(broker::auth_step::fail(mqtt::reason_code::connection_rate_exceeded));
    return;
  }
  // Copy what the job needs: `request` is valid only during this call.
  auto job = [state = state_, known = stored != nullptr, encoded = stored ? *stored : dummy_hash(),
              username = user, client_id = request.client_id, password = *request.password, host,
              pair = std::move(pair), done = std::move(done)]() mutable {
    const auto check = verify_password(encoded, as_string_view(password), state->settings.bounds);
    // Overwrite the copy of the secret as soon as it is no longer needed.
    std::fill(password.begin(), password.end(), std::uint8_t{0});
    if (known && check == password_check::match) {
      state->trust(pair);
      done(broker::auth_step::succeed(
          std::make_shared<acl_principal>("password", username, client_id, username, state->acl)));
      return;
    }
    if (known && check == password_check::bad_hash) {
      spdlog::warn("password: stored hash of user {} is unusable", username);
    }
    // Unknown user names are charged like known ones: the limits do not reveal which exist.
    state->by_address.take(host);
    state->by_user.take(username);
    spdlog::info("password: authentication of {} failed", client_id);
    // MQTT 5.0 3.2.2.2: 0x86 Bad User Name or Password (3.1.1 return code 4).
    done(broker::auth_step::fail(mqtt::reason_code::bad_user_name_or_password));
  };
  if (offload_) {
    offload_(std::move(job));
  } else {
    job();
  }
}

void password_provider::continue_auth(const broker::authentication_request&, completion done) {
  // This provider never sends AUTH, so an AUTH continuing its exchange is a protocol error.
  done(broker::auth_step::fail(mqtt::reason_code::protocol_error));
}

void password_provider::reauthenticate(const broker::authentication_request&, completion done) {
  // MQTT 5.0 4.12.1: re-authentication uses the Authentication Method of the CONNECT; a password
  // connection has none.
  done(broker::auth_step::fail(mqtt::reason_code::bad_authentication_method));
}

}  // namespace acemq::auth
