#pragma once
// Any MQTT Control Packet, as a closed variant (the alternatives are in packet_type order).

#include <acemq/mqtt/acknowledgement.hpp>
#include <acemq/mqtt/auth.hpp>
#include <acemq/mqtt/connack.hpp>
#include <acemq/mqtt/connect.hpp>
#include <acemq/mqtt/disconnect.hpp>
#include <acemq/mqtt/packet_type.hpp>
#include <acemq/mqtt/pingreq.hpp>
#include <acemq/mqtt/pingresp.hpp>
#include <acemq/mqtt/publish.hpp>
#include <acemq/mqtt/suback.hpp>
#include <acemq/mqtt/subscribe.hpp>
#include <acemq/mqtt/unsuback.hpp>
#include <acemq/mqtt/unsubscribe.hpp>

#include <variant>

namespace acemq::mqtt {

/// Alternative i holds packet_type i + 1.
using packet = std::variant<connect, connack, publish, puback, pubrec, pubrel, pubcomp, subscribe,
                            suback, unsubscribe, unsuback, pingreq, pingresp, disconnect, auth>;

/// The packet type of the alternative `p` holds.
constexpr packet_type type_of(const packet& p) noexcept {
  return static_cast<packet_type>(p.index() + 1);
}

}  // namespace acemq::mqtt
