#pragma once
// The storage interface of the authorization server. SQLite (sqlite_storage.hpp) is the embedded
// default; the interface speaks only in records and values so a PostgreSQL backend can follow
// without touching the request handling.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "acemq/as/model.hpp"
#include "acemq/common/result.hpp"

namespace acemq::as {

/// Why a storage operation failed.
enum class storage_errc : std::uint8_t {
  not_found = 0x01,       // no such record
  conflict = 0x02,        // a record with that key exists, or a reference is dangling
  io = 0x03,              // the database could not be read or written
  schema_too_new = 0x04,  // the database was written by a newer version of acemq-as
  corrupt = 0x05,         // the database is not an acemq-as database or is damaged
};

struct storage_error {
  storage_errc code = storage_errc::io;
  std::string message;
};

template <typename T>
using storage_result = result<T, storage_error>;

/// Filters for listing grants; empty strings match everything.
struct grant_query {
  std::string owner_id;
  std::string client_id;
  std::string audience;
  bool include_inactive = false;
  std::int64_t now = 0;  // with include_inactive=false: only grants active at `now`
};

/// Persistent state of the AS. Implementations are safe to call from one thread at a time; the
/// service serialises access.
class storage {
 public:
  virtual ~storage() = default;

  // Clients
  virtual storage_result<void> insert_client(const client_record& client) = 0;
  virtual storage_result<void> update_client(const client_record& client) = 0;
  virtual storage_result<std::optional<client_record>> find_client(
      const std::string& client_id) = 0;
  virtual storage_result<std::vector<client_record>> list_clients() = 0;

  // Resource servers
  virtual storage_result<void> insert_resource_server(const resource_server_record& server) = 0;
  virtual storage_result<void> update_resource_server(const resource_server_record& server) = 0;
  virtual storage_result<std::optional<resource_server_record>> find_resource_server(
      const std::string& audience) = 0;
  virtual storage_result<std::vector<resource_server_record>> list_resource_servers() = 0;

  // Owners and the subtrees they control
  virtual storage_result<void> insert_owner(const owner_record& owner) = 0;
  virtual storage_result<std::optional<owner_record>> find_owner(const std::string& owner_id) = 0;
  virtual storage_result<std::vector<owner_record>> list_owners() = 0;
  virtual storage_result<void> insert_owner_subtree(const owner_subtree& subtree) = 0;
  virtual storage_result<std::vector<owner_subtree>> list_owner_subtrees(
      const std::string& owner_id) = 0;

  // Grants: returns the new grant_id.
  virtual storage_result<std::int64_t> insert_grant(const grant_record& grant) = 0;
  virtual storage_result<std::optional<grant_record>> find_grant(std::int64_t grant_id) = 0;
  virtual storage_result<std::vector<grant_record>> list_grants(const grant_query& query) = 0;
  /// Changes permissions/expiry of a grant (not its owner, client, audience or filter).
  virtual storage_result<void> update_grant(const grant_record& grant) = 0;
  virtual storage_result<void> revoke_grant(std::int64_t grant_id, std::int64_t now) = 0;

  // Issued access tokens
  virtual storage_result<void> insert_token(const issued_token_record& token) = 0;
  virtual storage_result<std::optional<issued_token_record>> find_token_by_hash(
      const std::string& token_hash) = 0;
  /// Tokens of one client for one audience that are active at `now`.
  virtual storage_result<std::vector<issued_token_record>> active_tokens(
      const std::string& client_id, const std::string& audience, std::int64_t now) = 0;
  /// Marks the token revoked and appends it to the revocation list, atomically. Revoking an
  /// already revoked token changes nothing (RFC 7009 2.2: still a success).
  virtual storage_result<void> revoke_token(const std::string& token_id, std::int64_t now) = 0;

  // Revocation list
  /// Entries with sequence > cursor, oldest first, at most `limit`, that have not expired by `now`.
  virtual storage_result<std::vector<revocation_entry>> revocations_since(std::int64_t cursor,
                                                                          std::size_t limit,
                                                                          std::int64_t now) = 0;
  /// The highest sequence number handed out so far (0 when none).
  virtual storage_result<std::int64_t> latest_revocation() = 0;

  // Refresh tokens
  virtual storage_result<void> insert_refresh_token(const refresh_token_record& token) = 0;
  virtual storage_result<std::optional<refresh_token_record>> find_refresh_token_by_hash(
      const std::string& token_hash) = 0;
  virtual storage_result<void> revoke_refresh_token(const std::string& refresh_id,
                                                    std::int64_t now) = 0;

  // Public PoP keys bound to a client's tokens (RFC 9201 3.1 req_cnf by kid)
  /// Records that `key.client_id` was issued a token carrying the key `key.kid`. When the pair is
  /// already recorded, the later `bound_until` is kept.
  virtual storage_result<void> bind_client_pop_key(const client_pop_key_record& key) = 0;
  /// The record of `kid` for `client_id` when it is still bound at `now`; another client's key of
  /// the same kid is never returned.
  virtual storage_result<std::optional<client_pop_key_record>> find_client_pop_key(
      const std::string& client_id, const std::string& kid, std::int64_t now) = 0;

  // Signing keys
  virtual storage_result<void> insert_signing_key(const signing_key_record& key) = 0;
  virtual storage_result<void> update_signing_key(const signing_key_record& key) = 0;
  virtual storage_result<std::vector<signing_key_record>> list_signing_keys() = 0;

  /// Deletes tokens, refresh tokens, revocation entries and client PoP keys that expired before
  /// `now`, and grants that ended before `now`. Returns the number of rows removed.
  virtual storage_result<std::int64_t> purge_expired(std::int64_t now) = 0;
};

}  // namespace acemq::as
