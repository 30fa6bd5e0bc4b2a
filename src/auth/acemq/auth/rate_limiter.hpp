#pragma once
// Token buckets for failed authentication attempts, keyed by client identifier and by remote
// address. Each failure takes one token; tokens come back at a steady rate up to the burst size.
// While a key's bucket is empty, attempts under that key are refused before any password is
// checked (so the cost of argon2 is not an amplifier), with CONNACK 0x9F "connection rate
// exceeded" (MQTT 5.0 3.2.2.2; the broker maps it to 3.1.1 return code 5 "not authorized").

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "acemq/common/clock.hpp"

namespace acemq::auth {

/// Settings of one limiter.
struct rate_limit_settings {
  double burst = 5.0;                     ///< failures allowed back to back
  double refill_per_second = 1.0 / 12.0;  ///< one more failure allowed every 12 s
  std::size_t max_entries = 65'536;       ///< keys tracked; beyond it the least recently
                                          ///< touched key is forgotten
};

/// A bounded table of token buckets. Thread-safe.
///
/// At the bound the least recently touched entry is evicted, so an attacker who cycles through
/// more keys than `max_entries` within one refill period can shed their own history; this is the
/// documented trade-off against refusing every new key (which would let an attacker lock out all
/// clients by filling the table). Memory stays bounded either way.
class rate_limiter {
 public:
  rate_limiter(const clock& time, rate_limit_settings settings = {});

  /// Whether `key` may attempt authentication now (its bucket holds at least one token).
  bool allowed(std::string_view key);
  /// Records a failed attempt under `key` (takes one token).
  void record_failure(std::string_view key);
  /// Forgets `key` (after a success).
  void record_success(std::string_view key);

  std::size_t size() const;

 private:
  struct entry {
    double tokens = 0;
    clock::time_point updated{};
    std::list<std::string>::iterator recency;
  };
  double refilled(const entry& bucket, clock::time_point now) const;
  void touch(entry& bucket, std::string_view key);

  const clock& clock_;
  rate_limit_settings settings_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  std::list<std::string> recency_;  // front = most recently touched
};

}  // namespace acemq::auth
