#pragma once
// SUBSCRIBE (MQTT 5.0 section 3.8, MQTT 3.1.1 section 3.8).

#include <acemq/mqtt/properties.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace acemq::mqtt {

/// Retain Handling subscription option [MQTT 5.0 3.8.3.1]; 3 is a protocol error.
enum class retain_handling : std::uint8_t {
  send_on_subscribe = 0x0,
  send_on_new_subscription = 0x1,
  do_not_send = 0x2,
};

/// Subscription Options byte [MQTT 5.0 3.8.3.1]. MQTT 3.1.1 has only the maximum QoS
/// ("Requested QoS"); the encoder leaves the other options out for v311.
struct subscription_options {
  std::uint8_t maximum_qos = 0;  // 0..2
  bool no_local = false;
  bool retain_as_published = false;
  mqtt::retain_handling retain_handling = mqtt::retain_handling::send_on_subscribe;

  bool operator==(const subscription_options&) const = default;
};

/// One Topic Filter with its options. The decoder checks only that the filter is a well-formed
/// UTF-8 string: an invalid filter is answered per filter in SUBACK (0x8F), not by closing.
struct subscription {
  std::string filter;
  subscription_options options;

  bool operator==(const subscription&) const = default;
};

/// SUBSCRIBE; the decoder requires at least one subscription [MQTT-3.8.3-3].
struct subscribe {
  std::uint16_t packet_id = 0;
  mqtt::properties properties;
  std::vector<subscription> subscriptions;

  bool operator==(const subscribe&) const = default;
};

}  // namespace acemq::mqtt
