#pragma once
// UNSUBACK (MQTT 5.0 section 3.11, MQTT 3.1.1 section 3.11).

#include <acemq/mqtt/properties.hpp>
#include <acemq/mqtt/reason_code.hpp>

#include <cstdint>
#include <vector>

namespace acemq::mqtt {

/// UNSUBACK: in v5 one reason code per filter [MQTT-3.11.3-1]; MQTT 3.1.1 has no payload, so the
/// encoder leaves `reason_codes` out and the decoder returns it empty.
struct unsuback {
  std::uint16_t packet_id = 0;
  mqtt::properties properties;
  std::vector<mqtt::reason_code> reason_codes;

  bool operator==(const unsuback&) const = default;
};

}  // namespace acemq::mqtt
