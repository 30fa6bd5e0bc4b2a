// Flow control in both directions: back-pressure from a congested transport into the session
// queue, publishers slowed down for a congested subscriber or by max_publish_rate, and the
// broker-wide ceiling on queued message memory (docs/broker-core.md, "Flow control").

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "harness.hpp"

namespace acemq::broker::testing {
namespace {

using namespace std::chrono_literals;

class flow_control_test : public broker_test {};

TEST_F(flow_control_test, congested_transport_keeps_deliveries_in_the_session_queue) {
  client& subscriber = connected("sub");
  subscribe(subscriber, "t");
  subscriber.io().congested_flag = true;
  client& publisher = connected("pub");
  for (int i = 0; i < 10; ++i)
    publisher.send(publish_packet("t", std::to_string(i)));
  settle();
  EXPECT_TRUE(subscriber.received_of<mqtt::publish>().empty());
  EXPECT_EQ(engine().find_session("sub")->lock()->traffic_view().queue.size(), 10u);

  // The driver wakes the machine once the socket drained: everything follows, in order.
  subscriber.io().congested_flag = false;
  subscriber.machine().on_wake();
  const auto delivered = subscriber.received_of<mqtt::publish>();
  ASSERT_EQ(delivered.size(), 10u);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(payload_of(delivered[static_cast<std::size_t>(i)]), std::to_string(i));
  EXPECT_EQ(engine().counters().queued_bytes.load(), 0u);
}

TEST_F(flow_control_test, a_full_queue_keeps_consulting_a_congested_transport) {
  settings.max_queued_messages = 4;
  settings.congestion_pause = 0ms;
  client& subscriber = connected("sub");
  subscribe(subscriber, "t");
  subscriber.io().congested_flag = true;
  client& publisher = connected("pub");
  const int before = subscriber.io().congestion_checks;
  for (int i = 0; i < 10; ++i) {
    publisher.send(publish_packet("t", "m"));
    settle();
  }
  // Every delivery, queued or dropped at the bound, woke the connection, which asked the
  // transport again: a reader that stopped reading is noticed (server.slow_consumer_timeout).
  EXPECT_EQ(subscriber.io().congestion_checks - before, 10);
  EXPECT_EQ(engine().counters().messages_dropped.load(), 6u);
}

TEST_F(flow_control_test, a_long_queue_leaves_in_several_batches_in_one_wake) {
  client& subscriber = connected("sub");
  subscribe(subscriber, "t");
  subscriber.io().congested_flag = true;
  client& publisher = connected("pub");
  for (int i = 0; i < 300; ++i)
    publisher.send(publish_packet("t", "payload"));
  settle();
  const std::size_t writes_before = subscriber.io().writes;
  subscriber.io().congested_flag = false;
  subscriber.machine().on_wake();
  EXPECT_EQ(subscriber.received_of<mqtt::publish>().size(), 300u);
  // Small messages leave a batch (64 at most) as one write each: 300 in five.
  EXPECT_EQ(subscriber.io().writes - writes_before, 5u);
}

TEST_F(flow_control_test, payloads_up_to_the_coalescing_limit_share_a_write_larger_ones_do_not) {
  const std::size_t limit = connection::coalesced_payload_limit;
  client& subscriber = connected("sub");
  subscribe(subscriber, "t");
  subscriber.io().congested_flag = true;
  client& publisher = connected("pub");
  const std::vector<std::string> payloads = {std::string(limit, 'a'), std::string(limit, 'b'),
                                             std::string(limit + 1, 'c'), std::string(limit, 'd')};
  for (const std::string& payload : payloads)
    publisher.send(publish_packet("t", payload));
  settle();
  const std::size_t writes_before = subscriber.io().writes;
  subscriber.io().congested_flag = false;
  subscriber.machine().on_wake();
  // The two at the limit share a write; the larger one goes alone (its payload written from
  // the message), after them; the last one starts a new shared write.
  EXPECT_EQ(subscriber.io().writes - writes_before, 3u);
  const auto delivered = subscriber.received_of<mqtt::publish>();
  ASSERT_EQ(delivered.size(), payloads.size());
  for (std::size_t i = 0; i < payloads.size(); ++i)
    EXPECT_EQ(payload_of(delivered[i]), payloads[i]);
}

TEST_F(flow_control_test, a_packet_dropped_in_a_shared_write_leaves_the_others_whole) {
  client& subscriber = make_client();
  mqtt::connect hello = connect_packet("sub");
  hello.properties.maximum_packet_size = 64;  // [MQTT-3.1.2-25]
  subscriber.send(hello);
  settle();
  subscriber.received();
  subscribe(subscriber, "t");
  subscriber.io().congested_flag = true;
  client& publisher = connected("pub");
  publisher.send(publish_packet("t", "first"));
  publisher.send(publish_packet("t", std::string(100, 'x')));
  publisher.send(publish_packet("t", "third"));
  settle();
  const std::size_t writes_before = subscriber.io().writes;
  subscriber.io().congested_flag = false;
  subscriber.machine().on_wake();
  EXPECT_EQ(subscriber.io().writes - writes_before, 1u);
  const auto delivered = subscriber.received_of<mqtt::publish>();
  ASSERT_EQ(delivered.size(), 2u);
  EXPECT_EQ(payload_of(delivered[0]), "first");
  EXPECT_EQ(payload_of(delivered[1]), "third");
  EXPECT_EQ(engine().counters().messages_dropped.load(), 1u);
}

TEST_F(flow_control_test, publisher_pauses_while_a_connected_subscriber_is_congested) {
  settings.max_queued_messages = 8;
  client& subscriber = connected("sub");
  subscribe(subscriber, "t", 1);
  subscriber.io().congested_flag = true;
  client& publisher = connected("pub");
  // Six queued messages are three quarters of the bound: the sixth PUBLISH pauses the publisher,
  // and the two after it (already read from the socket) wait unacknowledged.
  byte_vector burst;
  for (std::uint16_t id = 1; id <= 8; ++id)
    mqtt::encode(publish_packet("t", "m", 1, id), mqtt::protocol_version::v5, burst);
  publisher.send_bytes(burst);
  settle();
  EXPECT_TRUE(publisher.io().paused);
  EXPECT_EQ(publisher.received_of<mqtt::puback>().size(), 6u);
  EXPECT_EQ(engine().counters().publishers_throttled.load(), 1u);

  // The pause ends on the machine's timer, and the held packets are processed; the queue is
  // still congested, so each pauses again, but nothing is lost or dropped.
  advance(settings.congestion_pause);
  EXPECT_EQ(publisher.received_of<mqtt::puback>().size(), 1u);
  advance(settings.congestion_pause);
  EXPECT_EQ(publisher.received_of<mqtt::puback>().size(), 1u);
  EXPECT_EQ(engine().counters().messages_dropped.load(), 0u);
  // Each replay throttled again before the held bytes were used up: reading never resumed, so
  // the transport could not add to what is held.
  EXPECT_EQ(publisher.io().resumes, 0);
  EXPECT_TRUE(publisher.io().paused);

  subscriber.io().congested_flag = false;
  subscriber.machine().on_wake();
  advance(settings.congestion_pause);
  EXPECT_FALSE(publisher.io().paused);
  EXPECT_EQ(subscriber.received_of<mqtt::publish>().size(), 8u);
}

// A subscriber "sub" on "t" whose transport is congested, and a publisher "pub" that sent eight
// QoS 1 messages at once: the sixth filled three quarters of the eight-message queue, so six
// are acknowledged, reading is paused and two are held.
class paused_publisher_test : public flow_control_test {
 protected:
  void pause_the_publisher() {
    settings.max_queued_messages = 8;
    settings.congestion_pause = 10'000ms;  // only the drain can end the pause within a test
    subscriber_ = &connected("sub");
    subscribe(*subscriber_, "t", 1);
    subscriber_->io().congested_flag = true;
    publisher_ = &connected("pub");
    byte_vector burst;
    for (std::uint16_t id = 1; id <= 8; ++id)
      mqtt::encode(publish_packet("t", "m", 1, id), mqtt::protocol_version::v5, burst);
    publisher_->send_bytes(burst);
    settle();
    ASSERT_TRUE(publisher_->io().paused);
    EXPECT_EQ(publisher_->received_of<mqtt::puback>().size(), 6u);
  }

  /// The subscriber's socket drains: it takes its whole queue.
  void drain_the_subscriber() {
    subscriber_->io().congested_flag = false;
    subscriber_->machine().on_wake();
    settle();
  }

  client* subscriber_ = nullptr;
  client* publisher_ = nullptr;
};

TEST_F(paused_publisher_test, resumes_as_soon_as_the_subscriber_has_drained) {
  pause_the_publisher();
  // Told to resume at once, without the clock moving: the two held PUBLISH packets follow.
  drain_the_subscriber();
  EXPECT_FALSE(publisher_->io().paused);
  EXPECT_EQ(publisher_->received_of<mqtt::puback>().size(), 2u);
  EXPECT_EQ(subscriber_->received_of<mqtt::publish>().size(), 8u);
  EXPECT_EQ(engine().counters().messages_dropped.load(), 0u);
}

TEST_F(paused_publisher_test, an_early_resume_does_not_end_what_max_publish_rate_imposes) {
  // Five PUBLISH packets a second: the sixth also empties the bucket (a wait of 0.4 s).
  settings.max_publish_rate = 5;
  pause_the_publisher();
  // The congestion part of the pause ends, the rate's part does not.
  drain_the_subscriber();
  EXPECT_TRUE(publisher_->io().paused);
  EXPECT_TRUE(publisher_->received_of<mqtt::puback>().empty());
  // Then the two held packets: the bucket refilled two in 0.4 s, and the second empties it.
  advance(400ms);
  EXPECT_EQ(publisher_->received_of<mqtt::puback>().size(), 2u);
  EXPECT_TRUE(publisher_->io().paused);
}

TEST_F(flow_control_test, a_subscriber_resumes_at_most_sixteen_paused_publishers_early) {
  const std::size_t bound = session_traffic::max_waiting_publishers;
  // 64 messages at most, congested from 48: a filler leaves 47, then each of bound + 1
  // publishers adds one and is paused, none dropped.
  settings.max_queued_messages = 64;
  settings.congestion_pause = 10'000ms;
  client& subscriber = connected("sub");
  subscribe(subscriber, "t");
  subscriber.io().congested_flag = true;
  client& filler = connected("filler");
  for (int i = 0; i < 47; ++i)
    filler.send(publish_packet("t", "m"));
  settle();
  ASSERT_FALSE(filler.io().paused);
  std::vector<client*> publishers;
  for (std::size_t i = 0; i <= bound; ++i) {
    publishers.push_back(&connected("pub" + std::to_string(i)));
    publishers.back()->send(publish_packet("t", "m"));
    settle();
    ASSERT_TRUE(publishers.back()->io().paused) << i;
  }
  EXPECT_EQ(engine().counters().messages_dropped.load(), 0u);

  subscriber.io().congested_flag = false;
  subscriber.machine().on_wake();
  settle();
  // The first sixteen are told to resume; the one past the bound waits out its pause.
  for (std::size_t i = 0; i < bound; ++i)
    EXPECT_FALSE(publishers[i]->io().paused) << i;
  EXPECT_TRUE(publishers[bound]->io().paused);
  advance(settings.congestion_pause);
  EXPECT_FALSE(publishers[bound]->io().paused);
}

TEST_F(flow_control_test, an_offline_subscriber_does_not_slow_publishers) {
  settings.max_queued_messages = 4;
  client& subscriber = make_client();
  auto hello = connect_packet("sub", mqtt::protocol_version::v5, false);
  hello.properties.session_expiry_interval = 3600;
  subscriber.send(hello);
  settle();
  subscribe(subscriber, "t", 1);
  subscriber.drop();
  client& publisher = connected("pub");
  for (std::uint16_t id = 1; id <= 6; ++id)
    publisher.send(publish_packet("t", "m", 1, id));
  settle();
  EXPECT_FALSE(publisher.io().paused);
  EXPECT_EQ(publisher.received_of<mqtt::puback>().size(), 6u);
  // The offline session's bound and drop policy apply instead.
  EXPECT_EQ(engine().counters().messages_dropped.load(), 2u);
}

TEST_F(flow_control_test, publish_rate_limit_reads_more_slowly_and_refuses_nothing) {
  settings.max_publish_rate = 2;
  client& publisher = connected("pub");
  byte_vector burst;
  for (std::uint16_t id = 1; id <= 6; ++id)
    mqtt::encode(publish_packet("t", "m", 1, id), mqtt::protocol_version::v5, burst);
  publisher.send_bytes(burst);
  settle();
  // A full bucket holds two; the third takes it below zero and pauses reading for a second.
  EXPECT_EQ(publisher.received_of<mqtt::puback>().size(), 3u);
  EXPECT_TRUE(publisher.io().paused);
  advance(1s);
  EXPECT_EQ(publisher.received_of<mqtt::puback>().size(), 2u);
  advance(1s);
  const auto last = publisher.received_of<mqtt::puback>();
  ASSERT_EQ(last.size(), 1u);
  EXPECT_EQ(last[0].packet_id, 6);
  EXPECT_FALSE(publisher.transport_closed());
}

TEST_F(flow_control_test, memory_ceiling_bounds_all_queues_together) {
  settings.max_queued_memory = 100;
  // Both subscribers are the anonymous principal: its share is the whole ceiling here.
  settings.max_queued_memory_per_principal = 100;
  settings.congestion_pause = 0ms;  // the publisher is not paused by the full queues here
  client& first = connected("a");
  subscribe(first, "t");
  first.io().congested_flag = true;
  client& second = connected("b");
  subscribe(second, "t");
  second.io().congested_flag = true;
  client& publisher = connected("pub");
  const std::string forty(40, 'p');
  for (int i = 0; i < 3; ++i)
    publisher.send(publish_packet("t", forty));
  settle();
  // 40-byte payloads into two queues: the first two copies fit under 100 bytes, the rest not.
  EXPECT_LE(engine().counters().queued_bytes.load(), 100u);
  EXPECT_EQ(engine().counters().queued_bytes.load(), 80u);
  EXPECT_EQ(engine().counters().messages_dropped.load(), 4u);

  first.io().congested_flag = false;
  first.machine().on_wake();
  second.io().congested_flag = false;
  second.machine().on_wake();
  EXPECT_EQ(engine().counters().queued_bytes.load(), 0u);
}

TEST_F(flow_control_test, ended_sessions_return_their_queued_bytes) {
  client& subscriber = connected("sub", mqtt::protocol_version::v5, false);
  subscribe(subscriber, "t", 1);
  subscriber.io().congested_flag = true;
  client& publisher = connected("pub");
  publisher.send(publish_packet("t", "12345", 1, 1));
  settle();
  EXPECT_EQ(engine().counters().queued_bytes.load(), 5u);
  // The session (expiry 0) ends with its connection, and its queue with it.
  subscriber.drop();
  settle();
  EXPECT_EQ(engine().counters().queued_bytes.load(), 0u);
}

}  // namespace
}  // namespace acemq::broker::testing
