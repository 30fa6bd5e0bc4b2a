#pragma once
// Valid packets of every type in both versions: the fuzz seed corpus (fuzz/corpus/mqtt_decode)
// is exactly these, encoded, and encode_test round-trips them.

#include <acemq/mqtt/packet.hpp>
#include <acemq/mqtt/version.hpp>

#include <string>
#include <vector>

#include "versions.hpp"

namespace acemq::mqtt::test {

struct sample_packet {
  std::string name;
  protocol_version version;
  packet value;
};

inline std::vector<sample_packet> sample_packets() {
  std::vector<sample_packet> samples;

  connect connect_v311;
  connect_v311.protocol_version = v311;
  connect_v311.keep_alive = 60;
  connect_v311.client_id = "sensor-1";
  connect_v311.will = will_message{"status/sensor-1", to_bytes("offline"), 1, true, {}};
  connect_v311.username = "ace.token";
  connect_v311.password = byte_vector(32, 0x5C);
  samples.push_back({"v311_connect", v311, connect_v311});

  connect connect_v5;
  connect_v5.keep_alive = 30;
  connect_v5.client_id = "";
  connect_v5.properties.session_expiry_interval = 3600;
  connect_v5.properties.authentication_method = "ace";
  connect_v5.properties.authentication_data = byte_vector(40, 0xA5);
  connect_v5.properties.receive_maximum = 20;
  connect_v5.properties.maximum_packet_size = 65536;
  connect_v5.properties.topic_alias_maximum = 4;
  connect_v5.properties.request_problem_information = 1;
  connect_v5.properties.request_response_information = 1;
  connect_v5.properties.user_properties = {{"site", "a"}};
  will_message will;
  will.topic = "w";
  will.payload = to_bytes("gone");
  will.qos = 2;
  will.properties.will_delay_interval = 10;
  will.properties.payload_format_indicator = 1;
  will.properties.message_expiry_interval = 100;
  will.properties.content_type = "text/plain";
  will.properties.response_topic = "r";
  will.properties.correlation_data = to_bytes("c");
  connect_v5.will = will;
  connect_v5.password = to_bytes("pw");
  samples.push_back({"v5_connect", v5, connect_v5});

  samples.push_back({"v311_connack", v311, connack{true, reason_code::not_authorized, {}}});
  connack connack_v5{false, reason_code::success, {}};
  connack_v5.properties.assigned_client_identifier = "auto-7";
  connack_v5.properties.server_keep_alive = 60;
  connack_v5.properties.maximum_qos = 1;
  connack_v5.properties.retain_available = 1;
  connack_v5.properties.wildcard_subscription_available = 1;
  connack_v5.properties.subscription_identifier_available = 1;
  connack_v5.properties.shared_subscription_available = 0;
  connack_v5.properties.response_information = "resp/";
  connack_v5.properties.server_reference = "b2";
  connack_v5.properties.reason_string = "ok";
  samples.push_back({"v5_connack", v5, connack_v5});

  samples.push_back(
      {"v311_publish_qos0", v311,
       publish{
           false, 0, false, "a/b", 0, {}, std::make_shared<const byte_vector>(to_bytes("21.5"))}});
  samples.push_back(
      {"v311_publish_qos2", v311,
       publish{true, 2, true, "a/b/c", 513, {}, std::make_shared<const byte_vector>(300, 0x01)}});
  publish publish_v5{
      false, 1, false, "", 77, {}, std::make_shared<const byte_vector>(to_bytes("{\"t\":1}"))};
  publish_v5.properties.topic_alias = 2;
  publish_v5.properties.payload_format_indicator = 1;
  publish_v5.properties.subscription_identifiers = {1, 200};
  publish_v5.properties.response_topic = "reply";
  publish_v5.properties.correlation_data = to_bytes("id");
  publish_v5.properties.user_properties = {{"k", "v"}};
  samples.push_back({"v5_publish", v5, publish_v5});

  samples.push_back({"v311_puback", v311, puback{1, reason_code::success, {}}});
  puback puback_v5{2, reason_code::not_authorized, {}};
  puback_v5.properties.reason_string = "denied";
  samples.push_back({"v5_puback", v5, puback_v5});
  samples.push_back({"v311_pubrec", v311, pubrec{3, reason_code::success, {}}});
  samples.push_back({"v5_pubrec", v5, pubrec{4, reason_code::no_matching_subscribers, {}}});
  samples.push_back({"v311_pubrel", v311, pubrel{5, reason_code::success, {}}});
  samples.push_back({"v5_pubrel", v5, pubrel{6, reason_code::packet_identifier_not_found, {}}});
  samples.push_back({"v311_pubcomp", v311, pubcomp{7, reason_code::success, {}}});
  samples.push_back({"v5_pubcomp", v5, pubcomp{8, reason_code::success, {}}});

  samples.push_back(
      {"v311_subscribe", v311,
       subscribe{9, {}, {{"a/+", {1, false, false, {}}}, {"#", {0, false, false, {}}}}}});
  subscribe subscribe_v5{10, {}, {}};
  subscribe_v5.properties.subscription_identifiers = {42};
  subscribe_v5.subscriptions = {{"a/#", {2, true, true, retain_handling::send_on_new_subscription}},
                                {"$share/g/x", {1, false, false, retain_handling::do_not_send}}};
  samples.push_back({"v5_subscribe", v5, subscribe_v5});
  samples.push_back({"v311_suback", v311,
                     suback{9, {}, {reason_code::granted_qos_1, reason_code::unspecified_error}}});
  samples.push_back(
      {"v5_suback", v5,
       suback{10, {}, {reason_code::granted_qos_2, reason_code::topic_filter_invalid}}});
  samples.push_back({"v311_unsubscribe", v311, unsubscribe{11, {}, {"a/+", "#"}}});
  samples.push_back({"v5_unsubscribe", v5, unsubscribe{12, {}, {"a/#"}}});
  samples.push_back({"v311_unsuback", v311, unsuback{11, {}, {}}});
  samples.push_back({"v5_unsuback", v5, unsuback{12, {}, {reason_code::no_subscription_existed}}});
  samples.push_back({"v311_pingreq", v311, pingreq{}});
  samples.push_back({"v311_pingresp", v311, pingresp{}});
  samples.push_back({"v311_disconnect", v311, disconnect{}});
  disconnect disconnect_v5{reason_code::session_taken_over, {}};
  disconnect_v5.properties.reason_string = "another connection";
  samples.push_back({"v5_disconnect", v5, disconnect_v5});
  auth auth_v5{reason_code::continue_authentication, {}};
  auth_v5.properties.authentication_method = "ace";
  auth_v5.properties.authentication_data = byte_vector(8, 0x33);
  samples.push_back({"v5_auth", v5, auth_v5});
  samples.push_back({"v5_auth_success", v5, auth{}});
  return samples;
}

}  // namespace acemq::mqtt::test
