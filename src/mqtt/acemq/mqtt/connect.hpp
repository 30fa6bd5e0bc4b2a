#pragma once
// CONNECT (MQTT 5.0 section 3.1, MQTT 3.1.1 section 3.1).

#include <acemq/common/bytes.hpp>
#include <acemq/mqtt/properties.hpp>
#include <acemq/mqtt/version.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace acemq::mqtt {

/// The Will Message carried by CONNECT [MQTT-3.1.2-7].
struct will_message {
  std::string topic;
  byte_vector payload;
  std::uint8_t qos = 0;  // 0..2 [MQTT-3.1.2-12]
  bool retain = false;
  mqtt::properties properties;  // Will Properties (v5 only) [MQTT 5.0 3.1.3.2]

  bool operator==(const will_message&) const = default;
};

/// CONNECT. The packet declares its own protocol version: encode() writes `protocol_version`
/// and ignores its version argument for this packet; decode_connect() fills it in.
struct connect {
  mqtt::protocol_version protocol_version = mqtt::protocol_version::v5;
  bool clean_start = true;       // "Clean Session" in 3.1.1
  std::uint16_t keep_alive = 0;  // seconds; 0 disables keep alive
  std::string client_id;         // may be empty [MQTT-3.1.3-6]
  std::optional<will_message> will;
  std::optional<std::string> username;
  std::optional<byte_vector> password;
  mqtt::properties properties;

  bool operator==(const connect&) const = default;
};

}  // namespace acemq::mqtt
