// sqlite_storage: clients, resource servers and owners (with their topic subtrees).
#include "acemq/as/sqlite_storage.hpp"

#include "acemq/as/sqlite_storage_detail.hpp"

namespace acemq::as {

using namespace detail;  // the statement helpers of this storage

namespace {

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

}  // namespace

// --- clients ---

storage_result<void> sqlite_storage::insert_client(const client_record& c) {
  statement stmt(db_,
                 "INSERT INTO clients(client_id, secret_hash, certificate_thumbprint, "
                 "allow_client_credentials, refresh_mode, refresh_lifetime, description, "
                 "created_at, disabled) VALUES (?,?,?,?,?,?,?,?,?)");
  bind_all(stmt, c.client_id, c.secret_hash, c.certificate_thumbprint,
           flag(c.allow_client_credentials), std::int64_t{static_cast<std::uint8_t>(c.refresh)},
           c.refresh_lifetime, c.description, c.created_at, flag(c.disabled));
  return run(stmt, "insert client " + c.client_id);
}

storage_result<void> sqlite_storage::update_client(const client_record& c) {
  statement stmt(db_,
                 "UPDATE clients SET secret_hash=?, certificate_thumbprint=?, "
                 "allow_client_credentials=?, refresh_mode=?, refresh_lifetime=?, description=?, "
                 "disabled=? WHERE client_id=?");
  bind_all(stmt, c.secret_hash, c.certificate_thumbprint, flag(c.allow_client_credentials),
           std::int64_t{static_cast<std::uint8_t>(c.refresh)}, c.refresh_lifetime, c.description,
           flag(c.disabled), c.client_id);
  return run_one(db_, stmt, "update client " + c.client_id);
}

storage_result<std::optional<client_record>> sqlite_storage::find_client(
    const std::string& client_id) {
  statement stmt(db_, select_from(client_columns, "clients", "WHERE client_id=?").c_str());
  stmt.bind(1, client_id);
  return sqlite::find_one(
      stmt, "find client", [&] { return read_client(stmt); }, to_storage_error);
}

storage_result<std::vector<client_record>> sqlite_storage::list_clients() {
  statement stmt(db_, select_from(client_columns, "clients", "ORDER BY client_id").c_str());
  return sqlite::find_all(
      stmt, "list clients", [&] { return read_client(stmt); }, to_storage_error);
}

// --- resource servers ---

storage_result<void> sqlite_storage::insert_resource_server(const resource_server_record& s) {
  statement stmt(db_,
                 "INSERT INTO resource_servers(audience, secret_hash, token_format, "
                 "token_lifetime, use_exi, rs_cnf, encryption_key, created_at) "
                 "VALUES (?,?,?,?,?,?,?,?)");
  bind_all(stmt, s.audience, s.secret_hash, std::int64_t{static_cast<std::uint8_t>(s.format)},
           s.token_lifetime, flag(s.use_exi), s.rs_cnf, s.encryption_key, s.created_at);
  return run(stmt, "insert resource server " + s.audience);
}

storage_result<void> sqlite_storage::update_resource_server(const resource_server_record& s) {
  statement stmt(db_,
                 "UPDATE resource_servers SET secret_hash=?, token_format=?, token_lifetime=?, "
                 "use_exi=?, rs_cnf=?, encryption_key=? WHERE audience=?");
  bind_all(stmt, s.secret_hash, std::int64_t{static_cast<std::uint8_t>(s.format)}, s.token_lifetime,
           flag(s.use_exi), s.rs_cnf, s.encryption_key, s.audience);
  return run_one(db_, stmt, "update resource server " + s.audience);
}

storage_result<std::optional<resource_server_record>> sqlite_storage::find_resource_server(
    const std::string& audience) {
  statement stmt(db_, select_from(server_columns, "resource_servers", "WHERE audience=?").c_str());
  stmt.bind(1, audience);
  return sqlite::find_one(
      stmt, "find resource server", [&] { return read_server(stmt); }, to_storage_error);
}

storage_result<std::vector<resource_server_record>> sqlite_storage::list_resource_servers() {
  statement stmt(db_, select_from(server_columns, "resource_servers", "ORDER BY audience").c_str());
  return sqlite::find_all(
      stmt, "list resource servers", [&] { return read_server(stmt); }, to_storage_error);
}

// --- owners ---

storage_result<void> sqlite_storage::insert_owner(const owner_record& o) {
  statement stmt(db_,
                 "INSERT INTO owners(owner_id, secret_hash, display_name, created_at) "
                 "VALUES (?,?,?,?)");
  bind_all(stmt, o.owner_id, o.secret_hash, o.display_name, o.created_at);
  return run(stmt, "insert owner " + o.owner_id);
}

storage_result<std::optional<owner_record>> sqlite_storage::find_owner(
    const std::string& owner_id) {
  statement stmt(db_,
                 "SELECT owner_id, secret_hash, display_name, created_at FROM owners "
                 "WHERE owner_id=?");
  stmt.bind(1, owner_id);
  return sqlite::find_one(
      stmt, "find owner",
      [&] {
        return owner_record{stmt.text(0), stmt.text(1), stmt.text(2), stmt.integer(3)};
      },
      to_storage_error);
}

storage_result<std::vector<owner_record>> sqlite_storage::list_owners() {
  statement stmt(db_,
                 "SELECT owner_id, secret_hash, display_name, created_at FROM owners "
                 "ORDER BY owner_id");
  return sqlite::find_all(
      stmt, "list owners",
      [&] {
        return owner_record{stmt.text(0), stmt.text(1), stmt.text(2), stmt.integer(3)};
      },
      to_storage_error);
}

storage_result<void> sqlite_storage::insert_owner_subtree(const owner_subtree& subtree) {
  statement stmt(db_, "INSERT INTO owner_subtrees(owner_id, audience, filter) VALUES (?,?,?)");
  bind_all(stmt, subtree.owner_id, subtree.audience, subtree.filter);
  return run(stmt, "insert owner subtree " + subtree.filter);
}

storage_result<std::vector<owner_subtree>> sqlite_storage::list_owner_subtrees(
    const std::string& owner_id) {
  statement stmt(db_,
                 "SELECT owner_id, audience, filter FROM owner_subtrees "
                 "WHERE owner_id=? OR ?='' ORDER BY owner_id, audience, filter");
  bind_all(stmt, owner_id, owner_id);
  return sqlite::find_all(
      stmt, "list owner subtrees",
      [&] {
        return owner_subtree{stmt.text(0), stmt.text(1), stmt.text(2)};
      },
      to_storage_error);
}

}  // namespace acemq::as
