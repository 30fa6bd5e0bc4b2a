#include "acemq/as/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace acemq::as {

std::int64_t rate_limiter::acquire(std::string_view key) {
  if (limit_.per_second <= 0) return 0;  // limits disabled
  std::lock_guard lock(mutex_);
  const auto now = clock_.now();
  auto it = buckets_.find(std::string(key));
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_ && !recency_.empty()) {
      buckets_.erase(recency_.back());
      recency_.pop_back();
    }
    recency_.emplace_front(key);
    it = buckets_.emplace(std::string(key), bucket{limit_.burst, now, recency_.begin()}).first;
  } else {
    recency_.splice(recency_.begin(), recency_, it->second.position);
    const double elapsed = std::chrono::duration<double>(now - it->second.updated).count();
    it->second.tokens = std::min(limit_.burst, it->second.tokens + elapsed * limit_.per_second);
    it->second.updated = now;
  }
  if (it->second.tokens >= 1.0) {
    it->second.tokens -= 1.0;
    return 0;
  }
  const double wait = (1.0 - it->second.tokens) / limit_.per_second;
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(wait)));
}

std::size_t rate_limiter::tracked() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace acemq::as
