// sqlite_storage: issued tokens and the revocation list, refresh tokens, clients' PoP keys,
// signing keys, and the purge of what has expired.
#include "acemq/as/sqlite_storage.hpp"

#include "acemq/as/sqlite_storage_detail.hpp"
#include "acemq/sqlite/transaction.hpp"

namespace acemq::as {

using namespace detail;  // the statement helpers of this storage

namespace {

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

}  // namespace

// --- tokens ---

storage_result<void> sqlite_storage::insert_token(const issued_token_record& t) {
  statement stmt(db_,
                 "INSERT INTO tokens(token_id, token_hash, client_id, audience, scope, "
                 "token_format, cnf, cnonce, exi, issued_at, expires_at, signing_kid, refresh_id, "
                 "revoked_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  bind_all(stmt, t.token_id, t.token_hash, t.client_id, t.audience, t.scope,
           std::int64_t{static_cast<std::uint8_t>(t.format)}, t.cnf, t.cnonce, t.exi, t.issued_at,
           t.expires_at, t.signing_kid, t.refresh_id, t.revoked_at);
  return run(stmt, "insert token");
}

storage_result<std::optional<issued_token_record>> sqlite_storage::find_token_by_hash(
    const std::string& token_hash) {
  statement stmt(db_, select_from(token_columns, "tokens", "WHERE token_hash=?").c_str());
  stmt.bind(1, token_hash);
  return sqlite::find_one(
      stmt, "find token", [&] { return read_token(stmt); }, to_storage_error);
}

storage_result<std::vector<issued_token_record>> sqlite_storage::active_tokens(
    const std::string& client_id, const std::string& audience, std::int64_t now) {
  statement stmt(db_, select_from(token_columns, "tokens",
                                  "WHERE client_id=? AND audience=? AND revoked_at=0 AND "
                                  "expires_at>? ORDER BY issued_at")
                          .c_str());
  bind_all(stmt, client_id, audience, now);
  return sqlite::find_all(
      stmt, "active tokens", [&] { return read_token(stmt); }, to_storage_error);
}

storage_result<void> sqlite_storage::revoke_token(const std::string& token_id, std::int64_t now) {
  auto tx = sqlite::transaction::begin(db_);
  if (!tx) return unexpected(io_error(tx.error(), "begin revoke"));
  statement mark(db_, "UPDATE tokens SET revoked_at=? WHERE token_id=? AND revoked_at=0");
  bind_all(mark, now, token_id);
  if (auto outcome = run(mark, "revoke token"); !outcome) return outcome;
  if (db_.changes() == 0) return {};  // unknown or already revoked: nothing to list
  statement list(db_,
                 "INSERT INTO revocations(token_hash, audience, expires_at, revoked_at) "
                 "SELECT token_hash, audience, expires_at, ? FROM tokens WHERE token_id=?");
  bind_all(list, now, token_id);
  if (auto outcome = run(list, "append revocation"); !outcome) return outcome;
  if (auto outcome = tx->commit(); !outcome) return unexpected(io_error(outcome.error(), "commit"));
  return {};
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
  bind_all(stmt, cursor, now, static_cast<std::int64_t>(limit));
  return sqlite::find_all(
      stmt, "revocations",
      [&] {
        return revocation_entry{stmt.integer(0), stmt.text(1),    stmt.text(2),
                                stmt.integer(3), stmt.integer(4), stmt.integer(5)};
      },
      to_storage_error);
}

storage_result<std::int64_t> sqlite_storage::latest_revocation() {
  // sqlite_sequence keeps the AUTOINCREMENT high-water mark even after purged rows.
  statement stmt(db_, "SELECT seq FROM sqlite_sequence WHERE name='revocations'");
  if (!stmt.prepared()) return unexpected(to_storage_error(stmt.failure("latest revocation")));
  if (stmt.step()) return std::int64_t{stmt.integer(0)};
  if (!stmt.ok()) return unexpected(to_storage_error(stmt.failure("latest revocation")));
  return std::int64_t{0};
}

// --- refresh tokens ---

storage_result<void> sqlite_storage::insert_refresh_token(const refresh_token_record& r) {
  statement stmt(db_,
                 "INSERT INTO refresh_tokens(refresh_id, token_hash, client_id, audience, "
                 "requested_scope, req_cnf, issued_at, expires_at, revoked_at) "
                 "VALUES (?,?,?,?,?,?,?,?,?)");
  bind_all(stmt, r.refresh_id, r.token_hash, r.client_id, r.audience, r.requested_scope, r.req_cnf,
           r.issued_at, r.expires_at, r.revoked_at);
  return run(stmt, "insert refresh token");
}

storage_result<std::optional<refresh_token_record>> sqlite_storage::find_refresh_token_by_hash(
    const std::string& token_hash) {
  statement stmt(db_,
                 "SELECT refresh_id, token_hash, client_id, audience, requested_scope, req_cnf, "
                 "issued_at, expires_at, revoked_at FROM refresh_tokens WHERE token_hash=?");
  stmt.bind(1, token_hash);
  return sqlite::find_one(
      stmt, "find refresh token",
      [&] {
        return refresh_token_record{stmt.text(0),    stmt.text(1),    stmt.text(2),
                                    stmt.text(3),    stmt.text(4),    stmt.text(5),
                                    stmt.integer(6), stmt.integer(7), stmt.integer(8)};
      },
      to_storage_error);
}

storage_result<void> sqlite_storage::revoke_refresh_token(const std::string& refresh_id,
                                                          std::int64_t now) {
  statement stmt(db_, "UPDATE refresh_tokens SET revoked_at=? WHERE refresh_id=? AND revoked_at=0");
  bind_all(stmt, now, refresh_id);
  return run(stmt, "revoke refresh token");
}

// --- client PoP keys ---

storage_result<void> sqlite_storage::bind_client_pop_key(const client_pop_key_record& k) {
  statement stmt(db_,
                 "INSERT INTO client_pop_keys(client_id, kid, bound_until) VALUES (?,?,?) "
                 "ON CONFLICT(client_id, kid) DO UPDATE SET "
                 "bound_until=max(bound_until, excluded.bound_until)");
  bind_all(stmt, k.client_id, k.kid, k.bound_until);
  return run(stmt, "bind client PoP key");
}

storage_result<std::optional<client_pop_key_record>> sqlite_storage::find_client_pop_key(
    const std::string& client_id, const std::string& kid, std::int64_t now) {
  statement stmt(db_,
                 "SELECT client_id, kid, bound_until FROM client_pop_keys "
                 "WHERE client_id=? AND kid=? AND bound_until>?");
  bind_all(stmt, client_id, kid, now);
  return sqlite::find_one(
      stmt, "find client PoP key",
      [&] {
        return client_pop_key_record{stmt.text(0), stmt.text(1), stmt.integer(2)};
      },
      to_storage_error);
}

// --- signing keys ---

storage_result<void> sqlite_storage::insert_signing_key(const signing_key_record& k) {
  statement stmt(db_,
                 "INSERT INTO signing_keys(kid, algorithm, private_pem, created_at, retired_at, "
                 "publish_until) VALUES (?,?,?,?,?,?)");
  bind_all(stmt, k.kid, k.algorithm, k.private_pem, k.created_at, k.retired_at, k.publish_until);
  return run(stmt, "insert signing key");
}

storage_result<void> sqlite_storage::update_signing_key(const signing_key_record& k) {
  statement stmt(db_, "UPDATE signing_keys SET retired_at=?, publish_until=? WHERE kid=?");
  bind_all(stmt, k.retired_at, k.publish_until, k.kid);
  return run_one(db_, stmt, "update signing key " + k.kid);
}

storage_result<std::vector<signing_key_record>> sqlite_storage::list_signing_keys() {
  statement stmt(db_,
                 "SELECT kid, algorithm, private_pem, created_at, retired_at, publish_until "
                 "FROM signing_keys ORDER BY created_at, kid");
  return sqlite::find_all(
      stmt, "list signing keys",
      [&] {
        return signing_key_record{stmt.text(0),    stmt.text(1),    stmt.text(2),
                                  stmt.integer(3), stmt.integer(4), stmt.integer(5)};
      },
      to_storage_error);
}

storage_result<std::int64_t> sqlite_storage::purge_expired(std::int64_t now) {
  auto tx = sqlite::transaction::begin(db_);
  if (!tx) return unexpected(io_error(tx.error(), "begin purge"));
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
    removed += db_.changes();
  }
  if (auto outcome = tx->commit(); !outcome) return unexpected(io_error(outcome.error(), "commit"));
  return removed;
}

}  // namespace acemq::as
