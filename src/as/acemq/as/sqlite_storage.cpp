// sqlite_storage: opening the database, its schema and the migrations between versions.
#include "acemq/as/sqlite_storage.hpp"

#include <utility>

#include "acemq/as/sqlite_storage_detail.hpp"
#include "acemq/sqlite/migrations.hpp"

namespace acemq::as {

using namespace detail;  // the statement helpers of this storage

namespace {

// Schema version 1. Every column a record has, no more: records are the contract. The
// schema_version table records each step applied (see schema_version_table below).
constexpr std::string_view schema_v1 = R"sql(
CREATE TABLE schema_version(version INTEGER NOT NULL, applied_at INTEGER NOT NULL DEFAULT (unixepoch()));
CREATE TABLE clients(
  client_id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  certificate_thumbprint TEXT NOT NULL,
  allow_client_credentials INTEGER NOT NULL,
  refresh_mode INTEGER NOT NULL,
  refresh_lifetime INTEGER NOT NULL,
  description TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  disabled INTEGER NOT NULL);
CREATE TABLE resource_servers(
  audience TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  token_format INTEGER NOT NULL,
  token_lifetime INTEGER NOT NULL,
  use_exi INTEGER NOT NULL,
  rs_cnf TEXT NOT NULL,
  encryption_key TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE owners(
  owner_id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  display_name TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE owner_subtrees(
  owner_id TEXT NOT NULL REFERENCES owners(owner_id) ON DELETE CASCADE,
  audience TEXT NOT NULL REFERENCES resource_servers(audience) ON DELETE CASCADE,
  filter TEXT NOT NULL,
  PRIMARY KEY(owner_id, audience, filter));
CREATE TABLE grants(
  grant_id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner_id TEXT NOT NULL REFERENCES owners(owner_id) ON DELETE CASCADE,
  client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
  audience TEXT NOT NULL REFERENCES resource_servers(audience) ON DELETE CASCADE,
  filter TEXT NOT NULL,
  permissions INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL);
CREATE INDEX grants_by_client ON grants(client_id, audience);
CREATE TABLE tokens(
  token_id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  client_id TEXT NOT NULL,
  audience TEXT NOT NULL,
  scope TEXT NOT NULL,
  token_format INTEGER NOT NULL,
  cnf TEXT NOT NULL,
  cnonce TEXT NOT NULL,
  exi INTEGER NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  signing_kid TEXT NOT NULL,
  refresh_id TEXT NOT NULL,
  revoked_at INTEGER NOT NULL);
CREATE INDEX tokens_by_client ON tokens(client_id, audience, expires_at);
CREATE TABLE revocations(
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  token_hash TEXT NOT NULL,
  audience TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL);
CREATE TABLE refresh_tokens(
  refresh_id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  client_id TEXT NOT NULL,
  audience TEXT NOT NULL,
  requested_scope TEXT NOT NULL,
  req_cnf TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL);
CREATE TABLE signing_keys(
  kid TEXT PRIMARY KEY,
  algorithm TEXT NOT NULL,
  private_pem TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  retired_at INTEGER NOT NULL,
  publish_until INTEGER NOT NULL);
)sql";

// Schema version 2: the public PoP keys bound to each client's tokens, so that a req_cnf naming a
// key by kid alone is accepted only for a key of the same client (RFC 9201 3.1). One row per
// (client, key), removed by purge_expired with the last token or refresh token carrying the key:
// never more rows than the tokens table holds.
constexpr std::string_view schema_v2 = R"sql(
CREATE TABLE client_pop_keys(
  client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
  kid TEXT NOT NULL,
  bound_until INTEGER NOT NULL,
  PRIMARY KEY(client_id, kid));
CREATE INDEX client_pop_keys_by_expiry ON client_pop_keys(bound_until);
)sql";

// Step i takes the database from version i to version i + 1.
constexpr std::string_view migrations[] = {schema_v1, schema_v2};
static_assert(std::size(migrations) == sqlite_storage::schema_version,
              "one migration per schema version");

}  // namespace

storage_result<std::unique_ptr<sqlite_storage>> sqlite_storage::open(const std::string& path) {
  // synchronous=NORMAL (with WAL) is durable across process crashes.
  auto db = sqlite::database::open(
      path, {sqlite::sync_mode::normal, /*foreign_keys=*/true, std::chrono::milliseconds(5000)});
  if (!db) return unexpected(to_storage_error(db.error()));
  std::unique_ptr<sqlite_storage> store(new sqlite_storage(std::move(*db)));
  if (auto outcome = store->migrate(); !outcome) return unexpected(outcome.error());
  // WAL: readers never block the writer. Set once the file is known to be ours.
  if (auto outcome = store->db_.use_write_ahead_log(); !outcome) {
    return unexpected(to_storage_error(outcome.error()));
  }
  return store;
}

sqlite_storage::sqlite_storage(sqlite::database db) : db_(std::move(db)) {}

sqlite_storage::~sqlite_storage() = default;

storage_result<void> sqlite_storage::migrate() {
  // A database that has tables but no schema_version table is not ours: refuse to touch it.
  statement tables(db_,
                   "SELECT count(*), sum(name = 'schema_version') FROM sqlite_master "
                   "WHERE type = 'table'");
  if (!tables.prepared() || !tables.step()) {
    auto error = to_storage_error(tables.failure("not a readable SQLite database"));
    error.code = storage_errc::corrupt;
    return unexpected(std::move(error));
  }
  const auto table_count = tables.integer(0);
  const auto has_version = tables.integer(1) > 0;
  if (table_count > 0 && !has_version) {
    return unexpected(storage_error{storage_errc::corrupt,
                                    "database has tables but no schema_version: not an "
                                    "acemq-as database"});
  }
  // acemq-as has recorded its schema version in a schema_version table (one row per step, its
  // applied_at filled by the column's default) since its first release, so existing files keep
  // opening.
  sqlite::schema_version_table keeper;
  auto migrated = sqlite::migrate(db_, migrations, keeper);
  if (!migrated) {
    auto error = to_storage_error(migrated.error());
    if (error.code == storage_errc::schema_too_new) error.message += "; upgrade acemq-as";
    return unexpected(std::move(error));
  }
  return {};
}

}  // namespace acemq::as
