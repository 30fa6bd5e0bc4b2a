#pragma once
// Token revocation (RFC 9431 issue requirement; RFC 9200 leaves the mechanism open): the broker
// polls the AS revocation list (/trl, changes since a cursor) and marks the live tokens it names,
// so their principals end at once and their connections are closed with 0x87.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
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
/// base64url(SHA-256(token)), "exp": n, "iat": n, "revoked_at": n}, ...]}` ("iat" and
/// "revoked_at" optional).
struct revocation_page {
  struct entry {
    std::string token_hash;
    std::int64_t expires_at = 0;
    std::int64_t revoked_at = 0;
    /// The revoked token's iat; absent from an AS that does not send it.
    std::optional<std::int64_t> issued_at = std::nullopt;
    /// The latest time the token can have been issued: iat, else revoked_at, else exp. A floor
    /// at this value refuses the token.
    std::int64_t issued_no_later_than() const noexcept {
      if (issued_at) return *issued_at;
      return revoked_at != 0 ? revoked_at : expires_at;
    }
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
/// tokens to mark when their hash is revoked. Thread-safe.
///
/// Bounded without ever letting a revoked token become valid again: when `max_entries` hashes
/// are held and another must be added, the entry with the oldest iat is dropped and the list
/// raises its floor to that iat; from then on every token issued at or before the floor (or
/// without iat) is refused, and live ones are marked revoked. Entries the floor covers are
/// dropped too. The floor is lifted once every token it dropped has expired (at most the
/// longest token lifetime later; docs/operations.md, "Limits and what happens at each bound").
class revocation_list {
 public:
  /// Called (outside the lock) for each live token newly marked revoked, e.g. to wake the
  /// connections holding it.
  using listener = std::function<void(const validated_token_ptr&)>;

  revocation_list(std::size_t max_entries, const clock& time);

  bool is_revoked(std::string_view hash_text) const;
  /// True when a floor is set and a token issued at `issued_at` (nullopt: no iat) is below it.
  bool below_floor(std::optional<std::int64_t> issued_at) const;
  /// The floor: tokens issued at or before it are refused; 0 when none.
  std::int64_t floor() const;
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
  struct revoked_token {
    std::int64_t expires_at = 0;
    std::int64_t issued_no_later_than = 0;
  };

  void purge_locked(std::int64_t now_unix);
  bool below_floor_locked(std::optional<std::int64_t> issued_at) const;
  /// Drops the entry of the oldest iat and raises the floor to it, with every entry it covers.
  void raise_floor_locked();

  const std::size_t max_entries_;
  const clock& clock_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, revoked_token> revoked_;
  std::int64_t floor_ = 0;
  std::int64_t floor_until_ = 0;  // the latest exp of a token the floor dropped
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
