#include "acemq/persist/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <limits>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>

#include "acemq/common/utf8.hpp"
#include "acemq/mqtt/detail/codec.hpp"
#include "acemq/mqtt/detail/wire.hpp"

namespace acemq::persist {

using broker::message;
using broker::message_ptr;
using broker::pending_will;
using broker::stored_delivery;
using broker::subscription_options;
using error_code = persistence_error::code;

// ----------------------------------------------------------------------------------------------
// Operations recorded by the hooks, applied in order by commit().

namespace {

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

}  // namespace

struct sqlite_store::operation {
  std::variant<session_saved_op, session_ended_op, subscription_added_op, subscription_removed_op,
               delivery_queued_op, delivery_sent_op, delivery_released_op, delivery_removed_op,
               inbound_added_op, inbound_released_op, retained_set_op, retained_cleared_op,
               will_saved_op, will_cleared_op, token_put_op, token_removed_op>
      change;
};

// ----------------------------------------------------------------------------------------------
// SQLite plumbing.

namespace {

persistence_error make_error(sqlite3* db, error_code reason, std::string_view what) {
  std::string text(what);
  if (db != nullptr) {
    text += ": ";
    text += sqlite3_errmsg(db);
  }
  return {reason, std::move(text)};
}

error_code classify(int rc) {
  const int primary = rc & 0xff;
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) return error_code::corrupt;
  return error_code::io;
}

/// A prepared statement, reset after each use; positional binding (1-based), columns 0-based.
class statement {
 public:
  statement(sqlite3* db, const char* sql, bool persistent = false) : db_(db) {
    rc_ = sqlite3_prepare_v3(db, sql, -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0, &stmt_,
                             nullptr);
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  bool prepared() const noexcept { return rc_ == SQLITE_OK && stmt_ != nullptr; }
  persistence_error error(std::string_view what) const {
    return make_error(db_, classify(rc_), what);
  }

  statement& bind(int index, std::string_view text) {
    if (rc_ == SQLITE_OK) {
      rc_ = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
    }
    return *this;
  }
  statement& bind_blob(int index, byte_view bytes) {
    if (rc_ == SQLITE_OK) {
      // A zero-length blob, not NULL, for an empty payload.
      static constexpr std::uint8_t empty = 0;
      rc_ = sqlite3_bind_blob64(stmt_, index, bytes.empty() ? &empty : bytes.data(), bytes.size(),
                                SQLITE_STATIC);
    }
    return *this;
  }
  statement& bind(int index, std::int64_t number) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, index, number);
    return *this;
  }
  statement& bind(int index, std::optional<std::int64_t> number) {
    if (!number) return bind_null(index);
    return bind(index, *number);
  }
  statement& bind_null(int index) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_null(stmt_, index);
    return *this;
  }

  /// Steps once: true when a row is available; false when done or on error (check ok()).
  bool step() {
    if (rc_ != SQLITE_OK && rc_ != SQLITE_ROW) return false;
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) {
      rc_ = SQLITE_ROW;
      return true;
    }
    rc_ = rc == SQLITE_DONE ? SQLITE_OK : rc;
    return false;
  }
  bool ok() const noexcept { return rc_ == SQLITE_OK || rc_ == SQLITE_ROW; }
  /// Makes the statement reusable; keeps an error for error().
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    if (rc_ == SQLITE_ROW) rc_ = SQLITE_OK;
  }

  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::string text(int column) const {
    const auto* data = sqlite3_column_text(stmt_, column);
    const int size = sqlite3_column_bytes(stmt_, column);
    if (data == nullptr || size <= 0) return {};
    return std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size));
  }
  byte_vector blob(int column) const {
    const auto* data = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, column));
    const int size = sqlite3_column_bytes(stmt_, column);
    if (data == nullptr || size <= 0) return {};
    return byte_vector(data, data + size);
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

/// Runs a reusable statement that returns no rows, then resets it.
result<void, persistence_error> run(statement& stmt, std::string_view what) {
  if (!stmt.prepared()) return unexpected(stmt.error(what));
  stmt.step();
  if (!stmt.ok()) {
    auto error = stmt.error(what);
    stmt.reset();
    return unexpected(std::move(error));
  }
  stmt.reset();
  return {};
}

result<void, persistence_error> exec(sqlite3* db, const char* sql, std::string_view what) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return {};
  std::string text(what);
  text += ": ";
  text += message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return unexpected(persistence_error{classify(rc), std::move(text)});
}

/// A transaction rolled back unless committed.
class transaction {
 public:
  explicit transaction(sqlite3* db) : db_(db) {
    active_ = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~transaction() {
    if (active_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  bool active() const noexcept { return active_; }
  result<void, persistence_error> commit() {
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return unexpected(make_error(db_, error_code::io, "commit"));
    }
    active_ = false;
    return {};
  }

 private:
  sqlite3* db_;
  bool active_ = false;
};

// Schema migrations, in order: entry i takes the database from version i to version i + 1.
// Never edit a released entry; append a new one and raise sqlite_store::schema_version.
// Times are seconds since the epoch (clock::unix_seconds), so they survive a restart.
constexpr const char* migrations[] = {
    // 0 -> 1
    R"sql(
CREATE TABLE schema_version(version INTEGER NOT NULL, applied_at INTEGER NOT NULL);
CREATE TABLE sessions(
  client_id TEXT PRIMARY KEY,
  expiry_interval INTEGER NOT NULL,
  detached_at INTEGER) WITHOUT ROWID;
CREATE TABLE subscriptions(
  client_id TEXT NOT NULL,
  filter TEXT NOT NULL,
  maximum_qos INTEGER NOT NULL,
  no_local INTEGER NOT NULL,
  retain_as_published INTEGER NOT NULL,
  retain_handling INTEGER NOT NULL,
  identifier INTEGER NOT NULL,
  PRIMARY KEY(client_id, filter)) WITHOUT ROWID;
CREATE TABLE messages(
  id INTEGER PRIMARY KEY,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  qos INTEGER NOT NULL,
  retain INTEGER NOT NULL,
  properties BLOB NOT NULL,
  expires_at INTEGER,
  publisher TEXT NOT NULL);
CREATE TABLE deliveries(
  key INTEGER PRIMARY KEY,
  client_id TEXT NOT NULL,
  message_id INTEGER NOT NULL,
  qos INTEGER NOT NULL,
  retain INTEGER NOT NULL,
  subscription_identifiers BLOB NOT NULL,
  stage INTEGER NOT NULL,
  packet_id INTEGER NOT NULL,
  sequence INTEGER NOT NULL);
CREATE INDEX deliveries_by_client ON deliveries(client_id);
CREATE INDEX deliveries_by_message ON deliveries(message_id);
CREATE TABLE inbound_qos2(
  client_id TEXT NOT NULL,
  packet_id INTEGER NOT NULL,
  PRIMARY KEY(client_id, packet_id)) WITHOUT ROWID;
CREATE TABLE retained(
  topic TEXT PRIMARY KEY,
  payload BLOB NOT NULL,
  qos INTEGER NOT NULL,
  properties BLOB NOT NULL,
  expires_at INTEGER,
  retain_until INTEGER,
  publisher TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE wills(
  client_id TEXT PRIMARY KEY,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  qos INTEGER NOT NULL,
  retain INTEGER NOT NULL,
  properties BLOB NOT NULL,
  message_expiry_interval INTEGER,
  delay_seconds INTEGER NOT NULL,
  publish_at INTEGER) WITHOUT ROWID;
CREATE TABLE tokens(
  key TEXT PRIMARY KEY,
  value BLOB NOT NULL,
  expires_at INTEGER NOT NULL) WITHOUT ROWID;
)sql",
    // 1 -> 2: the principal that owns each session (docs/authentication.md, "Principals"). Rows
    // written before have none; the broker discards those sessions at restore.
    R"sql(
ALTER TABLE sessions ADD COLUMN owner_provider TEXT;
ALTER TABLE sessions ADD COLUMN owner_issuer TEXT;
ALTER TABLE sessions ADD COLUMN owner_subject TEXT;
)sql",
    // 2 -> 3: when the Will's publisher's grant ends (pending_will::publisher_grant_ends_unix),
    // so a restored retained Will is still dropped with the token (RFC 9431 5). Rows written
    // before have none: their Wills keep no bound from the token.
    R"sql(
ALTER TABLE wills ADD COLUMN publisher_grant_ends INTEGER;
)sql",
};
static_assert(std::size(migrations) == sqlite_store::schema_version,
              "one migration per schema version");

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

std::int64_t as_int(std::uint64_t value) {
  return static_cast<std::int64_t>(std::min<std::uint64_t>(
      value, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())));
}

/// The forwarded PUBLISH properties in their MQTT wire form (MQTT 5.0 2.2.2), so the reader is
/// the codec's fuzzed decoder.
byte_vector encode_properties(const mqtt::properties& props) {
  byte_vector out;
  mqtt::detail::write_properties(props, out);
  return out;
}

byte_vector encode_identifiers(const std::vector<std::uint32_t>& identifiers) {
  mqtt::properties props;
  props.subscription_identifiers = identifiers;
  return encode_properties(props);
}

std::optional<mqtt::properties> decode_properties(byte_view bytes) {
  mqtt::detail::reader in(bytes);
  auto decoded = mqtt::detail::read_properties(in, mqtt::detail::property_context::publish);
  if (!decoded || !in.empty()) return std::nullopt;
  return std::move(*decoded);
}

persistence_error corrupt_row(std::string_view table) {
  return {error_code::corrupt, "invalid row in table " + std::string(table)};
}

}  // namespace

// ----------------------------------------------------------------------------------------------
// The connection and its cached statements.

struct sqlite_store::database {
  explicit database(sqlite3* handle) : db(handle) {}
  ~database() {
    statements.clear();
    sqlite3_close_v2(db);
  }
  database(const database&) = delete;
  database& operator=(const database&) = delete;

  sqlite3* db;
  // Prepared once (after migration), reused by every commit.
  std::vector<std::unique_ptr<statement>> statements;
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

  result<void, persistence_error> prepare(statement*& slot, const char* sql) {
    statements.push_back(std::make_unique<statement>(db, sql, true));
    if (!statements.back()->prepared()) return unexpected(statements.back()->error(sql));
    slot = statements.back().get();
    return {};
  }

  result<void, persistence_error> prepare_all() {
    const std::pair<statement**, const char*> all[] = {
        {&session_upsert,
         "INSERT INTO sessions(client_id, expiry_interval, detached_at, owner_provider, "
         "owner_issuer, owner_subject) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
         "ON CONFLICT(client_id) DO UPDATE SET expiry_interval = ?2, detached_at = ?3, "
         "owner_provider = ?4, owner_issuer = ?5, owner_subject = ?6"},
        {&session_delete, "DELETE FROM sessions WHERE client_id = ?1"},
        {&subscriptions_delete_all, "DELETE FROM subscriptions WHERE client_id = ?1"},
        {&inbound_delete_all, "DELETE FROM inbound_qos2 WHERE client_id = ?1"},
        {&will_delete, "DELETE FROM wills WHERE client_id = ?1"},
        {&messages_of_client, "SELECT DISTINCT message_id FROM deliveries WHERE client_id = ?1"},
        {&deliveries_delete_all, "DELETE FROM deliveries WHERE client_id = ?1"},
        {&subscription_upsert,
         "INSERT OR REPLACE INTO subscriptions(client_id, filter, maximum_qos, no_local, "
         "retain_as_published, retain_handling, identifier) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
        {&subscription_delete, "DELETE FROM subscriptions WHERE client_id = ?1 AND filter = ?2"},
        {&message_insert,
         "INSERT OR IGNORE INTO messages(id, topic, payload, qos, retain, properties, "
         "expires_at, publisher) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
        {&delivery_insert,
         "INSERT OR REPLACE INTO deliveries(key, client_id, message_id, qos, retain, "
         "subscription_identifiers, stage, packet_id, sequence) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, 0)"},
        {&delivery_sent,
         "UPDATE deliveries SET stage = 1, packet_id = ?2, sequence = ?3 WHERE key = ?1"},
        {&delivery_released, "UPDATE deliveries SET stage = 2 WHERE key = ?1"},
        {&delivery_message, "SELECT message_id FROM deliveries WHERE key = ?1"},
        {&delivery_delete, "DELETE FROM deliveries WHERE key = ?1"},
        {&message_delete_orphan,
         "DELETE FROM messages WHERE id = ?1 AND NOT EXISTS "
         "(SELECT 1 FROM deliveries WHERE message_id = ?1)"},
        {&inbound_insert,
         "INSERT OR IGNORE INTO inbound_qos2(client_id, packet_id) VALUES (?1, ?2)"},
        {&inbound_delete, "DELETE FROM inbound_qos2 WHERE client_id = ?1 AND packet_id = ?2"},
        {&retained_upsert,
         "INSERT OR REPLACE INTO retained(topic, payload, qos, properties, expires_at, "
         "retain_until, publisher) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
        {&retained_delete, "DELETE FROM retained WHERE topic = ?1"},
        {&will_upsert,
         "INSERT OR REPLACE INTO wills(client_id, topic, payload, qos, retain, properties, "
         "message_expiry_interval, delay_seconds, publish_at, publisher_grant_ends) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
        {&token_upsert,
         "INSERT OR REPLACE INTO tokens(key, value, expires_at) VALUES (?1, ?2, ?3)"},
        {&token_delete, "DELETE FROM tokens WHERE key = ?1"},
    };
    for (const auto& [slot, sql] : all) {
      if (auto prepared = prepare(*slot, sql); !prepared) return prepared;
    }
    return {};
  }

  result<void, persistence_error> check_and_migrate(std::int64_t now_unix) {
    // A file that is not a SQLite database fails here (SQLITE_NOTADB).
    statement tables(db,
                     "SELECT count(*), coalesce(sum(name = 'schema_version'), 0) "
                     "FROM sqlite_master WHERE type = 'table'");
    if (!tables.prepared() || !tables.step()) {
      return unexpected(
          persistence_error{error_code::corrupt,
                            "not a readable SQLite database: " + std::string(sqlite3_errmsg(db))});
    }
    const auto table_count = tables.integer(0);
    const bool has_version = tables.integer(1) > 0;
    statement application(db, "PRAGMA application_id");
    if (!application.prepared() || !application.step()) {
      return unexpected(application.error("application_id"));
    }
    const auto owner = application.integer(0);
    if (table_count > 0 && (!has_version || owner != sqlite_store::application_id)) {
      return unexpected(persistence_error{
          error_code::corrupt, "database has tables but is not an acemq-broker database"});
    }
    if (table_count > 0) {
      // Page-level damage inside a valid file: refuse rather than load half the state.
      statement check(db, "PRAGMA quick_check");
      if (!check.prepared() || !check.step()) return unexpected(check.error("integrity check"));
      if (check.text(0) != "ok") {
        return unexpected(persistence_error{error_code::corrupt,
                                            "database integrity check failed: " + check.text(0)});
      }
    }
    int current = 0;
    if (has_version) {
      statement version(db, "SELECT max(version) FROM schema_version");
      if (!version.prepared() || !version.step())
        return unexpected(version.error("schema version"));
      current = static_cast<int>(version.integer(0));
    }
    if (current > sqlite_store::schema_version) {
      return unexpected(persistence_error{error_code::schema_too_new,
                                          "database schema version " + std::to_string(current) +
                                              " is newer than this acemq-broker understands (" +
                                              std::to_string(sqlite_store::schema_version) +
                                              "); upgrade acemq-broker or use another file"});
    }
    if (current == sqlite_store::schema_version) return {};
    transaction tx(db);
    if (!tx.active()) return unexpected(make_error(db, error_code::io, "begin migration"));
    for (int version = current; version < sqlite_store::schema_version; ++version) {
      if (auto applied = exec(db, migrations[version], "migration"); !applied) return applied;
      statement mark(db, "INSERT INTO schema_version(version, applied_at) VALUES (?1, ?2)");
      mark.bind(1, std::int64_t{version + 1}).bind(2, now_unix);
      if (auto marked = run(mark, "schema_version"); !marked) return marked;
    }
    const std::string set_id =
        "PRAGMA application_id = " + std::to_string(sqlite_store::application_id);
    if (auto applied = exec(db, set_id.c_str(), "application_id"); !applied) return applied;
    return tx.commit();
  }
};

// ----------------------------------------------------------------------------------------------

result<std::unique_ptr<sqlite_store>, persistence_error> sqlite_store::open(const std::string& path,
                                                                            store_options options,
                                                                            const clock& time) {
  if (options.flush_interval.count() <= 0 || options.max_batch_operations == 0) {
    return unexpected(persistence_error{
        error_code::io, "persistence: flush interval and batch size must be positive"});
  }
  sqlite3* handle = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &handle,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  auto db = std::make_unique<database>(handle);
  if (rc != SQLITE_OK) return unexpected(make_error(handle, classify(rc), "cannot open " + path));
  sqlite3_busy_timeout(handle, 5000);
  // Reading the header first: a file that is not a database must fail before any write.
  if (auto checked = db->check_and_migrate(time.unix_seconds()); !checked)
    return unexpected(checked.error());
  // WAL: the commit appends to the log. synchronous=FULL: every commit fsyncs the log, so a
  // committed batch survives power loss, not only a process kill (with NORMAL, commits since the
  // last checkpoint could be lost on power loss). In interval mode there is one fsync per
  // interval, which is what keeps its cost low.
  if (auto set = exec(handle, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", "pragmas");
      !set) {
    return unexpected(set.error());
  }
  if (auto prepared = db->prepare_all(); !prepared) return unexpected(prepared.error());
  return std::unique_ptr<sqlite_store>(new sqlite_store(std::move(db), options, time));
}

sqlite_store::sqlite_store(std::unique_ptr<database> db, store_options options, const clock& time)
    : db_(std::move(db)), options_(options), clock_(time) {}

sqlite_store::~sqlite_store() {
  {
    std::lock_guard lock(flusher_mutex_);
    stopping_ = true;
  }
  flusher_wake_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  // A clean shutdown loses nothing; an error here is already reported by failed().
  (void)commit();
}

void sqlite_store::start_flusher() {
  if (flusher_.joinable()) return;
  flusher_ = std::thread([this] { flusher_loop(); });
}

void sqlite_store::flusher_loop() {
  std::unique_lock lock(flusher_mutex_);
  while (!stopping_) {
    flusher_wake_.wait_for(lock, options_.flush_interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    if (recorded_.load(std::memory_order_acquire) > committed_.load(std::memory_order_acquire)) {
      (void)commit();
    }
    lock.lock();
  }
}

void sqlite_store::record(operation op) {
  bool full = false;
  {
    std::lock_guard lock(batch_mutex_);
    // Failed: the file keeps the last good commit; nothing recorded now could be committed.
    if (failed_.load(std::memory_order_relaxed)) return;
    batch_.push_back(std::move(op));
    recorded_.fetch_add(1, std::memory_order_release);
    full = batch_.size() >= options_.max_batch_operations;
  }
  // Back-pressure: the thread that fills the batch writes it (the batch stays bounded).
  if (full) (void)commit();
}

result<void, persistence_error> sqlite_store::commit() {
  std::lock_guard lock(commit_mutex_);
  return commit_locked();
}

result<void, persistence_error> sqlite_store::barrier() {
  if (failed()) {
    std::lock_guard lock(commit_mutex_);
    return unexpected(failure_);
  }
  if (options_.durability != durability_mode::sync) return {};
  const std::uint64_t target = recorded_.load(std::memory_order_acquire);
  if (committed_.load(std::memory_order_acquire) >= target) return {};
  std::lock_guard lock(commit_mutex_);
  // Group commit: a commit that finished while this thread waited for the mutex may already
  // cover everything it recorded.
  if (committed_.load(std::memory_order_acquire) >= target) return {};
  return commit_locked();
}

bool sqlite_store::barrier_needed() const noexcept {
  return options_.durability == durability_mode::sync &&
         recorded_.load(std::memory_order_acquire) > committed_.load(std::memory_order_acquire);
}

bool sqlite_store::wait_committed(std::chrono::milliseconds timeout) {
  const std::uint64_t target = recorded_.load(std::memory_order_acquire);
  std::unique_lock lock(commit_mutex_);
  return committed_changed_.wait_for(
      lock, timeout, [&] { return committed_.load(std::memory_order_acquire) >= target; });
}

store_statistics sqlite_store::statistics() const {
  std::lock_guard lock(commit_mutex_);
  return statistics_;
}

result<void, persistence_error> sqlite_store::commit_locked() {
  if (failed()) return unexpected(failure_);
  std::vector<operation> work;
  std::uint64_t upto = 0;
  {
    std::lock_guard lock(batch_mutex_);
    work.swap(batch_);
    upto = recorded_.load(std::memory_order_relaxed);
  }
  if (work.empty()) return {};

  // Deliveries queued and removed inside this batch never need to touch the file (an online
  // subscriber usually acknowledges within one interval). Keys are never reused, so this is exact.
  std::unordered_set<std::uint64_t> queued_here;
  std::unordered_set<std::uint64_t> removed_here;
  for (const operation& op : work) {
    if (const auto* queued = std::get_if<delivery_queued_op>(&op.change)) {
      queued_here.insert(queued->item.key);
    } else if (const auto* removed = std::get_if<delivery_removed_op>(&op.change)) {
      removed_here.insert(removed->key);
    }
  }
  std::unordered_set<std::uint64_t> transient;
  for (const std::uint64_t key : removed_here) {
    if (queued_here.contains(key)) transient.insert(key);
  }

  const time_anchor anchor(clock_);
  database& d = *db_;
  std::unordered_set<std::uint64_t> messages_written;
  std::unordered_set<std::uint64_t> orphan_candidates;
  std::uint64_t coalesced = 0;

  const auto fail = [&](persistence_error error) -> result<void, persistence_error> {
    failure_ = error;
    failed_.store(true, std::memory_order_release);
    committed_changed_.notify_all();
    return unexpected(std::move(error));
  };
  const auto write_message = [&](std::uint64_t id,
                                 const message& msg) -> result<void, persistence_error> {
    if (!messages_written.insert(id).second) return {};
    const byte_vector properties = encode_properties(msg.forwarded);
    d.message_insert->bind(1, as_int(id))
        .bind(2, msg.topic)
        .bind_blob(3, *msg.payload)
        .bind(4, std::int64_t{msg.qos})
        .bind(5, std::int64_t{msg.retain})
        .bind_blob(6, properties)
        .bind(7, anchor.to_unix(msg.expires_at))
        .bind(8, msg.publisher_client_id);
    return run(*d.message_insert, "store message");
  };

  transaction tx(d.db);
  if (!tx.active()) return fail(make_error(d.db, error_code::io, "begin commit"));
  for (operation& op : work) {
    auto applied = std::visit(
        [&](auto& change) -> result<void, persistence_error> {
          using type = std::decay_t<decltype(change)>;
          if constexpr (std::is_same_v<type, session_saved_op>) {
            d.session_upsert->bind(1, change.client_id)
                .bind(2, std::int64_t{change.expiry_interval})
                .bind(3, anchor.to_unix(change.detached_at))
                .bind(4, change.owner.provider)
                .bind(5, change.owner.issuer)
                .bind(6, change.owner.subject);
            return run(*d.session_upsert, "save session");
          } else if constexpr (std::is_same_v<type, session_ended_op>) {
            d.messages_of_client->bind(1, change.client_id);
            while (d.messages_of_client->step()) {
              orphan_candidates.insert(
                  static_cast<std::uint64_t>(d.messages_of_client->integer(0)));
            }
            if (!d.messages_of_client->ok()) return unexpected(d.messages_of_client->error("end"));
            d.messages_of_client->reset();
            for (statement* remove : {d.deliveries_delete_all, d.subscriptions_delete_all,
                                      d.inbound_delete_all, d.will_delete, d.session_delete}) {
              remove->bind(1, change.client_id);
              if (auto done = run(*remove, "end session"); !done) return done;
            }
            return {};
          } else if constexpr (std::is_same_v<type, subscription_added_op>) {
            d.subscription_upsert->bind(1, change.client_id)
                .bind(2, change.filter)
                .bind(3, std::int64_t{change.options.maximum_qos})
                .bind(4, std::int64_t{change.options.no_local})
                .bind(5, std::int64_t{change.options.retain_as_published})
                .bind(6, std::int64_t{change.options.retain_handling})
                .bind(7, std::int64_t{change.options.identifier});
            return run(*d.subscription_upsert, "save subscription");
          } else if constexpr (std::is_same_v<type, subscription_removed_op>) {
            d.subscription_delete->bind(1, change.client_id).bind(2, change.filter);
            return run(*d.subscription_delete, "remove subscription");
          } else if constexpr (std::is_same_v<type, delivery_queued_op>) {
            if (transient.contains(change.item.key)) {
              ++coalesced;
              return {};
            }
            if (auto written = write_message(change.item.message_id, *change.item.msg); !written) {
              return written;
            }
            const byte_vector identifiers =
                encode_identifiers(change.item.subscription_identifiers);
            d.delivery_insert->bind(1, as_int(change.item.key))
                .bind(2, change.client_id)
                .bind(3, as_int(change.item.message_id))
                .bind(4, std::int64_t{change.item.qos})
                .bind(5, std::int64_t{change.item.retain})
                .bind_blob(6, identifiers);
            return run(*d.delivery_insert, "queue delivery");
          } else if constexpr (std::is_same_v<type, delivery_sent_op>) {
            if (transient.contains(change.key)) {
              ++coalesced;
              return {};
            }
            d.delivery_sent->bind(1, as_int(change.key))
                .bind(2, std::int64_t{change.packet_id})
                .bind(3, as_int(change.sequence));
            return run(*d.delivery_sent, "delivery sent");
          } else if constexpr (std::is_same_v<type, delivery_released_op>) {
            if (transient.contains(change.key)) {
              ++coalesced;
              return {};
            }
            d.delivery_released->bind(1, as_int(change.key));
            return run(*d.delivery_released, "delivery released");
          } else if constexpr (std::is_same_v<type, delivery_removed_op>) {
            if (transient.contains(change.key)) {
              ++coalesced;
              return {};
            }
            d.delivery_message->bind(1, as_int(change.key));
            if (d.delivery_message->step()) {
              orphan_candidates.insert(static_cast<std::uint64_t>(d.delivery_message->integer(0)));
            }
            if (!d.delivery_message->ok()) return unexpected(d.delivery_message->error("remove"));
            d.delivery_message->reset();
            d.delivery_delete->bind(1, as_int(change.key));
            return run(*d.delivery_delete, "remove delivery");
          } else if constexpr (std::is_same_v<type, inbound_added_op>) {
            d.inbound_insert->bind(1, change.client_id).bind(2, std::int64_t{change.packet_id});
            return run(*d.inbound_insert, "inbound QoS 2 id");
          } else if constexpr (std::is_same_v<type, inbound_released_op>) {
            d.inbound_delete->bind(1, change.client_id).bind(2, std::int64_t{change.packet_id});
            return run(*d.inbound_delete, "inbound QoS 2 release");
          } else if constexpr (std::is_same_v<type, retained_set_op>) {
            const message& msg = *change.msg;
            const byte_vector properties = encode_properties(msg.forwarded);
            d.retained_upsert->bind(1, msg.topic)
                .bind_blob(2, *msg.payload)
                .bind(3, std::int64_t{msg.qos})
                .bind_blob(4, properties)
                .bind(5, anchor.to_unix(msg.expires_at))
                .bind(6, anchor.to_unix(msg.retain_until))
                .bind(7, msg.publisher_client_id);
            return run(*d.retained_upsert, "retain message");
          } else if constexpr (std::is_same_v<type, retained_cleared_op>) {
            d.retained_delete->bind(1, change.topic);
            return run(*d.retained_delete, "clear retained");
          } else if constexpr (std::is_same_v<type, will_saved_op>) {
            const message& msg = change.will.content;
            const byte_vector properties = encode_properties(msg.forwarded);
            std::optional<std::int64_t> expiry;
            if (change.will.message_expiry_interval) expiry = *change.will.message_expiry_interval;
            d.will_upsert->bind(1, change.client_id)
                .bind(2, msg.topic)
                .bind_blob(3, msg.payload ? byte_view(*msg.payload) : byte_view{})
                .bind(4, std::int64_t{msg.qos})
                .bind(5, std::int64_t{msg.retain})
                .bind_blob(6, properties)
                .bind(7, expiry)
                .bind(8, std::int64_t{change.will.delay_seconds})
                .bind(9, anchor.to_unix(change.will.publish_at))
                .bind(10, change.will.publisher_grant_ends_unix);
            return run(*d.will_upsert, "save will");
          } else if constexpr (std::is_same_v<type, will_cleared_op>) {
            d.will_delete->bind(1, change.client_id);
            return run(*d.will_delete, "clear will");
          } else if constexpr (std::is_same_v<type, token_put_op>) {
            d.token_upsert->bind(1, change.key)
                .bind_blob(2, change.value)
                .bind(3, change.expires_at_unix);
            return run(*d.token_upsert, "save token");
          } else {
            static_assert(std::is_same_v<type, token_removed_op>);
            d.token_delete->bind(1, change.key);
            return run(*d.token_delete, "remove token");
          }
        },
        op.change);
    if (!applied) return fail(applied.error());
  }
  // Message rows live as long as a delivery refers to them.
  for (const std::uint64_t id : orphan_candidates) {
    d.message_delete_orphan->bind(1, as_int(id));
    if (auto done = run(*d.message_delete_orphan, "drop message"); !done) return fail(done.error());
  }
  if (auto done = tx.commit(); !done) return fail(done.error());
  committed_.store(upto, std::memory_order_release);
  ++statistics_.commits;
  statistics_.operations_committed += work.size();
  statistics_.operations_coalesced += coalesced;
  committed_changed_.notify_all();
  return {};
}

// ----------------------------------------------------------------------------------------------
// Hooks: record only.

std::uint64_t sqlite_store::allocate_id() {
  return next_id_.fetch_add(1, std::memory_order_relaxed);
}

void sqlite_store::session_saved(std::string_view client_id,
                                 const broker::principal_identity& owner,
                                 std::uint32_t expiry_interval,
                                 std::optional<clock::time_point> detached_at) {
  record({session_saved_op{std::string(client_id), broker::owned_identity(owner), expiry_interval,
                           detached_at}});
}
void sqlite_store::session_ended(std::string_view client_id) {
  record({session_ended_op{std::string(client_id)}});
}
void sqlite_store::subscription_added(std::string_view client_id, std::string_view filter,
                                      const subscription_options& options) {
  record({subscription_added_op{std::string(client_id), std::string(filter), options}});
}
void sqlite_store::subscription_removed(std::string_view client_id, std::string_view filter) {
  record({subscription_removed_op{std::string(client_id), std::string(filter)}});
}
void sqlite_store::delivery_queued(std::string_view client_id, const stored_delivery& item) {
  record({delivery_queued_op{std::string(client_id), item}});
}
void sqlite_store::delivery_sent(std::uint64_t key, std::uint16_t packet_id,
                                 std::uint64_t sequence) {
  record({delivery_sent_op{key, packet_id, sequence}});
}
void sqlite_store::delivery_released(std::uint64_t key) {
  record({delivery_released_op{key}});
}
void sqlite_store::delivery_removed(std::uint64_t key) {
  record({delivery_removed_op{key}});
}
void sqlite_store::inbound_qos2_added(std::string_view client_id, std::uint16_t packet_id) {
  record({inbound_added_op{std::string(client_id), packet_id}});
}
void sqlite_store::inbound_qos2_released(std::string_view client_id, std::uint16_t packet_id) {
  record({inbound_released_op{std::string(client_id), packet_id}});
}
void sqlite_store::retained_set(const message_ptr& msg) {
  record({retained_set_op{msg}});
}
void sqlite_store::retained_cleared(std::string_view topic) {
  record({retained_cleared_op{std::string(topic)}});
}
void sqlite_store::will_saved(std::string_view client_id, const pending_will& will) {
  record({will_saved_op{std::string(client_id), will}});
}
void sqlite_store::will_cleared(std::string_view client_id) {
  record({will_cleared_op{std::string(client_id)}});
}
void sqlite_store::put_token(std::string_view key, byte_view value, std::int64_t expires_at_unix) {
  record(
      {token_put_op{std::string(key), byte_vector(value.begin(), value.end()), expires_at_unix}});
}
void sqlite_store::remove_token(std::string_view key) {
  record({token_removed_op{std::string(key)}});
}

// ----------------------------------------------------------------------------------------------
// Loading.

namespace {

bool valid_qos(std::int64_t qos) {
  return qos >= 0 && qos <= 2;
}

/// Builds a message from the columns shared by messages, retained and wills rows.
std::optional<message> read_message(std::string topic, byte_vector payload, std::int64_t qos,
                                    byte_view properties, std::string publisher) {
  if (topic.empty() || !is_valid_utf8(topic) || !valid_qos(qos)) return std::nullopt;
  auto forwarded = decode_properties(properties);
  if (!forwarded) return std::nullopt;
  message msg;
  msg.topic = std::move(topic);
  msg.payload = std::make_shared<const byte_vector>(std::move(payload));
  msg.qos = static_cast<std::uint8_t>(qos);
  msg.forwarded = std::move(*forwarded);
  msg.publisher_client_id = std::move(publisher);
  return msg;
}

}  // namespace

result<broker::persistence_snapshot, persistence_error> sqlite_store::load() {
  std::lock_guard lock(commit_mutex_);
  sqlite3* db = db_->db;
  const time_anchor anchor(clock_);
  broker::persistence_snapshot snapshot;
  std::unordered_map<std::string, std::size_t> index;
  std::uint64_t highest_id = 0;

  statement sessions(db,
                     "SELECT client_id, expiry_interval, detached_at, owner_provider, "
                     "owner_issuer, owner_subject FROM sessions");
  while (sessions.step()) {
    broker::stored_session entry;
    entry.client_id = sessions.text(0);
    const auto expiry = sessions.integer(1);
    if (expiry < 0 || expiry > 0xFFFFFFFF) return unexpected(corrupt_row("sessions"));
    entry.expiry_interval = static_cast<std::uint32_t>(expiry);
    if (!sessions.is_null(2)) entry.detached_at = anchor.from_unix(sessions.integer(2));
    if (!sessions.is_null(3)) {
      broker::owned_identity owner;
      owner.provider = sessions.text(3);
      owner.issuer = sessions.text(4);
      owner.subject = sessions.text(5);
      entry.owner = std::move(owner);
    }
    index.emplace(entry.client_id, snapshot.sessions.size());
    snapshot.sessions.push_back(std::move(entry));
  }
  if (!sessions.ok()) return unexpected(sessions.error("load sessions"));
  const auto owner = [&](const std::string& client_id) -> broker::stored_session* {
    const auto found = index.find(client_id);
    return found == index.end() ? nullptr : &snapshot.sessions[found->second];
  };

  statement subscriptions(db,
                          "SELECT client_id, filter, maximum_qos, no_local, retain_as_published, "
                          "retain_handling, identifier FROM subscriptions ORDER BY client_id");
  while (subscriptions.step()) {
    broker::stored_session* session = owner(subscriptions.text(0));
    if (session == nullptr) continue;  // a row of a session already ended: ignored
    const auto qos = subscriptions.integer(2);
    const auto handling = subscriptions.integer(5);
    const auto identifier = subscriptions.integer(6);
    if (!valid_qos(qos) || handling < 0 || handling > 2 || identifier < 0 ||
        identifier > mqtt::max_subscription_identifier) {
      return unexpected(corrupt_row("subscriptions"));
    }
    subscription_options options;
    options.maximum_qos = static_cast<std::uint8_t>(qos);
    options.no_local = subscriptions.integer(3) != 0;
    options.retain_as_published = subscriptions.integer(4) != 0;
    options.retain_handling = static_cast<std::uint8_t>(handling);
    options.identifier = static_cast<std::uint32_t>(identifier);
    session->subscriptions.emplace_back(subscriptions.text(1), options);
  }
  if (!subscriptions.ok()) return unexpected(subscriptions.error("load subscriptions"));

  // One message object per message row, shared by its deliveries (as when it was routed).
  std::unordered_map<std::uint64_t, message_ptr> messages;
  statement deliveries(
      db,
      "SELECT d.key, d.client_id, d.message_id, d.qos, d.retain, d.subscription_identifiers, "
      "d.stage, d.packet_id, d.sequence, m.topic, m.payload, m.qos, m.retain, m.properties, "
      "m.expires_at, m.publisher FROM deliveries d JOIN messages m ON m.id = d.message_id "
      "ORDER BY d.key");
  while (deliveries.step()) {
    const auto key = deliveries.integer(0);
    const auto message_id = deliveries.integer(2);
    const auto qos = deliveries.integer(3);
    const auto stage = deliveries.integer(6);
    const auto packet_id = deliveries.integer(7);
    if (key <= 0 || message_id <= 0 || qos < 1 || qos > 2 || stage < 0 || stage > 2 ||
        (stage != 0 && (packet_id < 1 || packet_id > 65535)) || deliveries.integer(8) < 0) {
      return unexpected(corrupt_row("deliveries"));
    }
    highest_id = std::max(
        {highest_id, static_cast<std::uint64_t>(key), static_cast<std::uint64_t>(message_id)});
    broker::stored_session* session = owner(deliveries.text(1));
    if (session == nullptr) continue;
    message_ptr& shared = messages[static_cast<std::uint64_t>(message_id)];
    if (!shared) {
      const byte_vector properties = deliveries.blob(13);
      auto msg = read_message(deliveries.text(9), deliveries.blob(10), deliveries.integer(11),
                              properties, deliveries.text(15));
      if (!msg) return unexpected(corrupt_row("messages"));
      msg->retain = deliveries.integer(12) != 0;
      if (!deliveries.is_null(14)) msg->expires_at = anchor.from_unix(deliveries.integer(14));
      shared = std::make_shared<const message>(std::move(*msg));
    }
    const byte_vector identifier_bytes = deliveries.blob(5);
    auto identifiers = decode_properties(identifier_bytes);
    if (!identifiers) return unexpected(corrupt_row("deliveries"));
    stored_delivery item;
    item.key = static_cast<std::uint64_t>(key);
    item.message_id = static_cast<std::uint64_t>(message_id);
    item.msg = shared;
    item.qos = static_cast<std::uint8_t>(qos);
    item.retain = deliveries.integer(4) != 0;
    item.subscription_identifiers = std::move(identifiers->subscription_identifiers);
    if (static_cast<stored_stage>(stage) == stored_stage::queued) {
      session->queued.push_back(std::move(item));
    } else {
      broker::stored_inflight sent;
      sent.item = std::move(item);
      sent.packet_id = static_cast<std::uint16_t>(packet_id);
      sent.at = static_cast<stored_stage>(stage) == stored_stage::pubrel_sent
                    ? broker::inflight_entry::stage::pubrel_sent
                    : broker::inflight_entry::stage::publish_sent;
      sent.sequence = static_cast<std::uint64_t>(deliveries.integer(8));
      session->inflight.push_back(std::move(sent));
    }
  }
  if (!deliveries.ok()) return unexpected(deliveries.error("load deliveries"));
  for (broker::stored_session& session : snapshot.sessions) {
    std::sort(session.inflight.begin(), session.inflight.end(),
              [](const broker::stored_inflight& a, const broker::stored_inflight& b) {
                return a.sequence < b.sequence;
              });
  }

  statement highest(db, "SELECT coalesce(max(id), 0) FROM messages");
  if (!highest.step()) return unexpected(highest.error("load message ids"));
  highest_id = std::max(highest_id,
                        static_cast<std::uint64_t>(std::max<std::int64_t>(0, highest.integer(0))));

  statement inbound(db, "SELECT client_id, packet_id FROM inbound_qos2 ORDER BY client_id");
  while (inbound.step()) {
    const auto packet_id = inbound.integer(1);
    if (packet_id < 1 || packet_id > 65535) return unexpected(corrupt_row("inbound_qos2"));
    if (broker::stored_session* session = owner(inbound.text(0))) {
      session->inbound_qos2.push_back(static_cast<std::uint16_t>(packet_id));
    }
  }
  if (!inbound.ok()) return unexpected(inbound.error("load inbound QoS 2 ids"));

  statement wills(db,
                  "SELECT client_id, topic, payload, qos, retain, properties, "
                  "message_expiry_interval, delay_seconds, publish_at, publisher_grant_ends "
                  "FROM wills");
  while (wills.step()) {
    broker::stored_session* session = owner(wills.text(0));
    if (session == nullptr) continue;
    const byte_vector properties = wills.blob(5);
    auto content =
        read_message(wills.text(1), wills.blob(2), wills.integer(3), properties, wills.text(0));
    const auto delay = wills.integer(7);
    const auto expiry = wills.is_null(6) ? std::int64_t{0} : wills.integer(6);
    if (!content || delay < 0 || delay > 0xFFFFFFFF || expiry < 0 || expiry > 0xFFFFFFFF) {
      return unexpected(corrupt_row("wills"));
    }
    content->retain = wills.integer(4) != 0;
    broker::pending_will will;
    will.content = std::move(*content);
    if (!wills.is_null(6)) will.message_expiry_interval = static_cast<std::uint32_t>(expiry);
    will.delay_seconds = static_cast<std::uint32_t>(delay);
    if (!wills.is_null(8)) will.publish_at = anchor.from_unix(wills.integer(8));
    if (!wills.is_null(9)) will.publisher_grant_ends_unix = wills.integer(9);
    session->will = std::move(will);
  }
  if (!wills.ok()) return unexpected(wills.error("load wills"));

  statement retained(db,
                     "SELECT topic, payload, qos, properties, expires_at, retain_until, publisher "
                     "FROM retained ORDER BY topic");
  while (retained.step()) {
    const byte_vector properties = retained.blob(3);
    auto msg = read_message(retained.text(0), retained.blob(1), retained.integer(2), properties,
                            retained.text(6));
    if (!msg) return unexpected(corrupt_row("retained"));
    msg->retain = true;
    if (!retained.is_null(4)) msg->expires_at = anchor.from_unix(retained.integer(4));
    if (!retained.is_null(5)) msg->retain_until = anchor.from_unix(retained.integer(5));
    snapshot.retained.push_back(std::make_shared<const message>(std::move(*msg)));
  }
  if (!retained.ok()) return unexpected(retained.error("load retained messages"));

  snapshot.next_id = highest_id + 1;
  next_id_.store(std::max(next_id_.load(std::memory_order_relaxed), snapshot.next_id),
                 std::memory_order_relaxed);
  return snapshot;
}

result<std::vector<stored_token>, persistence_error> sqlite_store::load_tokens(
    std::int64_t now_unix) {
  std::lock_guard lock(commit_mutex_);
  std::vector<stored_token> tokens;
  statement select(db_->db,
                   "SELECT key, value, expires_at FROM tokens WHERE expires_at > ?1 ORDER BY key");
  select.bind(1, now_unix);
  while (select.step()) {
    tokens.push_back(stored_token{select.text(0), select.blob(1), select.integer(2)});
  }
  if (!select.ok()) return unexpected(select.error("load tokens"));
  return tokens;
}

}  // namespace acemq::persist
