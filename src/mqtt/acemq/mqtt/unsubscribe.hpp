#pragma once
// UNSUBSCRIBE (MQTT 5.0 section 3.10, MQTT 3.1.1 section 3.10).

#include <acemq/mqtt/properties.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace acemq::mqtt {

/// UNSUBSCRIBE; the decoder requires at least one filter [MQTT-3.10.3-2].
struct unsubscribe {
  std::uint16_t packet_id = 0;
  mqtt::properties properties;
  std::vector<std::string> filters;

  bool operator==(const unsubscribe&) const = default;
};

}  // namespace acemq::mqtt
