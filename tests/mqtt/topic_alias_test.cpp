#include <acemq/mqtt/topic_alias.hpp>

#include <gtest/gtest.h>

namespace acemq::mqtt {
namespace {

publish with_alias(std::string topic, std::uint16_t alias) {
  publish packet;
  packet.topic = std::move(topic);
  packet.properties.topic_alias = alias;
  return packet;
}

TEST(inbound_topic_aliases, a_topic_with_an_alias_defines_it_for_later_packets) {
  inbound_topic_aliases aliases;
  auto first = with_alias("sensors/1/temperature", 3);
  ASSERT_TRUE(aliases.resolve(first, 10).has_value());
  EXPECT_EQ(first.topic, "sensors/1/temperature");
  EXPECT_FALSE(first.properties.topic_alias);  // the alias never reaches the application

  auto later = with_alias("", 3);
  ASSERT_TRUE(aliases.resolve(later, 10).has_value());
  EXPECT_EQ(later.topic, "sensors/1/temperature");
  EXPECT_FALSE(later.properties.topic_alias);
}

TEST(inbound_topic_aliases, a_new_topic_redefines_an_alias) {
  inbound_topic_aliases aliases;
  auto first = with_alias("a", 1);
  auto second = with_alias("b", 1);
  auto later = with_alias("", 1);
  ASSERT_TRUE(aliases.resolve(first, 1).has_value());
  ASSERT_TRUE(aliases.resolve(second, 1).has_value());
  ASSERT_TRUE(aliases.resolve(later, 1).has_value());
  EXPECT_EQ(later.topic, "b");
}

TEST(inbound_topic_aliases, zero_or_above_the_announced_maximum_is_topic_alias_invalid) {
  // [MQTT-3.3.2-8], [MQTT-3.3.2-9], [MQTT-3.3.2-10]
  inbound_topic_aliases aliases;
  auto zero = with_alias("t", 0);
  auto above = with_alias("t", 6);
  auto none_allowed = with_alias("t", 1);
  EXPECT_EQ(aliases.resolve(zero, 5).error(), reason_code::topic_alias_invalid);
  EXPECT_EQ(aliases.resolve(above, 5).error(), reason_code::topic_alias_invalid);
  EXPECT_EQ(aliases.resolve(none_allowed, 0).error(), reason_code::topic_alias_invalid);
}

TEST(inbound_topic_aliases, the_announced_maximum_itself_is_a_valid_alias) {
  inbound_topic_aliases aliases;
  auto at_bound = with_alias("t/max", 5);
  ASSERT_TRUE(aliases.resolve(at_bound, 5).has_value());
  auto later = with_alias("", 5);
  ASSERT_TRUE(aliases.resolve(later, 5).has_value());
  EXPECT_EQ(later.topic, "t/max");
}

TEST(inbound_topic_aliases, an_empty_topic_with_an_undefined_alias_is_a_protocol_error) {
  inbound_topic_aliases aliases;
  auto packet = with_alias("", 2);
  EXPECT_EQ(aliases.resolve(packet, 5).error(), reason_code::protocol_error);
}

TEST(inbound_topic_aliases, a_packet_without_an_alias_is_left_alone) {
  inbound_topic_aliases aliases;
  publish packet;
  packet.topic = "t";
  ASSERT_TRUE(aliases.resolve(packet, 0).has_value());
  EXPECT_EQ(packet.topic, "t");
}

TEST(outbound_topic_aliases, a_known_topic_goes_as_an_empty_name_and_its_alias) {
  outbound_topic_aliases aliases;
  publish first;
  first.topic = "a/b";
  const std::uint16_t alias = aliases.apply(first, 4);
  EXPECT_EQ(alias, 1);
  EXPECT_EQ(first.topic, "a/b");  // the first use carries the name that defines the alias
  EXPECT_EQ(first.properties.topic_alias, 1);
  aliases.remember("a/b", alias);

  publish again;
  again.topic = "a/b";
  EXPECT_EQ(aliases.apply(again, 4), 0);
  EXPECT_TRUE(again.topic.empty());
  EXPECT_EQ(again.properties.topic_alias, 1);
}

TEST(outbound_topic_aliases, an_alias_not_remembered_is_offered_again) {
  // A packet that was never sent (too large for the peer) must not leave an alias the peer
  // does not know.
  outbound_topic_aliases aliases;
  publish dropped;
  dropped.topic = "x";
  EXPECT_EQ(aliases.apply(dropped, 4), 1);
  publish next;
  next.topic = "x";
  EXPECT_EQ(aliases.apply(next, 4), 1);
  EXPECT_EQ(next.topic, "x");
}

TEST(outbound_topic_aliases, never_more_than_the_peers_maximum) {
  // [MQTT-3.3.2-9]: the sender never uses an alias above the receiver's Topic Alias Maximum.
  outbound_topic_aliases aliases;
  for (std::uint16_t n = 1; n <= 2; ++n) {
    publish packet;
    packet.topic = "t/" + std::to_string(n);
    const std::uint16_t alias = aliases.apply(packet, 2);
    EXPECT_EQ(alias, n);
    aliases.remember(packet.topic, alias);
  }
  publish third;
  third.topic = "t/3";
  EXPECT_EQ(aliases.apply(third, 2), 0);
  EXPECT_EQ(third.topic, "t/3");
  EXPECT_FALSE(third.properties.topic_alias);

  publish refusing_peer;
  refusing_peer.topic = "t/1";
  EXPECT_EQ(aliases.apply(refusing_peer, 0), 0);  // the peer accepts no aliases at all
  EXPECT_EQ(refusing_peer.topic, "t/1");
  EXPECT_FALSE(refusing_peer.properties.topic_alias);
}

}  // namespace
}  // namespace acemq::mqtt
