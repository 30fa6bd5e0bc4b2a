// The QoS 0 PUBLISH packets of one read are routed together (broker::route_batch): whatever the
// batch, each subscriber receives what it would have received message by message, in the order
// published, and nothing a packet after them in the same read changes (a SUBSCRIBE, an
// UNSUBSCRIBE, a QoS 1 PUBLISH, the close and its Will) overtakes them.

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "harness.hpp"

namespace acemq::broker::testing {
namespace {

using namespace std::chrono_literals;
using mqtt::protocol_version;

class route_batch_test : public broker_test {
 protected:
  static void append(byte_vector& read, const mqtt::packet& packet) {
    mqtt::encode(packet, protocol_version::v5, read);
  }

  std::vector<std::string> payloads(client& c) {
    std::vector<std::string> seen;
    for (const auto& packet : c.received_of<mqtt::publish>())
      seen.push_back(payload_of(packet));
    return seen;
  }
};

TEST_F(route_batch_test, a_read_longer_than_a_batch_arrives_whole_and_in_order) {
  settings.max_queued_messages = 10'000;
  client& everything = connected("everything");
  subscribe(everything, "t/#");
  client& only_b = connected("only-b");
  subscribe(only_b, "t/b");
  client& publisher = connected("publisher");
  byte_vector read;
  std::vector<std::string> all;
  std::vector<std::string> of_b;
  // More than two batches (route_batch::most), alternating between two topics.
  for (int i = 0; i < 2 * static_cast<int>(route_batch::most) + 37; ++i) {
    const std::string topic = i % 3 == 0 ? "t/b" : "t/a";
    append(read, publish_packet(topic, std::to_string(i)));
    all.push_back(std::to_string(i));
    if (topic == "t/b") of_b.push_back(std::to_string(i));
  }
  publisher.send_bytes(read);
  settle();
  EXPECT_EQ(payloads(everything), all);
  EXPECT_EQ(payloads(only_b), of_b);
  EXPECT_EQ(engine().counters().messages_in.load(), all.size());
}

TEST_F(route_batch_test, a_batch_past_the_delivery_chunk_reaches_every_subscriber_in_order) {
  // 256 messages to 20 subscribers: 5,120 deliveries, more than one chunk of 4,096 collected
  // under the registry and tree locks, so the batch is routed in two.
  constexpr int subscribers = 20;
  std::vector<client*> receivers;
  for (int i = 0; i < subscribers; ++i) {
    receivers.push_back(&connected("sub-" + std::to_string(i)));
    subscribe(*receivers.back(), "t");
  }
  client& publisher = connected("publisher");
  byte_vector read;
  std::vector<std::string> sent;
  for (int i = 0; i < static_cast<int>(route_batch::most); ++i) {
    append(read, publish_packet("t", std::to_string(i)));
    sent.push_back(std::to_string(i));
  }
  publisher.send_bytes(read);
  settle();
  for (client* receiver : receivers)
    EXPECT_EQ(payloads(*receiver), sent);
  EXPECT_EQ(engine().counters().messages_dropped.load(), 0u);
}

TEST_F(route_batch_test, overlapping_subscriptions_still_give_one_copy_per_message) {
  client& subscriber = connected("sub");
  subscribe(subscriber, "t/#", 0, 1);
  subscribe(subscriber, "t/+", 0, 2);
  client& publisher = connected("publisher");
  byte_vector read;
  for (int i = 0; i < 5; ++i)
    append(read, publish_packet("t/x", std::to_string(i)));
  publisher.send_bytes(read);
  settle();
  EXPECT_EQ(payloads(subscriber), (std::vector<std::string>{"0", "1", "2", "3", "4"}));
}

TEST_F(route_batch_test, a_qos1_message_between_qos0_ones_keeps_its_place) {
  client& subscriber = connected("sub");
  subscribe(subscriber, "t", 1);
  client& publisher = connected("publisher");
  byte_vector read;
  append(read, publish_packet("t", "first"));
  append(read, publish_packet("t", "second", 1, 7));
  append(read, publish_packet("t", "third"));
  publisher.send_bytes(read);
  settle();
  EXPECT_EQ(payloads(subscriber), (std::vector<std::string>{"first", "second", "third"}));
  ASSERT_EQ(publisher.received_of<mqtt::puback>().size(), 1u);
}

TEST_F(route_batch_test, a_subscribe_after_a_publish_in_the_same_read_does_not_receive_it) {
  client& publisher = connected("publisher");
  byte_vector read;
  append(read, publish_packet("t", "before"));
  append(read, subscribe_packet(1, "t"));
  append(read, publish_packet("t", "after"));
  publisher.send_bytes(read);
  settle();
  EXPECT_EQ(payloads(publisher), (std::vector<std::string>{"after"}));
}

TEST_F(route_batch_test, an_unsubscribe_after_a_publish_in_the_same_read_still_receives_it) {
  client& publisher = connected("publisher");
  subscribe(publisher, "t");
  byte_vector read;
  append(read, publish_packet("t", "before"));
  mqtt::unsubscribe leave;
  leave.packet_id = 2;
  leave.filters.push_back("t");
  append(read, leave);
  append(read, publish_packet("t", "after"));
  publisher.send_bytes(read);
  settle();
  EXPECT_EQ(payloads(publisher), (std::vector<std::string>{"before"}));
}

TEST_F(route_batch_test, the_will_comes_after_the_messages_of_the_read_that_ended_the_connection) {
  client& subscriber = connected("sub");
  subscribe(subscriber, "#");
  client& publisher = make_client();
  mqtt::connect hello = connect_packet("publisher");
  hello.will = mqtt::will_message{"status/publisher", to_bytes("gone"), 0, false, {}};
  publisher.send(hello);
  settle();
  byte_vector read;
  append(read, publish_packet("t", "one"));
  append(read, publish_packet("t", "two"));
  // A PUBLISH with an empty topic and no alias: a protocol error, which closes with the Will.
  read.insert(read.end(), {0x30, 0x03, 0x00, 0x00, 0x00});
  publisher.send_bytes(read);
  settle();
  EXPECT_TRUE(publisher.transport_closed());
  EXPECT_EQ(payloads(subscriber), (std::vector<std::string>{"one", "two", "gone"}));
}

TEST_F(route_batch_test, a_congested_subscriber_pauses_the_publisher_after_the_read) {
  settings.max_queued_messages = 8;
  client& subscriber = connected("sub");
  subscribe(subscriber, "t");
  subscriber.io().congested_flag = true;
  client& publisher = connected("publisher");
  byte_vector read;
  for (int i = 0; i < 6; ++i)
    append(read, publish_packet("t", std::to_string(i)));
  publisher.send_bytes(read);
  settle();
  EXPECT_TRUE(publisher.io().paused);
  EXPECT_EQ(engine().counters().publishers_throttled.load(), 1u);
  subscriber.io().congested_flag = false;
  subscriber.machine().on_wake();
  advance(settings.congestion_pause);
  EXPECT_FALSE(publisher.io().paused);
  EXPECT_EQ(payloads(subscriber), (std::vector<std::string>{"0", "1", "2", "3", "4", "5"}));
}

TEST_F(route_batch_test, a_route_that_finds_congestion_shortens_the_next_batches) {
  settings.max_queued_messages = 8;
  client& subscriber = connected("sub");
  subscribe(subscriber, "t");
  subscriber.io().congested_flag = true;
  route_batch batch;
  EXPECT_EQ(batch.limit(), route_batch::most);
  const auto route_some = [&](int count) {
    publish_feedback feedback;
    for (int i = 0; i < count; ++i) {
      auto content = std::make_shared<message>();
      content->topic = "t";
      content->payload = std::make_shared<const byte_vector>(to_bytes("m"));
      EXPECT_TRUE(engine().publish_later(std::move(content), batch, feedback));
    }
    engine().route(batch, feedback);
    EXPECT_TRUE(batch.empty());
    return feedback.congested;
  };
  EXPECT_FALSE(route_some(2));
  EXPECT_EQ(batch.limit(), route_batch::most);
  EXPECT_TRUE(route_some(4));  // six of eight queued: three quarters
  EXPECT_EQ(batch.limit(), 1u);
  subscriber.io().congested_flag = false;
  subscriber.machine().on_wake();
  settle();
  EXPECT_FALSE(route_some(1));
  EXPECT_EQ(batch.limit(), 17u);
  settle();
  EXPECT_EQ(subscriber.received_of<mqtt::publish>().size(), 7u);
}

}  // namespace
}  // namespace acemq::broker::testing
