// sqlite_storage: schema migration, refusal of foreign/newer databases, and every record type.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "acemq/as/sqlite_storage.hpp"

namespace acemq::as {
namespace {

std::unique_ptr<sqlite_storage> open_memory() {
  auto store = sqlite_storage::open(":memory:");
  EXPECT_TRUE(store.has_value());
  return std::move(*store);
}

std::filesystem::path temp_path(const char* name) {
  auto path = std::filesystem::temp_directory_path() /
              (std::string("acemq_as_") + name + "_" + std::to_string(::getpid()) + ".db");
  std::filesystem::remove(path);
  return path;
}

void seed(storage& store) {
  ASSERT_TRUE(store.insert_client(
      {"sensor-1", "$argon2id$x", "", true, refresh_mode::constant, 86400, "a sensor", 10, false}));
  resource_server_record rs;
  rs.audience = "broker";
  rs.secret_hash = "$argon2id$y";
  ASSERT_TRUE(store.insert_resource_server(rs));
  ASSERT_TRUE(store.insert_owner({"alice", "$argon2id$z", "Alice", 10}));
}

TEST(SqliteStorage, ClientsRoundTrip) {
  auto store = open_memory();
  seed(*store);
  auto found = store->find_client("sensor-1");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->refresh, refresh_mode::constant);
  EXPECT_EQ((*found)->description, "a sensor");
  auto missing = store->find_client("nobody");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
  auto duplicate =
      store->insert_client({"sensor-1", "", "", true, refresh_mode::none, 0, "", 0, false});
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code, storage_errc::conflict);
  auto copy = **found;
  copy.disabled = true;
  ASSERT_TRUE(store->update_client(copy));
  EXPECT_TRUE((*store->find_client("sensor-1"))->disabled);
  copy.client_id = "ghost";
  EXPECT_EQ(store->update_client(copy).error().code, storage_errc::not_found);
  EXPECT_EQ(store->list_clients()->size(), 1u);
}

TEST(SqliteStorage, GrantsNeedExistingOwnerClientAndAudience) {
  auto store = open_memory();
  seed(*store);
  grant_record g{0, "alice", "sensor-1", "broker", "home/alice/#", 3, 1000, 10, 0};
  auto id = store->insert_grant(g);
  ASSERT_TRUE(id);
  EXPECT_GT(*id, 0);
  g.client_id = "nobody";
  auto dangling = store->insert_grant(g);
  ASSERT_FALSE(dangling);
  EXPECT_EQ(dangling.error().code, storage_errc::conflict);

  grant_query active;
  active.client_id = "sensor-1";
  active.now = 500;
  EXPECT_EQ(store->list_grants(active)->size(), 1u);
  active.now = 1000;  // not_after is exclusive
  EXPECT_TRUE(store->list_grants(active)->empty());
  active.include_inactive = true;
  EXPECT_EQ(store->list_grants(active)->size(), 1u);

  ASSERT_TRUE(store->revoke_grant(*id, 20));
  auto revoked = store->find_grant(*id);
  EXPECT_EQ((*revoked)->revoked_at, 20);
  ASSERT_TRUE(store->revoke_grant(*id, 30));  // idempotent, keeps the first time
  EXPECT_EQ((*store->find_grant(*id))->revoked_at, 20);
  EXPECT_EQ(store->revoke_grant(9999, 30).error().code, storage_errc::not_found);
}

TEST(SqliteStorage, RevokingATokenAppendsToTheListOnce) {
  auto store = open_memory();
  issued_token_record t;
  t.token_id = "id1";
  t.token_hash = "hash1";
  t.client_id = "c";
  t.audience = "broker";
  t.scope = "[]";
  t.issued_at = 100;
  t.expires_at = 200;
  ASSERT_TRUE(store->insert_token(t));
  EXPECT_EQ(store->active_tokens("c", "broker", 150)->size(), 1u);
  EXPECT_EQ(*store->latest_revocation(), 0);
  ASSERT_TRUE(store->revoke_token("id1", 150));
  ASSERT_TRUE(store->revoke_token("id1", 160));
  auto list = store->revocations_since(0, 10, 150);
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].token_hash, "hash1");
  EXPECT_EQ((*list)[0].revoked_at, 150);
  EXPECT_EQ(*store->latest_revocation(), (*list)[0].sequence);
  EXPECT_TRUE(store->revocations_since((*list)[0].sequence, 10, 150)->empty());
  EXPECT_TRUE(store->active_tokens("c", "broker", 150)->empty());
  // Once the token has expired the entry leaves the list and can be purged.
  EXPECT_TRUE(store->revocations_since(0, 10, 200)->empty());
  auto purged = store->purge_expired(200);
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 2);
  EXPECT_FALSE(store->find_token_by_hash("hash1")->has_value());
}

TEST(SqliteStorage, RefreshTokensAndSigningKeys) {
  auto store = open_memory();
  ASSERT_TRUE(store->insert_refresh_token({"r1", "rh", "c", "broker", "", "", 1, 100, 0}));
  auto found = store->find_refresh_token_by_hash("rh");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_TRUE((*found)->active_at(50));
  ASSERT_TRUE(store->revoke_refresh_token("r1", 60));
  EXPECT_FALSE((*store->find_refresh_token_by_hash("rh"))->active_at(61));

  ASSERT_TRUE(store->insert_signing_key({"k1", "EdDSA", "pem", 1, 0, 0}));
  ASSERT_TRUE(store->insert_signing_key({"k2", "EdDSA", "pem", 2, 0, 0}));
  auto keys = store->list_signing_keys();
  ASSERT_EQ(keys->size(), 2u);
  auto k1 = (*keys)[0];
  k1.retired_at = 5;
  k1.publish_until = 50;
  ASSERT_TRUE(store->update_signing_key(k1));
  ASSERT_TRUE(store->purge_expired(49));
  EXPECT_EQ(store->list_signing_keys()->size(), 2u);
  ASSERT_TRUE(store->purge_expired(50));
  EXPECT_EQ(store->list_signing_keys()->size(), 1u);
}

TEST(SqliteStorage, ClientPopKeysBelongToOneClientAndExpire) {
  auto store = open_memory();
  seed(*store);
  ASSERT_TRUE(store->insert_client(
      {"sensor-2", "$argon2id$x", "", true, refresh_mode::none, 0, "", 10, false}));
  ASSERT_TRUE(store->bind_client_pop_key({"sensor-1", "thumb-a", 100}));
  // A later expiry extends the binding; an earlier one never shortens it.
  ASSERT_TRUE(store->bind_client_pop_key({"sensor-1", "thumb-a", 200}));
  ASSERT_TRUE(store->bind_client_pop_key({"sensor-1", "thumb-a", 150}));
  auto found = store->find_client_pop_key("sensor-1", "thumb-a", 199);
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ((*found)->bound_until, 200);
  EXPECT_FALSE(store->find_client_pop_key("sensor-1", "thumb-a", 200)->has_value());
  // Another client's binding of the same kid is its own row, never the first client's.
  EXPECT_FALSE(store->find_client_pop_key("sensor-2", "thumb-a", 0)->has_value());
  ASSERT_TRUE(store->bind_client_pop_key({"sensor-2", "thumb-a", 50}));
  EXPECT_EQ((*store->find_client_pop_key("sensor-2", "thumb-a", 0))->bound_until, 50);
  EXPECT_EQ((*store->find_client_pop_key("sensor-1", "thumb-a", 0))->bound_until, 200);
  // Only registered clients hold keys.
  EXPECT_FALSE(store->bind_client_pop_key({"ghost", "thumb-a", 50}));
  // Purged with the last token that carried them.
  ASSERT_TRUE(store->purge_expired(50));
  EXPECT_FALSE(store->find_client_pop_key("sensor-2", "thumb-a", 0)->has_value());
  EXPECT_TRUE(store->find_client_pop_key("sensor-1", "thumb-a", 0)->has_value());
}

TEST(SqliteStorage, MigratesASchemaVersion1Database) {
  const auto path = temp_path("v1");
  {
    auto store = sqlite_storage::open(path.string());
    ASSERT_TRUE(store);
    seed(**store);
  }
  // What acemq-as wrote before schema version 2.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.string().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "DROP TABLE client_pop_keys; DELETE FROM schema_version WHERE version=2",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  auto store = sqlite_storage::open(path.string());
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->list_clients()->size(), 1u);
  ASSERT_TRUE((*store)->bind_client_pop_key({"sensor-1", "thumb", 100}));
  EXPECT_TRUE((*store)->find_client_pop_key("sensor-1", "thumb", 0)->has_value());
  store->reset();
  ASSERT_EQ(sqlite3_open(path.string().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* version = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &version, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_step(version), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(version, 0), sqlite_storage::schema_version);
  sqlite3_finalize(version);
  sqlite3_close(db);
  std::filesystem::remove(path);
}

TEST(SqliteStorage, OwnerSubtrees) {
  auto store = open_memory();
  seed(*store);
  ASSERT_TRUE(store->insert_owner_subtree({"alice", "broker", "home/alice/#"}));
  EXPECT_FALSE(store->insert_owner_subtree({"bob", "broker", "home/bob/#"}));
  auto subtrees = store->list_owner_subtrees("alice");
  ASSERT_EQ(subtrees->size(), 1u);
  EXPECT_EQ((*subtrees)[0].filter, "home/alice/#");
  EXPECT_EQ(store->list_owner_subtrees("")->size(), 1u);
}

TEST(SqliteStorage, ReopensAndKeepsData) {
  const auto path = temp_path("reopen");
  {
    auto store = sqlite_storage::open(path.string());
    ASSERT_TRUE(store);
    seed(**store);
  }
  auto again = sqlite_storage::open(path.string());
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->list_clients()->size(), 1u);
  again->reset();
  std::filesystem::remove(path);
}

TEST(SqliteStorage, RefusesNewerSchema) {
  const auto path = temp_path("newer");
  {
    auto store = sqlite_storage::open(path.string());
    ASSERT_TRUE(store);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.string().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_version(version) VALUES (99)", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = sqlite_storage::open(path.string());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, storage_errc::schema_too_new);
  EXPECT_NE(store.error().message.find("newer"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(SqliteStorage, RefusesForeignDatabase) {
  const auto path = temp_path("foreign");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.string().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE other(x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = sqlite_storage::open(path.string());
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, storage_errc::corrupt);
  std::filesystem::remove(path);
}

TEST(SqliteStorage, RefusesGarbageFile) {
  const auto path = temp_path("garbage");
  {
    std::FILE* f = std::fopen(path.string().c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const char junk[] = "this is not a database, just some bytes that are long enough to matter..";
    for (int i = 0; i < 100; ++i)
      std::fwrite(junk, 1, sizeof junk, f);
    std::fclose(f);
  }
  auto store = sqlite_storage::open(path.string());
  ASSERT_FALSE(store);
  EXPECT_TRUE(store.error().code == storage_errc::corrupt ||
              store.error().code == storage_errc::io);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace acemq::as
