// The engine on its own: settings validation, client id assignment, connection counting, the
// authentication chain, the session queue policy, and routing from several threads at once.

#include <atomic>
#include <thread>

#include "harness.hpp"

namespace acemq::broker::testing {
namespace {

using mqtt::reason_code;

std::shared_ptr<const auth_chain> anonymous_chain() {
  return std::make_shared<const auth_chain>(
      std::vector<std::shared_ptr<authenticator>>{std::make_shared<allow_anonymous>()});
}

message_ptr make_message(std::string topic, std::string payload, std::uint8_t qos = 0) {
  auto msg = std::make_shared<message>();
  msg->topic = std::move(topic);
  msg->payload = std::make_shared<const byte_vector>(to_bytes(payload));
  msg->qos = qos;
  return msg;
}

/// A transport whose wake() may be called from any thread.
class counting_io final : public connection_io {
 public:
  void send(outgoing) override {}
  void close() override {}
  void arm_timer(clock::time_point) override {}
  const tls_facts* tls() const override { return nullptr; }
  acemq::broker::address_text remote_address() const override {
    return acemq::broker::address_text("192.0.2.9:1");
  }
  void wake() override { wakes.fetch_add(1); }
  void post(std::function<void()>) override {}
  std::atomic<int> wakes{0};
};

TEST(engine_settings, missing_auth_chain_is_a_configuration_error) {
  manual_clock time;
  deterministic_random random(1);
  EXPECT_THROW(broker(broker_settings{}, nullptr, time, random), std::invalid_argument);
}

TEST(engine_settings, zero_receive_maximum_is_a_configuration_error) {
  manual_clock time;
  deterministic_random random(1);
  broker_settings settings;
  settings.receive_maximum = 0;
  EXPECT_THROW(broker(settings, anonymous_chain(), time, random), std::invalid_argument);
}

TEST(engine_settings, client_id_bound_below_23_is_a_configuration_error) {
  manual_clock time;
  deterministic_random random(1);
  broker_settings settings;
  settings.max_client_id_length = 22;
  EXPECT_THROW(broker(settings, anonymous_chain(), time, random), std::invalid_argument);
}

TEST(engine_settings, maximum_qos_above_2_is_a_configuration_error) {
  manual_clock time;
  deterministic_random random(1);
  broker_settings settings;
  settings.maximum_qos = 3;
  EXPECT_THROW(broker(settings, anonymous_chain(), time, random), std::invalid_argument);
}

TEST(engine, assigned_client_ids_are_distinct_and_short) {
  manual_clock time;
  deterministic_random random(1);
  broker engine(broker_settings{}, anonymous_chain(), time, random);
  const std::string first = engine.assign_client_id();
  const std::string second = engine.assign_client_id();
  EXPECT_NE(first, second);
  EXPECT_EQ(first.size(), 21u);  // within the 23 bytes every server accepts [MQTT-3.1.3-5]
}

TEST(engine, connection_limit_is_counted) {
  manual_clock time;
  deterministic_random random(1);
  broker_settings settings;
  settings.max_connections = 2;
  broker engine(settings, anonymous_chain(), time, random);
  EXPECT_NE(engine.open_connection(), 0u);
  EXPECT_FALSE(engine.at_connection_limit());
  engine.open_connection();
  EXPECT_TRUE(engine.at_connection_limit());
  engine.close_connection();
  EXPECT_FALSE(engine.at_connection_limit());
}

TEST(engine, publish_without_subscribers_reaches_nobody) {
  manual_clock time;
  deterministic_random random(1);
  broker engine(broker_settings{}, anonymous_chain(), time, random);
  EXPECT_EQ(engine.publish(make_message("t", "m")), 0u);
  EXPECT_EQ(engine.counters().messages_in.load(), 1u);
}

TEST(engine, expired_message_is_not_routed) {
  manual_clock time;
  deterministic_random random(1);
  broker engine(broker_settings{}, anonymous_chain(), time, random);
  auto msg = std::make_shared<message>();
  msg->topic = "t";
  msg->payload = std::make_shared<const byte_vector>();
  msg->expires_at = time.now();
  EXPECT_EQ(engine.publish(msg), 0u);
  EXPECT_EQ(engine.counters().messages_expired.load(), 1u);
}

/// A principal of `subject`, as proved by the test provider.
std::shared_ptr<const principal> principal_of(std::string subject) {
  auto who = std::make_shared<test_principal>();
  who->subject = std::move(subject);
  return who;
}

TEST(engine, a_session_belongs_to_the_principal_that_created_it) {
  manual_clock time;
  deterministic_random random(1);
  broker engine(broker_settings{}, anonymous_chain(), time, random);
  counting_io alice_io;
  attach_request alice;
  alice.client_id = "device-1";
  alice.clean_start = false;
  alice.expiry_interval = 300;
  alice.connection_id = engine.open_connection();
  alice.io = &alice_io;
  alice.who = principal_of("alice");
  pending_will will;
  will.content.topic = "alice/will";
  alice.will = std::move(will);
  const std::uint64_t alice_connection = alice.connection_id;
  auto owned = engine.attach(std::move(alice)).attached;
  ASSERT_TRUE(owned);
  subscription_options options;
  options.maximum_qos = 1;
  ASSERT_EQ(engine.subscribe(*owned, "alice/#", options).reason, reason_code::success);

  for (const bool clean_start : {false, true}) {
    counting_io mallory_io;
    attach_request mallory;
    mallory.client_id = "device-1";
    mallory.clean_start = clean_start;
    mallory.connection_id = engine.open_connection();
    mallory.io = &mallory_io;
    mallory.who = principal_of("mallory");
    const attach_result result = engine.attach(std::move(mallory));
    EXPECT_TRUE(result.refused);
    EXPECT_FALSE(result.attached);
    // Nothing changed: the session, its connection, its Will, its subscription.
    EXPECT_EQ(engine.find_session("device-1"), owned);
    auto held = owned->lock();
    EXPECT_EQ(held->owner, alice_connection);
    EXPECT_FALSE(held->ended);
    EXPECT_TRUE(held->will);
    EXPECT_EQ(alice_io.wakes.load(), 0);
  }
  EXPECT_EQ(engine.publish(make_message("alice/x", "m", 1)), 1U);
  const int woken = alice_io.wakes.load();

  // The same identity with another credential (a new token) takes the session over.
  counting_io again_io;
  attach_request again;
  again.client_id = "device-1";
  again.clean_start = false;
  again.expiry_interval = 300;
  again.connection_id = engine.open_connection();
  again.io = &again_io;
  again.who = principal_of("alice");
  const attach_result resumed = engine.attach(std::move(again));
  EXPECT_FALSE(resumed.refused);
  EXPECT_TRUE(resumed.session_present);
  EXPECT_EQ(alice_io.wakes.load(), woken + 1);
}

TEST(engine, an_anonymous_client_is_not_the_user_whose_name_it_sends) {
  manual_clock time;
  deterministic_random random(1);
  broker engine(broker_settings{}, anonymous_chain(), time, random);
  counting_io io;
  attach_request alice;
  alice.client_id = "alice";
  alice.connection_id = engine.open_connection();
  alice.io = &io;
  alice.who = std::make_shared<acemq::broker::testing::test_principal>();
  ASSERT_TRUE(engine.attach(std::move(alice)).attached);
  attach_request anonymous;
  anonymous.client_id = "alice";
  anonymous.connection_id = engine.open_connection();
  anonymous.io = &io;
  anonymous.who = std::make_shared<unrestricted_principal>("tester");
  EXPECT_TRUE(engine.attach(std::move(anonymous)).refused);
}

TEST(engine, concurrent_publishers_lose_nothing_within_bounds) {
  manual_clock time;
  deterministic_random random(1);
  broker_settings settings;
  settings.max_queued_messages = 100'000;
  broker engine(settings, anonymous_chain(), time, random);
  counting_io io_a;
  counting_io io_b;
  attach_request a;
  a.client_id = "a";
  a.connection_id = engine.open_connection();
  a.io = &io_a;
  a.who = std::make_shared<unrestricted_principal>("a");
  auto session_a = engine.attach(std::move(a)).attached;
  attach_request b;
  b.client_id = "b";
  b.connection_id = engine.open_connection();
  b.io = &io_b;
  b.who = std::make_shared<unrestricted_principal>("b");
  auto session_b = engine.attach(std::move(b)).attached;
  subscription_options options;
  options.maximum_qos = 1;
  ASSERT_EQ(engine.subscribe(*session_a, "load/#", options).reason, reason_code::success);
  ASSERT_EQ(engine.subscribe(*session_b, "load/+/x", options).reason, reason_code::success);

  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&engine, t] {
      for (int i = 0; i < per_thread; ++i) {
        engine.publish(make_message("load/" + std::to_string(t) + "/x", "m", 1));
      }
    });
  }
  for (auto& worker : workers)
    worker.join();
  auto held_a = session_a->lock();
  EXPECT_EQ(held_a->traffic_view().queue.size(), static_cast<std::size_t>(threads * per_thread));
  auto held_b = session_b->lock();
  EXPECT_EQ(held_b->traffic_view().queue.size(), static_cast<std::size_t>(threads * per_thread));
  // Wakes are coalesced until the connection drains the queue.
  EXPECT_EQ(io_a.wakes.load(), 1);
}

TEST(address_text, holds_the_longest_address_and_cuts_longer_text_at_its_capacity) {
  // "[" + the longest IPv6 text + "%" + a 15-character interface name + "]:" + port.
  const std::string longest =
      "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%interface-name1]:65535";
  ASSERT_LE(longest.size(), address_text::capacity);
  EXPECT_EQ(address_text(longest).view(), longest);
  const std::string over(address_text::capacity + 1, 'a');
  EXPECT_EQ(address_text(over).view(), over.substr(0, address_text::capacity));
  EXPECT_EQ(address_text().view(), "");
}

TEST(session_queue, qos0_dropped_at_the_bound) {
  broker_settings settings;
  settings.max_queued_messages = 1;
  session_state state;
  const auto now = clock::time_point{};
  EXPECT_EQ(state.enqueue({make_message("t", "1"), 0, false, {}}, settings, now),
            enqueue_result::queued);
  EXPECT_EQ(state.enqueue({make_message("t", "2"), 0, false, {}}, settings, now),
            enqueue_result::dropped_full);
  EXPECT_EQ(state.dropped(), 1u);
}

TEST(session_queue, qos1_evicts_oldest_qos0) {
  broker_settings settings;
  settings.max_queued_messages = 2;
  session_state state;
  const auto now = clock::time_point{};
  ASSERT_EQ(state.enqueue({make_message("t", "a"), 0, false, {}}, settings, now),
            enqueue_result::queued);
  ASSERT_EQ(state.enqueue({make_message("t", "b"), 0, false, {}}, settings, now),
            enqueue_result::queued);
  EXPECT_EQ(state.enqueue({make_message("t", "c"), 1, false, {}}, settings, now),
            enqueue_result::queued);
  ASSERT_EQ(state.traffic_view().queue.size(), 2u);
  EXPECT_EQ(*state.traffic_view().queue[0].msg->payload, to_bytes("b"));
  EXPECT_EQ(state.traffic_view().queued_qos0, 1u);
  EXPECT_EQ(state.traffic_view().queued_bytes, 2u);
}

TEST(session_queue, a_drained_backlog_gives_its_storage_back) {
  broker_settings settings;
  session_state state;
  const auto now = clock::time_point{};
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(state.enqueue({make_message("t", "x"), 1, false, {}}, settings, now),
              enqueue_result::queued);
  }
  EXPECT_GE(state.traffic_view().queue.capacity(), 1000u);
  while (state.dequeue()) {
  }
  EXPECT_EQ(state.traffic_view().queue.capacity(), 0u);
  EXPECT_EQ(state.traffic_view().queued_bytes, 0u);
  // A short queue keeps its block: a subscriber's steady state allocates nothing per message.
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(state.enqueue({make_message("t", "x"), 1, false, {}}, settings, now),
              enqueue_result::queued);
  }
  const std::size_t kept = state.traffic_view().queue.capacity();
  while (state.dequeue()) {
  }
  EXPECT_EQ(state.traffic_view().queue.capacity(), kept);
}

TEST(session_queue, an_emptied_queue_keeps_at_most_32_deliveries_of_storage) {
  // For every backlog up to 64 deliveries, whatever block the devector grew to: once emptied, a
  // block of at most 32 deliveries is kept, a larger one is freed.
  broker_settings settings;
  const auto now = clock::time_point{};
  bool kept = false;
  bool released = false;
  for (int backlog = 1; backlog <= 64; ++backlog) {
    session_state state;
    for (int i = 0; i < backlog; ++i) {
      ASSERT_EQ(state.enqueue({make_message("t", "x"), 1, false, {}}, settings, now),
                enqueue_result::queued);
    }
    const std::size_t grown = state.traffic_view().queue.capacity();
    while (state.dequeue()) {
    }
    if (grown > 32) {
      EXPECT_EQ(state.traffic_view().queue.capacity(), 0u) << "backlog " << backlog;
      released = true;
    } else {
      EXPECT_EQ(state.traffic_view().queue.capacity(), grown) << "backlog " << backlog;
      kept = true;
    }
  }
  EXPECT_TRUE(kept);
  EXPECT_TRUE(released);
}

TEST(session_queue, qos1_dropped_when_only_qos1_queued) {
  broker_settings settings;
  settings.max_queued_messages = 1;
  session_state state;
  const auto now = clock::time_point{};
  ASSERT_EQ(state.enqueue({make_message("t", "a"), 1, false, {}}, settings, now),
            enqueue_result::queued);
  EXPECT_EQ(state.enqueue({make_message("t", "b"), 2, false, {}}, settings, now),
            enqueue_result::dropped_full);
}

TEST(session_queue, packet_ids_skip_those_in_flight_and_wrap) {
  session_state state;
  state.next_packet_id = 65535;
  state.traffic().inflight.emplace(1, inflight_entry{});
  EXPECT_EQ(state.allocate_packet_id(), 65535);
  EXPECT_EQ(state.allocate_packet_id(), 2);  // wraps past 0 and skips 1
}

TEST(session_queue, reading_and_emptying_an_idle_session_allocates_nothing) {
  broker_settings settings;
  session_state state;
  const auto now = clock::time_point{};
  EXPECT_FALSE(state.dequeue());
  EXPECT_EQ(state.purge_expired(now), 0u);
  EXPECT_EQ(state.drop_queued_if([](const delivery&) { return true; }), 0u);
  state.drop_queued_qos0();
  state.mark_inflight_for_resend();
  EXPECT_FALSE(state.congested(settings));
  EXPECT_EQ(state.allocate_packet_id(), 1);
  EXPECT_TRUE(state.traffic_view().queue.empty());
  EXPECT_EQ(state.traffic_if_any(), nullptr);
  ASSERT_EQ(state.enqueue({make_message("t", "x"), 0, false, {}}, settings, now),
            enqueue_result::queued);
  ASSERT_NE(state.traffic_if_any(), nullptr);
  EXPECT_EQ(&state.traffic_view(), state.traffic_if_any());
}

TEST(session_queue, purge_expired_keeps_the_rest) {
  broker_settings settings;
  session_state state;
  const auto now = clock::time_point{};
  auto short_lived = std::make_shared<message>(*make_message("t", "x"));
  short_lived->expires_at = now + std::chrono::seconds(1);
  ASSERT_EQ(state.enqueue({short_lived, 1, false, {}}, settings, now), enqueue_result::queued);
  ASSERT_EQ(state.enqueue({make_message("t", "y"), 1, false, {}}, settings, now),
            enqueue_result::queued);
  EXPECT_EQ(state.purge_expired(now + std::chrono::seconds(2)), 1u);
  EXPECT_EQ(state.traffic_view().queue.size(), 1u);
  EXPECT_EQ(state.traffic_view().queued_bytes, 1u);
}

// ---- the authentication chain on its own ----

class fixed_provider final : public authenticator {
 public:
  explicit fixed_provider(auth_step answer) : answer_(std::move(answer)) {}
  std::string_view name() const override { return "fixed"; }
  void start(const authentication_request&, completion done) override {
    ++calls;
    done(answer_);
  }
  void continue_auth(const authentication_request&, completion done) override { done(answer_); }
  void reauthenticate(const authentication_request&, completion done) override { done(answer_); }
  int calls = 0;

 private:
  auth_step answer_;
};

TEST(auth_chain_test, first_answer_wins_and_names_its_owner) {
  auto passing = std::make_shared<fixed_provider>(auth_step::pass());
  auto refusing = std::make_shared<fixed_provider>(auth_step::fail(reason_code::banned));
  auto accepting = std::make_shared<fixed_provider>(
      auth_step::succeed(std::make_shared<unrestricted_principal>("x")));
  auth_chain chain({passing, refusing, accepting});
  std::optional<std::pair<auth_step, std::size_t>> result;
  chain.start(authentication_request{},
              [&](auth_step step, std::size_t owner) { result.emplace(std::move(step), owner); });
  ASSERT_TRUE(result);
  EXPECT_EQ(result->first.what, auth_step::kind::failure);
  EXPECT_EQ(result->first.reason, reason_code::banned);
  EXPECT_EQ(result->second, 1u);
  EXPECT_EQ(accepting->calls, 0);
}

TEST(auth_chain_test, everyone_passing_with_a_method_is_bad_authentication_method) {
  auth_chain chain({std::make_shared<fixed_provider>(auth_step::pass())});
  authentication_request request;
  request.method = "KERBEROS";
  reason_code reason = reason_code::success;
  chain.start(request, [&](auth_step step, std::size_t) { reason = step.reason; });
  EXPECT_EQ(reason, reason_code::bad_authentication_method);
}

TEST(auth_chain_test, everyone_passing_without_a_method_is_not_authorized) {
  auth_chain chain({std::make_shared<fixed_provider>(auth_step::pass())});
  reason_code reason = reason_code::success;
  chain.start(authentication_request{}, [&](auth_step step, std::size_t) { reason = step.reason; });
  EXPECT_EQ(reason, reason_code::not_authorized);
}

TEST(auth_chain_test, an_owner_cannot_pass_half_way) {
  auth_chain chain({std::make_shared<fixed_provider>(auth_step::pass())});
  auth_step result;
  chain.continue_auth(0, authentication_request{},
                      [&](auth_step step, std::size_t) { result = std::move(step); });
  EXPECT_EQ(result.what, auth_step::kind::failure);
  EXPECT_EQ(result.reason, reason_code::not_authorized);
}

TEST(auth_chain_test, unknown_owner_is_a_protocol_error) {
  auth_chain chain({});
  auth_step result;
  chain.reauthenticate(3, authentication_request{},
                       [&](auth_step step, std::size_t) { result = std::move(step); });
  EXPECT_EQ(result.reason, reason_code::protocol_error);
}

TEST(auth_chain_test, allow_anonymous_passes_on_enhanced_authentication) {
  allow_anonymous provider;
  authentication_request request;
  request.method = "TEST";
  auth_step result;
  provider.start(request, [&](auth_step step) { result = std::move(step); });
  EXPECT_EQ(result.what, auth_step::kind::next_provider);
}

TEST(auth_chain_test, allow_anonymous_principal_allows_everything) {
  allow_anonymous provider;
  auth_step result;
  provider.start(authentication_request{}, [&](auth_step step) { result = std::move(step); });
  ASSERT_EQ(result.what, auth_step::kind::success);
  ASSERT_TRUE(result.who);
  EXPECT_EQ(result.who->may_publish("any/topic"), reason_code::success);
  EXPECT_EQ(result.who->may_subscribe("#"), reason_code::success);
  EXPECT_TRUE(result.who->may_receive("$SYS/x"));
  EXPECT_FALSE(result.who->expires_at_unix());
}

TEST(auth_chain_test, deny_all_refuses_every_step) {
  deny_all provider;
  int refusals = 0;
  const auto count = [&](auth_step step) {
    if (step.what == auth_step::kind::failure && step.reason == reason_code::not_authorized) {
      ++refusals;
    }
  };
  provider.start(authentication_request{}, count);
  provider.continue_auth(authentication_request{}, count);
  provider.reauthenticate(authentication_request{}, count);
  EXPECT_EQ(refusals, 3);
}

}  // namespace
}  // namespace acemq::broker::testing
