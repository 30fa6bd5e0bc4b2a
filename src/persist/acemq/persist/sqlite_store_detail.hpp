#pragma once
// Internal to acemq_persist (not installed): what the files of sqlite_store share — the operations
// the hooks record, the connection with its prepared statements, and the conversions between the
// broker's values and the rows.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "acemq/mqtt/detail/packet_codecs.hpp"
#include "acemq/mqtt/detail/wire.hpp"
#include "acemq/persist/sqlite_store.hpp"
#include "acemq/sqlite/database.hpp"
#include "acemq/sqlite/statement.hpp"

namespace acemq::persist {
namespace detail {

using broker::message;
using broker::message_ptr;
using broker::pending_will;
using broker::stored_delivery;
using broker::subscription_options;
using error_code = persistence_error::code;

// ----------------------------------------------------------------------------------------------
// Operations recorded by the hooks, applied in order by commit().

struct session_saved_op {
  std::string client_id;
  broker::owned_identity owner;
  std::uint32_t expiry_interval;
  std::optional<clock::time_point> detached_at;
};
struct session_ended_op {
  std::string client_id;
};
struct subscription_added_op {
  std::string client_id;
  std::string filter;
  subscription_options options;
};
struct subscription_removed_op {
  std::string client_id;
  std::string filter;
};
struct delivery_queued_op {
  std::string client_id;
  stored_delivery item;
};
struct delivery_sent_op {
  std::uint64_t key;
  std::uint16_t packet_id;
  std::uint64_t sequence;
};
struct delivery_released_op {
  std::uint64_t key;
};
struct delivery_removed_op {
  std::uint64_t key;
};
struct inbound_added_op {
  std::string client_id;
  std::uint16_t packet_id;
};
struct inbound_released_op {
  std::string client_id;
  std::uint16_t packet_id;
};
struct retained_set_op {
  message_ptr msg;
};
struct retained_cleared_op {
  std::string topic;
};
struct will_saved_op {
  std::string client_id;
  pending_will will;
};
struct will_cleared_op {
  std::string client_id;
};
struct token_put_op {
  std::string key;
  byte_vector value;
  std::int64_t expires_at_unix;
};
struct token_removed_op {
  std::string key;
};

// ----------------------------------------------------------------------------------------------
// Errors and rows.

/// The store's error for a failure of the SQLite layer.
inline persistence_error to_persistence_error(sqlite::error failure) {
  error_code reason = error_code::io;
  if (failure.code == sqlite::errc::corrupt) reason = error_code::corrupt;
  if (failure.code == sqlite::errc::schema_too_new) reason = error_code::schema_too_new;
  return {reason, std::move(failure.message)};
}

/// Runs a reusable statement that returns no rows, then resets it.
inline result<void, persistence_error> run(sqlite::statement& stmt, std::string_view what) {
  if (auto done = stmt.run(what); !done) return unexpected(to_persistence_error(done.error()));
  return {};
}

// Delivery stages in the deliveries table.
enum class stored_stage : std::uint8_t {
  queued = 0x00,
  publish_sent = 0x01,  // inflight_entry::stage::publish_sent
  pubrel_sent = 0x02,   // inflight_entry::stage::pubrel_sent
};

/// Steady clock <-> seconds since the epoch, anchored once per commit or load.
class time_anchor {
 public:
  explicit time_anchor(const clock& time) : steady_(time.now()), unix_(time.unix_seconds()) {}
  std::int64_t to_unix(clock::time_point at) const {
    return unix_ + std::chrono::duration_cast<std::chrono::seconds>(at - steady_).count();
  }
  std::optional<std::int64_t> to_unix(const std::optional<clock::time_point>& at) const {
    if (!at) return std::nullopt;
    return to_unix(*at);
  }
  clock::time_point from_unix(std::int64_t seconds) const {
    // Clamped so a corrupt value cannot overflow the duration arithmetic.
    constexpr std::int64_t bound = std::int64_t{1} << 40;
    const std::int64_t delta = std::clamp<std::int64_t>(seconds - unix_, -bound, bound);
    return steady_ + std::chrono::duration_cast<clock::duration>(std::chrono::seconds(delta));
  }

 private:
  clock::time_point steady_;
  std::int64_t unix_;
};

inline std::int64_t as_int(std::uint64_t value) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(
      value, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())));
}

/// The forwarded PUBLISH properties in their MQTT wire form (MQTT 5.0 2.2.2), so the reader is
/// the codec's fuzzed decoder.
inline byte_vector encode_properties(const mqtt::properties& props) {
  byte_vector out;
  mqtt::detail::write_properties(props, out);
  return out;
}

inline byte_vector encode_identifiers(const std::vector<std::uint32_t>& identifiers) {
  mqtt::properties props;
  props.subscription_identifiers = identifiers;
  return encode_properties(props);
}

inline std::optional<mqtt::properties> decode_properties(byte_view bytes) {
  mqtt::detail::reader in(bytes);
  auto decoded = mqtt::detail::read_properties(in, mqtt::detail::property_context::publish);
  if (!decoded || !in.empty()) return std::nullopt;
  return std::move(*decoded);
}

inline persistence_error corrupt_row(std::string_view table) {
  return {error_code::corrupt, "invalid row in table " + std::string(table)};
}

}  // namespace detail

struct sqlite_store::operation {
  std::variant<detail::session_saved_op, detail::session_ended_op, detail::subscription_added_op,
               detail::subscription_removed_op, detail::delivery_queued_op,
               detail::delivery_sent_op, detail::delivery_released_op, detail::delivery_removed_op,
               detail::inbound_added_op, detail::inbound_released_op, detail::retained_set_op,
               detail::retained_cleared_op, detail::will_saved_op, detail::will_cleared_op,
               detail::token_put_op, detail::token_removed_op>
      change;
};

/// The connection and its statements, prepared once (after migration) and reused by every commit.
struct sqlite_store::database {
  explicit database(sqlite::database opened) : connection(std::move(opened)) {}
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  /// Checks that the file is an acemq-broker database and brings its schema up to date.
  result<void, persistence_error> check_and_migrate(std::int64_t now_unix);
  result<void, persistence_error> prepare_all();

  // Declared first so the statements are finalized before the connection closes.
  sqlite::database connection;
  std::vector<std::unique_ptr<sqlite::statement>> statements;
  using statement = sqlite::statement;
  statement* session_upsert = nullptr;
  statement* session_delete = nullptr;
  statement* subscriptions_delete_all = nullptr;
  statement* inbound_delete_all = nullptr;
  statement* will_delete = nullptr;
  statement* messages_of_client = nullptr;
  statement* deliveries_delete_all = nullptr;
  statement* subscription_upsert = nullptr;
  statement* subscription_delete = nullptr;
  statement* message_insert = nullptr;
  statement* delivery_insert = nullptr;
  statement* delivery_sent = nullptr;
  statement* delivery_released = nullptr;
  statement* delivery_message = nullptr;
  statement* delivery_delete = nullptr;
  statement* message_delete_orphan = nullptr;
  statement* inbound_insert = nullptr;
  statement* inbound_delete = nullptr;
  statement* retained_upsert = nullptr;
  statement* retained_delete = nullptr;
  statement* will_upsert = nullptr;
  statement* token_upsert = nullptr;
  statement* token_delete = nullptr;

 private:
  result<void, persistence_error> prepare(statement*& slot, const char* sql);
};

}  // namespace acemq::persist
