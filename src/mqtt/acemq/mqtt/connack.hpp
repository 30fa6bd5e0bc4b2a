#pragma once
// CONNACK (MQTT 5.0 section 3.2, MQTT 3.1.1 section 3.2).

#include <acemq/mqtt/properties.hpp>
#include <acemq/mqtt/reason_code.hpp>

namespace acemq::mqtt {

/// CONNACK. For a 3.1.1 client the encoder writes to_connect_return_code_v311(reason_code) and
/// the decoder maps the return code back with from_connect_return_code_v311().
struct connack {
  bool session_present = false;
  mqtt::reason_code reason_code = mqtt::reason_code::success;
  mqtt::properties properties;

  bool operator==(const connack&) const = default;
};

}  // namespace acemq::mqtt
