#include "acemq/ace/discovery.hpp"

#include <boost/json.hpp>

#include "acemq/common/base64.hpp"

namespace acemq::ace {

cnonce_registry::cnonce_registry(std::size_t capacity, std::chrono::seconds lifetime,
                                 const clock& time, random_source& random)
    : capacity_(capacity == 0 ? 1 : capacity), lifetime_(lifetime), clock_(time), random_(random) {}

void cnonce_registry::purge_locked(clock::time_point now) {
  // Entries leave `order_` in issue order; a consumed one is already gone from `live_`.
  while (!order_.empty()) {
    const auto& [value, deadline] = order_.front();
    const auto live = live_.find(value);
    const bool consumed = live == live_.end() || live->second != deadline;
    if (!consumed && deadline > now && live_.size() < capacity_) break;
    if (!consumed) live_.erase(live);
    order_.pop_front();
  }
}

byte_vector cnonce_registry::issue() {
  byte_vector cnonce(cnonce_size);
  std::lock_guard lock(mutex_);
  random_.fill(cnonce);
  const auto now = clock_.now();
  purge_locked(now);
  const auto deadline = now + lifetime_;
  std::string key(as_string_view(cnonce));
  live_[key] = deadline;
  order_.emplace_back(std::move(key), deadline);
  return cnonce;
}

bool cnonce_registry::consume(byte_view cnonce) {
  std::lock_guard lock(mutex_);
  const auto now = clock_.now();
  const auto it = live_.find(std::string(as_string_view(cnonce)));
  if (it == live_.end()) return false;
  const bool fresh = it->second > now;
  live_.erase(it);
  purge_locked(now);
  return fresh;
}

std::size_t cnonce_registry::size() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

std::string build_as_hint(const discovery_settings& settings, std::string_view broker_audience,
                          const std::optional<byte_vector>& cnonce) {
  boost::json::object hint;
  // RFC 9200 5.3: "AS" is mandatory; the others are optional.
  hint["AS"] = settings.as_uri;
  hint["audience"] = settings.audience.empty() ? broker_audience : settings.audience;
  if (!settings.scope.empty()) hint["scope"] = settings.scope;
  if (cnonce) hint["cnonce"] = base64url_encode(*cnonce);
  return boost::json::serialize(hint);
}

}  // namespace acemq::ace
