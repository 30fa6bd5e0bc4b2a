// What the attached connection does with its session (MQTT 5.0 4.3, 4.4, 4.9): take the next
// batch to send, apply acknowledgements, record inbound QoS 2 identifiers. Each operation holds
// the session's lock once and is the only place that tells the store about it.

#include <algorithm>
#include <utility>

#include "acemq/broker/connection.hpp"
#include "acemq/broker/persistence.hpp"
#include "acemq/broker/session.hpp"

namespace acemq::broker {

void outbound_batch::clear() noexcept {
  resend.clear();
  fresh.clear();
  expired = 0;
  denied = 0;
  more = false;
  refused = false;
  resume.clear();
}

inbound_publish session::admit_inbound(std::uint8_t qos, std::uint16_t packet_id,
                                       std::size_t receive_maximum) {
  auto held = lock();
  const auto& awaiting_pubrel = held->traffic_view().inbound_qos2;
  // MQTT 5.0 4.3.3 (method B): a retransmitted QoS 2 PUBLISH whose PUBREL has not arrived is
  // acknowledged again but not routed again - exactly once.
  if (qos == 2 && awaiting_pubrel.contains(packet_id)) return inbound_publish::duplicate;
  // [MQTT-3.3.4-7]: QoS 1 is acknowledged at once, so only QoS 2 awaiting PUBREL is outstanding.
  if (awaiting_pubrel.size() >= receive_maximum) return inbound_publish::over_receive_maximum;
  return inbound_publish::fresh;
}

void session::record_inbound_qos2(std::uint16_t packet_id) {
  auto held = lock();
  persistence* const store = held->store();
  if (held->traffic().inbound_qos2.insert(packet_id).second && store != nullptr) {
    store->inbound_qos2_added(client_id_, packet_id);
  }
}

bool session::release_inbound_qos2(std::uint16_t packet_id) {
  auto held = lock();
  session_traffic* const traffic = held->traffic_if_any();
  const bool known = traffic != nullptr && traffic->inbound_qos2.erase(packet_id) > 0;
  if (persistence* const store = held->store(); known && store != nullptr) {
    store->inbound_qos2_released(client_id_, packet_id);
  }
  return known;
}

void session::acknowledge_puback(std::uint16_t packet_id) {
  auto held = lock();
  const auto found = held->find_inflight(packet_id);
  if (found && (*found)->second.item.qos == 1) held->erase_inflight(*found);
}

pubrec_outcome session::acknowledge_pubrec(std::uint16_t packet_id, bool error) {
  auto held = lock();
  const auto entry = held->find_inflight(packet_id);
  if (!entry || (*entry)->second.item.qos != 2) return pubrec_outcome::unknown;
  const auto found = *entry;
  if (error) {
    held->erase_inflight(found);
    return pubrec_outcome::ended;
  }
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
  return pubrec_outcome::release;
}

void session::acknowledge_pubcomp(std::uint16_t packet_id) {
  auto held = lock();
  const auto found = held->find_inflight(packet_id);
  if (found && (*found)->second.at == inflight_entry::stage::pubrel_sent) {
    held->erase_inflight(*found);
  }
}

void session::drop_inflight(std::uint16_t packet_id) {
  auto held = lock();
  if (const auto found = held->find_inflight(packet_id)) held->erase_inflight(*found);
}

void session::resend_inflight() {
  auto held = lock();
  held->mark_inflight_for_resend();
}

bool session::take_resume_request() {
  auto held = lock();
  const bool requested = held->resume_requested;
  held->resume_requested = false;
  return requested;
}

void session::take_batch(const batch_request& request, outbound_batch& out) {
  out.clear();
  auto held = lock();
  std::size_t taken = 0;
  fill_batch(request, out, held, taken);
  held->settle_taken(taken);
  if (session_traffic* const traffic = held->traffic_if_any();
      traffic != nullptr && !traffic->waiting_publishers.empty() &&
      traffic->queue.size() <= request.resume_below_messages &&
      traffic->queued_bytes <= request.resume_below_bytes) {
    out.resume.swap(traffic->waiting_publishers);
  }
}

void session::fill_batch(const batch_request& request, outbound_batch& out, locked& held,
                         std::size_t& taken) {
  // Deliveries leave the queue in bounded batches, so one connection's backlog does not hold the
  // lock (which routing threads need) for long, nor grow the transport's write queue.
  constexpr std::size_t batch_items = 64;
  constexpr std::size_t batch_bytes = 64 * 1024;
  if (held->owner != request.owner || held->ended) return;
  held->wake_pending = false;
  if (held->delivery_refused) {
    // Routing found a delivery this principal may not receive and the principal asks to be
    // disconnected for it (RFC 9431 3.2).
    held->delivery_refused = false;
    out.refused = true;
    return;
  }
  // Asked after wake_pending is cleared: routing keeps waking a congested connection, so the
  // transport's slow-consumer clock keeps being consulted.
  if (request.transport != nullptr && request.transport->congested()) return;
  // An idle session has no traffic state (none is allocated for it), and nothing to send.
  session_traffic* const held_traffic = held->traffic_if_any();
  if (held_traffic == nullptr ||
      (held_traffic->queue.empty() && held_traffic->awaiting_resend == 0)) {
    return;
  }
  session_traffic& traffic = *held_traffic;
  if (traffic.awaiting_resend > 0) {
    // [MQTT-4.4.0-1]: a resumed session retransmits unacknowledged PUBLISH (DUP 1) and PUBREL
    // in the original order, within the client's Receive Maximum [MQTT-3.3.4-9].
    std::vector<std::pair<std::uint64_t, std::uint16_t>> order;
    for (const auto& [packet_id, entry] : traffic.inflight) {
      if (entry.resend) order.emplace_back(entry.sequence, packet_id);
    }
    std::sort(order.begin(), order.end());
    for (const auto& [sequence, packet_id] : order) {
      if (traffic.inflight.size() - traffic.awaiting_resend >= request.window) break;
      inflight_entry& entry = traffic.inflight.at(packet_id);
      entry.resend = false;
      --traffic.awaiting_resend;
      out.resend.push_back({entry.item, packet_id, entry.at});
    }
  }
  persistence* const store = held->store();
  std::size_t bytes = 0;
  // New messages wait until every retransmission is out, keeping the original order.
  while (traffic.awaiting_resend == 0 && !traffic.queue.empty()) {
    if (out.fresh.size() >= batch_items || bytes >= batch_bytes) {
      out.more = true;
      return;
    }
    // [MQTT-3.3.4-9]: no more QoS 1/2 in flight than the client's Receive Maximum. Order is kept
    // [MQTT-4.6.0-6], so later QoS 0 messages wait too.
    if (traffic.queue.front().qos > 0 && traffic.inflight.size() >= request.window) return;
    delivery item = *held->take_front(taken);
    if (item.msg->expired(request.now)) {
      // [MQTT-3.3.2-5]: an expired message is not delivered.
      ++out.expired;
      held->unstore(item);
      continue;
    }
    if (request.receiver != nullptr && !request.receiver->may_receive(item.msg->topic)) {
      ++out.denied;
      held->unstore(item);
      if (request.receiver->disconnect_on_denied_delivery()) {
        // RFC 9431 3.2 / 6.2: never forward, and close the connection (0x87 in v5).
        out.refused = true;
        return;
      }
      continue;
    }
    std::uint16_t packet_id = 0;
    if (item.qos > 0) {
      const auto allocated = held->allocate_packet_id();
      if (!allocated) {
        held->requeue_front(std::move(item));
        return;
      }
      packet_id = *allocated;
      const std::uint64_t sequence = traffic.next_sequence++;
      traffic.inflight.emplace(packet_id,
                               inflight_entry{item, inflight_entry::stage::publish_sent, sequence});
      if (store != nullptr && item.store_key != 0) {
        store->delivery_sent(item.store_key, packet_id, sequence);
      }
    }
    bytes += item.msg->payload_size() + item.msg->topic.size();
    out.fresh.emplace_back(std::move(item), packet_id);
  }
}

std::size_t session::narrow_to(std::shared_ptr<const principal> who) {
  auto held = lock();
  const principal& receiver = *who;
  held->who = std::move(who);
  held->delivery_refused = false;
  if (held->will && held->will->publisher_grant_ends_unix != receiver.expires_at_unix()) {
    // RFC 9431 5: a retained Will ends with the grant the client holds now (a re-authentication
    // brings a new token); a persistent session stores the new bound.
    held->will->publisher_grant_ends_unix = receiver.expires_at_unix();
    if (persistence* const store = held->store()) store->will_saved(client_id_, *held->will);
  }
  const auto undeliverable = [&receiver](const delivery& item) {
    return !receiver.may_receive(item.msg->topic);
  };
  return held->drop_queued_if(undeliverable) + held->drop_unreceived_inflight_if(undeliverable);
}

}  // namespace acemq::broker
