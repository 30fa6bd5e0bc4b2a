#include "acemq/common/rate_limiter.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>

namespace acemq {

rate_limiter::rate_limiter(const clock& time, rate_limit_settings settings)
    : clock_(time), settings_(settings) {
  settings_.max_entries = std::max<std::size_t>(settings_.max_entries, 1);
  settings_.burst = std::max(settings_.burst, 1.0);
  settings_.refill_per_second = std::max(settings_.refill_per_second, 0.0);
}

rate_limiter::entry& rate_limiter::refreshed_locked(std::string_view key, clock::time_point now) {
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) {
    if (entries_.size() >= settings_.max_entries) {
      // Bounded table: forget the least recently touched key (see the class comment).
      entries_.erase(recency_.back());
      recency_.pop_back();
    }
    recency_.emplace_front(key);
    it = entries_.emplace(std::string(key), entry{settings_.burst, now, recency_.begin()}).first;
    return it->second;
  }
  entry& bucket = it->second;
  recency_.splice(recency_.begin(), recency_, bucket.recency);
  const double elapsed = std::max(std::chrono::duration<double>(now - bucket.updated).count(), 0.0);
  bucket.tokens = std::min(settings_.burst, bucket.tokens + elapsed * settings_.refill_per_second);
  bucket.updated = now;
  return bucket;
}

bool rate_limiter::allowed(std::string_view key) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(std::string(key));
  if (it == entries_.end()) return true;
  return refreshed_locked(key, clock_.now()).tokens >= 1.0;
}

bool rate_limiter::try_take(std::string_view key) {
  std::lock_guard lock(mutex_);
  entry& bucket = refreshed_locked(key, clock_.now());
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  return true;
}

void rate_limiter::take(std::string_view key) {
  std::lock_guard lock(mutex_);
  entry& bucket = refreshed_locked(key, clock_.now());
  bucket.tokens = std::max(bucket.tokens - 1.0, 0.0);
}

void rate_limiter::forget(std::string_view key) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(std::string(key));
  if (it == entries_.end()) return;
  recency_.erase(it->second.recency);
  entries_.erase(it);
}

std::int64_t rate_limiter::seconds_until_allowed(std::string_view key) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(std::string(key));
  if (it == entries_.end()) return 0;
  const entry& bucket = refreshed_locked(key, clock_.now());
  if (bucket.tokens >= 1.0) return 0;
  if (settings_.refill_per_second <= 0) return std::numeric_limits<std::int32_t>::max();
  const double wait = (1.0 - bucket.tokens) / settings_.refill_per_second;
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait)));
}

std::size_t rate_limiter::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::string_view host_of(std::string_view remote_address) noexcept {
  if (!remote_address.empty() && remote_address.front() == '[') {
    const auto close = remote_address.find(']');
    return close == std::string_view::npos ? remote_address : remote_address.substr(1, close - 1);
  }
  const auto colon = remote_address.rfind(':');
  // More than one colon without brackets is a bare IPv6 address: no port to strip.
  if (colon == std::string_view::npos || remote_address.find(':') != colon) return remote_address;
  return remote_address.substr(0, colon);
}

std::string per_address_key(std::string_view remote_address) {
  const std::string_view host = host_of(remote_address);
  // inet_pton wants a terminated string without a zone ("fe80::1%eth0"); no address is longer
  // than INET6_ADDRSTRLEN.
  const std::string_view address = host.substr(0, host.find('%'));
  if (address.size() >= INET6_ADDRSTRLEN) return std::string(host);
  std::array<char, INET6_ADDRSTRLEN> text{};
  std::copy(address.begin(), address.end(), text.begin());
  in_addr v4{};
  if (inet_pton(AF_INET, text.data(), &v4) == 1 && address.size() == host.size()) {
    return std::string(address);
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.data(), &v6) != 1) return std::string(host);
  std::array<char, INET6_ADDRSTRLEN> written{};
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    // ::ffff:a.b.c.d (RFC 4291 2.5.5.2): the IPv4 peer a.b.c.d.
    std::memcpy(&v4.s_addr, &v6.s6_addr[12], sizeof v4.s_addr);
    inet_ntop(AF_INET, &v4, written.data(), written.size());
    return written.data();
  }
  // RFC 4291 2.5.4: the first 64 bits are the subnet prefix; the interface identifier is the
  // host's own choice.
  std::fill(std::begin(v6.s6_addr) + 8, std::end(v6.s6_addr), 0);
  inet_ntop(AF_INET6, &v6, written.data(), written.size());
  return std::string(written.data()) + "/64";
}

}  // namespace acemq
