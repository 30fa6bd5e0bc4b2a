#pragma once
// PINGRESP (MQTT 5.0 section 3.13, MQTT 3.1.1 section 3.13): no variable header, no payload.

namespace acemq::mqtt {

struct pingresp {
  bool operator==(const pingresp&) const = default;
};

}  // namespace acemq::mqtt
