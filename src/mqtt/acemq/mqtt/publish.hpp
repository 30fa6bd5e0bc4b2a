#pragma once
// PUBLISH (MQTT 5.0 section 3.3, MQTT 3.1.1 section 3.3).

#include <acemq/common/bytes.hpp>
#include <acemq/mqtt/properties.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace acemq::mqtt {

/// PUBLISH. The payload is shared so that fan-out to many subscribers encodes only a new header
/// per subscriber (see encode_publish_header) and never copies the application message.
struct publish {
  bool dup = false;
  std::uint8_t qos = 0;  // 0..2 [MQTT-3.3.1-4]
  bool retain = false;
  std::string topic;            // empty only with a Topic Alias (v5) [MQTT 5.0 3.3.2.3.4]
  std::uint16_t packet_id = 0;  // non-zero at QoS 1 and 2, 0 at QoS 0 [MQTT-2.2.1-2]
  mqtt::properties properties;
  std::shared_ptr<const byte_vector> payload;  // null means an empty payload

  /// The payload bytes; empty when `payload` is null.
  byte_view payload_view() const noexcept { return payload ? byte_view(*payload) : byte_view(); }

  /// Compares payload contents, not pointers (a null payload equals an empty one).
  bool operator==(const publish& other) const;
};

}  // namespace acemq::mqtt
