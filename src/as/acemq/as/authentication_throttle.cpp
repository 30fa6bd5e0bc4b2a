#include "acemq/as/authentication_throttle.hpp"

#include <algorithm>

namespace acemq::as {

authentication_throttle::authentication_throttle(const clock& time,
                                                 authentication_throttle_settings settings)
    : clock_(time),
      settings_(settings),
      by_address_(time, settings.per_address),
      by_identity_(time, settings.per_identity),
      trusted_(settings.max_trusted) {}

std::string authentication_throttle::pair_of(std::string_view identity, std::string_view host) {
  std::string pair(identity);
  pair += '\0';
  pair += host;
  return pair;
}

bool authentication_throttle::trusts(const std::string& pair) {
  std::lock_guard lock(trusted_mutex_);
  const clock::time_point* until = trusted_.find(pair);
  return until != nullptr && *until > clock_.now();
}

std::int64_t authentication_throttle::wait_before_check(std::string_view identity,
                                                        std::string_view host) {
  // A limit without a refill rate is off.
  std::int64_t wait = 0;
  if (settings_.per_address.refill_per_second > 0 && !by_address_.allowed(host)) {
    wait = by_address_.seconds_until_allowed(host);
  }
  if (settings_.per_identity.refill_per_second > 0 && !by_identity_.allowed(identity) &&
      !trusts(pair_of(identity, host))) {
    wait = std::max(wait, by_identity_.seconds_until_allowed(identity));
  }
  return wait;
}

void authentication_throttle::failed(std::string_view identity, std::string_view host) {
  if (settings_.per_address.refill_per_second > 0) by_address_.take(host);
  if (settings_.per_identity.refill_per_second > 0) by_identity_.take(identity);
}

void authentication_throttle::succeeded(std::string_view identity, std::string_view host) {
  std::lock_guard lock(trusted_mutex_);
  trusted_.put(pair_of(identity, host), clock_.now() + settings_.trusted_for);
}

}  // namespace acemq::as
