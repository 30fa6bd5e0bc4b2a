#pragma once
// PUBACK, PUBREC, PUBREL and PUBCOMP (MQTT 5.0 sections 3.4-3.7, MQTT 3.1.1 sections 3.4-3.7):
// the publication acknowledgements, which share one layout: Packet Identifier, then in v5
// optionally a Reason Code, then optionally Properties.

#include <acemq/mqtt/packet_type.hpp>
#include <acemq/mqtt/properties.hpp>
#include <acemq/mqtt/reason_code.hpp>

#include <cstdint>

namespace acemq::mqtt {

/// A publication acknowledgement of `Type`. In v5 the encoder uses the short forms: Reason Code
/// and Properties are left out when the reason code is success and there are no properties, and
/// the Property Length is left out when there are no properties [MQTT 5.0 3.4.2.1, 3.5.2.1,
/// 3.6.2.1, 3.7.2.1]. MQTT 3.1.1 carries only the packet identifier.
template <packet_type Type>
struct acknowledgement {
  static constexpr packet_type type = Type;

  std::uint16_t packet_id = 0;  // non-zero [MQTT-2.2.1-3]
  mqtt::reason_code reason_code = mqtt::reason_code::success;
  mqtt::properties properties;

  bool operator==(const acknowledgement&) const = default;
};

/// PUBACK: QoS 1 acknowledgement (section 3.4).
using puback = acknowledgement<packet_type::puback>;
/// PUBREC: QoS 2 delivery part 1 (section 3.5).
using pubrec = acknowledgement<packet_type::pubrec>;
/// PUBREL: QoS 2 delivery part 2 (section 3.6); its fixed header flags are 0b0010 [MQTT-3.6.1-1].
using pubrel = acknowledgement<packet_type::pubrel>;
/// PUBCOMP: QoS 2 delivery part 3 (section 3.7).
using pubcomp = acknowledgement<packet_type::pubcomp>;

}  // namespace acemq::mqtt
