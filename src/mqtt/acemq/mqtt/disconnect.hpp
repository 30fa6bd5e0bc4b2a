#pragma once
// DISCONNECT (MQTT 5.0 section 3.14, MQTT 3.1.1 section 3.14).

#include <acemq/mqtt/properties.hpp>
#include <acemq/mqtt/reason_code.hpp>

namespace acemq::mqtt {

/// DISCONNECT. MQTT 3.1.1 has no variable header: the encoder writes an empty packet and the
/// decoder returns normal_disconnection. In v5 the Reason Code and Property Length are left out
/// when they are 0x00 and empty [MQTT 5.0 3.14.2.1].
struct disconnect {
  mqtt::reason_code reason_code = normal_disconnection;
  mqtt::properties properties;

  bool operator==(const disconnect&) const = default;
};

}  // namespace acemq::mqtt
