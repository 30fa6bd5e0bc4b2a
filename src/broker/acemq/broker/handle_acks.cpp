// The acknowledgements of QoS 1 and 2 (MQTT 5.0 4.3.2, 4.3.3): PUBREL from a publisher
// (answered with PUBCOMP, 3.6 / 3.7), and PUBACK, PUBREC, PUBCOMP from a subscriber (3.4, 3.5,
// 3.7), which free the in-flight window.

#include "acemq/broker/connection_internal.hpp"

#include "acemq/broker/persistence.hpp"

namespace acemq::broker {

using mqtt::protocol_version;
using mqtt::reason_code;

void connection::handle(const mqtt::pubrel& packet) {
  bool known = false;
  {
    auto held = session_->lock();
    session_traffic* traffic = held->traffic_if_any();
    known = traffic != nullptr && traffic->inbound_qos2.erase(packet.packet_id) > 0;
    if (persistence* const store = held->store(); known && store != nullptr) {
      store->inbound_qos2_released(client_id(), packet.packet_id);
    }
  }
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
  {
    auto held = session_->lock();
    // An acknowledgement for an identifier not in flight (e.g. a late duplicate) is ignored.
    const auto found = held->find_inflight(packet.packet_id);
    if (found && (*found)->second.item.qos == 1) held->erase_inflight(*found);
  }
  pump();
}

void connection::handle(const mqtt::pubrec& packet) {
  bool release = false;
  {
    auto held = session_->lock();
    const auto entry = held->find_inflight(packet.packet_id);
    if (entry && (*entry)->second.item.qos == 2) {
      const auto found = *entry;
      if (mqtt::is_error(packet.reason_code)) {
        // MQTT 5.0 4.3.3: a PUBREC error ends the exchange; the identifier is free again.
        held->erase_inflight(found);
      } else {
        // The client may acknowledge a message received before it reconnected, ahead of the
        // retransmission: it now needs the PUBREL, not the PUBLISH.
        if (found->second.resend) {
          found->second.resend = false;
          --held->traffic().awaiting_resend;
        }
        found->second.at = inflight_entry::stage::pubrel_sent;
        if (persistence* const store = held->store();
            store != nullptr && found->second.item.store_key != 0) {
          store->delivery_released(found->second.item.store_key);
        }
        release = true;
      }
    }
  }
  mqtt::pubrel reply;
  reply.packet_id = packet.packet_id;
  if (!release) {
    if (mqtt::is_error(packet.reason_code)) {
      pump();
      return;
    }
    if (version_ == protocol_version::v5)
      reply.reason_code = reason_code::packet_identifier_not_found;
  }
  // [MQTT-4.3.3-4]: PUBREL answers PUBREC (0x92 in v5 when the identifier is unknown).
  send_packet(std::move(reply));
}

void connection::handle(const mqtt::pubcomp& packet) {
  {
    auto held = session_->lock();
    const auto found = held->find_inflight(packet.packet_id);
    if (found && (*found)->second.at == inflight_entry::stage::pubrel_sent) {
      held->erase_inflight(*found);
    }
  }
  pump();
}

}  // namespace acemq::broker
