// The acknowledgements of QoS 1 and 2 (MQTT 5.0 4.3.2, 4.3.3): PUBREL from a publisher
// (answered with PUBCOMP, 3.6 / 3.7), and PUBACK, PUBREC, PUBCOMP from a subscriber (3.4, 3.5,
// 3.7), which free the in-flight window.

#include "acemq/broker/connection_internal.hpp"

namespace acemq::broker {

using mqtt::protocol_version;
using mqtt::reason_code;

void connection::handle(const mqtt::pubrel& packet) {
  const bool known = session_->release_inbound_qos2(packet.packet_id);
  mqtt::pubcomp reply;
  reply.packet_id = packet.packet_id;
  // MQTT 5.0 3.7.2.1: 0x92 when the identifier is not awaiting PUBREL.
  if (!known && version_ == protocol_version::v5) {
    reply.reason_code = reason_code::packet_identifier_not_found;
  }
  send_packet(std::move(reply));
}

// ---- PUBLISH, outbound ----

void connection::handle(const mqtt::puback& packet) {
  session_->acknowledge_puback(packet.packet_id);
  pump();
}

void connection::handle(const mqtt::pubrec& packet) {
  const pubrec_outcome outcome =
      session_->acknowledge_pubrec(packet.packet_id, mqtt::is_error(packet.reason_code));
  if (mqtt::is_error(packet.reason_code)) {
    // MQTT 5.0 4.3.3: a PUBREC error ends the exchange (nothing is answered); a freed identifier
    // may carry the next delivery.
    pump();
    return;
  }
  mqtt::pubrel reply;
  reply.packet_id = packet.packet_id;
  if (outcome == pubrec_outcome::unknown && version_ == protocol_version::v5) {
    reply.reason_code = reason_code::packet_identifier_not_found;
  }
  // [MQTT-4.3.3-4]: PUBREL answers PUBREC (0x92 in v5 when the identifier is unknown).
  send_packet(std::move(reply));
}

void connection::handle(const mqtt::pubcomp& packet) {
  session_->acknowledge_pubcomp(packet.packet_id);
  pump();
}

}  // namespace acemq::broker
