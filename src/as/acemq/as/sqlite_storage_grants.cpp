// sqlite_storage: the grants owners give clients (RFC 9200 5.8.1 scopes come from them).
#include "acemq/as/sqlite_storage.hpp"

#include "acemq/as/sqlite_storage_detail.hpp"

namespace acemq::as {

using namespace detail;  // the statement helpers of this storage

namespace {

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

}  // namespace

// --- grants ---

storage_result<std::int64_t> sqlite_storage::insert_grant(const grant_record& g) {
  statement stmt(db_,
                 "INSERT INTO grants(owner_id, client_id, audience, filter, permissions, "
                 "not_after, created_at, revoked_at) VALUES (?,?,?,?,?,?,?,?)");
  bind_all(stmt, g.owner_id, g.client_id, g.audience, g.filter, std::int64_t{g.permissions},
           g.not_after, g.created_at, g.revoked_at);
  if (auto outcome = run(stmt, "insert grant"); !outcome) return unexpected(outcome.error());
  return std::int64_t{db_.last_insert_rowid()};
}

storage_result<std::optional<grant_record>> sqlite_storage::find_grant(std::int64_t grant_id) {
  statement stmt(db_, select_from(grant_columns, "grants", "WHERE grant_id=?").c_str());
  stmt.bind(1, grant_id);
  return sqlite::find_one(
      stmt, "find grant", [&] { return read_grant(stmt); }, to_storage_error);
}

storage_result<std::vector<grant_record>> sqlite_storage::list_grants(const grant_query& q) {
  statement stmt(db_, select_from(grant_columns, "grants",
                                  "WHERE (?1='' OR owner_id=?1) AND (?2='' OR client_id=?2) AND "
                                  "(?3='' OR audience=?3) AND "
                                  "(?4=1 OR (revoked_at=0 AND not_after>?5)) ORDER BY grant_id")
                          .c_str());
  bind_all(stmt, q.owner_id, q.client_id, q.audience, flag(q.include_inactive), q.now);
  return sqlite::find_all(
      stmt, "list grants", [&] { return read_grant(stmt); }, to_storage_error);
}

storage_result<void> sqlite_storage::update_grant(const grant_record& g) {
  statement stmt(db_, "UPDATE grants SET permissions=?, not_after=? WHERE grant_id=?");
  bind_all(stmt, std::int64_t{g.permissions}, g.not_after, g.grant_id);
  return run_one(db_, stmt, "update grant " + std::to_string(g.grant_id));
}

storage_result<void> sqlite_storage::revoke_grant(std::int64_t grant_id, std::int64_t now) {
  statement stmt(db_,
                 "UPDATE grants SET revoked_at=CASE WHEN revoked_at=0 THEN ? ELSE revoked_at END "
                 "WHERE grant_id=?");
  bind_all(stmt, now, grant_id);
  return run_one(db_, stmt, "revoke grant " + std::to_string(grant_id));
}

}  // namespace acemq::as
