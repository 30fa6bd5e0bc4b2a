#include "acemq/auth/password_provider.hpp"

#include <algorithm>
#include <utility>

#include "acemq/common/log.hpp"
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

std::string address_without_port(std::string_view remote_address) {
  if (!remote_address.empty() && remote_address.front() == '[') {
    const std::size_t close = remote_address.find(']');
    if (close != std::string_view::npos) return std::string(remote_address.substr(1, close - 1));
    return std::string(remote_address);
  }
  const std::size_t colon = remote_address.find(':');
  if (colon != std::string_view::npos && remote_address.find(':', colon + 1) == std::string::npos)
    return std::string(remote_address.substr(0, colon));
  return std::string(remote_address);  // a bare IPv6 address or no port
}

struct password_provider::shared_state {
  shared_state(std::shared_ptr<const acl_store> acl_rules, const clock& time,
               password_provider_settings config)
      : acl(std::move(acl_rules)),
        settings(config),
        by_client_id(time, config.per_client_id),
        by_address(time, config.per_address) {}

  std::shared_ptr<const acl_store> acl;
  password_provider_settings settings;
  rate_limiter by_client_id;
  rate_limiter by_address;
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
  const std::string client_key = "client:" + request.client_id;
  const std::string address_key = "address:" + address_without_port(request.remote_address);
  // Refuse before hashing while either bucket is empty: no argon2 work for a limited client.
  if (!state_->by_client_id.allowed(client_key) || !state_->by_address.allowed(address_key)) {
    spdlog::info("password: {} from {} rate limited", request.client_id, request.remote_address);
    done(broker::auth_step::fail(mqtt::reason_code::connection_rate_exceeded));
    return;
  }
  // Copy what the job needs: `request` is valid only during this call.
  auto job = [state = state_, known = stored != nullptr, encoded = stored ? *stored : dummy_hash(),
              username = *request.username, client_id = request.client_id,
              password = *request.password, client_key, address_key,
              done = std::move(done)]() mutable {
    const auto check = verify_password(encoded, as_string_view(password), state->settings.bounds);
    // Overwrite the copy of the secret as soon as it is no longer needed.
    std::fill(password.begin(), password.end(), std::uint8_t{0});
    if (known && check == password_check::match) {
      state->by_client_id.record_success(client_key);
      done(broker::auth_step::succeed(
          std::make_shared<acl_principal>("password", username, client_id, username, state->acl)));
      return;
    }
    if (known && check == password_check::bad_hash) {
      spdlog::warn("password: stored hash of user {} is unusable", username);
    }
    state->by_client_id.record_failure(client_key);
    state->by_address.record_failure(address_key);
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
