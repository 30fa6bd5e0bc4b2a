#pragma once
// MQTT Control Packet types: the high nibble of the fixed header's first byte
// (MQTT 5.0 section 2.1.2, MQTT 3.1.1 section 2.2.1).

#include <cstdint>
#include <string_view>

namespace acemq::mqtt {

/// 0 is reserved in both versions; 15 (AUTH) is reserved in MQTT 3.1.1.
enum class packet_type : std::uint8_t {
  connect = 0x1,
  connack = 0x2,
  publish = 0x3,
  puback = 0x4,
  pubrec = 0x5,
  pubrel = 0x6,
  pubcomp = 0x7,
  subscribe = 0x8,
  suback = 0x9,
  unsubscribe = 0xA,
  unsuback = 0xB,
  pingreq = 0xC,
  pingresp = 0xD,
  disconnect = 0xE,
  auth = 0xF,
};

/// Upper-case packet name as the specification writes it, e.g. "CONNECT".
std::string_view to_string(packet_type type) noexcept;

}  // namespace acemq::mqtt
