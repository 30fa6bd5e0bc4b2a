#pragma once
// Token-bucket rate limits for /token, per client and per remote address. Bounded: at most
// `max_keys` buckets are tracked; when full, the least recently used bucket is dropped (a dropped
// bucket restarts full, which only ever errs towards allowing a request).

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "acemq/common/clock.hpp"

namespace acemq::as {

struct rate_limit {
  double per_second = 5.0;  // sustained rate
  double burst = 20.0;      // bucket size
};

class rate_limiter {
 public:
  rate_limiter(const clock& time_source, rate_limit limit, std::size_t max_keys = 10000)
      : clock_(time_source), limit_(limit), max_keys_(max_keys) {}

  /// Takes one token from `key`'s bucket. Returns 0 when allowed; otherwise the whole seconds
  /// (at least 1) until a token is available, for Retry-After.
  std::int64_t acquire(std::string_view key);

  std::size_t tracked() const;

 private:
  struct bucket {
    double tokens = 0;
    clock::time_point updated;
    std::list<std::string>::iterator position;
  };

  const clock& clock_;
  rate_limit limit_;
  std::size_t max_keys_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, bucket> buckets_;
  std::list<std::string> recency_;  // front = most recently used
};

}  // namespace acemq::as
