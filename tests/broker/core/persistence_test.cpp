// Persistence through the engine: state recorded by the hooks into the SQLite store, the broker
// destroyed, a new broker restored from the same file. Virtual time, fake transports.

#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "acemq/persist/sqlite_store.hpp"
#include "harness.hpp"

namespace acemq::broker::testing {
namespace {

using mqtt::protocol_version;
using mqtt::reason_code;

/// User name "expiring": a test_principal whose grant ends at `ends` (seconds since the epoch);
/// anything else goes to the next provider.
class expiring_provider final : public authenticator {
 public:
  explicit expiring_provider(std::int64_t ends) : ends_(ends) {}
  std::string_view name() const override { return "expiring"; }
  void start(const authentication_request& request, completion done) override {
    if (request.username != "expiring") {
      done(auth_step::pass());
      return;
    }
    auto who = std::make_shared<test_principal>();
    who->expires_at = ends_;
    done(auth_step::succeed(std::move(who)));
  }
  void continue_auth(const authentication_request&, completion done) override {
    done(auth_step::fail(reason_code::protocol_error));
  }
  void reauthenticate(const authentication_request&, completion done) override {
    done(auth_step::fail(reason_code::not_authorized));
  }

 private:
  std::int64_t ends_;
};

class persistence_test : public ::testing::Test {
 protected:
  persistence_test() {
    static std::atomic<int> counter{0};
    directory_ = std::filesystem::temp_directory_path() /
                 ("acemq-broker-persistence-" + std::to_string(::getpid()) + "-" +
                  std::to_string(counter++));
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    settings.sys_interval = std::chrono::seconds(0);
    start();
  }
  ~persistence_test() override {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }

  void start() {
    auto opened = persist::sqlite_store::open((directory_ / "broker.db").string(), {}, time);
    ASSERT_TRUE(opened.has_value()) << opened.error().message;
    store_ = std::move(*opened);
    auto chain = std::make_shared<const auth_chain>(std::vector<std::shared_ptr<authenticator>>{
        std::make_shared<expiring_provider>(grant_ends), std::make_shared<allow_anonymous>()});
    engine_ = std::make_unique<broker>(settings, chain, time, random);
    auto snapshot = store_->load();
    ASSERT_TRUE(snapshot.has_value()) << snapshot.error().message;
    restored_ = engine_->restore(*store_, std::move(*snapshot));
  }

  /// What a crash leaves: what the last barrier committed (the network layer calls it before
  /// every write in sync mode), nothing recorded after it. The connections vanish without
  /// closing: no shutdown code runs.
  void crash_and_restart() {
    ASSERT_TRUE(store_->barrier().has_value());
    for (auto& c : clients_)
      c->io().close_requested = false;
    abandoned_.insert(abandoned_.end(), std::make_move_iterator(clients_.begin()),
                      std::make_move_iterator(clients_.end()));
    clients_.clear();
    // The old engine stays alive (its connections still point at it) but records nowhere.
    old_engines_.push_back(std::move(engine_));
    old_stores_.push_back(std::move(store_));
    start();
  }

  void stop() {
    clients_.clear();
    abandoned_.clear();
    engine_.reset();
    old_engines_.clear();
    store_.reset();
    old_stores_.clear();
  }

  client& make_client() {
    clients_.push_back(std::make_unique<client>(*engine_, listener, protocol_version::v5));
    return *clients_.back();
  }

  client& connect(std::string client_id, std::uint32_t expiry = 3600, bool clean = false,
                  std::optional<mqtt::will_message> will = std::nullopt,
                  std::optional<std::string> username = std::nullopt) {
    client& c = make_client();
    mqtt::connect packet;
    packet.protocol_version = protocol_version::v5;
    packet.client_id = std::move(client_id);
    packet.clean_start = clean;
    packet.keep_alive = 60;
    packet.properties.session_expiry_interval = expiry;
    packet.will = std::move(will);
    packet.username = std::move(username);
    c.send(packet);
    settle();
    return c;
  }

  void settle() {
    bool ran = true;
    while (ran) {
      ran = false;
      for (auto& c : clients_)
        ran = c->drain() || ran;
    }
  }

  void advance(std::chrono::seconds by) {
    time.advance(std::chrono::duration_cast<clock::duration>(by));
    engine_->tick(time.now());
    settle();
  }

  /// Subscribes; returns the PUBLISH packets that came with the SUBACK (retained messages).
  std::vector<mqtt::publish> subscribe(client& c, std::string filter, std::uint8_t qos,
                                       std::uint32_t identifier = 0) {
    mqtt::subscribe packet;
    packet.packet_id = 1;
    mqtt::subscription entry;
    entry.filter = std::move(filter);
    entry.options.maximum_qos = qos;
    packet.subscriptions.push_back(std::move(entry));
    if (identifier != 0) packet.properties.subscription_identifiers = {identifier};
    c.send(packet);
    settle();
    std::vector<mqtt::publish> retained;
    std::size_t acks = 0;
    for (auto& received : c.received()) {
      if (std::holds_alternative<mqtt::suback>(received)) ++acks;
      if (auto* publish = std::get_if<mqtt::publish>(&received)) retained.push_back(*publish);
    }
    EXPECT_EQ(acks, 1U);
    return retained;
  }

  static mqtt::publish publish_packet(std::string topic, std::string payload, std::uint8_t qos,
                                      std::uint16_t packet_id, bool retain = false) {
    mqtt::publish packet;
    packet.topic = std::move(topic);
    packet.qos = qos;
    packet.packet_id = packet_id;
    packet.retain = retain;
    packet.payload = std::make_shared<const byte_vector>(to_bytes(payload));
    return packet;
  }

  static std::string payload_of(const mqtt::publish& packet) {
    return std::string(as_string_view(packet.payload_view()));
  }

  broker_settings settings;
  listener_settings listener;
  manual_clock time;
  /// When the grant of a client with user name "expiring" ends.
  std::int64_t grant_ends = time.unix_seconds() + 100;
  deterministic_random random{42};
  restore_summary restored_;

  persist::sqlite_store& store() { return *store_; }
  broker& engine() { return *engine_; }

 private:
  std::filesystem::path directory_;
  std::unique_ptr<persist::sqlite_store> store_;
  std::unique_ptr<broker> engine_;
  std::vector<std::unique_ptr<client>> clients_;
  std::vector<std::unique_ptr<client>> abandoned_;
  std::vector<std::unique_ptr<broker>> old_engines_;
  std::vector<std::unique_ptr<persist::sqlite_store>> old_stores_;
};

TEST_F(persistence_test, offline_session_queue_subscriptions_and_retained_survive) {
  client& subscriber = connect("sub");
  subscribe(subscriber, "data/#", 2, 7);
  subscriber.send(mqtt::disconnect{});
  settle();

  client& publisher = connect("pub", 0, true);
  publisher.send(publish_packet("data/a", "one", 1, 1));
  publisher.send(publish_packet("data/b", "two", 2, 2));
  publisher.send(publish_packet("data/c", "zero", 0, 0));  // QoS 0: not kept offline
  publisher.send(publish_packet("state/door", "open", 1, 3, true));
  settle();
  crash_and_restart();
  EXPECT_EQ(restored_.sessions, 1U);  // "pub" had expiry 0
  EXPECT_EQ(restored_.retained, 1U);

  client& again = connect("sub");
  const auto packets = again.received();
  ASSERT_FALSE(packets.empty());
  ASSERT_TRUE(std::holds_alternative<mqtt::connack>(packets[0]));
  EXPECT_TRUE(std::get<mqtt::connack>(packets[0]).session_present);
  std::vector<mqtt::publish> delivered;
  for (const auto& packet : packets) {
    if (const auto* publish = std::get_if<mqtt::publish>(&packet)) delivered.push_back(*publish);
  }
  ASSERT_EQ(delivered.size(), 2U);
  EXPECT_EQ(payload_of(delivered[0]), "one");
  EXPECT_EQ(delivered[0].qos, 1);
  EXPECT_EQ(payload_of(delivered[1]), "two");
  EXPECT_EQ(delivered[1].qos, 2);
  EXPECT_EQ(delivered[1].properties.subscription_identifiers, std::vector<std::uint32_t>{7});

  // The subscription survived too: a message published after the restart arrives.
  client& late = connect("late", 0, true);
  late.send(publish_packet("data/d", "after", 1, 1));
  settle();
  const auto after = again.received_of<mqtt::publish>();
  ASSERT_EQ(after.size(), 1U);
  EXPECT_EQ(payload_of(after[0]), "after");

  client& reader = connect("reader", 0, true);
  const auto retained = subscribe(reader, "state/#", 1);
  ASSERT_EQ(retained.size(), 1U);
  EXPECT_TRUE(retained[0].retain);
  EXPECT_EQ(payload_of(retained[0]), "open");
}

TEST_F(persistence_test, in_flight_messages_are_retransmitted_with_their_packet_ids) {
  client& subscriber = connect("sub");
  subscribe(subscriber, "data/#", 2);
  client& publisher = connect("pub", 0, true);
  publisher.send(publish_packet("data/a", "q1", 1, 1));
  publisher.send(publish_packet("data/b", "q2", 2, 2));
  settle();
  const auto sent = subscriber.received_of<mqtt::publish>();
  ASSERT_EQ(sent.size(), 2U);
  // QoS 2: PUBREC received, so the broker is at PUBREL (waiting for PUBCOMP).
  mqtt::pubrec received;
  received.packet_id = sent[1].packet_id;
  subscriber.send(received);
  settle();
  ASSERT_EQ(subscriber.received_of<mqtt::pubrel>().size(), 1U);
  crash_and_restart();

  client& again = connect("sub");
  const auto packets = again.received();
  // CONNACK, then PUBLISH DUP for the QoS 1 message and PUBREL for the QoS 2 one, in the
  // original order [MQTT-4.4.0-1].
  ASSERT_EQ(packets.size(), 3U);
  ASSERT_TRUE(std::holds_alternative<mqtt::publish>(packets[1]));
  const auto& resent = std::get<mqtt::publish>(packets[1]);
  EXPECT_TRUE(resent.dup);
  EXPECT_EQ(resent.packet_id, sent[0].packet_id);
  EXPECT_EQ(payload_of(resent), "q1");
  ASSERT_TRUE(std::holds_alternative<mqtt::pubrel>(packets[2]));
  EXPECT_EQ(std::get<mqtt::pubrel>(packets[2]).packet_id, sent[1].packet_id);

  // Acknowledged now: nothing comes back after another restart.
  mqtt::puback ack;
  ack.packet_id = sent[0].packet_id;
  again.send(ack);
  mqtt::pubcomp complete;
  complete.packet_id = sent[1].packet_id;
  again.send(complete);
  settle();
  crash_and_restart();
  client& third = connect("sub");
  const auto nothing = third.received();
  ASSERT_EQ(nothing.size(), 1U);  // CONNACK only
}

TEST_F(persistence_test, inbound_qos2_is_routed_once_across_a_restart) {
  client& subscriber = connect("sub");
  subscribe(subscriber, "data/#", 2);
  subscriber.send(mqtt::disconnect{});
  settle();
  client& publisher = connect("pub");
  publisher.send(publish_packet("data/x", "once", 2, 11));
  settle();
  ASSERT_EQ(publisher.received_of<mqtt::pubrec>().size(), 1U);
  crash_and_restart();

  // The publisher did not get PUBCOMP: it resends the PUBLISH (DUP), then PUBREL.
  client& resumed = connect("pub");
  EXPECT_TRUE(resumed.received_of<mqtt::connack>().at(0).session_present);
  auto again = publish_packet("data/x", "once", 2, 11);
  again.dup = true;
  resumed.send(again);
  settle();
  ASSERT_EQ(resumed.received_of<mqtt::pubrec>().size(), 1U);
  mqtt::pubrel release;
  release.packet_id = 11;
  resumed.send(release);
  settle();
  const auto completes = resumed.received_of<mqtt::pubcomp>();
  ASSERT_EQ(completes.size(), 1U);
  EXPECT_EQ(completes[0].reason_code, reason_code::success);

  client& back = connect("sub");
  const auto delivered = back.received_of<mqtt::publish>();
  ASSERT_EQ(delivered.size(), 1U);  // exactly once
  EXPECT_EQ(payload_of(delivered[0]), "once");
}

TEST_F(persistence_test, ended_and_non_persistent_sessions_are_not_restored) {
  client& temporary = connect("temporary", 0, true);
  subscribe(temporary, "t/#", 1);
  client& ending = connect("ending");
  subscribe(ending, "e/#", 1);
  ending.send(mqtt::disconnect{});
  settle();
  // A clean start discards the stored session.
  client& clean = connect("ending", 0, true);
  clean.send(mqtt::disconnect{});
  settle();
  crash_and_restart();
  EXPECT_EQ(restored_.sessions, 0U);
  client& back = connect("ending");
  EXPECT_FALSE(back.received_of<mqtt::connack>().at(0).session_present);
}

TEST_F(persistence_test, a_session_stored_without_an_owner_is_ended_at_restore) {
  // A row of an earlier schema names no owner: nobody can prove the session is theirs.
  auto chain = std::make_shared<const auth_chain>(
      std::vector<std::shared_ptr<authenticator>>{std::make_shared<allow_anonymous>()});
  broker fresh(settings, chain, time, random);
  persistence_snapshot snapshot;
  stored_session unowned;
  unowned.client_id = "unowned";
  unowned.expiry_interval = 60;
  stored_session owned = unowned;
  owned.client_id = "owned";
  owned.owner = owned_identity(principal_identity{"anonymous", "", ""});
  snapshot.sessions.push_back(std::move(unowned));
  snapshot.sessions.push_back(std::move(owned));
  const restore_summary summary = fresh.restore(store(), std::move(snapshot));
  EXPECT_EQ(summary.sessions, 1U);
  EXPECT_EQ(summary.discarded, 1U);
  EXPECT_FALSE(fresh.find_session("unowned"));
  ASSERT_TRUE(fresh.find_session("owned"));
  auto held = fresh.find_session("owned")->lock();
  ASSERT_TRUE(held->who);
  EXPECT_EQ(held->who->identity(), (principal_identity{"anonymous", "", ""}));
}

TEST_F(persistence_test, a_delayed_will_fires_after_the_restart) {
  client& watcher = connect("watcher");
  subscribe(watcher, "wills/#", 1);
  watcher.send(mqtt::disconnect{});
  settle();
  mqtt::will_message will{"wills/dying", to_bytes("gone"), 1, false, {}};
  will.properties.will_delay_interval = 30;
  client& dying = connect("dying", 3600, false, will);
  dying.drop();
  settle();
  crash_and_restart();
  advance(std::chrono::seconds(10));
  client& back = connect("watcher");
  EXPECT_TRUE(back.received_of<mqtt::publish>().empty());
  advance(std::chrono::seconds(25));
  const auto wills = back.received_of<mqtt::publish>();
  ASSERT_EQ(wills.size(), 1U);
  EXPECT_EQ(wills[0].topic, "wills/dying");
}

TEST_F(persistence_test, a_restored_retained_will_still_ends_with_the_publishers_grant) {
  // RFC 9431 5: the Will carries its publisher's grant end through the store (schema 3), so
  // the retained copy of a Will published after a restart is still dropped with the token.
  mqtt::will_message will{"wills/dying", to_bytes("gone"), 1, true, {}};
  will.properties.will_delay_interval = 30;
  client& dying = connect("dying", 3600, false, will, "expiring");
  ASSERT_EQ(dying.received_of<mqtt::connack>().size(), 1U);
  dying.drop();
  settle();
  crash_and_restart();
  advance(std::chrono::seconds(35));  // the Will is published, 65 s before the grant ends
  const auto retained = subscribe(connect("early", 0, true), "wills/#", 1);
  ASSERT_EQ(retained.size(), 1U);
  EXPECT_EQ(payload_of(retained[0]), "gone");
  advance(std::chrono::seconds(65));
  EXPECT_TRUE(subscribe(connect("late", 0, true), "wills/#", 1).empty());
}

TEST_F(persistence_test, a_lowered_queue_bound_drops_what_no_longer_fits) {
  client& subscriber = connect("sub");
  subscribe(subscriber, "data/#", 1);
  subscriber.send(mqtt::disconnect{});
  settle();
  client& publisher = connect("pub", 0, true);
  for (std::uint16_t id = 1; id <= 5; ++id)
    publisher.send(publish_packet("data/x", std::to_string(id), 1, id));
  settle();
  settings.max_queued_messages = 2;
  crash_and_restart();
  client& back = connect("sub");
  const auto delivered = back.received_of<mqtt::publish>();
  ASSERT_EQ(delivered.size(), 2U);
  EXPECT_EQ(payload_of(delivered[0]), "1");
  EXPECT_EQ(payload_of(delivered[1]), "2");
}

TEST_F(persistence_test, restored_sessions_count_against_their_principals_bounds) {
  client& subscriber = connect("anon-1");
  subscribe(subscriber, "data/#", 1);
  subscriber.send(mqtt::disconnect{});
  settle();
  connect("anon-2").send(mqtt::disconnect{});
  settle();
  client& publisher = connect("pub", 0, true);
  publisher.send(publish_packet("data/x", "12345", 1, 1));
  publisher.send(publish_packet("keep1", "0123456789", 1, 2, true));
  publisher.send(publish_packet("keep2", "0123456789", 1, 3, true));
  settle();
  // Lowered below what the store holds: the restored sessions are all kept (they only stop new
  // ones); of the two retained messages of 15 bytes, one fits.
  settings.max_sessions_anonymous = 1;
  settings.max_retained_memory = 20;
  crash_and_restart();
  const principal_identity anonymous{"anonymous", {}, {}};
  EXPECT_EQ(engine().session_count_of(anonymous), 2U);
  EXPECT_EQ(engine().queued_bytes_of(anonymous), 5U);
  EXPECT_EQ(engine().retained_count(), 1U);
  EXPECT_EQ(engine().retained_bytes(), 15U);
  client& refused = connect("anon-3");
  const auto acks = refused.received_of<mqtt::connack>();
  ASSERT_EQ(acks.size(), 1U);
  EXPECT_EQ(acks[0].reason_code, reason_code::quota_exceeded);
  client& back = connect("anon-1");
  ASSERT_EQ(back.received_of<mqtt::publish>().size(), 1U);
}

}  // namespace
}  // namespace acemq::broker::testing
