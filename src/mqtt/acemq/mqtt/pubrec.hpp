#pragma once
// PUBREC (MQTT 5.0 section 3.5, MQTT 3.1.1 section 3.5): QoS 2 delivery part 1.

#include <acemq/mqtt/properties.hpp>
#include <acemq/mqtt/reason_code.hpp>

#include <cstdint>

namespace acemq::mqtt {

/// PUBREC. In v5 the encoder uses the short forms: Reason Code and Properties are left out when the
/// reason code is success and there are no properties, and the Property Length is left out when
/// there are no properties [MQTT 5.0 3.5.2.1]. MQTT 3.1.1 carries only the packet identifier.
struct pubrec {
  std::uint16_t packet_id = 0;  // non-zero [MQTT-2.2.1-3]
  mqtt::reason_code reason_code = mqtt::reason_code::success;
  mqtt::properties properties;

  bool operator==(const pubrec&) const = default;
};

}  // namespace acemq::mqtt
