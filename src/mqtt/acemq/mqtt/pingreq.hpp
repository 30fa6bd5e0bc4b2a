#pragma once
// PINGREQ (MQTT 5.0 section 3.12, MQTT 3.1.1 section 3.12): no variable header, no payload.

namespace acemq::mqtt {

struct pingreq {
  bool operator==(const pingreq&) const = default;
};

}  // namespace acemq::mqtt
