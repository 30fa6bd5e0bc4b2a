// The SQLite device registry: devices, up to three keys, policies, jti store and counters that
// survive a restart, and the device management command.

#include <gtest/gtest.h>

#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "acemq/auth/commands.hpp"
#include "acemq/auth/device_registry.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/token/jose/jwk.hpp"
#include "fakes.hpp"

namespace acemq::auth {
namespace {

using token::crypto::key;

std::string public_pem(const key& k) {
  return *k.public_pem();
}

std::unique_ptr<device_registry> open_memory(registry_limits limits = {}) {
  auto opened = device_registry::open(":memory:", limits);
  EXPECT_TRUE(opened) << (opened ? "" : opened.error().message);
  return opened ? std::move(*opened) : nullptr;
}

TEST(device_registry, devices_keys_and_policies) {
  auto registry = open_memory();
  ASSERT_TRUE(registry->add_device("dev-1", replay_policy::nonce, 100));
  EXPECT_EQ(registry->add_device("dev-1", replay_policy::nonce, 100).error().what,
            registry_error::kind::already_exists);
  EXPECT_EQ(registry->add_device("", replay_policy::nonce, 100).error().what,
            registry_error::kind::bad_device_id);
  const key ed = key::generate_ed25519();
  const key ec = key::generate_p256();
  auto ed_id = registry->add_key("dev-1", public_pem(ed), 101);
  ASSERT_TRUE(ed_id) << ed_id.error().message;
  auto ec_jwk = token::jose::to_jwk(ec, token::jose::jwk_content::public_only);
  auto ec_id = registry->add_key("dev-1", token::jose::serialize(*ec_jwk), 102);
  ASSERT_TRUE(ec_id) << ec_id.error().message;
  EXPECT_EQ(*ed_id, *token::jose::thumbprint_base64url(ed));
  EXPECT_EQ(registry->add_key("dev-1", public_pem(ed), 103).error().what,
            registry_error::kind::already_exists);
  EXPECT_EQ(registry->add_key("nobody", public_pem(ed), 103).error().what,
            registry_error::kind::not_found);

  auto found = registry->find("dev-1");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->policy, replay_policy::nonce);
  ASSERT_EQ((*found)->keys.size(), 2u);
  EXPECT_EQ((*found)->keys[0].key_id, *ed_id);
  EXPECT_TRUE((*found)->keys[0].key.same_material(ed));
  EXPECT_EQ((*found)->keys[0].key.bound_algorithm(), token::crypto::algorithm::eddsa);
  EXPECT_EQ((*found)->keys[1].key.bound_algorithm(), token::crypto::algorithm::es256);

  ASSERT_TRUE(registry->set_policy("dev-1", replay_policy::counter));
  EXPECT_EQ((*registry->find("dev-1"))->policy, replay_policy::counter);
  ASSERT_TRUE(registry->remove_key("dev-1", *ed_id));
  EXPECT_EQ(registry->remove_key("dev-1", *ed_id).error().what, registry_error::kind::not_found);
  EXPECT_EQ((*registry->find("dev-1"))->keys.size(), 1u);
  ASSERT_TRUE(registry->remove_device("dev-1"));
  EXPECT_FALSE(*registry->find("dev-1"));
  EXPECT_EQ(registry->remove_device("dev-1").error().what, registry_error::kind::not_found);
}

TEST(device_registry, at_most_three_keys) {
  auto registry = open_memory();
  ASSERT_TRUE(registry->add_device("d", replay_policy::nonce, 0));
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(registry->add_key("d", public_pem(key::generate_p256()), i));
  auto fourth = registry->add_key("d", public_pem(key::generate_p256()), 4);
  ASSERT_FALSE(fourth);
  EXPECT_EQ(fourth.error().what, registry_error::kind::too_many);
}

TEST(device_registry, refuses_private_symmetric_and_malformed_keys) {
  EXPECT_FALSE(parse_device_key(*key::generate_ed25519().private_pem()));
  EXPECT_FALSE(parse_device_key(R"({"kty":"oct","k":"c2VjcmV0c2VjcmV0"})"));
  EXPECT_FALSE(parse_device_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"));
  EXPECT_FALSE(parse_device_key("{"));
  EXPECT_FALSE(parse_device_key(std::string(20000, 'a')));
  auto rsa = parse_device_key(public_pem(key::generate_rsa(2048)));
  ASSERT_TRUE(rsa);
  EXPECT_EQ(rsa->bound_algorithm(), token::crypto::algorithm::rs256);
  auto ps = token::jose::to_jwk(key::generate_p256(), token::jose::jwk_content::public_only);
  (*ps)["alg"] = "ES384";
  EXPECT_FALSE(parse_device_key(token::jose::serialize(*ps)));
}

TEST(device_registry, jti_store_is_single_use_bounded_and_persistent) {
  const auto dir = testing::scratch_directory("registry");
  const std::string path = (dir / "devices.db").string();
  registry_limits limits;
  limits.max_jti_per_device = 2;
  {
    auto opened = device_registry::open(path, limits);
    ASSERT_TRUE(opened);
    auto& registry = **opened;
    ASSERT_TRUE(registry.add_device("d", replay_policy::jti, 0));
    EXPECT_EQ(*registry.record_jti("d", "a", 1000, 10), jti_outcome::recorded);
    EXPECT_EQ(*registry.record_jti("d", "a", 1000, 11), jti_outcome::replayed);
    EXPECT_EQ(*registry.record_jti("d", "b", 1000, 12), jti_outcome::recorded);
    // Full with live entries: fail closed, never evict a live jti.
    EXPECT_EQ(*registry.record_jti("d", "c", 1000, 13), jti_outcome::full);
  }
  {
    // After a restart the used jti values are still known.
    auto opened = device_registry::open(path, limits);
    ASSERT_TRUE(opened);
    auto& registry = **opened;
    EXPECT_EQ(*registry.record_jti("d", "a", 1000, 14), jti_outcome::replayed);
    // Once the entries expire they are purged and room comes back.
    EXPECT_EQ(*registry.record_jti("d", "c", 3000, 2000), jti_outcome::recorded);
    EXPECT_EQ(*registry.purge_expired(5000), 1u);
  }
}

TEST(device_registry, counters_only_move_forward_and_persist) {
  const auto dir = testing::scratch_directory("registry");
  const std::string path = (dir / "devices.db").string();
  std::string key_id;
  {
    auto registry = std::move(*device_registry::open(path));
    ASSERT_TRUE(registry->add_device("d", replay_policy::counter, 0));
    key_id = *registry->add_key("d", public_pem(key::generate_ed25519()), 0);
    EXPECT_TRUE(*registry->advance_counter("d", key_id, 5));
    EXPECT_FALSE(*registry->advance_counter("d", key_id, 5));
    EXPECT_FALSE(*registry->advance_counter("d", key_id, 4));
    EXPECT_TRUE(*registry->advance_counter("d", key_id, 6));
    EXPECT_FALSE(*registry->advance_counter("d", "other-key", 7));
  }
  auto registry = std::move(*device_registry::open(path));
  EXPECT_FALSE(*registry->advance_counter("d", key_id, 6));
  EXPECT_EQ((*registry->find("d"))->keys[0].last_counter, 6);
}

TEST(device_registry, schema_version_is_recorded_and_newer_schemas_are_refused) {
  const auto dir = testing::scratch_directory("registry");
  const std::string path = (dir / "devices.db").string();
  { ASSERT_TRUE(device_registry::open(path)); }
  { ASSERT_TRUE(device_registry::open(path)); }  // reopening does not migrate twice
  {
    auto registry = std::move(*device_registry::open(path));
    (void)registry;
  }
  // Simulate a database from a newer release.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  int version = 0;
  ASSERT_EQ(sqlite3_exec(
                db, "SELECT MAX(version) FROM schema_version;",
                [](void* out, int, char** values, char**) {
                  *static_cast<int*>(out) = values[0] ? std::atoi(values[0]) : -1;
                  return 0;
                },
                &version, nullptr),
            SQLITE_OK);
  EXPECT_EQ(version, device_registry::schema_version);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_version VALUES (99);", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto opened = device_registry::open(path);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().what, registry_error::kind::storage);
  EXPECT_NE(opened.error().message.find("written by a newer acemq"), std::string::npos)
      << opened.error().message;
  EXPECT_NE(opened.error().message.find("99"), std::string::npos) << opened.error().message;
}

/// Runs `sql` on the file at `path` with the SQLite C interface, as another program would.
void execute_raw(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
  EXPECT_EQ(rc, SQLITE_OK) << (message ? message : "");
  sqlite3_free(message);
  sqlite3_close(db);
}

/// Every row of a one-column query on the file at `path`, as text.
std::vector<std::string> query_raw(const std::string& path, const char* sql) {
  std::vector<std::string> rows;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(
                db, sql,
                [](void* out, int, char** values, char**) {
                  static_cast<std::vector<std::string>*>(out)->emplace_back(values[0] ? values[0]
                                                                                      : "NULL");
                  return 0;
                },
                &rows, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  return rows;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(device_registry, a_file_written_by_earlier_releases_opens_unchanged) {
  // The layout every release so far has written (schema version 1), statement for statement as
  // the registry laid it out before it moved onto acemq::sqlite: the journal mode and foreign
  // keys, the schema_version table created on its own, then the tables and version 1 in one
  // transaction; then a device with a key, a counter and a used jti.
  const auto dir = testing::scratch_directory("registry");
  const std::string path = (dir / "devices.db").string();
  const key device_key = key::generate_p256();
  // The key column as add_key has always filled it: the parsed key (kid = its thumbprint, bound
  // to ES256) as a public JWK.
  auto parsed = parse_device_key(public_pem(device_key));
  ASSERT_TRUE(parsed);
  auto jwk = token::jose::to_jwk(*parsed, token::jose::jwk_content::public_only);
  ASSERT_TRUE(jwk);
  const std::string key_id = *token::jose::thumbprint_base64url(device_key);
  const std::string jwk_text = token::jose::serialize(*jwk);
  execute_raw(path,
              "PRAGMA journal_mode=WAL;"
              "PRAGMA foreign_keys=ON;"
              "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);"
              "BEGIN;"
              "CREATE TABLE devices (id TEXT PRIMARY KEY NOT NULL, policy TEXT NOT NULL, "
              "created_at INTEGER NOT NULL);"
              "CREATE TABLE device_keys (device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE "
              "CASCADE, key_id TEXT NOT NULL, jwk TEXT NOT NULL, last_counter INTEGER, added_at "
              "INTEGER NOT NULL, PRIMARY KEY (device_id, key_id));"
              "CREATE TABLE used_jti (device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE "
              "CASCADE, jti TEXT NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (device_id, "
              "jti));"
              "CREATE INDEX used_jti_expiry ON used_jti(expires_at);"
              "INSERT INTO schema_version (version) VALUES (1);"
              "COMMIT;");
  const std::string rows =
      "INSERT INTO devices (id, policy, created_at) VALUES ('dev-old', "
      "'counter', 1700000000);"
      "INSERT INTO device_keys (device_id, key_id, jwk, last_counter, "
      "added_at) VALUES ('dev-old', '" +
      key_id + "', '" + jwk_text +
      "', 41, 1700000001);"
      "INSERT INTO used_jti (device_id, jti, expires_at) VALUES ('dev-old', "
      "'jti-1', 4000000000);";
  execute_raw(path, rows.c_str());
  const char* schema_sql =
      "SELECT type || ' ' || name || ': ' || coalesce(sql, '') "
      "FROM sqlite_master ORDER BY type, name";
  const auto schema_before = query_raw(path, schema_sql);
  ASSERT_EQ(schema_before.size(), 8u);  // four tables, one index, three automatic indexes

  {
    auto opened = device_registry::open(path);
    ASSERT_TRUE(opened) << opened.error().message;
    auto& registry = **opened;
    auto found = registry.find("dev-old");
    ASSERT_TRUE(found) << found.error().message;
    ASSERT_TRUE(*found);
    const device_record& record = **found;
    EXPECT_EQ(record.policy, replay_policy::counter);
    EXPECT_EQ(record.created_at, 1700000000);
    ASSERT_EQ(record.keys.size(), 1u);
    EXPECT_EQ(record.keys[0].key_id, key_id);
    EXPECT_TRUE(record.keys[0].key.same_material(device_key));
    EXPECT_EQ(record.keys[0].key.bound_algorithm(), token::crypto::algorithm::es256);
    EXPECT_EQ(record.keys[0].last_counter, 41);
    EXPECT_EQ(record.keys[0].added_at, 1700000001);
    // The replay state carries over: the used jti and the counter.
    EXPECT_EQ(*registry.record_jti("dev-old", "jti-1", 4000000000, 1700000100),
              jti_outcome::replayed);
    EXPECT_FALSE(*registry.advance_counter("dev-old", key_id, 41));
    EXPECT_TRUE(*registry.advance_counter("dev-old", key_id, 42));
    // Removing the device still cascades to its keys and jti entries (foreign keys are on).
    ASSERT_TRUE(registry.add_device("dev-new", replay_policy::jti, 1700000200));
    ASSERT_TRUE(registry.remove_device("dev-old"));
  }
  // No migration ran: the schema is as it was and version 1 is recorded once.
  EXPECT_EQ(query_raw(path, schema_sql), schema_before);
  EXPECT_EQ(query_raw(path, "SELECT version FROM schema_version"), std::vector<std::string>{"1"});
  EXPECT_EQ(query_raw(path, "SELECT count(*) FROM device_keys"), std::vector<std::string>{"0"});
  EXPECT_EQ(query_raw(path, "SELECT count(*) FROM used_jti"), std::vector<std::string>{"0"});
  EXPECT_EQ(query_raw(path, "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
  // And a new registry is laid out the same way.
  const std::string fresh = (dir / "fresh.db").string();
  ASSERT_TRUE(device_registry::open(fresh));
  EXPECT_EQ(query_raw(fresh, schema_sql), schema_before);
  EXPECT_EQ(query_raw(fresh, "SELECT version FROM schema_version"), std::vector<std::string>{"1"});
}

TEST(device_registry, a_file_that_is_not_a_database_is_refused_and_left_untouched) {
  const auto dir = testing::scratch_directory("registry");
  const std::string path = (dir / "devices.db").string();
  const std::string text = "user:$argon2id$v=19$not a database at all\n" + std::string(4096, 'x');
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  auto opened = device_registry::open(path);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().what, registry_error::kind::storage);
  EXPECT_NE(opened.error().message.find(path), std::string::npos) << opened.error().message;
  EXPECT_NE(opened.error().message.find("not a readable SQLite database"), std::string::npos)
      << opened.error().message;
  EXPECT_EQ(file_bytes(path), text);
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(path + "-journal"));
}

TEST(device_registry, a_database_of_another_program_is_refused_and_left_untouched) {
  const auto dir = testing::scratch_directory("registry");
  const std::string path = (dir / "other.db").string();
  execute_raw(path, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me');");
  const std::string before = file_bytes(path);
  auto opened = device_registry::open(path);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().what, registry_error::kind::storage);
  EXPECT_NE(opened.error().message.find("not an acemq device registry"), std::string::npos)
      << opened.error().message;
  EXPECT_EQ(file_bytes(path), before);
  EXPECT_EQ(query_raw(path, "SELECT name FROM sqlite_master"), std::vector<std::string>{"notes"});
}

TEST(device_command, manages_devices_and_keys) {
  const auto dir = testing::scratch_directory("device_command");
  const std::string db = (dir / "devices.db").string();
  manual_clock time;
  std::ostringstream out, err;
  std::istringstream none;
  EXPECT_EQ(run_device_command({db, "add", "dev-1"}, none, out, err, time), 0) << err.str();
  EXPECT_EQ(run_device_command({db, "add", "dev-2", "legacy"}, none, out, err, time), 0);
  EXPECT_EQ(run_device_command({db, "add", "dev-3", "sometimes"}, none, out, err, time), 2);
  std::istringstream key_text(public_pem(key::generate_p256()));
  EXPECT_EQ(run_device_command({db, "add-key", "dev-1", "-"}, key_text, out, err, time), 0)
      << err.str();
  EXPECT_EQ(run_device_command({db, "set-policy", "dev-1", "jti"}, none, out, err, time), 0);
  std::ostringstream listing;
  EXPECT_EQ(run_device_command({db, "list"}, none, listing, err, time), 0);
  EXPECT_NE(listing.str().find("dev-1 policy=jti keys=1"), std::string::npos) << listing.str();
  EXPECT_NE(listing.str().find("dev-2 policy=legacy keys=0"), std::string::npos);
  EXPECT_EQ(run_device_command({db, "remove-key", "dev-1", "nope"}, none, out, err, time), 1);
  EXPECT_EQ(run_device_command({db, "remove", "dev-2"}, none, out, err, time), 0);
  EXPECT_EQ(run_device_command({db, "remove", "dev-2"}, none, out, err, time), 1);
  EXPECT_EQ(run_device_command({db, "frobnicate"}, none, out, err, time), 2);
  EXPECT_EQ(run_device_command({db}, none, out, err, time), 2);
}

}  // namespace
}  // namespace acemq::auth
