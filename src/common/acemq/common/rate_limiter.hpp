#pragma once
// Token buckets by key (a remote address, a user name, a client): each attempt or failure takes
// one token; tokens come back at a steady rate up to the burst size. The one limiter of the
// project: the broker's password guessing and connection rates, the ACE authz-info uploads and
// the AS's endpoints all use it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "acemq/common/clock.hpp"

namespace acemq {

/// Settings of one limiter.
struct rate_limit_settings {
  double burst = 5.0;                     ///< tokens back to back
  double refill_per_second = 1.0 / 12.0;  ///< tokens regained per second (0: none)
  std::size_t max_entries = 65'536;       ///< keys tracked; beyond it the least recently
                                          ///< touched key is forgotten
};

/// A bounded table of token buckets. Thread-safe.
///
/// At the bound the least recently touched entry is evicted, so an attacker who cycles through
/// more keys than `max_entries` within one refill period can shed their own history; this is the
/// trade-off against refusing every new key (which would let an attacker lock out all clients
/// by filling the table). Memory stays bounded either way. A key never seen holds a full bucket.
class rate_limiter {
 public:
  explicit rate_limiter(const clock& time, rate_limit_settings settings = {});

  /// Whether `key`'s bucket holds at least one token now (takes none).
  bool allowed(std::string_view key);
  /// Takes one token from `key`'s bucket when it holds one; false (nothing taken) otherwise.
  bool try_take(std::string_view key);
  /// Takes one token from `key`'s bucket, down to empty (e.g. a failed attempt).
  void take(std::string_view key);
  /// Forgets `key`: its bucket is full again (e.g. after a success).
  void forget(std::string_view key);
  /// Whole seconds (at least 1) until `key`'s bucket holds a token, for Retry-After; 0 when it
  /// holds one now.
  std::int64_t seconds_until_allowed(std::string_view key);

  std::size_t size() const;

 private:
  struct entry {
    double tokens = 0;
    clock::time_point updated{};
    std::list<std::string>::iterator recency;
  };
  /// The entry of `key` refilled to now, created full (evicting the oldest at the bound).
  entry& refreshed_locked(std::string_view key, clock::time_point now);

  const clock& clock_;
  rate_limit_settings settings_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  std::list<std::string> recency_;  // front = most recently touched
};

/// The host part of "ip:port", "[v6]:port" or a bare address: limits apply per host, not per
/// socket.
std::string_view host_of(std::string_view remote_address) noexcept;

/// The key under which every per-address limit counts the peer at `remote_address` ("ip:port",
/// "[v6]:port" or a bare address): an IPv4 address as it is; an IPv4-mapped IPv6 address as its
/// IPv4 address (a dual-stack listener's view of an IPv4 peer); any other IPv6 address as its /64
/// prefix in canonical text ("2001:db8:1:2::/64"), scope dropped, because one host or subscriber
/// is commonly given a whole /64 (RFC 6177) and could otherwise take each share once per address
/// in it. Text that is no IP address: its host part (host_of) unchanged. Logs and audit records
/// keep showing the full address; only limits use this key.
std::string per_address_key(std::string_view remote_address);

}  // namespace acemq
