// Opening the broker's store: the schema and its migrations, the checks that refuse a file that
// is not ours, and the statements every commit reuses.
#include <string>
#include <string_view>

#include "acemq/persist/sqlite_store_detail.hpp"
#include "acemq/sqlite/migrations.hpp"
#include "acemq/sqlite/transaction.hpp"

namespace acemq::persist {

using detail::error_code;
using detail::to_persistence_error;

namespace {

// Schema migrations, in order: entry i takes the database from version i to version i + 1.
// Never edit a released entry; append a new one and raise sqlite_store::schema_version.
// Times are seconds since the epoch (clock::unix_seconds), so they survive a restart.
constexpr std::string_view migrations[] = {
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

/// The broker has recorded its schema version in a schema_version table (one row per step, with
/// the time it was applied) since its first release, so existing files keep opening. Each step
/// also stamps the store's application_id in the same transaction: a file with tables and
/// without it is not ours (check_and_migrate).
class broker_schema_version final : public sqlite::version_keeper {
 public:
  explicit broker_schema_version(std::int64_t now_unix) : table_(now_unix) {}

  sqlite::result<int> read(sqlite::database& db) override { return table_.read(db); }

  sqlite::result<void> write(sqlite::database& db, int version) override {
    if (auto marked = table_.write(db, version); !marked) return marked;
    const std::string set_id =
        "PRAGMA application_id = " + std::to_string(sqlite_store::application_id);
    return db.execute(set_id, "application_id");
  }

 private:
  sqlite::schema_version_table table_;
};

}  // namespace

result<void, persistence_error> sqlite_store::database::prepare(statement*& slot, const char* sql) {
  statements.push_back(std::make_unique<statement>(connection, sql, sqlite::lifetime::persistent));
  if (!statements.back()->prepared()) {
    return unexpected(to_persistence_error(statements.back()->failure(sql)));
  }
  slot = statements.back().get();
  return {};
}

result<void, persistence_error> sqlite_store::database::prepare_all() {
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
      {&inbound_insert, "INSERT OR IGNORE INTO inbound_qos2(client_id, packet_id) VALUES (?1, ?2)"},
      {&inbound_delete, "DELETE FROM inbound_qos2 WHERE client_id = ?1 AND packet_id = ?2"},
      {&retained_upsert,
       "INSERT OR REPLACE INTO retained(topic, payload, qos, properties, expires_at, "
       "retain_until, publisher) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&retained_delete, "DELETE FROM retained WHERE topic = ?1"},
      {&will_upsert,
       "INSERT OR REPLACE INTO wills(client_id, topic, payload, qos, retain, properties, "
       "message_expiry_interval, delay_seconds, publish_at, publisher_grant_ends) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
      {&token_upsert, "INSERT OR REPLACE INTO tokens(key, value, expires_at) VALUES (?1, ?2, ?3)"},
      {&token_delete, "DELETE FROM tokens WHERE key = ?1"},
  };
  for (const auto& [slot, sql] : all) {
    if (auto prepared = prepare(*slot, sql); !prepared) return prepared;
  }
  return {};
}

result<void, persistence_error> sqlite_store::database::check_and_migrate(std::int64_t now_unix) {
  // A file that is not a SQLite database fails here (SQLITE_NOTADB).
  statement tables(connection,
                   "SELECT count(*), coalesce(sum(name = 'schema_version'), 0) "
                   "FROM sqlite_master WHERE type = 'table'");
  if (!tables.prepared() || !tables.step()) {
    auto failure = to_persistence_error(tables.failure("not a readable SQLite database"));
    failure.reason = error_code::corrupt;
    return unexpected(std::move(failure));
  }
  const auto table_count = tables.integer(0);
  const bool has_version = tables.integer(1) > 0;
  statement application(connection, "PRAGMA application_id");
  if (!application.prepared() || !application.step()) {
    return unexpected(to_persistence_error(application.failure("application_id")));
  }
  const auto owner = application.integer(0);
  if (table_count > 0 && (!has_version || owner != sqlite_store::application_id)) {
    return unexpected(persistence_error{error_code::corrupt,
                                        "database has tables but is not an acemq-broker database"});
  }
  if (table_count > 0) {
    // Page-level damage inside a valid file: refuse rather than load half the state.
    statement check(connection, "PRAGMA quick_check");
    if (!check.prepared() || !check.step()) {
      return unexpected(to_persistence_error(check.failure("integrity check")));
    }
    if (check.text(0) != "ok") {
      return unexpected(persistence_error{error_code::corrupt,
                                          "database integrity check failed: " + check.text(0)});
    }
  }
  broker_schema_version keeper(now_unix);
  auto migrated = sqlite::migrate(connection, migrations, keeper);
  if (!migrated) {
    auto failure = to_persistence_error(migrated.error());
    if (failure.reason == error_code::schema_too_new) {
      failure.message += "; upgrade acemq-broker or use another file";
    }
    return unexpected(std::move(failure));
  }
  return {};
}

result<std::unique_ptr<sqlite_store>, persistence_error> sqlite_store::open(const std::string& path,
                                                                            store_options options,
                                                                            const clock& time) {
  if (options.flush_interval.count() <= 0 || options.max_batch_operations == 0) {
    return unexpected(persistence_error{
        error_code::io, "persistence: flush interval and batch size must be positive"});
  }
  // synchronous=FULL: every commit fsyncs the log, so a committed batch survives power loss, not
  // only a process kill (with NORMAL, commits since the last checkpoint could be lost on power
  // loss). In interval mode there is one fsync per interval, which is what keeps its cost low.
  auto opened = sqlite::database::open(
      path, {sqlite::sync_mode::full, false, std::chrono::milliseconds(5000)});
  if (!opened) return unexpected(to_persistence_error(opened.error()));
  auto db = std::make_unique<database>(std::move(*opened));
  // Checked before the journal mode is set: a file that is not ours must not be written to.
  if (auto checked = db->check_and_migrate(time.unix_seconds()); !checked)
    return unexpected(checked.error());
  // WAL: the commit appends to the log.
  if (auto set = db->connection.use_write_ahead_log(); !set) {
    return unexpected(to_persistence_error(set.error()));
  }
  if (auto prepared = db->prepare_all(); !prepared) return unexpected(prepared.error());
  return std::unique_ptr<sqlite_store>(new sqlite_store(std::move(db), options, time));
}

}  // namespace acemq::persist
