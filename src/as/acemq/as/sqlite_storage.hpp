#pragma once
// SQLite implementation of the storage interface on the shared SQLite layer: WAL journal,
// foreign keys on, a schema_version table and forward-only migrations. A database from a newer
// acemq-as, or a file that is not an acemq-as database, is refused with a clear error instead of
// being modified.

#include <memory>
#include <string>

#include "acemq/as/storage.hpp"
#include "acemq/sqlite/database.hpp"

namespace acemq::as {

class sqlite_storage final : public storage {
 public:
  /// The schema version this build writes and understands.
  static constexpr int schema_version = 2;

  /// Opens (creating if needed) and migrates the database at `path` (":memory:" for tests).
  static storage_result<std::unique_ptr<sqlite_storage>> open(const std::string& path);
  ~sqlite_storage() override;
  sqlite_storage(const sqlite_storage&) = delete;
  sqlite_storage& operator=(const sqlite_storage&) = delete;

  storage_result<void> insert_client(const client_record& client) override;
  storage_result<void> update_client(const client_record& client) override;
  storage_result<std::optional<client_record>> find_client(const std::string& client_id) override;
  storage_result<std::vector<client_record>> list_clients() override;

  storage_result<void> insert_resource_server(const resource_server_record& server) override;
  storage_result<void> update_resource_server(const resource_server_record& server) override;
  storage_result<std::optional<resource_server_record>> find_resource_server(
      const std::string& audience) override;
  storage_result<std::vector<resource_server_record>> list_resource_servers() override;

  storage_result<void> insert_owner(const owner_record& owner) override;
  storage_result<std::optional<owner_record>> find_owner(const std::string& owner_id) override;
  storage_result<std::vector<owner_record>> list_owners() override;
  storage_result<void> insert_owner_subtree(const owner_subtree& subtree) override;
  storage_result<std::vector<owner_subtree>> list_owner_subtrees(
      const std::string& owner_id) override;

  storage_result<std::int64_t> insert_grant(const grant_record& grant) override;
  storage_result<std::optional<grant_record>> find_grant(std::int64_t grant_id) override;
  storage_result<std::vector<grant_record>> list_grants(const grant_query& query) override;
  storage_result<void> update_grant(const grant_record& grant) override;
  storage_result<void> revoke_grant(std::int64_t grant_id, std::int64_t now) override;

  storage_result<void> insert_token(const issued_token_record& token) override;
  storage_result<std::optional<issued_token_record>> find_token_by_hash(
      const std::string& token_hash) override;
  storage_result<std::vector<issued_token_record>> active_tokens(const std::string& client_id,
                                                                 const std::string& audience,
                                                                 std::int64_t now) override;
  storage_result<void> revoke_token(const std::string& token_id, std::int64_t now) override;

  storage_result<std::vector<revocation_entry>> revocations_since(std::int64_t cursor,
                                                                  std::size_t limit,
                                                                  std::int64_t now) override;
  storage_result<std::int64_t> latest_revocation() override;

  storage_result<void> insert_refresh_token(const refresh_token_record& token) override;
  storage_result<std::optional<refresh_token_record>> find_refresh_token_by_hash(
      const std::string& token_hash) override;
  storage_result<void> revoke_refresh_token(const std::string& refresh_id,
                                            std::int64_t now) override;

  storage_result<void> bind_client_pop_key(const client_pop_key_record& key) override;
  storage_result<std::optional<client_pop_key_record>> find_client_pop_key(
      const std::string& client_id, const std::string& kid, std::int64_t now) override;

  storage_result<void> insert_signing_key(const signing_key_record& key) override;
  storage_result<void> update_signing_key(const signing_key_record& key) override;
  storage_result<std::vector<signing_key_record>> list_signing_keys() override;

  storage_result<std::int64_t> purge_expired(std::int64_t now) override;

 private:
  explicit sqlite_storage(sqlite::database db);
  storage_result<void> migrate();

  sqlite::database db_;
};

}  // namespace acemq::as
