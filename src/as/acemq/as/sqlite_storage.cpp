#include "acemq/as/sqlite_storage.hpp"

#include <sqlite3.h>

#include <utility>

namespace acemq::as {
namespace {

storage_error make_error(sqlite3* db, storage_errc code, std::string_view what) {
  std::string message(what);
  if (db != nullptr) {
    message += ": ";
    message += sqlite3_errmsg(db);
  }
  return {code, std::move(message)};
}

storage_errc classify(int rc) {
  const int primary = rc & 0xff;
  if (primary == SQLITE_CONSTRAINT) return storage_errc::conflict;
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) return storage_errc::corrupt;
  return storage_errc::io;
}

/// A prepared statement with positional binding (1-based) and column reads (0-based).
class statement {
 public:
  statement(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  bool prepared() const noexcept { return rc_ == SQLITE_OK && stmt_ != nullptr; }
  storage_error error(std::string_view what) const { return make_error(db_, classify(rc_), what); }

  statement& bind(int index, std::string_view text) {
    if (rc_ == SQLITE_OK) {
      rc_ = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT,
                                SQLITE_UTF8);
    }
    return *this;
  }
  statement& bind(int index, std::int64_t number) {
    if (rc_ == SQLITE_OK) rc_ = sqlite3_bind_int64(stmt_, index, number);
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
  int changes() const noexcept { return sqlite3_changes(db_); }

  std::string text(int column) const {
    const auto* data = sqlite3_column_text(stmt_, column);
    const int size = sqlite3_column_bytes(stmt_, column);
    if (data == nullptr || size <= 0) return {};
    return std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size));
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

/// Runs a statement that returns no rows.
storage_result<void> run(statement& stmt, std::string_view what) {
  if (!stmt.prepared()) return unexpected(stmt.error(what));
  stmt.step();
  if (!stmt.ok()) return unexpected(stmt.error(what));
  return {};
}

/// Runs an UPDATE that must touch exactly one row.
storage_result<void> run_one(statement& stmt, std::string_view what) {
  auto outcome = run(stmt, what);
  if (!outcome) return outcome;
  if (stmt.changes() == 0)
    return unexpected(storage_error{storage_errc::not_found, std::string(what)});
  return {};
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
  storage_result<void> commit() {
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return unexpected(make_error(db_, storage_errc::io, "commit"));
    }
    active_ = false;
    return {};
  }

 private:
  sqlite3* db_;
  bool active_ = false;
};

// Schema version 1. Every column a record has, no more: records are the contract.
constexpr const char* schema_v1 = R"sql(
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
constexpr const char* schema_v2 = R"sql(
CREATE TABLE client_pop_keys(
  client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,
  kid TEXT NOT NULL,
  bound_until INTEGER NOT NULL,
  PRIMARY KEY(client_id, kid));
CREATE INDEX client_pop_keys_by_expiry ON client_pop_keys(bound_until);
)sql";

constexpr const char* client_columns =
    "client_id, secret_hash, certificate_thumbprint, allow_client_credentials, refresh_mode, "
    "refresh_lifetime, description, created_at, disabled";

client_record read_client(const statement& row) {
  client_record c;
  c.client_id = row.text(0);
  c.secret_hash = row.text(1);
  c.certificate_thumbprint = row.text(2);
  c.allow_client_credentials = row.integer(3) != 0;
  const auto mode = row.integer(4);
  c.refresh = mode == 1 ? refresh_mode::constant
                        : (mode == 2 ? refresh_mode::rotating : refresh_mode::none);
  c.refresh_lifetime = row.integer(5);
  c.description = row.text(6);
  c.created_at = row.integer(7);
  c.disabled = row.integer(8) != 0;
  return c;
}

constexpr const char* server_columns =
    "audience, secret_hash, token_format, token_lifetime, use_exi, rs_cnf, encryption_key, "
    "created_at";

token_format format_from_int(std::int64_t value) {
  if (value == 2) return token_format::cwt;
  if (value == 3) return token_format::reference;
  return token_format::jwt;
}

resource_server_record read_server(const statement& row) {
  resource_server_record s;
  s.audience = row.text(0);
  s.secret_hash = row.text(1);
  s.format = format_from_int(row.integer(2));
  s.token_lifetime = row.integer(3);
  s.use_exi = row.integer(4) != 0;
  s.rs_cnf = row.text(5);
  s.encryption_key = row.text(6);
  s.created_at = row.integer(7);
  return s;
}

constexpr const char* grant_columns =
    "grant_id, owner_id, client_id, audience, filter, permissions, not_after, created_at, "
    "revoked_at";

grant_record read_grant(const statement& row) {
  grant_record g;
  g.grant_id = row.integer(0);
  g.owner_id = row.text(1);
  g.client_id = row.text(2);
  g.audience = row.text(3);
  g.filter = row.text(4);
  g.permissions = static_cast<std::uint8_t>(row.integer(5) & 0x03);
  g.not_after = row.integer(6);
  g.created_at = row.integer(7);
  g.revoked_at = row.integer(8);
  return g;
}

constexpr const char* token_columns =
    "token_id, token_hash, client_id, audience, scope, token_format, cnf, cnonce, exi, "
    "issued_at, expires_at, signing_kid, refresh_id, revoked_at";

issued_token_record read_token(const statement& row) {
  issued_token_record t;
  t.token_id = row.text(0);
  t.token_hash = row.text(1);
  t.client_id = row.text(2);
  t.audience = row.text(3);
  t.scope = row.text(4);
  t.format = format_from_int(row.integer(5));
  t.cnf = row.text(6);
  t.cnonce = row.text(7);
  t.exi = row.integer(8);
  t.issued_at = row.integer(9);
  t.expires_at = row.integer(10);
  t.signing_kid = row.text(11);
  t.refresh_id = row.text(12);
  t.revoked_at = row.integer(13);
  return t;
}

std::string select_from(const char* columns, const char* table, const char* rest) {
  std::string sql = "SELECT ";
  sql += columns;
  sql += " FROM ";
  sql += table;
  sql += ' ';
  sql += rest;
  return sql;
}

}  // namespace

storage_result<std::unique_ptr<sqlite_storage>> sqlite_storage::open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    auto error = make_error(db, storage_errc::io, "cannot open database " + path);
    sqlite3_close(db);
    return unexpected(std::move(error));
  }
  std::unique_ptr<sqlite_storage> store(new sqlite_storage(db));
  sqlite3_busy_timeout(db, 5000);
  // WAL: readers never block the writer; synchronous=NORMAL is durable across process crashes.
  if (auto outcome = store->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                                 "PRAGMA foreign_keys=ON;");
      !outcome) {
    return unexpected(outcome.error());
  }
  if (auto outcome = store->migrate(); !outcome) return unexpected(outcome.error());
  return store;
}

sqlite_storage::~sqlite_storage() {
  sqlite3_close(db_);
}

storage_result<void> sqlite_storage::exec(const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    return unexpected(storage_error{classify(rc), "sqlite: " + text});
  }
  return {};
}

storage_result<void> sqlite_storage::migrate() {
  // A database that has tables but no schema_version table is not ours: refuse to touch it.
  statement tables(db_,
                   "SELECT count(*), sum(name = 'schema_version') FROM sqlite_master "
                   "WHERE type = 'table'");
  if (!tables.prepared() || !tables.step()) {
    return unexpected(storage_error{storage_errc::corrupt, "not a readable SQLite database: " +
                                                               std::string(sqlite3_errmsg(db_))});
  }
  const auto table_count = tables.integer(0);
  const auto has_version = tables.integer(1) > 0;
  if (table_count > 0 && !has_version) {
    return unexpected(storage_error{storage_errc::corrupt,
                                    "database has tables but no schema_version: not an "
                                    "acemq-as database"});
  }
  int current = 0;
  if (has_version) {
    statement version(db_, "SELECT max(version) FROM schema_version");
    if (!version.prepared() || !version.step()) return unexpected(version.error("schema version"));
    current = static_cast<int>(version.integer(0));
  }
  if (current > schema_version) {
    return unexpected(storage_error{storage_errc::schema_too_new,
                                    "database schema version " + std::to_string(current) +
                                        " is newer than this acemq-as (" +
                                        std::to_string(schema_version) + "); upgrade acemq-as"});
  }
  if (current == schema_version) return {};
  transaction tx(db_);
  if (!tx.active()) return unexpected(make_error(db_, storage_errc::io, "begin migration"));
  if (current < 1) {
    if (auto outcome = exec("CREATE TABLE schema_version(version INTEGER NOT NULL, "
                            "applied_at INTEGER NOT NULL DEFAULT (unixepoch()));");
        !outcome) {
      return outcome;
    }
    if (auto outcome = exec(schema_v1); !outcome) return outcome;
    if (auto outcome = exec("INSERT INTO schema_version(version) VALUES (1);"); !outcome) {
      return outcome;
    }
  }
  if (current < 2) {
    if (auto outcome = exec(schema_v2); !outcome) return outcome;
    if (auto outcome = exec("INSERT INTO schema_version(version) VALUES (2);"); !outcome) {
      return outcome;
    }
  }
  return tx.commit();
}

// --- clients ---

storage_result<void> sqlite_storage::insert_client(const client_record& c) {
  statement stmt(db_,
                 "INSERT INTO clients(client_id, secret_hash, certificate_thumbprint, "
                 "allow_client_credentials, refresh_mode, refresh_lifetime, description, "
                 "created_at, disabled) VALUES (?,?,?,?,?,?,?,?,?)");
  stmt.bind(1, c.client_id)
      .bind(2, c.secret_hash)
      .bind(3, c.certificate_thumbprint)
      .bind(4, std::int64_t{c.allow_client_credentials ? 1 : 0})
      .bind(5, std::int64_t{static_cast<std::uint8_t>(c.refresh)})
      .bind(6, c.refresh_lifetime)
      .bind(7, c.description)
      .bind(8, c.created_at)
      .bind(9, std::int64_t{c.disabled ? 1 : 0});
  return run(stmt, "insert client " + c.client_id);
}

storage_result<void> sqlite_storage::update_client(const client_record& c) {
  statement stmt(db_,
                 "UPDATE clients SET secret_hash=?, certificate_thumbprint=?, "
                 "allow_client_credentials=?, refresh_mode=?, refresh_lifetime=?, description=?, "
                 "disabled=? WHERE client_id=?");
  stmt.bind(1, c.secret_hash)
      .bind(2, c.certificate_thumbprint)
      .bind(3, std::int64_t{c.allow_client_credentials ? 1 : 0})
      .bind(4, std::int64_t{static_cast<std::uint8_t>(c.refresh)})
      .bind(5, c.refresh_lifetime)
      .bind(6, c.description)
      .bind(7, std::int64_t{c.disabled ? 1 : 0})
      .bind(8, c.client_id);
  return run_one(stmt, "update client " + c.client_id);
}

storage_result<std::optional<client_record>> sqlite_storage::find_client(
    const std::string& client_id) {
  statement stmt(db_, select_from(client_columns, "clients", "WHERE client_id=?").c_str());
  stmt.bind(1, client_id);
  if (!stmt.prepared()) return unexpected(stmt.error("find client"));
  if (stmt.step()) return std::optional<client_record>(read_client(stmt));
  if (!stmt.ok()) return unexpected(stmt.error("find client"));
  return std::optional<client_record>();
}

storage_result<std::vector<client_record>> sqlite_storage::list_clients() {
  statement stmt(db_, select_from(client_columns, "clients", "ORDER BY client_id").c_str());
  if (!stmt.prepared()) return unexpected(stmt.error("list clients"));
  std::vector<client_record> out;
  while (stmt.step())
    out.push_back(read_client(stmt));
  if (!stmt.ok()) return unexpected(stmt.error("list clients"));
  return out;
}

// --- resource servers ---

storage_result<void> sqlite_storage::insert_resource_server(const resource_server_record& s) {
  statement stmt(db_,
                 "INSERT INTO resource_servers(audience, secret_hash, token_format, "
                 "token_lifetime, use_exi, rs_cnf, encryption_key, created_at) "
                 "VALUES (?,?,?,?,?,?,?,?)");
  stmt.bind(1, s.audience)
      .bind(2, s.secret_hash)
      .bind(3, std::int64_t{static_cast<std::uint8_t>(s.format)})
      .bind(4, s.token_lifetime)
      .bind(5, std::int64_t{s.use_exi ? 1 : 0})
      .bind(6, s.rs_cnf)
      .bind(7, s.encryption_key)
      .bind(8, s.created_at);
  return run(stmt, "insert resource server " + s.audience);
}

storage_result<void> sqlite_storage::update_resource_server(const resource_server_record& s) {
  statement stmt(db_,
                 "UPDATE resource_servers SET secret_hash=?, token_format=?, token_lifetime=?, "
                 "use_exi=?, rs_cnf=?, encryption_key=? WHERE audience=?");
  stmt.bind(1, s.secret_hash)
      .bind(2, std::int64_t{static_cast<std::uint8_t>(s.format)})
      .bind(3, s.token_lifetime)
      .bind(4, std::int64_t{s.use_exi ? 1 : 0})
      .bind(5, s.rs_cnf)
      .bind(6, s.encryption_key)
      .bind(7, s.audience);
  return run_one(stmt, "update resource server " + s.audience);
}

storage_result<std::optional<resource_server_record>> sqlite_storage::find_resource_server(
    const std::string& audience) {
  statement stmt(db_, select_from(server_columns, "resource_servers", "WHERE audience=?").c_str());
  stmt.bind(1, audience);
  if (!stmt.prepared()) return unexpected(stmt.error("find resource server"));
  if (stmt.step()) return std::optional<resource_server_record>(read_server(stmt));
  if (!stmt.ok()) return unexpected(stmt.error("find resource server"));
  return std::optional<resource_server_record>();
}

storage_result<std::vector<resource_server_record>> sqlite_storage::list_resource_servers() {
  statement stmt(db_, select_from(server_columns, "resource_servers", "ORDER BY audience").c_str());
  if (!stmt.prepared()) return unexpected(stmt.error("list resource servers"));
  std::vector<resource_server_record> out;
  while (stmt.step())
    out.push_back(read_server(stmt));
  if (!stmt.ok()) return unexpected(stmt.error("list resource servers"));
  return out;
}

// --- owners ---

storage_result<void> sqlite_storage::insert_owner(const owner_record& o) {
  statement stmt(db_,
                 "INSERT INTO owners(owner_id, secret_hash, display_name, created_at) "
                 "VALUES (?,?,?,?)");
  stmt.bind(1, o.owner_id).bind(2, o.secret_hash).bind(3, o.display_name).bind(4, o.created_at);
  return run(stmt, "insert owner " + o.owner_id);
}

storage_result<std::optional<owner_record>> sqlite_storage::find_owner(
    const std::string& owner_id) {
  statement stmt(db_,
                 "SELECT owner_id, secret_hash, display_name, created_at FROM owners "
                 "WHERE owner_id=?");
  stmt.bind(1, owner_id);
  if (!stmt.prepared()) return unexpected(stmt.error("find owner"));
  if (stmt.step()) {
    return std::optional<owner_record>(
        owner_record{stmt.text(0), stmt.text(1), stmt.text(2), stmt.integer(3)});
  }
  if (!stmt.ok()) return unexpected(stmt.error("find owner"));
  return std::optional<owner_record>();
}

storage_result<std::vector<owner_record>> sqlite_storage::list_owners() {
  statement stmt(db_,
                 "SELECT owner_id, secret_hash, display_name, created_at FROM owners "
                 "ORDER BY owner_id");
  if (!stmt.prepared()) return unexpected(stmt.error("list owners"));
  std::vector<owner_record> out;
  while (stmt.step()) {
    out.push_back(owner_record{stmt.text(0), stmt.text(1), stmt.text(2), stmt.integer(3)});
  }
  if (!stmt.ok()) return unexpected(stmt.error("list owners"));
  return out;
}

storage_result<void> sqlite_storage::insert_owner_subtree(const owner_subtree& subtree) {
  statement stmt(db_, "INSERT INTO owner_subtrees(owner_id, audience, filter) VALUES (?,?,?)");
  stmt.bind(1, subtree.owner_id).bind(2, subtree.audience).bind(3, subtree.filter);
  return run(stmt, "insert owner subtree " + subtree.filter);
}

storage_result<std::vector<owner_subtree>> sqlite_storage::list_owner_subtrees(
    const std::string& owner_id) {
  statement stmt(db_,
                 "SELECT owner_id, audience, filter FROM owner_subtrees "
                 "WHERE owner_id=? OR ?='' ORDER BY owner_id, audience, filter");
  stmt.bind(1, owner_id).bind(2, owner_id);
  if (!stmt.prepared()) return unexpected(stmt.error("list owner subtrees"));
  std::vector<owner_subtree> out;
  while (stmt.step())
    out.push_back(owner_subtree{stmt.text(0), stmt.text(1), stmt.text(2)});
  if (!stmt.ok()) return unexpected(stmt.error("list owner subtrees"));
  return out;
}

// --- grants ---

storage_result<std::int64_t> sqlite_storage::insert_grant(const grant_record& g) {
  statement stmt(db_,
                 "INSERT INTO grants(owner_id, client_id, audience, filter, permissions, "
                 "not_after, created_at, revoked_at) VALUES (?,?,?,?,?,?,?,?)");
  stmt.bind(1, g.owner_id)
      .bind(2, g.client_id)
      .bind(3, g.audience)
      .bind(4, g.filter)
      .bind(5, std::int64_t{g.permissions})
      .bind(6, g.not_after)
      .bind(7, g.created_at)
      .bind(8, g.revoked_at);
  if (auto outcome = run(stmt, "insert grant"); !outcome) return unexpected(outcome.error());
  return std::int64_t{sqlite3_last_insert_rowid(db_)};
}

storage_result<std::optional<grant_record>> sqlite_storage::find_grant(std::int64_t grant_id) {
  statement stmt(db_, select_from(grant_columns, "grants", "WHERE grant_id=?").c_str());
  stmt.bind(1, grant_id);
  if (!stmt.prepared()) return unexpected(stmt.error("find grant"));
  if (stmt.step()) return std::optional<grant_record>(read_grant(stmt));
  if (!stmt.ok()) return unexpected(stmt.error("find grant"));
  return std::optional<grant_record>();
}

storage_result<std::vector<grant_record>> sqlite_storage::list_grants(const grant_query& q) {
  statement stmt(db_, select_from(grant_columns, "grants",
                                  "WHERE (?1='' OR owner_id=?1) AND (?2='' OR client_id=?2) AND "
                                  "(?3='' OR audience=?3) AND "
                                  "(?4=1 OR (revoked_at=0 AND not_after>?5)) ORDER BY grant_id")
                          .c_str());
  stmt.bind(1, q.owner_id)
      .bind(2, q.client_id)
      .bind(3, q.audience)
      .bind(4, std::int64_t{q.include_inactive ? 1 : 0})
      .bind(5, q.now);
  if (!stmt.prepared()) return unexpected(stmt.error("list grants"));
  std::vector<grant_record> out;
  while (stmt.step())
    out.push_back(read_grant(stmt));
  if (!stmt.ok()) return unexpected(stmt.error("list grants"));
  return out;
}

storage_result<void> sqlite_storage::update_grant(const grant_record& g) {
  statement stmt(db_, "UPDATE grants SET permissions=?, not_after=? WHERE grant_id=?");
  stmt.bind(1, std::int64_t{g.permissions}).bind(2, g.not_after).bind(3, g.grant_id);
  return run_one(stmt, "update grant " + std::to_string(g.grant_id));
}

storage_result<void> sqlite_storage::revoke_grant(std::int64_t grant_id, std::int64_t now) {
  statement stmt(db_,
                 "UPDATE grants SET revoked_at=CASE WHEN revoked_at=0 THEN ? ELSE revoked_at END "
                 "WHERE grant_id=?");
  stmt.bind(1, now).bind(2, grant_id);
  return run_one(stmt, "revoke grant " + std::to_string(grant_id));
}

// --- tokens ---

storage_result<void> sqlite_storage::insert_token(const issued_token_record& t) {
  statement stmt(db_,
                 "INSERT INTO tokens(token_id, token_hash, client_id, audience, scope, "
                 "token_format, cnf, cnonce, exi, issued_at, expires_at, signing_kid, refresh_id, "
                 "revoked_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  stmt.bind(1, t.token_id)
      .bind(2, t.token_hash)
      .bind(3, t.client_id)
      .bind(4, t.audience)
      .bind(5, t.scope)
      .bind(6, std::int64_t{static_cast<std::uint8_t>(t.format)})
      .bind(7, t.cnf)
      .bind(8, t.cnonce)
      .bind(9, t.exi)
      .bind(10, t.issued_at)
      .bind(11, t.expires_at)
      .bind(12, t.signing_kid)
      .bind(13, t.refresh_id)
      .bind(14, t.revoked_at);
  return run(stmt, "insert token");
}

storage_result<std::optional<issued_token_record>> sqlite_storage::find_token_by_hash(
    const std::string& token_hash) {
  statement stmt(db_, select_from(token_columns, "tokens", "WHERE token_hash=?").c_str());
  stmt.bind(1, token_hash);
  if (!stmt.prepared()) return unexpected(stmt.error("find token"));
  if (stmt.step()) return std::optional<issued_token_record>(read_token(stmt));
  if (!stmt.ok()) return unexpected(stmt.error("find token"));
  return std::optional<issued_token_record>();
}

storage_result<std::vector<issued_token_record>> sqlite_storage::active_tokens(
    const std::string& client_id, const std::string& audience, std::int64_t now) {
  statement stmt(db_, select_from(token_columns, "tokens",
                                  "WHERE client_id=? AND audience=? AND revoked_at=0 AND "
                                  "expires_at>? ORDER BY issued_at")
                          .c_str());
  stmt.bind(1, client_id).bind(2, audience).bind(3, now);
  if (!stmt.prepared()) return unexpected(stmt.error("active tokens"));
  std::vector<issued_token_record> out;
  while (stmt.step())
    out.push_back(read_token(stmt));
  if (!stmt.ok()) return unexpected(stmt.error("active tokens"));
  return out;
}

storage_result<void> sqlite_storage::revoke_token(const std::string& token_id, std::int64_t now) {
  transaction tx(db_);
  if (!tx.active()) return unexpected(make_error(db_, storage_errc::io, "begin revoke"));
  statement mark(db_, "UPDATE tokens SET revoked_at=? WHERE token_id=? AND revoked_at=0");
  mark.bind(1, now).bind(2, token_id);
  if (auto outcome = run(mark, "revoke token"); !outcome) return outcome;
  if (mark.changes() == 0) return {};  // unknown or already revoked: nothing to list
  statement list(db_,
                 "INSERT INTO revocations(token_hash, audience, expires_at, revoked_at) "
                 "SELECT token_hash, audience, expires_at, ? FROM tokens WHERE token_id=?");
  list.bind(1, now).bind(2, token_id);
  if (auto outcome = run(list, "append revocation"); !outcome) return outcome;
  return tx.commit();
}

storage_result<std::vector<revocation_entry>> sqlite_storage::revocations_since(std::int64_t cursor,
                                                                                std::size_t limit,
                                                                                std::int64_t now) {
  // The token row lives as long as its entry (both go at exp), so the join finds its iat; the
  // revocation time bounds it from above should the row be missing.
  statement stmt(db_,
                 "SELECT r.sequence, r.token_hash, r.audience, r.expires_at, r.revoked_at, "
                 "coalesce(t.issued_at, r.revoked_at) FROM revocations r "
                 "LEFT JOIN tokens t ON t.token_hash=r.token_hash "
                 "WHERE r.sequence>? AND r.expires_at>? ORDER BY r.sequence LIMIT ?");
  stmt.bind(1, cursor).bind(2, now).bind(3, static_cast<std::int64_t>(limit));
  if (!stmt.prepared()) return unexpected(stmt.error("revocations"));
  std::vector<revocation_entry> out;
  while (stmt.step()) {
    out.push_back(revocation_entry{stmt.integer(0), stmt.text(1), stmt.text(2), stmt.integer(3),
                                   stmt.integer(4), stmt.integer(5)});
  }
  if (!stmt.ok()) return unexpected(stmt.error("revocations"));
  return out;
}

storage_result<std::int64_t> sqlite_storage::latest_revocation() {
  // sqlite_sequence keeps the AUTOINCREMENT high-water mark even after purged rows.
  statement stmt(db_, "SELECT seq FROM sqlite_sequence WHERE name='revocations'");
  if (!stmt.prepared()) return unexpected(stmt.error("latest revocation"));
  if (stmt.step()) return std::int64_t{stmt.integer(0)};
  if (!stmt.ok()) return unexpected(stmt.error("latest revocation"));
  return std::int64_t{0};
}

// --- refresh tokens ---

storage_result<void> sqlite_storage::insert_refresh_token(const refresh_token_record& r) {
  statement stmt(db_,
                 "INSERT INTO refresh_tokens(refresh_id, token_hash, client_id, audience, "
                 "requested_scope, req_cnf, issued_at, expires_at, revoked_at) "
                 "VALUES (?,?,?,?,?,?,?,?,?)");
  stmt.bind(1, r.refresh_id)
      .bind(2, r.token_hash)
      .bind(3, r.client_id)
      .bind(4, r.audience)
      .bind(5, r.requested_scope)
      .bind(6, r.req_cnf)
      .bind(7, r.issued_at)
      .bind(8, r.expires_at)
      .bind(9, r.revoked_at);
  return run(stmt, "insert refresh token");
}

storage_result<std::optional<refresh_token_record>> sqlite_storage::find_refresh_token_by_hash(
    const std::string& token_hash) {
  statement stmt(db_,
                 "SELECT refresh_id, token_hash, client_id, audience, requested_scope, req_cnf, "
                 "issued_at, expires_at, revoked_at FROM refresh_tokens WHERE token_hash=?");
  stmt.bind(1, token_hash);
  if (!stmt.prepared()) return unexpected(stmt.error("find refresh token"));
  if (stmt.step()) {
    return std::optional<refresh_token_record>(
        refresh_token_record{stmt.text(0), stmt.text(1), stmt.text(2), stmt.text(3), stmt.text(4),
                             stmt.text(5), stmt.integer(6), stmt.integer(7), stmt.integer(8)});
  }
  if (!stmt.ok()) return unexpected(stmt.error("find refresh token"));
  return std::optional<refresh_token_record>();
}

storage_result<void> sqlite_storage::revoke_refresh_token(const std::string& refresh_id,
                                                          std::int64_t now) {
  statement stmt(db_, "UPDATE refresh_tokens SET revoked_at=? WHERE refresh_id=? AND revoked_at=0");
  stmt.bind(1, now).bind(2, refresh_id);
  return run(stmt, "revoke refresh token");
}

// --- client PoP keys ---

storage_result<void> sqlite_storage::bind_client_pop_key(const client_pop_key_record& k) {
  statement stmt(db_,
                 "INSERT INTO client_pop_keys(client_id, kid, bound_until) VALUES (?,?,?) "
                 "ON CONFLICT(client_id, kid) DO UPDATE SET "
                 "bound_until=max(bound_until, excluded.bound_until)");
  stmt.bind(1, k.client_id).bind(2, k.kid).bind(3, k.bound_until);
  return run(stmt, "bind client PoP key");
}

storage_result<std::optional<client_pop_key_record>> sqlite_storage::find_client_pop_key(
    const std::string& client_id, const std::string& kid, std::int64_t now) {
  statement stmt(db_,
                 "SELECT client_id, kid, bound_until FROM client_pop_keys "
                 "WHERE client_id=? AND kid=? AND bound_until>?");
  stmt.bind(1, client_id).bind(2, kid).bind(3, now);
  if (!stmt.prepared()) return unexpected(stmt.error("find client PoP key"));
  if (stmt.step()) {
    return std::optional<client_pop_key_record>(
        client_pop_key_record{stmt.text(0), stmt.text(1), stmt.integer(2)});
  }
  if (!stmt.ok()) return unexpected(stmt.error("find client PoP key"));
  return std::optional<client_pop_key_record>();
}

// --- signing keys ---

storage_result<void> sqlite_storage::insert_signing_key(const signing_key_record& k) {
  statement stmt(db_,
                 "INSERT INTO signing_keys(kid, algorithm, private_pem, created_at, retired_at, "
                 "publish_until) VALUES (?,?,?,?,?,?)");
  stmt.bind(1, k.kid)
      .bind(2, k.algorithm)
      .bind(3, k.private_pem)
      .bind(4, k.created_at)
      .bind(5, k.retired_at)
      .bind(6, k.publish_until);
  return run(stmt, "insert signing key");
}

storage_result<void> sqlite_storage::update_signing_key(const signing_key_record& k) {
  statement stmt(db_, "UPDATE signing_keys SET retired_at=?, publish_until=? WHERE kid=?");
  stmt.bind(1, k.retired_at).bind(2, k.publish_until).bind(3, k.kid);
  return run_one(stmt, "update signing key " + k.kid);
}

storage_result<std::vector<signing_key_record>> sqlite_storage::list_signing_keys() {
  statement stmt(db_,
                 "SELECT kid, algorithm, private_pem, created_at, retired_at, publish_until "
                 "FROM signing_keys ORDER BY created_at, kid");
  if (!stmt.prepared()) return unexpected(stmt.error("list signing keys"));
  std::vector<signing_key_record> out;
  while (stmt.step()) {
    out.push_back(signing_key_record{stmt.text(0), stmt.text(1), stmt.text(2), stmt.integer(3),
                                     stmt.integer(4), stmt.integer(5)});
  }
  if (!stmt.ok()) return unexpected(stmt.error("list signing keys"));
  return out;
}

storage_result<std::int64_t> sqlite_storage::purge_expired(std::int64_t now) {
  transaction tx(db_);
  if (!tx.active()) return unexpected(make_error(db_, storage_errc::io, "begin purge"));
  std::int64_t removed = 0;
  const char* purges[] = {
      "DELETE FROM tokens WHERE expires_at<=?",
      "DELETE FROM refresh_tokens WHERE expires_at<=?",
      "DELETE FROM revocations WHERE expires_at<=?",
      "DELETE FROM grants WHERE not_after<=?",
      "DELETE FROM client_pop_keys WHERE bound_until<=?",
      // Retired keys whose last token has expired are no longer published or needed.
      "DELETE FROM signing_keys WHERE retired_at<>0 AND publish_until<=?",
  };
  for (const char* sql : purges) {
    statement stmt(db_, sql);
    stmt.bind(1, now);
    if (auto outcome = run(stmt, "purge"); !outcome) return unexpected(outcome.error());
    removed += stmt.changes();
  }
  if (auto outcome = tx.commit(); !outcome) return unexpected(outcome.error());
  return removed;
}

}  // namespace acemq::as
