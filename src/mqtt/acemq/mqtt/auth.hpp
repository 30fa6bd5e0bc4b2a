#pragma once
// AUTH (MQTT 5.0 section 3.15): enhanced authentication exchange; does not exist in 3.1.1.

#include <acemq/mqtt/properties.hpp>
#include <acemq/mqtt/reason_code.hpp>

namespace acemq::mqtt {

/// AUTH: reason code success (0x00), continue_authentication (0x18) or reauthenticate (0x19).
struct auth {
  mqtt::reason_code reason_code = mqtt::reason_code::success;
  mqtt::properties properties;

  bool operator==(const auth&) const = default;
};

}  // namespace acemq::mqtt
