#pragma once
// SUBACK (MQTT 5.0 section 3.9, MQTT 3.1.1 section 3.9).

#include <acemq/mqtt/properties.hpp>
#include <acemq/mqtt/reason_code.hpp>

#include <cstdint>
#include <vector>

namespace acemq::mqtt {

/// SUBACK: one reason code per Topic Filter, in order [MQTT-3.9.3-1]. MQTT 3.1.1 allows only
/// 0x00, 0x01, 0x02 and 0x80: the encoder writes any error code as 0x80 and the decoder reads
/// 0x80 as unspecified_error.
struct suback {
  std::uint16_t packet_id = 0;
  mqtt::properties properties;
  std::vector<mqtt::reason_code> reason_codes;

  bool operator==(const suback&) const = default;
};

}  // namespace acemq::mqtt
