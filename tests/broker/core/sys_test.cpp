// $SYS/broker statistics published by broker::tick() at sys_interval, retained, routed like any
// message; and clients refused when they publish into $SYS (MQTT 5.0 4.7.2).

#include <map>

#include "harness.hpp"

namespace acemq::broker::testing {
namespace {

using mqtt::protocol_version;
using mqtt::reason_code;

class sys_test : public broker_test {
 protected:
  /// The $SYS figures received by `c` since the last call, by topic (the last value wins).
  static std::map<std::string, std::string> figures(client& c) {
    std::map<std::string, std::string> out;
    for (const mqtt::publish& packet : c.received_of<mqtt::publish>()) {
      out[packet.topic] = payload_of(packet);
    }
    return out;
  }
};

TEST_F(sys_test, statistics_are_published_at_the_interval_and_match_the_counters) {
  settings.sys_interval = std::chrono::seconds(10);
  client& watcher = connected("watcher");
  subscribe(watcher, "$SYS/#");
  client& everything = connected("everything");
  subscribe(everything, "#");
  client& publisher = connected("publisher");
  publisher.send(publish_packet("a/b", "hello"));
  settle();
  ASSERT_EQ(everything.received_of<mqtt::publish>().size(), 1u);

  // The first tick publishes at once, then every sys_interval.
  advance(std::chrono::seconds(1));
  const auto first = figures(watcher);
  ASSERT_EQ(first.size(), 12u);
  EXPECT_EQ(first.at("$SYS/broker/uptime"), "1");
  EXPECT_EQ(first.at("$SYS/broker/clients/connected"), "3");
  EXPECT_EQ(first.at("$SYS/broker/clients/total"), "3");
  EXPECT_EQ(first.at("$SYS/broker/messages/received"), "1");
  EXPECT_EQ(first.at("$SYS/broker/bytes/received"), "5");
  // The subscription acknowledgements are not messages: only "a/b" to "everything" went out.
  EXPECT_EQ(first.at("$SYS/broker/messages/sent"), "1");
  EXPECT_EQ(first.at("$SYS/broker/subscriptions/count"), "2");
  EXPECT_EQ(first.at("$SYS/broker/retained messages/count"), "0");
  EXPECT_EQ(first.at("$SYS/broker/messages/dropped"), "0");
  EXPECT_EQ(first.at("$SYS/broker/auth/success"), "3");
  EXPECT_EQ(first.at("$SYS/broker/auth/failure"), "0");
  // [MQTT-4.7.2-1]: "#" does not match topics starting with '$'.
  EXPECT_TRUE(everything.received_of<mqtt::publish>().empty());
  // $SYS publications are not counted as received messages.
  EXPECT_EQ(engine().counters().messages_in.load(), 1u);

  const std::uint64_t sent_after_first = engine().counters().messages_out.load();
  const std::uint64_t bytes_after_first = engine().counters().bytes_out.load();
  EXPECT_EQ(sent_after_first, 13u);

  advance(std::chrono::seconds(5));
  EXPECT_TRUE(watcher.received_of<mqtt::publish>().empty());

  advance(std::chrono::seconds(5));
  const auto second = figures(watcher);
  ASSERT_EQ(second.size(), 12u);
  EXPECT_EQ(second.at("$SYS/broker/uptime"), "11");
  EXPECT_EQ(second.at("$SYS/broker/retained messages/count"), "12");
  // The second round reports what the first one sent, and nothing was sent in between.
  EXPECT_EQ(second.at("$SYS/broker/messages/sent"), std::to_string(sent_after_first));
  EXPECT_EQ(second.at("$SYS/broker/bytes/sent"), std::to_string(bytes_after_first));
  EXPECT_TRUE(everything.received_of<mqtt::publish>().empty());
}

TEST_F(sys_test, figures_are_retained_for_later_subscribers) {
  settings.sys_interval = std::chrono::seconds(10);
  advance(std::chrono::seconds(1));
  EXPECT_EQ(engine().retained_count(), 12u);
  client& late = connected("late");
  late.send(subscribe_packet(1, "$SYS/broker/clients/+"));
  settle();
  const auto packets = late.received_of<mqtt::publish>();
  ASSERT_EQ(packets.size(), 2u);
  for (const mqtt::publish& packet : packets) {
    EXPECT_TRUE(packet.retain);  // [MQTT-3.3.1-9]
    EXPECT_EQ(packet.qos, 0);
    EXPECT_EQ(payload_of(packet), "0");
  }
}

TEST_F(sys_test, zero_interval_disables_the_statistics) {
  settings.sys_interval = std::chrono::seconds(0);
  client& watcher = connected("watcher");
  subscribe(watcher, "$SYS/#");
  for (int i = 0; i < 5; ++i)
    advance(std::chrono::seconds(30));
  EXPECT_TRUE(watcher.received_of<mqtt::publish>().empty());
  EXPECT_EQ(engine().retained_count(), 0u);
}

TEST_F(sys_test, authentication_failures_are_counted) {
  settings.sys_interval = std::chrono::seconds(10);
  client& watcher = connected("watcher");
  subscribe(watcher, "$SYS/broker/auth/#");
  // allow_anonymous leaves enhanced authentication to other providers; there are none.
  client& refused = make_client();
  mqtt::connect packet = connect_packet("refused");
  packet.properties.authentication_method = "SCRAM-SHA-1";
  refused.send(packet);
  settle();
  ASSERT_EQ(refused.received_of<mqtt::connack>().at(0).reason_code,
            reason_code::bad_authentication_method);
  advance(std::chrono::seconds(1));
  const auto got = figures(watcher);
  EXPECT_EQ(got.at("$SYS/broker/auth/success"), "1");
  EXPECT_EQ(got.at("$SYS/broker/auth/failure"), "1");
  EXPECT_EQ(engine().counters().auth_failure.load(), 1u);
}

TEST_F(sys_test, v5_client_publishing_to_sys_is_refused_with_0x87) {
  client& watcher = connected("watcher");
  subscribe(watcher, "$SYS/#");
  client& intruder = connected("intruder");
  intruder.send(publish_packet("$SYS/broker/uptime", "1", 1, 1, true));
  intruder.send(publish_packet("$SYS/x", "0", 0));
  settle();
  const auto acks = intruder.received_of<mqtt::puback>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reason_code, reason_code::not_authorized);
  EXPECT_TRUE(watcher.received_of<mqtt::publish>().empty());
  EXPECT_EQ(engine().retained_count(), 0u);
  EXPECT_FALSE(intruder.transport_closed());
}

TEST_F(sys_test, v5_qos2_publish_to_sys_gets_pubrec_0x87) {
  client& intruder = connected("intruder");
  intruder.send(publish_packet("$SYS/x", "2", 2, 7));
  settle();
  const auto recs = intruder.received_of<mqtt::pubrec>();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].packet_id, 7);
  EXPECT_EQ(recs[0].reason_code, reason_code::not_authorized);
}

TEST_F(sys_test, v311_publish_to_sys_is_acknowledged_and_dropped) {
  client& watcher = connected("watcher");
  subscribe(watcher, "$SYS/#");
  client& intruder = connected("old", protocol_version::v311);
  intruder.send(publish_packet("$SYS/x", "1", 1, 3));
  settle();
  const auto acks = intruder.received_of<mqtt::puback>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].packet_id, 3);
  EXPECT_TRUE(watcher.received_of<mqtt::publish>().empty());
  EXPECT_FALSE(intruder.transport_closed());
}

TEST_F(sys_test, only_the_sys_tree_is_reserved) {
  EXPECT_TRUE(is_sys_topic("$SYS"));
  EXPECT_TRUE(is_sys_topic("$SYS/broker/uptime"));
  EXPECT_FALSE(is_sys_topic("$SYSTEM/x"));
  EXPECT_FALSE(is_sys_topic("sys/$SYS"));
  EXPECT_FALSE(is_sys_topic("$sys/x"));
}

}  // namespace
}  // namespace acemq::broker::testing
