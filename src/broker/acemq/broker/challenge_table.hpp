#pragma once
// The outstanding AUTH 0x18 challenges of a provider that sends them (ACE challenge/response,
// RFC 9431 2.2.4.2.2; the device-JWT nonce). One table for every such provider:
//  * a challenge belongs to one connection (listener + remote address and port): at most one
//    per connection, taken out by the answer whatever its outcome (single use), forgotten when
//    the connection closes (authenticator::connection_closed) or at its deadline;
//  * bounded in total and per remote host (per_address_key: an IPv6 peer's /64), so no single
//    source can fill it: at a bound, expired entries are purged first, then the new challenge is
//    refused (the provider answers 0x89 Server busy).
// Thread-safe.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "acemq/broker/auth_provider.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/rate_limiter.hpp"

namespace acemq::broker {

/// The bounds of a challenge_table.
struct challenge_limits {
  /// Challenges outstanding at once.
  std::size_t max_total = 10'000;
  /// Challenges outstanding at once from one remote host (per_address_key: port ignored, an
  /// IPv6 peer counts as its /64); never more than half of max_total, so one host cannot fill
  /// the table.
  std::size_t max_per_host = 100;
  /// How long a challenge waits for its answer.
  std::chrono::seconds timeout{30};
};

/// The connection a challenge belongs to: its listener and the peer's address and port.
inline std::string challenge_owner(std::string_view listener_name,
                                   std::string_view remote_address) {
  std::string key(listener_name);
  key += '\n';
  key += remote_address;
  return key;
}

/// The connection of an authentication request (challenge_owner).
inline std::string challenge_owner(const authentication_request& request) {
  return challenge_owner(request.listener_name, request.remote_address);
}

template <typename Payload>
class challenge_table {
 public:
  challenge_table(challenge_limits limits, const clock& time) : limits_(limits), clock_(time) {
    limits_.max_total = std::max<std::size_t>(limits_.max_total, 1);
    limits_.max_per_host = std::clamp<std::size_t>(limits_.max_per_host, 1,
                                                   std::max<std::size_t>(limits_.max_total / 2, 1));
  }

  /// Holds `payload` as the challenge of connection `owner`, replacing one it had. False, and
  /// nothing held, when the table or the owner's host is at its bound.
  bool hold(const std::string& owner, Payload payload) {
    const auto now = clock_.now();
    const std::string host = per_address_key(owner.substr(owner.find('\n') + 1));
    std::lock_guard lock(mutex_);
    remove_locked(owner);
    if (at_bound_locked(host)) {
      purge_expired_locked(now);
      if (at_bound_locked(host)) return false;
    }
    entries_.emplace(owner, entry{std::move(payload), now + limits_.timeout, host});
    ++per_host_[host];
    return true;
  }

  /// Takes the challenge of connection `owner` out (single use): nullopt when it has none or
  /// the challenge's deadline passed.
  std::optional<Payload> take(const std::string& owner) {
    std::lock_guard lock(mutex_);
    const auto found = entries_.find(owner);
    if (found == entries_.end()) return std::nullopt;
    std::optional<Payload> taken;
    if (found->second.deadline > clock_.now()) taken = std::move(found->second.payload);
    forget_locked(found);
    return taken;
  }

  /// Forgets the challenge of connection `owner` (its connection closed).
  void release(const std::string& owner) {
    std::lock_guard lock(mutex_);
    remove_locked(owner);
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
  }

 private:
  struct entry {
    Payload payload;
    clock::time_point deadline;
    std::string host;
  };
  using iterator = typename std::unordered_map<std::string, entry>::iterator;

  bool at_bound_locked(const std::string& host) const {
    if (entries_.size() >= limits_.max_total) return true;
    const auto counted = per_host_.find(host);
    return counted != per_host_.end() && counted->second >= limits_.max_per_host;
  }
  void forget_locked(iterator found) {
    const auto counted = per_host_.find(found->second.host);
    if (counted != per_host_.end() && --counted->second == 0) per_host_.erase(counted);
    entries_.erase(found);
  }
  void remove_locked(const std::string& owner) {
    if (const auto found = entries_.find(owner); found != entries_.end()) forget_locked(found);
  }
  void purge_expired_locked(clock::time_point now) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      const auto current = it++;
      if (current->second.deadline <= now) forget_locked(current);
    }
  }

  challenge_limits limits_;
  const clock& clock_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry> entries_;
  std::unordered_map<std::string, std::size_t> per_host_;
};

}  // namespace acemq::broker
