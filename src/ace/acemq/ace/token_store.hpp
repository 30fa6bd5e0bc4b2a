#pragma once
// The broker's token store (RFC 9431 2.2.2 and 2.4.2): tokens uploaded to authz-info or used in
// an earlier connection, kept for later connections. One token per PoP key: a newer token for
// the same key replaces the older (RFC 9200 5.10.1). Bounded, because authz-info is public
// (RFC 9431 section 8):
//  * at most `max_tokens` entries; when full, expired or revoked tokens are dropped first, then
//    the least recently used token (an upload or a successful use counts as a use);
//  * uploads are rate-limited per remote address (an IPv6 /64) with a token bucket; the limiter
//    itself tracks at most `max_tracked_addresses` addresses (the least recently seen is
//    forgotten).
// Thread-safe.

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "acemq/ace/ace_settings.hpp"
#include "acemq/ace/principal.hpp"
#include "acemq/ace/validation.hpp"
#include "acemq/common/bytes.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/lru_cache.hpp"
#include "acemq/common/rate_limiter.hpp"

namespace acemq::ace {

/// Client names one held token is indexed by (and its journal record carries).
inline constexpr std::size_t max_token_names = 16;

/// Where the store records what it holds, so a restarted broker can load it again (the broker's
/// persistence; RFC 9431 2.4.2: tokens outlive connections). Called with the store's lock held:
/// implementations must be quick and must not call back into the store.
class token_journal {
 public:
  virtual ~token_journal() = default;
  /// `token` is held under `key_identity`, known by the client names `names`.
  virtual void saved(std::string_view key_identity, const validated_token& token,
                     const std::vector<std::string>& names) = 0;
  /// Nothing is held under `key_identity` any more (evicted, expired or revoked).
  virtual void removed(std::string_view key_identity) = 0;
};

/// The journal's record of one token: its bytes and the client names (the bytes are validated
/// again when the broker restarts). Bounded decoding: a record that does not parse is nullopt.
struct journal_record {
  byte_vector raw;
  std::vector<std::string> names;
};
byte_vector encode_journal_record(const validated_token& token,
                                  const std::vector<std::string>& names);
std::optional<journal_record> decode_journal_record(byte_view record);

class token_store {
 public:
  token_store(const token_store_limits& limits, const clock& time);

  /// Charges one upload to `remote_address` ("ip:port", counted by its per_address_key: the port
  /// is ignored, an IPv6 peer counts as its /64); false when the address is over its rate.
  bool allow_upload(std::string_view remote_address);

  /// Stores `token` under its PoP key identity, replacing an older token for the same key, and
  /// indexes it by `client_id` (when not empty), by the token's client_id/sub claims and by its
  /// PoP key id. A token is known by at most max_token_names client names, the most recently
  /// used ones: a client connecting under an older name must present the token again.
  /// Every slot belongs to the holder of the live token in it (holder_of): a token of another
  /// holder neither replaces that token (put returns false, nothing changes) nor takes over a
  /// client name or a key id that points at it (those names are left out of its index).
  bool put(const validated_token_ptr& token, std::string_view client_id);

  /// The token held for an MQTT client identifier (RFC 9431 2.2.4.2.2: a CONNECT without a
  /// token), or null. Expired and revoked tokens are not returned.
  validated_token_ptr find_for_client(std::string_view client_id);
  /// The token whose PoP key has key id `kid` (TLS-PSK identity, cnf by kid), or null.
  validated_token_ptr find_by_kid(byte_view kid);

  std::size_t size() const;
  /// Records every later change in `journal` (null: none); it must outlive the store. Set
  /// before the store is used.
  void set_journal(token_journal* journal);
  /// Tokens dropped to make room, and replaced by a newer token for the same key.
  std::uint64_t evictions() const;
  std::uint64_t replacements() const;

 private:
  struct entry {
    validated_token_ptr token;
    std::vector<std::string> names;  // client index keys pointing here
    std::optional<std::string> kid;  // kid index key pointing here
  };

  validated_token_ptr usable_locked(const std::string& identity);
  /// Whether an index entry pointing at key identity `current` may be pointed at a token of
  /// `holder`: the token there is gone or ended, or has the same holder.
  bool may_take_locked(const std::string& current, const broker::principal_identity& holder);
  void forget_locked(const std::string& identity, const entry& gone);
  void make_room_locked();

  const token_store_limits limits_;
  const clock& clock_;
  mutable std::mutex mutex_;
  lru_cache<std::string, entry> by_key_;
  std::unordered_map<std::string, std::string> by_client_;  // client id -> key identity
  std::unordered_map<std::string, std::string> by_kid_;     // kid bytes -> key identity
  rate_limiter uploads_;                                    // by host
  token_journal* journal_ = nullptr;
  std::uint64_t evictions_ = 0;
  std::uint64_t replacements_ = 0;
};

}  // namespace acemq::ace
