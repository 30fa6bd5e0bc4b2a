#include "acemq/auth/device_registry.hpp"

#include <sqlite3.h>

#include <utility>

#include "acemq/common/utf8.hpp"
#include "acemq/token/jose/json.hpp"
#include "acemq/token/jose/jwk.hpp"

namespace acemq::auth {

namespace {

using token::crypto::algorithm;
using token::crypto::key;
using token::crypto::key_type;

constexpr std::size_t max_device_id = 256;
constexpr std::size_t max_key_text = 16 * 1024;
constexpr std::size_t max_jti = 256;

registry_error storage_error(sqlite3* db, std::string_view what) {
  return registry_error{registry_error::kind::storage,
                        std::string(what) + ": " + sqlite3_errmsg(db)};
}

/// A prepared statement, finalised on scope exit.
class statement {
 public:
  statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  void bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void bind(int index, std::int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  /// SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  std::string text(int column) const {
    const auto* data = sqlite3_column_text(stmt_, column);
    const int size = sqlite3_column_bytes(stmt_, column);
    return data ? std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size))
                : std::string{};
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

result<void, registry_error> execute(sqlite3* db, const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    registry_error error{registry_error::kind::storage, message ? message : "sqlite error"};
    sqlite3_free(message);
    return unexpected(std::move(error));
  }
  return {};
}

algorithm signature_algorithm_for(key_type type) {
  switch (type) {
    case key_type::okp_ed25519:
      return algorithm::eddsa;
    case key_type::ec_p256:
      return algorithm::es256;
    default:
      return algorithm::rs256;
  }
}

result<key, registry_error> key_from_stored_jwk(std::string_view json) {
  auto parsed = token::jose::parse_jwk(json, {.public_only = true});
  if (!parsed) return unexpected(registry_error{registry_error::kind::storage, "stored key"});
  return *parsed;
}

}  // namespace

std::string_view to_string(replay_policy policy) noexcept {
  switch (policy) {
    case replay_policy::legacy:
      return "legacy";
    case replay_policy::jti:
      return "jti";
    case replay_policy::counter:
      return "counter";
    case replay_policy::nonce:
      return "nonce";
  }
  return "nonce";
}

std::optional<replay_policy> parse_replay_policy(std::string_view text) noexcept {
  if (text == "legacy") return replay_policy::legacy;
  if (text == "jti") return replay_policy::jti;
  if (text == "counter") return replay_policy::counter;
  if (text == "nonce") return replay_policy::nonce;
  return std::nullopt;
}

bool valid_device_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > max_device_id || !is_valid_utf8(id)) return false;
  for (char c : id) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) return false;
  }
  return true;
}

result<key, registry_error> parse_device_key(std::string_view text) {
  const auto bad = [](std::string message) {
    return unexpected(registry_error{registry_error::kind::bad_key, std::move(message)});
  };
  if (text.size() > max_key_text) return bad("key text too large");
  std::size_t start = 0;
  while (start < text.size() && (text[start] == ' ' || text[start] == '\n' || text[start] == '\r' ||
                                 text[start] == '\t')) {
    ++start;
  }
  text.remove_prefix(start);
  std::optional<key> parsed;
  if (!text.empty() && text.front() == '{') {
    auto jwk = token::jose::parse_jwk(text, {.public_only = true});
    if (!jwk) return bad(std::string("JWK: ") + std::string(token::to_string(jwk.error())));
    parsed = *jwk;
  } else {
    auto pem = key::from_pem(text);
    if (!pem) return bad(std::string("PEM: ") + std::string(token::to_string(pem.error())));
    // A device's private key never belongs on the broker.
    if (pem->is_private()) return bad("a private key was given; register the public key");
    parsed = *pem;
  }
  if (parsed->type() == key_type::symmetric) return bad("symmetric keys are not device keys");
  const algorithm wanted = signature_algorithm_for(parsed->type());
  if (parsed->bound_algorithm() && *parsed->bound_algorithm() != wanted) {
    return bad("only RS256, ES256 and EdDSA device keys are accepted");
  }
  parsed->bind_algorithm(wanted);
  auto thumbprint = token::jose::thumbprint_base64url(*parsed);
  if (!thumbprint) return bad("cannot compute the key thumbprint");
  parsed->set_kid(to_bytes(*thumbprint));
  return *parsed;
}

device_registry::device_registry(sqlite3* db, registry_limits limits) : db_(db), limits_(limits) {}

device_registry::~device_registry() {
  sqlite3_close_v2(db_);
}

result<std::unique_ptr<device_registry>, registry_error> device_registry::open(
    const std::string& path, registry_limits limits) {
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    registry_error error = storage_error(db, "cannot open " + path);
    sqlite3_close_v2(db);
    return unexpected(std::move(error));
  }
  std::unique_ptr<device_registry> registry(new device_registry(db, limits));
  sqlite3_busy_timeout(db, 5000);
  // WAL: the broker reads while a management command writes.
  if (path != ":memory:") {
    if (auto wal = execute(db, "PRAGMA journal_mode=WAL;"); !wal) return unexpected(wal.error());
  }
  if (auto fk = execute(db, "PRAGMA foreign_keys=ON;"); !fk) return unexpected(fk.error());
  if (auto migrated = registry->migrate(); !migrated) return unexpected(migrated.error());
  return registry;
}

result<void, registry_error> device_registry::migrate() {
  std::lock_guard lock(mutex_);
  if (auto created = execute(db_,
                             "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER "
                             "NOT NULL);");
      !created) {
    return created;
  }
  int version = 0;
  {
    statement query(db_, "SELECT MAX(version) FROM schema_version;");
    if (!query.ok()) return unexpected(storage_error(db_, "schema version"));
    if (query.step() == SQLITE_ROW && !query.is_null(0))
      version = static_cast<int>(query.integer(0));
  }
  if (version > schema_version) {
    return unexpected(registry_error{registry_error::kind::storage,
                                     "the device registry was written by a newer acemq"});
  }
  if (version < 1) {
    auto applied = execute(db_,
                           "BEGIN;"
                           "CREATE TABLE devices (id TEXT PRIMARY KEY NOT NULL, policy TEXT NOT "
                           "NULL, created_at INTEGER NOT NULL);"
                           "CREATE TABLE device_keys (device_id TEXT NOT NULL REFERENCES "
                           "devices(id) ON DELETE CASCADE, key_id TEXT NOT NULL, jwk TEXT NOT "
                           "NULL, last_counter INTEGER, added_at INTEGER NOT NULL, PRIMARY KEY "
                           "(device_id, key_id));"
                           "CREATE TABLE used_jti (device_id TEXT NOT NULL REFERENCES devices(id) "
                           "ON DELETE CASCADE, jti TEXT NOT NULL, expires_at INTEGER NOT NULL, "
                           "PRIMARY KEY (device_id, jti));"
                           "CREATE INDEX used_jti_expiry ON used_jti(expires_at);"
                           "INSERT INTO schema_version (version) VALUES (1);"
                           "COMMIT;");
    if (!applied) {
      (void)execute(db_, "ROLLBACK;");
      return applied;
    }
  }
  return {};
}

result<void, registry_error> device_registry::add_device(std::string_view id, replay_policy policy,
                                                         std::int64_t now_unix) {
  if (!valid_device_id(id)) {
    return unexpected(registry_error{registry_error::kind::bad_device_id, "invalid device id"});
  }
  std::lock_guard lock(mutex_);
  {
    statement count(db_, "SELECT COUNT(*) FROM devices;");
    if (!count.ok() || count.step() != SQLITE_ROW) return unexpected(storage_error(db_, "count"));
    if (static_cast<std::size_t>(count.integer(0)) >= limits_.max_devices) {
      return unexpected(registry_error{registry_error::kind::too_many, "too many devices"});
    }
  }
  statement insert(db_, "INSERT INTO devices (id, policy, created_at) VALUES (?, ?, ?);");
  if (!insert.ok()) return unexpected(storage_error(db_, "add device"));
  insert.bind(1, id);
  insert.bind(2, to_string(policy));
  insert.bind(3, now_unix);
  const int rc = insert.step();
  if (rc == SQLITE_CONSTRAINT) {
    return unexpected(registry_error{registry_error::kind::already_exists, "device exists"});
  }
  if (rc != SQLITE_DONE) return unexpected(storage_error(db_, "add device"));
  return {};
}

result<void, registry_error> device_registry::remove_device(std::string_view id) {
  std::lock_guard lock(mutex_);
  statement remove(db_, "DELETE FROM devices WHERE id = ?;");
  if (!remove.ok()) return unexpected(storage_error(db_, "remove device"));
  remove.bind(1, id);
  if (remove.step() != SQLITE_DONE) return unexpected(storage_error(db_, "remove device"));
  if (sqlite3_changes(db_) == 0) {
    return unexpected(registry_error{registry_error::kind::not_found, "no such device"});
  }
  return {};
}

result<void, registry_error> device_registry::set_policy(std::string_view id,
                                                         replay_policy policy) {
  std::lock_guard lock(mutex_);
  statement update(db_, "UPDATE devices SET policy = ? WHERE id = ?;");
  if (!update.ok()) return unexpected(storage_error(db_, "set policy"));
  update.bind(1, to_string(policy));
  update.bind(2, id);
  if (update.step() != SQLITE_DONE) return unexpected(storage_error(db_, "set policy"));
  if (sqlite3_changes(db_) == 0) {
    return unexpected(registry_error{registry_error::kind::not_found, "no such device"});
  }
  return {};
}

result<std::string, registry_error> device_registry::add_key(std::string_view id,
                                                             std::string_view key_text,
                                                             std::int64_t now_unix) {
  auto parsed = parse_device_key(key_text);
  if (!parsed) return unexpected(parsed.error());
  const std::string key_id(as_string_view(*parsed->kid()));
  auto jwk = token::jose::to_jwk(*parsed, token::jose::jwk_content::public_only);
  if (!jwk) return unexpected(registry_error{registry_error::kind::bad_key, "cannot store key"});
  const std::string jwk_text = token::jose::serialize(*jwk);

  std::lock_guard lock(mutex_);
  auto device = find_locked(id);
  if (!device) return unexpected(device.error());
  if (!*device)
    return unexpected(registry_error{registry_error::kind::not_found, "no such device"});
  for (const auto& existing : (*device)->keys) {
    if (existing.key_id == key_id) {
      return unexpected(registry_error{registry_error::kind::already_exists, "key exists"});
    }
  }
  if ((*device)->keys.size() >= limits_.max_keys_per_device) {
    return unexpected(registry_error{registry_error::kind::too_many,
                                     "a device holds at most " +
                                         std::to_string(limits_.max_keys_per_device) +
                                         " keys; remove one first"});
  }
  statement insert(db_,
                   "INSERT INTO device_keys (device_id, key_id, jwk, last_counter, added_at) "
                   "VALUES (?, ?, ?, NULL, ?);");
  if (!insert.ok()) return unexpected(storage_error(db_, "add key"));
  insert.bind(1, id);
  insert.bind(2, key_id);
  insert.bind(3, jwk_text);
  insert.bind(4, now_unix);
  if (insert.step() != SQLITE_DONE) return unexpected(storage_error(db_, "add key"));
  return key_id;
}

result<void, registry_error> device_registry::remove_key(std::string_view id,
                                                         std::string_view key_id) {
  std::lock_guard lock(mutex_);
  statement remove(db_, "DELETE FROM device_keys WHERE device_id = ? AND key_id = ?;");
  if (!remove.ok()) return unexpected(storage_error(db_, "remove key"));
  remove.bind(1, id);
  remove.bind(2, key_id);
  if (remove.step() != SQLITE_DONE) return unexpected(storage_error(db_, "remove key"));
  if (sqlite3_changes(db_) == 0) {
    return unexpected(registry_error{registry_error::kind::not_found, "no such key"});
  }
  return {};
}

result<std::optional<device_record>, registry_error> device_registry::find(
    std::string_view id) const {
  std::lock_guard lock(mutex_);
  return find_locked(id);
}

result<std::optional<device_record>, registry_error> device_registry::find_locked(
    std::string_view id) const {
  statement query(db_, "SELECT policy, created_at FROM devices WHERE id = ?;");
  if (!query.ok()) return unexpected(storage_error(db_, "find device"));
  query.bind(1, id);
  const int rc = query.step();
  if (rc == SQLITE_DONE) return std::optional<device_record>{};
  if (rc != SQLITE_ROW) return unexpected(storage_error(db_, "find device"));
  device_record record;
  record.id = std::string(id);
  const auto policy = parse_replay_policy(query.text(0));
  if (!policy) return unexpected(registry_error{registry_error::kind::storage, "stored policy"});
  record.policy = *policy;
  record.created_at = query.integer(1);
  statement keys(db_,
                 "SELECT key_id, jwk, last_counter, added_at FROM device_keys WHERE device_id = ? "
                 "ORDER BY added_at, key_id;");
  if (!keys.ok()) return unexpected(storage_error(db_, "find keys"));
  keys.bind(1, id);
  int key_rc = 0;
  while ((key_rc = keys.step()) == SQLITE_ROW) {
    auto parsed = key_from_stored_jwk(keys.text(1));
    if (!parsed) return unexpected(parsed.error());
    device_key entry{keys.text(0), std::move(*parsed), std::nullopt, keys.integer(3)};
    if (!keys.is_null(2)) entry.last_counter = keys.integer(2);
    entry.key.bind_algorithm(signature_algorithm_for(entry.key.type()));
    entry.key.set_kid(to_bytes(entry.key_id));
    record.keys.push_back(std::move(entry));
  }
  if (key_rc != SQLITE_DONE) return unexpected(storage_error(db_, "find keys"));
  return std::optional<device_record>(std::move(record));
}

result<std::vector<device_record>, registry_error> device_registry::list() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  {
    statement query(db_, "SELECT id FROM devices ORDER BY id;");
    if (!query.ok()) return unexpected(storage_error(db_, "list"));
    int rc = 0;
    while ((rc = query.step()) == SQLITE_ROW)
      ids.push_back(query.text(0));
    if (rc != SQLITE_DONE) return unexpected(storage_error(db_, "list"));
  }
  std::vector<device_record> out;
  for (const auto& id : ids) {
    auto record = find_locked(id);
    if (!record) return unexpected(record.error());
    if (*record) out.push_back(std::move(**record));
  }
  return out;
}

result<jti_outcome, registry_error> device_registry::record_jti(std::string_view device,
                                                                std::string_view jti,
                                                                std::int64_t expires_at,
                                                                std::int64_t now_unix) {
  if (jti.empty() || jti.size() > max_jti) return jti_outcome::replayed;
  std::lock_guard lock(mutex_);
  {
    statement existing(db_, "SELECT expires_at FROM used_jti WHERE device_id = ? AND jti = ?;");
    if (!existing.ok()) return unexpected(storage_error(db_, "jti"));
    existing.bind(1, device);
    existing.bind(2, jti);
    const int rc = existing.step();
    if (rc == SQLITE_ROW && existing.integer(0) >= now_unix) return jti_outcome::replayed;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return unexpected(storage_error(db_, "jti"));
  }
  auto count = [&](const char* sql, bool per_device) -> std::optional<std::size_t> {
    statement query(db_, sql);
    if (!query.ok()) return std::nullopt;
    if (per_device) query.bind(1, device);
    if (query.step() != SQLITE_ROW) return std::nullopt;
    return static_cast<std::size_t>(query.integer(0));
  };
  auto over_bound = [&]() -> std::optional<bool> {
    const auto total = count("SELECT COUNT(*) FROM used_jti;", false);
    const auto mine = count("SELECT COUNT(*) FROM used_jti WHERE device_id = ?;", true);
    if (!total || !mine) return std::nullopt;
    return *total >= limits_.max_jti_entries || *mine >= limits_.max_jti_per_device;
  };
  auto full = over_bound();
  if (!full) return unexpected(storage_error(db_, "jti count"));
  if (*full) {
    // Purge what has expired, then decide; never evict a live entry (that would reopen replay).
    statement purge(db_, "DELETE FROM used_jti WHERE expires_at < ?;");
    if (!purge.ok()) return unexpected(storage_error(db_, "jti purge"));
    purge.bind(1, now_unix);
    if (purge.step() != SQLITE_DONE) return unexpected(storage_error(db_, "jti purge"));
    full = over_bound();
    if (!full) return unexpected(storage_error(db_, "jti count"));
    if (*full) return jti_outcome::full;
  }
  statement insert(db_,
                   "INSERT INTO used_jti (device_id, jti, expires_at) VALUES (?, ?, ?) "
                   "ON CONFLICT (device_id, jti) DO UPDATE SET expires_at = excluded.expires_at;");
  if (!insert.ok()) return unexpected(storage_error(db_, "jti insert"));
  insert.bind(1, device);
  insert.bind(2, jti);
  insert.bind(3, expires_at);
  if (insert.step() != SQLITE_DONE) return unexpected(storage_error(db_, "jti insert"));
  return jti_outcome::recorded;
}

result<bool, registry_error> device_registry::advance_counter(std::string_view device,
                                                              std::string_view key_id,
                                                              std::int64_t counter) {
  std::lock_guard lock(mutex_);
  // One conditional UPDATE: the comparison and the store are atomic.
  statement update(db_,
                   "UPDATE device_keys SET last_counter = ? WHERE device_id = ? AND key_id = ? "
                   "AND (last_counter IS NULL OR last_counter < ?);");
  if (!update.ok()) return unexpected(storage_error(db_, "counter"));
  update.bind(1, counter);
  update.bind(2, device);
  update.bind(3, key_id);
  update.bind(4, counter);
  if (update.step() != SQLITE_DONE) return unexpected(storage_error(db_, "counter"));
  return sqlite3_changes(db_) == 1;
}

result<std::size_t, registry_error> device_registry::purge_expired(std::int64_t now_unix) {
  std::lock_guard lock(mutex_);
  statement purge(db_, "DELETE FROM used_jti WHERE expires_at < ?;");
  if (!purge.ok()) return unexpected(storage_error(db_, "purge"));
  purge.bind(1, now_unix);
  if (purge.step() != SQLITE_DONE) return unexpected(storage_error(db_, "purge"));
  return static_cast<std::size_t>(sqlite3_changes(db_));
}

}  // namespace acemq::auth
