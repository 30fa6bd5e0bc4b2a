#include "acemq/persist/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace acemq::persist {
namespace {

using broker::inflight_entry;
using broker::message;
using broker::message_ptr;
using broker::pending_will;
using broker::stored_delivery;
using broker::subscription_options;
using namespace std::chrono_literals;

/// The principal every stored session of these tests belongs to.
const broker::principal_identity test_owner{"password", "", "alice"};

/// A fresh directory per test, removed at the end.
class temporary_directory {
 public:
  temporary_directory() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("acemq-persist-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~temporary_directory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

message_ptr make_message(std::string topic, std::string payload, std::uint8_t qos) {
  auto msg = std::make_shared<message>();
  msg->topic = std::move(topic);
  msg->payload = std::make_shared<const byte_vector>(to_bytes(payload));
  msg->qos = qos;
  msg->publisher_client_id = "publisher";
  return msg;
}

std::int64_t count_rows(const std::string& path, const std::string& table) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  const std::string sql = "SELECT count(*) FROM " + table;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  const auto count = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return count;
}

void execute(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  const std::string text = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << text;
}

std::unique_ptr<sqlite_store> open_store(const std::string& path, const clock& time,
                                         store_options options = {}) {
  auto opened = sqlite_store::open(path, options, time);
  EXPECT_TRUE(opened.has_value()) << (opened ? "" : opened.error().message);
  return opened ? std::move(*opened) : nullptr;
}

stored_delivery make_delivery(sqlite_store& store, std::uint64_t message_id, const message_ptr& msg,
                              std::uint8_t qos) {
  stored_delivery item;
  item.key = store.allocate_id();
  item.message_id = message_id;
  item.msg = msg;
  item.qos = qos;
  return item;
}

TEST(sqlite_store, round_trip_of_every_kind_of_state) {
  temporary_directory dir;
  const std::string path = dir.file("broker.db");
  manual_clock time;
  std::uint64_t first_key = 0;
  {
    auto store = open_store(path, time);
    ASSERT_TRUE(store);
    auto loaded = store->load();
    ASSERT_TRUE(loaded.has_value());
    EXPECT_TRUE(loaded->sessions.empty());

    store->session_saved("alice", test_owner, 3600, std::nullopt);
    store->session_saved("bob", test_owner, 0xFFFFFFFF, time.now());
    subscription_options options;
    options.maximum_qos = 2;
    options.no_local = true;
    options.retain_as_published = true;
    options.retain_handling = 1;
    options.identifier = 42;
    store->subscription_added("alice", "sensors/+/temp", options);
    store->subscription_added("alice", "gone/#", {});
    store->subscription_removed("alice", "gone/#");
    store->subscription_added("bob", "sensors/#", {});

    // One message fanned out to two sessions, stored once.
    auto shared = make_message("sensors/1/temp", "21.5", 2);
    auto properties = std::const_pointer_cast<message>(shared);
    mqtt::properties forwarded;
    forwarded.content_type = "text/plain";
    forwarded.user_properties.emplace_back("unit", "celsius");
    properties->forwarded = broker::forwarded_from(std::move(forwarded));
    properties->expires_at = time.now() + 120s;
    const std::uint64_t message_id = store->allocate_id();
    stored_delivery to_alice = make_delivery(*store, message_id, shared, 2);
    to_alice.subscription_identifiers = {42, 7};
    to_alice.retain = true;
    first_key = to_alice.key;
    store->delivery_queued("alice", to_alice);
    store->delivery_queued("bob", make_delivery(*store, message_id, shared, 1));

    // Alice: a second delivery sent, a third with PUBREL sent, a fourth acknowledged.
    const std::uint64_t second_id = store->allocate_id();
    auto second = make_message("sensors/2/temp", "", 2);
    stored_delivery sent = make_delivery(*store, second_id, second, 2);
    store->delivery_queued("alice", sent);
    store->delivery_sent(sent.key, 17, 5);
    stored_delivery released = make_delivery(*store, second_id, second, 2);
    store->delivery_queued("alice", released);
    store->delivery_sent(released.key, 16, 4);
    store->delivery_released(released.key);

    store->inbound_qos2_added("alice", 9);
    store->inbound_qos2_added("alice", 10);
    store->inbound_qos2_released("alice", 9);

    auto retained = make_message("status/door", "open", 1);
    std::const_pointer_cast<message>(retained)->retain = true;
    std::const_pointer_cast<message>(retained)->retain_until = time.now() + 3600s;
    store->retained_set(retained);
    auto dropped = make_message("status/window", "closed", 0);
    store->retained_set(dropped);
    store->retained_cleared("status/window");

    pending_will will;
    will.content = *make_message("wills/bob", "bye", 1);
    will.content.retain = true;
    will.message_expiry_interval = 60;
    will.delay_seconds = 30;
    will.publish_at = time.now() + 30s;
    will.publisher_grant_ends_unix = time.unix_seconds() + 600;
    store->will_saved("bob", will);
    ASSERT_TRUE(store->commit().has_value());
    EXPECT_EQ(count_rows(path, "messages"), 2);
    EXPECT_EQ(count_rows(path, "deliveries"), 4);
  }

  time.advance(10s);
  auto store = open_store(path, time);
  ASSERT_TRUE(store);
  auto loaded = store->load();
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  ASSERT_EQ(loaded->sessions.size(), 2U);
  const auto& sessions = loaded->sessions;
  const auto& alice = sessions[0].client_id == "alice" ? sessions[0] : sessions[1];
  const auto& bob = sessions[0].client_id == "alice" ? sessions[1] : sessions[0];

  EXPECT_EQ(alice.expiry_interval, 3600U);
  EXPECT_FALSE(alice.detached_at.has_value());
  // The owner comes back as it was written (broker::attach binds the session to it).
  ASSERT_TRUE(alice.owner.has_value());
  EXPECT_EQ(alice.owner->view(), test_owner);
  ASSERT_EQ(alice.subscriptions.size(), 1U);
  EXPECT_EQ(alice.subscriptions[0].first, "sensors/+/temp");
  EXPECT_EQ(alice.subscriptions[0].second.maximum_qos, 2);
  EXPECT_TRUE(alice.subscriptions[0].second.no_local);
  EXPECT_TRUE(alice.subscriptions[0].second.retain_as_published);
  EXPECT_EQ(alice.subscriptions[0].second.retain_handling, 1);
  EXPECT_EQ(alice.subscriptions[0].second.identifier, 42U);

  ASSERT_EQ(alice.queued.size(), 1U);
  EXPECT_EQ(alice.queued[0].key, first_key);
  EXPECT_EQ(alice.queued[0].qos, 2);
  EXPECT_TRUE(alice.queued[0].retain);
  EXPECT_EQ(alice.queued[0].subscription_identifiers, (std::vector<std::uint32_t>{42, 7}));
  const message& restored = *alice.queued[0].msg;
  EXPECT_EQ(restored.topic, "sensors/1/temp");
  EXPECT_EQ(*restored.payload, to_bytes("21.5"));
  ASSERT_NE(restored.forwarded, nullptr);
  EXPECT_EQ(restored.forwarded->content_type, "text/plain");
  ASSERT_EQ(restored.forwarded->user_properties.size(), 1U);
  EXPECT_EQ(restored.forwarded->user_properties[0].second, "celsius");
  ASSERT_TRUE(restored.expires_at.has_value());
  // The absolute expiry survives the restart: 120 s after publishing, 110 s after reopening.
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(*restored.expires_at - time.now()),
            110s);

  // In-flight entries come back in send order with their stage and packet identifier.
  ASSERT_EQ(alice.inflight.size(), 2U);
  EXPECT_EQ(alice.inflight[0].packet_id, 16);
  EXPECT_EQ(alice.inflight[0].at, inflight_entry::stage::pubrel_sent);
  EXPECT_EQ(alice.inflight[1].packet_id, 17);
  EXPECT_EQ(alice.inflight[1].at, inflight_entry::stage::publish_sent);
  EXPECT_TRUE(alice.inflight[1].item.msg->payload->empty());
  EXPECT_EQ(alice.inbound_qos2, (std::vector<std::uint16_t>{10}));

  ASSERT_TRUE(bob.detached_at.has_value());
  EXPECT_EQ(bob.expiry_interval, 0xFFFFFFFFU);
  ASSERT_EQ(bob.queued.size(), 1U);
  // Both sessions share one message object, as when it was routed.
  EXPECT_EQ(bob.queued[0].msg.get(), alice.queued[0].msg.get());
  ASSERT_TRUE(bob.will.has_value());
  EXPECT_EQ(bob.will->content.topic, "wills/bob");
  EXPECT_TRUE(bob.will->content.retain);
  EXPECT_EQ(bob.will->delay_seconds, 30U);
  EXPECT_EQ(bob.will->message_expiry_interval, 60U);
  ASSERT_TRUE(bob.will->publish_at.has_value());
  // RFC 9431 5: the grant's end comes back as written (seconds since the epoch, schema 3).
  EXPECT_EQ(bob.will->publisher_grant_ends_unix, time.unix_seconds() - 10 + 600);

  ASSERT_EQ(loaded->retained.size(), 1U);
  EXPECT_EQ(loaded->retained[0]->topic, "status/door");
  EXPECT_TRUE(loaded->retained[0]->retain);
  EXPECT_TRUE(loaded->retained[0]->retain_until.has_value());

  // New identifiers never collide with stored ones.
  EXPECT_GT(store->allocate_id(), first_key + 4);
}

TEST(sqlite_store, ending_a_session_removes_its_rows_and_unreferenced_messages) {
  temporary_directory dir;
  const std::string path = dir.file("broker.db");
  manual_clock time;
  auto store = open_store(path, time);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->load().has_value());
  auto msg = make_message("a/b", "x", 1);
  const auto message_id = store->allocate_id();
  for (const char* client : {"one", "two"}) {
    store->session_saved(client, test_owner, 60, std::nullopt);
    store->subscription_added(client, "a/#", {});
    store->delivery_queued(client, make_delivery(*store, message_id, msg, 1));
    store->inbound_qos2_added(client, 3);
  }
  ASSERT_TRUE(store->commit().has_value());
  store->session_ended("one");
  ASSERT_TRUE(store->commit().has_value());
  EXPECT_EQ(count_rows(path, "sessions"), 1);
  EXPECT_EQ(count_rows(path, "subscriptions"), 1);
  EXPECT_EQ(count_rows(path, "inbound_qos2"), 1);
  EXPECT_EQ(count_rows(path, "messages"), 1);  // still referenced by "two"
  store->session_ended("two");
  ASSERT_TRUE(store->commit().has_value());
  EXPECT_EQ(count_rows(path, "messages"), 0);
  EXPECT_EQ(count_rows(path, "deliveries"), 0);
}

TEST(sqlite_store, acknowledged_delivery_drops_the_message_row) {
  temporary_directory dir;
  const std::string path = dir.file("broker.db");
  manual_clock time;
  auto store = open_store(path, time);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->load().has_value());
  store->session_saved("s", test_owner, 60, std::nullopt);
  const auto item = make_delivery(*store, store->allocate_id(), make_message("t", "p", 1), 1);
  store->delivery_queued("s", item);
  ASSERT_TRUE(store->commit().has_value());
  EXPECT_EQ(count_rows(path, "messages"), 1);
  store->delivery_sent(item.key, 1, 0);
  store->delivery_removed(item.key);
  ASSERT_TRUE(store->commit().has_value());
  EXPECT_EQ(count_rows(path, "deliveries"), 0);
  EXPECT_EQ(count_rows(path, "messages"), 0);
}

TEST(sqlite_store, delivery_queued_and_acknowledged_in_one_batch_never_reaches_the_file) {
  temporary_directory dir;
  const std::string path = dir.file("broker.db");
  manual_clock time;
  auto store = open_store(path, time);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->load().has_value());
  store->session_saved("s", test_owner, 60, std::nullopt);
  const auto item = make_delivery(*store, store->allocate_id(), make_message("t", "p", 2), 2);
  store->delivery_queued("s", item);
  store->delivery_sent(item.key, 1, 0);
  store->delivery_released(item.key);
  store->delivery_removed(item.key);
  ASSERT_TRUE(store->commit().has_value());
  EXPECT_EQ(count_rows(path, "messages"), 0);
  EXPECT_EQ(count_rows(path, "deliveries"), 0);
  EXPECT_EQ(store->statistics().operations_coalesced, 4U);
}

TEST(sqlite_store, sync_barrier_commits_everyones_pending_operations_together) {
  temporary_directory dir;
  manual_clock time;
  auto store = open_store(dir.file("broker.db"), time);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->load().has_value());
  EXPECT_FALSE(store->barrier_needed());
  store->session_saved("a", test_owner, 60, std::nullopt);
  store->session_saved("b", test_owner, 60, std::nullopt);
  EXPECT_TRUE(store->barrier_needed());
  ASSERT_TRUE(store->barrier().has_value());
  EXPECT_FALSE(store->barrier_needed());
  EXPECT_EQ(store->statistics().commits, 1U);
  // Nothing pending: no empty transaction.
  ASSERT_TRUE(store->barrier().has_value());
  EXPECT_EQ(store->statistics().commits, 1U);

  // Many threads each recording and waiting: every barrier returns with its operations
  // committed, and one commit serves several threads.
  constexpr int threads = 8;
  constexpr int rounds = 50;
  std::vector<std::thread> workers;
  std::atomic<int> failures{0};
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < rounds; ++i) {
        store->inbound_qos2_added("a", static_cast<std::uint16_t>(1 + t * rounds + i));
        if (!store->barrier().has_value()) ++failures;
      }
    });
  }
  for (auto& worker : workers)
    worker.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_FALSE(store->barrier_needed());
  const auto stats = store->statistics();
  EXPECT_EQ(stats.operations_committed, 2U + threads * rounds);
  EXPECT_LE(stats.commits, 1U + threads * rounds);
  EXPECT_EQ(count_rows(dir.file("broker.db"), "inbound_qos2"), threads * rounds);
}

TEST(sqlite_store, interval_mode_acknowledges_at_once_and_the_flusher_commits) {
  temporary_directory dir;
  manual_clock time;
  store_options options;
  options.durability = durability_mode::interval;
  options.flush_interval = 5ms;
  auto store = open_store(dir.file("broker.db"), time, options);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->load().has_value());
  store->start_flusher();
  store->session_saved("a", test_owner, 60, std::nullopt);
  EXPECT_FALSE(store->barrier_needed());
  ASSERT_TRUE(store->barrier().has_value());
  // The flusher's commit wakes the waiter; the bound only guards against a hang.
  EXPECT_TRUE(store->wait_committed(10s));
  EXPECT_EQ(count_rows(dir.file("broker.db"), "sessions"), 1);
}

TEST(sqlite_store, a_full_batch_is_committed_by_the_thread_that_fills_it) {
  temporary_directory dir;
  manual_clock time;
  store_options options;
  options.durability = durability_mode::interval;
  options.max_batch_operations = 4;
  auto store = open_store(dir.file("broker.db"), time, options);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->load().has_value());
  for (std::uint16_t id = 1; id <= 10; ++id)
    store->inbound_qos2_added("a", id);
  // No flusher, no explicit commit: only back-pressure wrote these.
  EXPECT_EQ(store->statistics().commits, 2U);
  EXPECT_EQ(count_rows(dir.file("broker.db"), "inbound_qos2"), 8);
}

TEST(sqlite_store, a_session_of_schema_1_loads_without_an_owner) {
  temporary_directory dir;
  const std::string path = dir.file("broker.db");
  manual_clock time;
  {
    auto store = open_store(path, time);
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->load().has_value());
  }
  // What an earlier release left: a session row without the owner columns' values.
  execute(path,
          "INSERT INTO sessions(client_id, expiry_interval, detached_at) VALUES ('old', 60, 0)");
  auto store = open_store(path, time);
  ASSERT_TRUE(store);
  auto loaded = store->load();
  ASSERT_TRUE(loaded.has_value());
  ASSERT_EQ(loaded->sessions.size(), 1U);
  EXPECT_FALSE(loaded->sessions[0].owner.has_value());
}

TEST(sqlite_store, schema_2_migrates_and_its_wills_load_without_a_grant_end) {
  temporary_directory dir;
  const std::string path = dir.file("broker.db");
  manual_clock time;
  { ASSERT_TRUE(open_store(path, time)); }
  // What an earlier release left: a schema 2 database (no grant end on Wills) with a Will.
  execute(path,
          "ALTER TABLE wills DROP COLUMN publisher_grant_ends;"
          "DELETE FROM schema_version WHERE version = 3;"
          "INSERT INTO sessions VALUES ('old', 60, 0, 'password', '', 'alice');"
          "INSERT INTO wills VALUES ('old', 'wills/old', x'00', 0, 1, x'00', NULL, 0, NULL)");
  auto store = open_store(path, time);
  ASSERT_TRUE(store);
  EXPECT_EQ(count_rows(path, "schema_version"), 3);  // versions 1, 2 and 3
  auto loaded = store->load();
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  ASSERT_EQ(loaded->sessions.size(), 1U);
  ASSERT_TRUE(loaded->sessions[0].will.has_value());
  EXPECT_EQ(loaded->sessions[0].will->content.topic, "wills/old");
  EXPECT_FALSE(loaded->sessions[0].will->publisher_grant_ends_unix.has_value());
}

TEST(sqlite_store, newer_schema_version_is_refused_and_the_file_left_alone) {
  temporary_directory dir;
  const std::string path = dir.file("broker.db");
  manual_clock time;
  { ASSERT_TRUE(open_store(path, time)); }
  execute(path, "INSERT INTO schema_version(version, applied_at) VALUES (99, 0)");
  auto opened = sqlite_store::open(path, {}, time);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().reason, persistence_error::code::schema_too_new);
  EXPECT_NE(opened.error().message.find("99"), std::string::npos);
  EXPECT_EQ(count_rows(path, "schema_version"), 4);  // versions 1, 2, 3 and 99
}

TEST(sqlite_store, a_file_that_is_not_a_database_is_refused_and_not_overwritten) {
  temporary_directory dir;
  const std::string path = dir.file("broker.db");
  const std::string garbage(8192, 'x');
  {
    std::ofstream out(path, std::ios::binary);
    out << garbage;
  }
  manual_clock time;
  auto opened = sqlite_store::open(path, {}, time);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().reason, persistence_error::code::corrupt);
  std::ifstream in(path, std::ios::binary);
  const std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(after, garbage);
}

TEST(sqlite_store, a_database_of_another_application_is_refused) {
  temporary_directory dir;
  const std::string path = dir.file("other.db");
  execute(path, "CREATE TABLE clients(id TEXT)");
  manual_clock time;
  auto opened = sqlite_store::open(path, {}, time);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().reason, persistence_error::code::corrupt);
}

TEST(sqlite_store, a_row_with_impossible_values_is_a_load_error) {
  temporary_directory dir;
  const std::string path = dir.file("broker.db");
  manual_clock time;
  { ASSERT_TRUE(open_store(path, time)); }
  execute(path,
          "INSERT INTO sessions VALUES ('s', 60, NULL, 'password', '', 'alice');"
          "INSERT INTO messages VALUES (1, 't', x'', 1, 0, x'00', NULL, 'p');"
          "INSERT INTO deliveries VALUES (2, 's', 1, 7, 0, x'00', 0, 0, 0);");
  auto store = open_store(path, time);
  ASSERT_TRUE(store);
  auto loaded = store->load();
  ASSERT_FALSE(loaded.has_value());
  EXPECT_EQ(loaded.error().reason, persistence_error::code::corrupt);
}

TEST(sqlite_store, a_failed_commit_stops_acknowledgements) {
  temporary_directory dir;
  const std::string path = dir.file("broker.db");
  manual_clock time;
  auto store = open_store(path, time);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->load().has_value());
  store->session_saved("s", test_owner, 60, std::nullopt);
  ASSERT_TRUE(store->barrier().has_value());
  // Another writer breaks the schema under the store: the next commit cannot succeed.
  execute(path, "DROP TABLE inbound_qos2");
  store->inbound_qos2_added("s", 1);
  EXPECT_FALSE(store->barrier().has_value());
  EXPECT_TRUE(store->failed());
  store->session_saved("t", test_owner, 60, std::nullopt);
  EXPECT_FALSE(store->barrier().has_value());
  EXPECT_EQ(count_rows(path, "sessions"), 1);
}

TEST(sqlite_store, tokens_round_trip_and_expire) {
  temporary_directory dir;
  const std::string path = dir.file("broker.db");
  manual_clock time;
  {
    auto store = open_store(path, time);
    ASSERT_TRUE(store);
    const byte_vector token{0xA1, 0x02, 0x03};
    store->put_token("kid-1", token, time.unix_seconds() + 100);
    store->put_token("kid-2", token, time.unix_seconds() + 5);
    store->put_token("kid-3", token, time.unix_seconds() + 100);
    store->remove_token("kid-3");
  }  // the destructor commits
  time.advance(10s);
  auto store = open_store(path, time);
  ASSERT_TRUE(store);
  auto tokens = store->load_tokens(time.unix_seconds());
  ASSERT_TRUE(tokens.has_value());
  ASSERT_EQ(tokens->size(), 1U);
  EXPECT_EQ((*tokens)[0].key, "kid-1");
  EXPECT_EQ((*tokens)[0].value, (byte_vector{0xA1, 0x02, 0x03}));
}

TEST(sqlite_store, invalid_options_are_refused) {
  temporary_directory dir;
  manual_clock time;
  store_options options;
  options.flush_interval = 0ms;
  EXPECT_FALSE(sqlite_store::open(dir.file("broker.db"), options, time).has_value());
}

}  // namespace
}  // namespace acemq::persist
