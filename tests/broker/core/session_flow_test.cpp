// The session's API for its attached connection (session_flow.cpp), on a session alone: the
// batches it hands out, acknowledgements, inbound QoS 2 identifiers and a narrower principal.
// Their effect on the store is covered through the engine in persistence_test.cpp.

#include <memory>
#include <string>

#include "harness.hpp"

namespace acemq::broker::testing {
namespace {

constexpr std::uint64_t owner_id = 7;

message_ptr make_message(std::string topic, std::uint8_t qos, std::size_t payload_size = 1) {
  auto msg = std::make_shared<message>();
  msg->topic = std::move(topic);
  msg->payload = std::make_shared<const byte_vector>(payload_size, std::uint8_t{'m'});
  msg->qos = qos;
  return msg;
}

class session_flow : public ::testing::Test {
 protected:
  session_flow() {
    auto held = subject.lock();
    held->owner = owner_id;
  }

  void queue(std::string topic, std::uint8_t qos, std::size_t payload_size = 1) {
    auto held = subject.lock();
    ASSERT_EQ(held->enqueue({make_message(std::move(topic), qos, payload_size), qos, false, {}},
                            settings, now),
              enqueue_result::queued);
  }

  outbound_batch take(std::size_t window = 10, const principal* receiver = nullptr) {
    outbound_batch out;
    subject.take_batch({.owner = owner_id, .window = window, .now = now, .receiver = receiver},
                       out);
    return out;
  }

  std::size_t inflight() { return subject.lock()->traffic_view().inflight.size(); }

  broker_settings settings;
  clock::time_point now{};
  session subject{1, "flow"};
};

TEST_F(session_flow, the_window_bounds_qos1_and_order_holds_back_later_qos0) {
  queue("a", 1);
  queue("b", 1);
  queue("c", 0);
  auto first = take(1);
  ASSERT_EQ(first.fresh.size(), 1u);
  EXPECT_EQ(first.fresh[0].first.msg->topic, "a");
  EXPECT_NE(first.fresh[0].second, 0u);
  EXPECT_FALSE(first.more);
  // [MQTT-4.6.0-6]: "c" (QoS 0) waits behind "b" while the window is full.
  EXPECT_TRUE(take(1).fresh.empty());
  subject.acknowledge_puback(first.fresh[0].second);
  EXPECT_EQ(inflight(), 0u);
  // With "a" acknowledged, "b" fills the window and "c" (QoS 0, no identifier) follows it.
  auto second = take(1);
  ASSERT_EQ(second.fresh.size(), 2u);
  EXPECT_EQ(second.fresh[0].first.msg->topic, "b");
  EXPECT_EQ(second.fresh[1].first.msg->topic, "c");
  EXPECT_EQ(second.fresh[1].second, 0u);
}

TEST_F(session_flow, a_batch_stops_at_64_deliveries_or_64_kib_and_says_there_is_more) {
  for (int i = 0; i < 65; ++i)
    queue("t", 0);
  auto first = take();
  EXPECT_EQ(first.fresh.size(), 64u);
  EXPECT_TRUE(first.more);
  auto rest = take();
  EXPECT_EQ(rest.fresh.size(), 1u);
  EXPECT_FALSE(rest.more);

  queue("big", 0, 40 * 1024);
  queue("big", 0, 40 * 1024);
  queue("big", 0, 1);
  auto by_bytes = take();
  EXPECT_EQ(by_bytes.fresh.size(), 2u);
  EXPECT_TRUE(by_bytes.more);
}

TEST_F(session_flow, expired_and_refused_deliveries_are_dropped_and_counted) {
  queue("late", 1);
  {
    auto held = subject.lock();
    auto msg = std::make_shared<message>(*make_message("old", 1));
    msg->expires_at = now;
    ASSERT_EQ(held->enqueue({msg, 1, false, {}}, settings, now - std::chrono::seconds(1)),
              enqueue_result::queued);
  }
  queue("hidden/x", 1);
  queue("ok", 1);
  test_principal receiver;
  auto out = take(10, &receiver);
  EXPECT_EQ(out.expired, 1u);
  EXPECT_EQ(out.denied, 1u);
  EXPECT_FALSE(out.refused);
  ASSERT_EQ(out.fresh.size(), 2u);
  EXPECT_EQ(out.fresh[0].first.msg->topic, "late");
  EXPECT_EQ(out.fresh[1].first.msg->topic, "ok");
  EXPECT_EQ(inflight(), 2u);  // dropped deliveries take no identifier
}

TEST_F(session_flow, a_strict_receiver_refusing_a_delivery_ends_the_batch_with_refused) {
  queue("a", 0);
  queue("hidden/x", 0);
  queue("b", 0);
  test_principal receiver;
  receiver.strict = true;
  auto out = take(10, &receiver);
  EXPECT_TRUE(out.refused);
  ASSERT_EQ(out.fresh.size(), 1u);  // what came before is still written
  EXPECT_EQ(out.fresh[0].first.msg->topic, "a");
}

TEST_F(session_flow, another_connection_or_an_ended_session_gets_nothing) {
  queue("a", 0);
  outbound_batch out;
  subject.take_batch({.owner = owner_id + 1, .window = 10, .now = now}, out);
  EXPECT_TRUE(out.fresh.empty());
  subject.lock()->ended = true;
  EXPECT_TRUE(take().fresh.empty());
}

TEST_F(session_flow, a_resumed_session_retransmits_in_send_order_before_anything_new) {
  queue("a", 2);
  queue("b", 1);
  auto sent = take();
  ASSERT_EQ(sent.fresh.size(), 2u);
  const auto a_id = sent.fresh[0].second;
  const auto b_id = sent.fresh[1].second;
  EXPECT_EQ(subject.acknowledge_pubrec(a_id, false), pubrec_outcome::release);
  queue("c", 1);
  subject.resend_inflight();
  auto again = take();
  ASSERT_EQ(again.resend.size(), 2u);
  EXPECT_EQ(again.resend[0].packet_id, a_id);
  EXPECT_EQ(again.resend[0].at, inflight_entry::stage::pubrel_sent);  // PUBREL, not PUBLISH
  EXPECT_EQ(again.resend[1].packet_id, b_id);
  EXPECT_EQ(again.resend[1].at, inflight_entry::stage::publish_sent);
  ASSERT_EQ(again.fresh.size(), 1u);
  EXPECT_EQ(again.fresh[0].first.msg->topic, "c");
}

TEST_F(session_flow, acknowledgements_match_the_stage_and_qos_of_the_entry) {
  queue("one", 1);
  queue("two", 2);
  auto sent = take();
  ASSERT_EQ(sent.fresh.size(), 2u);
  const auto qos1 = sent.fresh[0].second;
  const auto qos2 = sent.fresh[1].second;
  // A PUBREC for a QoS 1 entry, a PUBCOMP before PUBREL, a PUBACK for QoS 2: all ignored.
  EXPECT_EQ(subject.acknowledge_pubrec(qos1, false), pubrec_outcome::unknown);
  subject.acknowledge_pubcomp(qos2);
  subject.acknowledge_puback(qos2);
  EXPECT_EQ(inflight(), 2u);
  EXPECT_EQ(subject.acknowledge_pubrec(qos2, false), pubrec_outcome::release);
  subject.acknowledge_pubcomp(qos2);
  subject.acknowledge_puback(qos1);
  EXPECT_EQ(inflight(), 0u);

  queue("three", 2);
  auto refused = take();
  ASSERT_EQ(refused.fresh.size(), 1u);
  // MQTT 5.0 4.3.3: a PUBREC with an error code frees the identifier.
  EXPECT_EQ(subject.acknowledge_pubrec(refused.fresh[0].second, true), pubrec_outcome::ended);
  EXPECT_EQ(inflight(), 0u);
  EXPECT_EQ(subject.acknowledge_pubrec(999, false), pubrec_outcome::unknown);
}

TEST_F(session_flow, inbound_qos2_identifiers_make_a_retransmission_a_duplicate_until_pubrel) {
  EXPECT_EQ(subject.admit_inbound(2, 5, 2), inbound_publish::fresh);
  subject.record_inbound_qos2(5);
  EXPECT_EQ(subject.admit_inbound(2, 5, 2), inbound_publish::duplicate);
  EXPECT_EQ(subject.admit_inbound(1, 5, 2), inbound_publish::fresh);  // QoS 1 is never held
  subject.record_inbound_qos2(6);
  // [MQTT-3.3.4-7]: a third QoS 2 awaiting PUBREL is over a Receive Maximum of 2.
  EXPECT_EQ(subject.admit_inbound(2, 7, 2), inbound_publish::over_receive_maximum);
  EXPECT_TRUE(subject.release_inbound_qos2(5));
  EXPECT_FALSE(subject.release_inbound_qos2(5));
  EXPECT_EQ(subject.admit_inbound(2, 7, 2), inbound_publish::fresh);
}

TEST_F(session_flow, a_narrower_principal_drops_what_it_may_not_receive) {
  queue("hidden/queued", 1);
  queue("open/queued", 1);
  queue("hidden/sent", 1);
  auto sent = take(1);  // "hidden/queued" goes in flight, unauthorized by nobody yet
  ASSERT_EQ(sent.fresh.size(), 1u);
  auto narrower = std::make_shared<test_principal>();
  EXPECT_EQ(subject.narrow_to(narrower), 2u);  // one in flight, one queued
  EXPECT_EQ(inflight(), 0u);
  auto held = subject.lock();
  EXPECT_EQ(held->who, narrower);
  ASSERT_EQ(held->traffic_view().queue.size(), 1u);
  EXPECT_EQ(held->traffic_view().queue.front().msg->topic, "open/queued");
}

}  // namespace
}  // namespace acemq::broker::testing
