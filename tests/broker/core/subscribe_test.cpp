// SUBSCRIBE / UNSUBSCRIBE and routing: retained messages and Retain Handling, Retain As
// Published, shared subscriptions, subscription identifiers, No Local, '$' topics, filters,
// bounds, overlapping subscriptions.

#include <algorithm>

#include "harness.hpp"

namespace acemq::broker::testing {
namespace {

using mqtt::protocol_version;
using mqtt::reason_code;

class subscribe_test : public broker_test {
 protected:
  static mqtt::subscribe with_options(std::uint16_t id, std::string filter,
                                      mqtt::subscription_options options) {
    mqtt::subscribe packet;
    packet.packet_id = id;
    packet.subscriptions.push_back({std::move(filter), options});
    return packet;
  }
  std::vector<reason_code> suback_codes(client& c) {
    const auto acks = c.received_of<mqtt::suback>();
    EXPECT_EQ(acks.size(), 1u);
    return acks.empty() ? std::vector<reason_code>{} : acks[0].reason_codes;
  }
  void retain(std::string topic, std::string payload, std::uint8_t qos = 0) {
    client& pub = connected("retainer-" + std::to_string(++retainers_));
    pub.send(publish_packet(std::move(topic), std::move(payload), qos, qos ? 1 : 0, true));
    settle();
  }
  int retainers_ = 0;
};

TEST_F(subscribe_test, suback_grants_requested_qos) {
  client& c = connected("s");
  mqtt::subscribe packet;
  packet.packet_id = 11;
  packet.subscriptions = {{"a", {0}}, {"b", {1}}, {"c", {2}}};
  c.send(packet);
  const auto acks = c.received_of<mqtt::suback>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].packet_id, 11);
  const std::vector<reason_code> expected{reason_code::success, reason_code::granted_qos_1,
                                          reason_code::granted_qos_2};
  EXPECT_EQ(acks[0].reason_codes, expected);
}

TEST_F(subscribe_test, granted_qos_capped_by_maximum_qos) {
  settings.maximum_qos = 1;
  client& c = connected("s");
  c.send(subscribe_packet(1, "a", 2));
  EXPECT_EQ(suback_codes(c).at(0), reason_code::granted_qos_1);
}

TEST_F(subscribe_test, invalid_filter_is_0x8f_per_filter) {
  client& c = connected("s");
  mqtt::subscribe packet;
  packet.packet_id = 1;
  packet.subscriptions = {{"a/#/b", {0}}, {"ok/+", {1}}, {"sp+", {0}}};
  c.send(packet);
  const std::vector<reason_code> expected{reason_code::topic_filter_invalid,
                                          reason_code::granted_qos_1,
                                          reason_code::topic_filter_invalid};
  EXPECT_EQ(suback_codes(c), expected);
  EXPECT_FALSE(c.io().close_requested);
}

TEST_F(subscribe_test, invalid_filter_in_v311_is_0x80) {
  client& c = connected("s", protocol_version::v311);
  c.send(subscribe_packet(1, "a/#/b", 0));
  EXPECT_EQ(suback_codes(c).at(0), reason_code::unspecified_error);
}

TEST_F(subscribe_test, filter_levels_bound) {
  settings.max_topic_levels = 3;
  client& c = connected("s");
  mqtt::subscribe packet;
  packet.packet_id = 1;
  packet.subscriptions = {{"a/b/c", {0}}, {"a/b/c/d", {0}}};
  c.send(packet);
  const std::vector<reason_code> expected{reason_code::success, reason_code::topic_filter_invalid};
  EXPECT_EQ(suback_codes(c), expected);
}

TEST_F(subscribe_test, subscription_quota_is_0x97_beyond_the_bound) {
  settings.max_subscriptions_per_client = 2;
  client& c = connected("s");
  mqtt::subscribe packet;
  packet.packet_id = 1;
  packet.subscriptions = {{"a", {0}}, {"b", {0}}, {"c", {0}}};
  c.send(packet);
  const std::vector<reason_code> expected{reason_code::success, reason_code::success,
                                          reason_code::quota_exceeded};
  EXPECT_EQ(suback_codes(c), expected);
  // Replacing an existing subscription at the bound is fine.
  c.send(subscribe_packet(2, "a", 1));
  EXPECT_EQ(suback_codes(c).at(0), reason_code::granted_qos_1);
}

TEST_F(subscribe_test, wildcards_unavailable_is_0xa2) {
  settings.wildcard_subscription_available = false;
  client& c = connected("s");
  mqtt::subscribe packet;
  packet.packet_id = 1;
  packet.subscriptions = {{"a/+", {0}}, {"a/b", {0}}};
  c.send(packet);
  const std::vector<reason_code> expected{reason_code::wildcard_subscriptions_not_supported,
                                          reason_code::success};
  EXPECT_EQ(suback_codes(c), expected);
}

TEST_F(subscribe_test, shared_unavailable_is_0x9e) {
  settings.shared_subscription_available = false;
  client& c = connected("s");
  c.send(subscribe_packet(1, "$share/g/a"));
  EXPECT_EQ(suback_codes(c).at(0), reason_code::shared_subscriptions_not_supported);
}

TEST_F(subscribe_test, subscription_identifier_unavailable_is_0xa1) {
  settings.subscription_identifier_available = false;
  client& c = connected("s");
  mqtt::subscribe packet = subscribe_packet(1, "a");
  packet.properties.subscription_identifiers = {5};
  c.send(packet);
  settle();
  EXPECT_EQ(c.received_of<mqtt::disconnect>().at(0).reason_code,
            reason_code::subscription_identifiers_not_supported);
}

TEST_F(subscribe_test, no_local_on_shared_is_a_protocol_error) {
  client& c = connected("s");
  mqtt::subscription_options options;
  options.no_local = true;
  c.send(with_options(1, "$share/g/a", options));
  settle();
  EXPECT_EQ(c.received_of<mqtt::disconnect>().at(0).reason_code, reason_code::protocol_error);
}

TEST_F(subscribe_test, unsubscribe_reports_per_filter) {
  client& c = connected("s");
  subscribe(c, "a");
  mqtt::unsubscribe packet;
  packet.packet_id = 4;
  packet.filters = {"a", "never"};
  c.send(packet);
  const auto acks = c.received_of<mqtt::unsuback>();
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].packet_id, 4);
  const std::vector<reason_code> expected{reason_code::success,
                                          reason_code::no_subscription_existed};
  EXPECT_EQ(acks[0].reason_codes, expected);
  client& pub = connected("pub");
  pub.send(publish_packet("a", "m"));
  settle();
  EXPECT_TRUE(c.received_of<mqtt::publish>().empty());
}

TEST_F(subscribe_test, unsubscribe_v311) {
  client& c = connected("s", protocol_version::v311);
  subscribe(c, "a");
  mqtt::unsubscribe packet;
  packet.packet_id = 4;
  packet.filters = {"a"};
  c.send(packet);
  EXPECT_EQ(c.received_of<mqtt::unsuback>().at(0).packet_id, 4);
}

TEST_F(subscribe_test, retained_sent_on_subscribe_with_retain_flag) {
  retain("r/1", "kept", 1);
  client& c = connected("s");
  c.send(subscribe_packet(1, "r/#", 1));
  settle();
  const auto got = c.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].retain);  // [MQTT-3.3.1-9]
  EXPECT_EQ(payload_of(got[0]), "kept");
}

TEST_F(subscribe_test, retained_replaced_and_deleted) {
  retain("r", "first");
  retain("r", "second");
  EXPECT_EQ(engine().retained_count(), 1u);
  client& c = connected("s");
  c.send(subscribe_packet(1, "r"));
  settle();
  EXPECT_EQ(payload_of(c.received_of<mqtt::publish>().at(0)), "second");
  retain("r", "");  // [MQTT-3.3.1-6]
  EXPECT_EQ(engine().retained_count(), 0u);
  client& late = connected("late");
  late.send(subscribe_packet(1, "r"));
  settle();
  EXPECT_TRUE(late.received_of<mqtt::publish>().empty());
}

TEST_F(subscribe_test, empty_retained_publish_still_reaches_current_subscribers) {
  client& c = connected("s");
  subscribe(c, "r");
  retain("r", "");
  const auto got = c.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].payload_view().empty());
}

TEST_F(subscribe_test, retain_handling_1_only_for_new_subscriptions) {
  retain("r", "kept");
  client& c = connected("s");
  mqtt::subscription_options options;
  options.retain_handling = mqtt::retain_handling::send_on_new_subscription;
  c.send(with_options(1, "r", options));
  settle();
  EXPECT_EQ(c.received_of<mqtt::publish>().size(), 1u);
  c.send(with_options(2, "r", options));
  settle();
  EXPECT_TRUE(c.received_of<mqtt::publish>().empty());
}

TEST_F(subscribe_test, retain_handling_0_sends_every_time) {
  retain("r", "kept");
  client& c = connected("s");
  subscribe(c, "r");
  c.received();
  c.send(subscribe_packet(2, "r"));
  settle();
  EXPECT_EQ(c.received_of<mqtt::publish>().size(), 1u);
}

TEST_F(subscribe_test, retain_handling_2_never_sends) {
  retain("r", "kept");
  client& c = connected("s");
  mqtt::subscription_options options;
  options.retain_handling = mqtt::retain_handling::do_not_send;
  c.send(with_options(1, "r", options));
  settle();
  EXPECT_TRUE(c.received_of<mqtt::publish>().empty());
}

TEST_F(subscribe_test, retain_as_published) {
  client& rap = connected("rap");
  mqtt::subscription_options keep;
  keep.retain_as_published = true;
  rap.send(with_options(1, "t", keep));
  client& plain = connected("plain");
  subscribe(plain, "t");
  rap.received();
  retain("t", "m");
  EXPECT_TRUE(rap.received_of<mqtt::publish>().at(0).retain);     // [MQTT-3.3.1-13]
  EXPECT_FALSE(plain.received_of<mqtt::publish>().at(0).retain);  // [MQTT-3.3.1-12]
}

TEST_F(subscribe_test, retained_not_sent_for_shared_subscriptions) {
  retain("r", "kept");
  client& c = connected("s");
  subscribe(c, "$share/g/r");
  settle();
  EXPECT_TRUE(c.received_of<mqtt::publish>().empty());
}

TEST_F(subscribe_test, retained_bound_refuses_new_topics) {
  settings.max_retained_messages = 1;
  retain("a", "1");
  retain("b", "2");
  EXPECT_EQ(engine().retained_count(), 1u);
  EXPECT_EQ(engine().counters().retained_refused.load(), 1u);
  retain("a", "3");  // replacing at the bound is fine
  EXPECT_EQ(engine().counters().retained_refused.load(), 1u);
}

TEST_F(subscribe_test, retained_message_expires) {
  client& pub = connected("pub");
  mqtt::publish packet = publish_packet("r", "short", 0, 0, true);
  packet.properties.message_expiry_interval = 5;
  pub.send(packet);
  advance(std::chrono::seconds(6));
  EXPECT_EQ(engine().retained_count(), 0u);
}

TEST_F(subscribe_test, shared_subscription_delivers_to_one_member) {
  client& a = connected("a");
  subscribe(a, "$share/g/work");
  client& b = connected("b");
  subscribe(b, "$share/g/work");
  client& pub = connected("pub");
  for (int i = 0; i < 10; ++i)
    pub.send(publish_packet("work", std::to_string(i)));
  settle();
  const auto got_a = a.received_of<mqtt::publish>();
  const auto got_b = b.received_of<mqtt::publish>();
  EXPECT_EQ(got_a.size() + got_b.size(), 10u);  // [MQTT-4.8.2-3]
  EXPECT_EQ(got_a.size(), 5u);
  EXPECT_EQ(got_b.size(), 5u);
}

TEST_F(subscribe_test, shared_subscription_prefers_connected_members) {
  client& a = make_client();
  mqtt::connect packet = connect_packet("away", protocol_version::v5, false);
  packet.properties.session_expiry_interval = 600;
  a.send(packet);
  settle();
  a.received();
  subscribe(a, "$share/g/work", 1);
  client& b = connected("b");
  subscribe(b, "$share/g/work", 1);
  a.drop();
  client& pub = connected("pub");
  for (std::uint16_t i = 1; i <= 4; ++i)
    pub.send(publish_packet("work", "m", 1, i));
  settle();
  EXPECT_EQ(b.received_of<mqtt::publish>().size(), 4u);
}

TEST_F(subscribe_test, shared_group_with_every_member_offline_queues_in_turn) {
  const auto persistent = [&](std::string id) -> client& {
    client& c = make_client();
    mqtt::connect packet = connect_packet(std::move(id), protocol_version::v5, false);
    packet.properties.session_expiry_interval = 600;
    c.send(packet);
    settle();
    return c;
  };
  client& a = persistent("a");
  EXPECT_EQ(a.received_of<mqtt::connack>().size(), 1u);
  subscribe(a, "$share/g/work", 1);
  client& b = persistent("b");
  EXPECT_EQ(b.received_of<mqtt::connack>().size(), 1u);
  subscribe(b, "$share/g/work", 1);
  a.drop();
  b.drop();
  client& pub = connected("pub");
  for (std::uint16_t i = 1; i <= 4; ++i)
    pub.send(publish_packet("work", "m" + std::to_string(i), 1, i));
  // QoS 0 to an all-offline group is dropped (queue_qos0_when_offline is false).
  pub.send(publish_packet("work", "q0"));
  settle();
  const auto acks = pub.received_of<mqtt::puback>();
  ASSERT_EQ(acks.size(), 4u);
  for (const mqtt::puback& ack : acks)
    EXPECT_EQ(ack.reason_code, reason_code::success);  // queued, not 0x10

  // Both members come back and find their share of the messages queued.
  std::vector<std::string> payloads;
  for (client* member : {&persistent("a"), &persistent("b")}) {
    const auto got = member->received_of<mqtt::publish>();
    EXPECT_EQ(got.size(), 2u);  // members took turns
    for (const mqtt::publish& packet : got) {
      EXPECT_EQ(packet.qos, 1);
      payloads.push_back(payload_of(packet));
    }
  }
  std::sort(payloads.begin(), payloads.end());
  EXPECT_EQ(payloads, (std::vector<std::string>{"m1", "m2", "m3", "m4"}));
}

TEST_F(subscribe_test, shared_group_offline_fallback_queues_qos0_when_configured) {
  settings.queue_qos0_when_offline = true;
  client& a = make_client();
  mqtt::connect packet = connect_packet("a", protocol_version::v5, false);
  packet.properties.session_expiry_interval = 600;
  a.send(packet);
  settle();
  a.received();
  subscribe(a, "$share/g/work");
  a.drop();
  client& pub = connected("pub");
  pub.send(publish_packet("work", "q0"));
  settle();
  client& back = make_client();
  back.send(packet);
  settle();
  const auto got = back.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(payload_of(got[0]), "q0");
}

TEST_F(subscribe_test, shared_and_plain_subscription_get_two_copies) {
  client& c = connected("both");
  mqtt::subscribe packet;
  packet.packet_id = 1;
  packet.subscriptions = {{"$share/g/t", {0}}, {"t", {0}}};
  c.send(packet);
  settle();
  c.received();
  client& pub = connected("pub");
  pub.send(publish_packet("t", "m"));
  settle();
  EXPECT_EQ(c.received_of<mqtt::publish>().size(), 2u);
}

TEST_F(subscribe_test, overlapping_subscriptions_one_copy_highest_qos_all_identifiers) {
  client& c = connected("overlap");
  mqtt::subscribe first = subscribe_packet(1, "a/+", 0);
  first.properties.subscription_identifiers = {1};
  c.send(first);
  mqtt::subscribe second = subscribe_packet(2, "a/#", 1);
  second.properties.subscription_identifiers = {2};
  c.send(second);
  settle();
  c.received();
  client& pub = connected("pub");
  pub.send(publish_packet("a/b", "m", 1, 1));
  settle();
  const auto got = c.received_of<mqtt::publish>();
  ASSERT_EQ(got.size(), 1u);  // [MQTT-3.3.4-2]
  EXPECT_EQ(got[0].qos, 1);
  std::vector<std::uint32_t> ids = got[0].properties.subscription_identifiers;
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::uint32_t>{1, 2}));  // [MQTT-3.3.4-5]
}

TEST_F(subscribe_test, subscription_identifier_in_delivery) {
  client& c = connected("ids");
  mqtt::subscribe packet = subscribe_packet(1, "x");
  packet.properties.subscription_identifiers = {77};
  c.send(packet);
  settle();
  c.received();
  client& pub = connected("pub");
  pub.send(publish_packet("x", "m"));
  settle();
  EXPECT_EQ(c.received_of<mqtt::publish>().at(0).properties.subscription_identifiers,
            std::vector<std::uint32_t>{77});
}

TEST_F(subscribe_test, no_subscription_identifier_when_none_given) {
  client& c = connected("ids");
  subscribe(c, "x");
  client& pub = connected("pub");
  pub.send(publish_packet("x", "m"));
  settle();
  EXPECT_TRUE(c.received_of<mqtt::publish>().at(0).properties.subscription_identifiers.empty());
}

TEST_F(subscribe_test, no_local_suppresses_own_messages) {
  client& c = connected("self");
  mqtt::subscription_options options;
  options.no_local = true;
  c.send(with_options(1, "chat", options));
  settle();
  c.received();
  c.send(publish_packet("chat", "mine"));
  settle();
  EXPECT_TRUE(c.received_of<mqtt::publish>().empty());  // [MQTT-3.8.3-3]
  client& other = connected("other");
  other.send(publish_packet("chat", "theirs"));
  settle();
  EXPECT_EQ(c.received_of<mqtt::publish>().size(), 1u);
}

TEST_F(subscribe_test, without_no_local_own_messages_come_back) {
  client& c = connected("self");
  subscribe(c, "chat");
  c.send(publish_packet("chat", "mine"));
  settle();
  EXPECT_EQ(c.received_of<mqtt::publish>().size(), 1u);
}

TEST_F(subscribe_test, dollar_topics_not_matched_by_leading_wildcards) {
  client& all = connected("all");
  subscribe(all, "#");
  client& plus = connected("plus");
  subscribe(plus, "+/status");
  client& dollar = connected("dollar");
  subscribe(dollar, "$app/#");
  client& pub = connected("pub");
  // $SYS is the broker's own (sys_test); other '$' topics may be published by clients.
  pub.send(publish_packet("$app/status", "m"));
  settle();
  EXPECT_TRUE(all.received_of<mqtt::publish>().empty());  // [MQTT-4.7.2-1]
  EXPECT_TRUE(plus.received_of<mqtt::publish>().empty());
  EXPECT_EQ(dollar.received_of<mqtt::publish>().size(), 1u);
}

TEST_F(subscribe_test, hash_matches_parent_level) {
  client& c = connected("s");
  subscribe(c, "sport/#");
  client& pub = connected("pub");
  pub.send(publish_packet("sport", "m"));
  settle();
  EXPECT_EQ(c.received_of<mqtt::publish>().size(), 1u);  // [MQTT-4.7.1-2]
}

TEST_F(subscribe_test, subscriptions_counter) {
  client& c = connected("s");
  subscribe(c, "a");
  subscribe(c, "b");
  EXPECT_EQ(engine().counters().subscriptions.load(), 2u);
  c.send(mqtt::disconnect{});
  settle();
  EXPECT_EQ(engine().counters().subscriptions.load(), 0u);
}

}  // namespace
}  // namespace acemq::broker::testing
