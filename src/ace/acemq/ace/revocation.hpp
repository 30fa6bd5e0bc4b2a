#pragma once
// Token revocation (RFC 9431 issue requirement; RFC 9200 leaves the mechanism open): the broker
// polls the AS revocation list (/trl, changes since a cursor) and marks the live tokens it names,
// so their principals end at once and their connections are closed with 0x87.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "acemq/ace/as_client.hpp"
#include "acemq/ace/validation.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/failure.hpp"

namespace acemq::ace {

/// One page of the AS revocation list: `{"cursor": n, "more": bool, "revoked": [{"token_hash":
/// base64url(SHA-256(token)), "exp": n, "revoked_at": n}, ...]}`.
struct revocation_page {
  struct entry {
    std::string token_hash;
    std::int64_t expires_at = 0;
    std::int64_t revoked_at = 0;
  };
  std::int64_t cursor = 0;
  bool more = false;
  std::vector<entry> revoked;
};

/// Parses a /trl body; anything else than that shape -> bad_encoding; more than `max_entries`
/// entries -> too_large.
result<revocation_page, token::failure> parse_revocation_page(std::string_view json,
                                                              std::size_t max_entries = 10'000);

/// Revoked token hashes (each kept until its token would have expired anyway) and the live
/// tokens to mark when their hash is revoked. Bounded; thread-safe.
class revocation_list {
 public:
  /// Called (outside the lock) for each live token newly marked revoked, e.g. to wake the
  /// connections holding it.
  using listener = std::function<void(const validated_token_ptr&)>;

  revocation_list(std::size_t max_entries, const clock& time);

  bool is_revoked(std::string_view hash_text) const;
  /// Remembers a live token so a later revocation can mark it (weakly held).
  void track(const validated_token_ptr& token);
  /// Applies a page: records the hashes, marks tracked tokens, advances the cursor. Returns the
  /// number of live tokens newly marked.
  std::size_t apply(const revocation_page& page);
  /// The cursor to ask the AS from next.
  std::int64_t cursor() const;
  void set_listener(listener on_revoked);
  std::size_t size() const;

 private:
  void purge_locked(std::int64_t now_unix);

  const std::size_t max_entries_;
  const clock& clock_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::int64_t> revoked_;  // hash -> exp
  std::unordered_multimap<std::string, std::weak_ptr<const validated_token>> live_;
  std::size_t live_high_water_ = 64;
  std::int64_t cursor_ = 0;
  listener listener_;
};

/// Drives the polling: call tick() from a periodic timer (any thread); it starts a fetch when
/// the interval has passed and none is in flight, and follows "more" pages at once.
class revocation_poller : public std::enable_shared_from_this<revocation_poller> {
 public:
  revocation_poller(as_client& client, revocation_list& list, std::chrono::milliseconds interval,
                    const clock& time);
  void tick();
  /// Number of pages applied and of failed fetches (for metrics and tests).
  std::uint64_t pages_applied() const;
  std::uint64_t failures() const;

 private:
  void fetch();
  void on_page(result<std::string, as_error> body);

  as_client& client_;
  revocation_list& list_;
  const std::chrono::milliseconds interval_;
  const clock& clock_;
  mutable std::mutex mutex_;
  bool in_flight_ = false;
  bool started_ = false;
  clock::time_point last_start_{};
  std::uint64_t pages_ = 0;
  std::uint64_t failures_ = 0;
};

}  // namespace acemq::ace
