#pragma once
// MQTT protocol versions understood by the codec.

#include <cstdint>

namespace acemq::mqtt {

/// The Protocol Level byte of CONNECT: 4 for MQTT 3.1.1 [MQTT-3.1.2-2], 5 for MQTT 5.0.
enum class protocol_version : std::uint8_t {
  v311 = 0x04,
  v5 = 0x05,
};

}  // namespace acemq::mqtt
