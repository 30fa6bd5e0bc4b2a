#include "acemq/auth/device_registry.hpp"

#include "acemq/common/enum_names.hpp"

#include <chrono>
#include <iterator>
#include <optional>
#include <utility>

#include "acemq/common/utf8.hpp"
#include "acemq/sqlite/database.hpp"
#include "acemq/sqlite/migrations.hpp"
#include "acemq/sqlite/rows.hpp"
#include "acemq/sqlite/statement.hpp"
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

/// A storage failure, its message "what: <SQLite's message>" as the layer words it.
registry_error storage_error(sqlite::error failure) {
  return registry_error{registry_error::kind::storage, std::move(failure.message)};
}

/// Runs a statement that returns no rows.
result<void, registry_error> run(sqlite::statement& stmt, std::string_view what) {
  if (auto done = stmt.run(what); !done) return unexpected(storage_error(done.error()));
  return {};
}

/// The single number a `SELECT COUNT(*)` query returns.
result<std::size_t, registry_error> count_rows(sqlite::statement& query, std::string_view what) {
  auto counted = sqlite::find_one(
      query, what, [&] { return query.integer(0); }, storage_error);
  if (!counted) return unexpected(counted.error());
  if (!*counted)
    return unexpected(registry_error{registry_error::kind::storage, std::string(what)});
  return static_cast<std::size_t>(**counted);
}

// Schema migrations, in order: entry i takes the database from version i to version i + 1.
// Never edit a released entry; append a new one and raise device_registry::schema_version.
// Version 1 is the layout the registry has written since its first release, statement for
// statement; the schema_version table was then created on its own before the step, hence IF NOT
// EXISTS (a file whose first migration failed after that still opens). Each step appends its
// number to that table (sqlite::schema_version_table).
constexpr std::string_view migrations[] = {
    // 0 -> 1
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
    "CREATE TABLE devices (id TEXT PRIMARY KEY NOT NULL, policy TEXT NOT NULL, created_at INTEGER "
    "NOT NULL);"
    "CREATE TABLE device_keys (device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE, "
    "key_id TEXT NOT NULL, jwk TEXT NOT NULL, last_counter INTEGER, added_at INTEGER NOT NULL, "
    "PRIMARY KEY (device_id, key_id));"
    "CREATE TABLE used_jti (device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE, jti "
    "TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (device_id, jti));"
    "CREATE INDEX used_jti_expiry ON used_jti(expires_at);",
};
static_assert(std::size(migrations) == device_registry::schema_version,
              "one migration per schema version");

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

constexpr enum_name<replay_policy> replay_policy_names[] = {{replay_policy::legacy, "legacy"},
                                                            {replay_policy::jti, "jti"},
                                                            {replay_policy::counter, "counter"},
                                                            {replay_policy::nonce, "nonce"}};

std::string_view to_string(replay_policy policy) noexcept {
  return name_in(replay_policy_names, policy, "nonce");
}

std::optional<replay_policy> parse_replay_policy(std::string_view text) noexcept {
  return value_in(replay_policy_names, text);
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

device_registry::device_registry(std::unique_ptr<sqlite::database> db, registry_limits limits)
    : db_(std::move(db)), limits_(limits) {}

device_registry::~device_registry() = default;

result<std::unique_ptr<device_registry>, registry_error> device_registry::open(
    const std::string& path, registry_limits limits) {
  // synchronous=FULL, SQLite's default and so what the registry has run with so far
  // (sqlite.org/pragma.html#pragma_synchronous): an added key or a used jti survives power loss.
  // Foreign keys: removing a device removes its keys and jti entries (ON DELETE CASCADE).
  auto opened = sqlite::database::open(
      path, {sqlite::sync_mode::full, /*foreign_keys=*/true, std::chrono::milliseconds(5000)});
  if (!opened) {
    auto failure = storage_error(opened.error());
    // A file that is there but is not a database: say which.
    if (opened.error().code == sqlite::errc::corrupt) {
      failure.message = "device registry " + path + ": " + failure.message;
    }
    return unexpected(std::move(failure));
  }
  std::unique_ptr<device_registry> registry(
      new device_registry(std::make_unique<sqlite::database>(std::move(*opened)), limits));
  if (auto migrated = registry->migrate(path); !migrated) return unexpected(migrated.error());
  // WAL: the broker reads while a management command writes. Switched on only now that the file
  // is known to be a registry, since it is stored in the file (ADR 0006).
  if (path != ":memory:") {
    if (auto wal = registry->db_->use_write_ahead_log(); !wal) {
      return unexpected(storage_error(wal.error()));
    }
  }
  return registry;
}

result<void, registry_error> device_registry::migrate(const std::string& path) {
  std::lock_guard lock(mutex_);
  // A database that has tables but no schema_version table belongs to another program: refuse it
  // rather than add the registry's tables to it.
  sqlite::statement tables(*db_,
                           "SELECT count(*), coalesce(sum(name = 'schema_version'), 0) "
                           "FROM sqlite_master WHERE type = 'table'");
  auto found = sqlite::find_one(
      tables, "schema",
      [&] {
        return std::pair{tables.integer(0), tables.integer(1) > 0};
      },
      storage_error);
  if (!found) return unexpected(found.error());
  if (*found && (*found)->first > 0 && !(*found)->second) {
    return unexpected(registry_error{registry_error::kind::storage,
                                     "device registry " + path +
                                         ": the database has tables but no schema_version table; "
                                         "it is not an acemq device registry"});
  }
  sqlite::schema_version_table keeper;
  auto migrated = sqlite::migrate(*db_, migrations, keeper);
  if (!migrated) {
    auto failure = storage_error(migrated.error());
    if (migrated.error().code == sqlite::errc::schema_too_new) {
      failure.message = "the device registry was written by a newer acemq: " + failure.message;
    }
    return unexpected(std::move(failure));
  }
  return {};
}

result<void, registry_error> device_registry::add_device(std::string_view id, replay_policy policy,
                                                         std::int64_t now_unix) {
  if (!valid_device_id(id)) {
    return unexpected(registry_error{registry_error::kind::bad_device_id, "invalid device id"});
  }
  std::lock_guard lock(mutex_);
  sqlite::statement all(*db_, "SELECT COUNT(*) FROM devices;");
  auto devices = count_rows(all, "count");
  if (!devices) return unexpected(devices.error());
  if (*devices >= limits_.max_devices) {
    return unexpected(registry_error{registry_error::kind::too_many, "too many devices"});
  }
  sqlite::statement insert(*db_, "INSERT INTO devices (id, policy, created_at) VALUES (?, ?, ?);");
  insert.bind(1, id).bind(2, to_string(policy)).bind(3, now_unix);
  if (auto added = insert.run("add device"); !added) {
    if (added.error().code == sqlite::errc::constraint) {
      return unexpected(registry_error{registry_error::kind::already_exists, "device exists"});
    }
    return unexpected(storage_error(added.error()));
  }
  return {};
}

result<void, registry_error> device_registry::remove_device(std::string_view id) {
  std::lock_guard lock(mutex_);
  sqlite::statement remove(*db_, "DELETE FROM devices WHERE id = ?;");
  remove.bind(1, id);
  if (auto removed = run(remove, "remove device"); !removed) return removed;
  if (db_->changes() == 0) {
    return unexpected(registry_error{registry_error::kind::not_found, "no such device"});
  }
  return {};
}

result<void, registry_error> device_registry::set_policy(std::string_view id,
                                                         replay_policy policy) {
  std::lock_guard lock(mutex_);
  sqlite::statement update(*db_, "UPDATE devices SET policy = ? WHERE id = ?;");
  update.bind(1, to_string(policy)).bind(2, id);
  if (auto updated = run(update, "set policy"); !updated) return updated;
  if (db_->changes() == 0) {
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
  sqlite::statement insert(*db_,
                           "INSERT INTO device_keys (device_id, key_id, jwk, last_counter, "
                           "added_at) VALUES (?, ?, ?, NULL, ?);");
  insert.bind(1, id).bind(2, key_id).bind(3, jwk_text).bind(4, now_unix);
  if (auto added = run(insert, "add key"); !added) return unexpected(added.error());
  return key_id;
}

result<void, registry_error> device_registry::remove_key(std::string_view id,
                                                         std::string_view key_id) {
  std::lock_guard lock(mutex_);
  sqlite::statement remove(*db_, "DELETE FROM device_keys WHERE device_id = ? AND key_id = ?;");
  remove.bind(1, id).bind(2, key_id);
  if (auto removed = run(remove, "remove key"); !removed) return removed;
  if (db_->changes() == 0) {
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
  sqlite::statement query(*db_, "SELECT policy, created_at FROM devices WHERE id = ?;");
  query.bind(1, id);
  auto row = sqlite::find_one(
      query, "find device",
      [&] {
        return std::pair{parse_replay_policy(query.text(0)), query.integer(1)};
      },
      storage_error);
  if (!row) return unexpected(row.error());
  if (!*row) return std::optional<device_record>{};
  device_record record;
  record.id = std::string(id);
  const auto [policy, created_at] = **row;
  if (!policy) return unexpected(registry_error{registry_error::kind::storage, "stored policy"});
  record.policy = *policy;
  record.created_at = created_at;

  struct stored_key {
    std::string key_id;
    std::string jwk;
    std::optional<std::int64_t> last_counter;
    std::int64_t added_at = 0;
  };
  sqlite::statement keys(*db_,
                         "SELECT key_id, jwk, last_counter, added_at FROM device_keys WHERE "
                         "device_id = ? ORDER BY added_at, key_id;");
  keys.bind(1, id);
  auto rows = sqlite::find_all(
      keys, "find keys",
      [&] {
        return stored_key{keys.text(0), keys.text(1),
                          keys.is_null(2) ? std::nullopt : std::optional(keys.integer(2)),
                          keys.integer(3)};
      },
      storage_error);
  if (!rows) return unexpected(rows.error());
  for (auto& stored : *rows) {
    auto parsed = key_from_stored_jwk(stored.jwk);
    if (!parsed) return unexpected(parsed.error());
    device_key entry{std::move(stored.key_id), std::move(*parsed), stored.last_counter,
                     stored.added_at};
    entry.key.bind_algorithm(signature_algorithm_for(entry.key.type()));
    entry.key.set_kid(to_bytes(entry.key_id));
    record.keys.push_back(std::move(entry));
  }
  return std::optional<device_record>(std::move(record));
}

result<std::vector<device_record>, registry_error> device_registry::list() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  {
    sqlite::statement query(*db_, "SELECT id FROM devices ORDER BY id;");
    auto all = sqlite::find_all(
        query, "list", [&] { return query.text(0); }, storage_error);
    if (!all) return unexpected(all.error());
    ids = std::move(*all);
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
    sqlite::statement existing(*db_,
                               "SELECT expires_at FROM used_jti WHERE device_id = ? AND jti = ?;");
    existing.bind(1, device).bind(2, jti);
    auto seen = sqlite::find_one(
        existing, "jti", [&] { return existing.integer(0); }, storage_error);
    if (!seen) return unexpected(seen.error());
    if (*seen && **seen >= now_unix) return jti_outcome::replayed;
  }
  auto over_bound = [&]() -> result<bool, registry_error> {
    sqlite::statement all(*db_, "SELECT COUNT(*) FROM used_jti;");
    auto total = count_rows(all, "jti count");
    if (!total) return unexpected(total.error());
    sqlite::statement of_device(*db_, "SELECT COUNT(*) FROM used_jti WHERE device_id = ?;");
    of_device.bind(1, device);
    auto mine = count_rows(of_device, "jti count");
    if (!mine) return unexpected(mine.error());
    return *total >= limits_.max_jti_entries || *mine >= limits_.max_jti_per_device;
  };
  auto full = over_bound();
  if (!full) return unexpected(full.error());
  if (*full) {
    // Purge what has expired, then decide; never evict a live entry (that would reopen replay).
    sqlite::statement purge(*db_, "DELETE FROM used_jti WHERE expires_at < ?;");
    purge.bind(1, now_unix);
    if (auto purged = run(purge, "jti purge"); !purged) return unexpected(purged.error());
    full = over_bound();
    if (!full) return unexpected(full.error());
    if (*full) return jti_outcome::full;
  }
  sqlite::statement insert(*db_,
                           "INSERT INTO used_jti (device_id, jti, expires_at) VALUES (?, ?, ?) "
                           "ON CONFLICT (device_id, jti) DO UPDATE SET expires_at = "
                           "excluded.expires_at;");
  insert.bind(1, device).bind(2, jti).bind(3, expires_at);
  if (auto inserted = run(insert, "jti insert"); !inserted) return unexpected(inserted.error());
  return jti_outcome::recorded;
}

result<bool, registry_error> device_registry::advance_counter(std::string_view device,
                                                              std::string_view key_id,
                                                              std::int64_t counter) {
  std::lock_guard lock(mutex_);
  // One conditional UPDATE: the comparison and the store are atomic.
  sqlite::statement update(*db_,
                           "UPDATE device_keys SET last_counter = ?1 WHERE device_id = ?2 AND "
                           "key_id = ?3 AND (last_counter IS NULL OR last_counter < ?1);");
  update.bind(1, counter).bind(2, device).bind(3, key_id);
  if (auto updated = run(update, "counter"); !updated) return unexpected(updated.error());
  return db_->changes() == 1;
}

result<std::size_t, registry_error> device_registry::purge_expired(std::int64_t now_unix) {
  std::lock_guard lock(mutex_);
  sqlite::statement purge(*db_, "DELETE FROM used_jti WHERE expires_at < ?;");
  purge.bind(1, now_unix);
  if (auto purged = run(purge, "purge"); !purged) return unexpected(purged.error());
  return static_cast<std::size_t>(db_->changes());
}

}  // namespace acemq::auth
