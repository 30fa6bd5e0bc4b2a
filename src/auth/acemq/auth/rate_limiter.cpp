#include "acemq/auth/rate_limiter.hpp"

#include <algorithm>

namespace acemq::auth {

rate_limiter::rate_limiter(const clock& time, rate_limit_settings settings)
    : clock_(time), settings_(settings) {
  settings_.max_entries = std::max<std::size_t>(settings_.max_entries, 1);
  settings_.burst = std::max(settings_.burst, 1.0);
}

double rate_limiter::refilled(const entry& bucket, clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - bucket.updated).count();
  return std::min(settings_.burst,
                  bucket.tokens + std::max(elapsed, 0.0) * settings_.refill_per_second);
}

void rate_limiter::touch(entry& bucket, std::string_view) {
  recency_.splice(recency_.begin(), recency_, bucket.recency);
}

bool rate_limiter::allowed(std::string_view key) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(std::string(key));
  if (it == entries_.end()) return true;
  return refilled(it->second, clock_.now()) >= 1.0;
}

void rate_limiter::record_failure(std::string_view key) {
  std::lock_guard lock(mutex_);
  const auto now = clock_.now();
  auto it = entries_.find(std::string(key));
  if (it == entries_.end()) {
    if (entries_.size() >= settings_.max_entries) {
      // Bounded table: forget the least recently touched key (see the class comment).
      entries_.erase(recency_.back());
      recency_.pop_back();
    }
    recency_.emplace_front(key);
    it = entries_.emplace(std::string(key), entry{settings_.burst, now, recency_.begin()}).first;
  }
  entry& bucket = it->second;
  bucket.tokens = std::max(refilled(bucket, now) - 1.0, 0.0);
  bucket.updated = now;
  touch(bucket, key);
}

void rate_limiter::record_success(std::string_view key) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(std::string(key));
  if (it == entries_.end()) return;
  recency_.erase(it->second.recency);
  entries_.erase(it);
}

std::size_t rate_limiter::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace acemq::auth
