// Outbound: deliveries moved from the session queue to the transport in bounded batches within
// the client's Receive Maximum ([MQTT-3.3.4-9], retransmission [MQTT-4.4.0-1]), each PUBLISH
// encoded with outbound topic aliases and the remaining Message Expiry ([MQTT-3.3.2-6]); and
// every other packet's encoding within the client's Maximum Packet Size ([MQTT-3.1.2-25]).

#include "acemq/broker/connection_internal.hpp"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "acemq/broker/broker.hpp"
#include "acemq/broker/persistence.hpp"
#include "acemq/mqtt/encode.hpp"

namespace acemq::broker {

using mqtt::protocol_version;
using mqtt::reason_code;

// ---- PUBLISH, outbound ----

bool connection::send_publish(const delivery& item, std::uint16_t packet_id, bool dup) {
  const bool v5 = version_ == protocol_version::v5;
  // One per I/O thread, reused (its buffers keep their capacity): every field is set below, and
  // nothing here runs another connection's send_publish before `out` is done with.
  thread_local mqtt::publish scratch;
  mqtt::publish& out = scratch;
  out.dup = dup;
  out.qos = item.qos;
  out.retain = item.retain;
  out.packet_id = packet_id;
  out.payload = item.msg->payload;
  std::uint16_t new_alias = 0;
  if (v5) {
    out.properties = item.msg->forwarded;
    out.properties.subscription_identifiers = item.subscription_identifiers;
    if (item.msg->expires_at) {
      // [MQTT-3.3.2-6]: the interval sent is what remains, rounded up, at least 1 second.
      const auto remaining = *item.msg->expires_at - broker_.time().now();
      const auto whole = std::chrono::ceil<std::chrono::seconds>(remaining).count();
      out.properties.message_expiry_interval =
          static_cast<std::uint32_t>(std::clamp<std::int64_t>(whole, 1, 0xFFFFFFFF));
    }
    out.topic.assign(item.msg->topic);
    if (client_topic_alias_maximum_ > 0) {
      // MQTT 5.0 3.3.2.3.4: aliases up to the client's Topic Alias Maximum; a known topic is
      // sent as an empty name plus its alias.
      new_alias = aliases().outbound.apply(out, client_topic_alias_maximum_);
    }
  } else {
    out.topic.assign(item.msg->topic);
  }
  byte_vector header;
  // One allocation per header: the topic plus fixed fields and typical properties.
  header.reserve(out.topic.size() + 64);
  mqtt::encode_publish_header(out, version_, header);
  const std::size_t total = header.size() + item.msg->payload_size();
  out.payload.reset();
  if (client_maximum_packet_size_ != 0 && total > client_maximum_packet_size_) {
    // [MQTT-3.1.2-25]: never larger than the client's Maximum Packet Size; the message is
    // discarded as if it had been sent.
    broker_.counters().messages_dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (new_alias != 0) aliases().outbound.remember(item.msg->topic, new_alias);
  broker_.counters().messages_out.fetch_add(1, std::memory_order_relaxed);
  broker_.counters().bytes_out.fetch_add(total, std::memory_order_relaxed);
  io_.send(outgoing{std::move(header), item.msg->payload});
  return true;
}

void connection::pump() {
  if (state_ != state::connected || !session_) return;
  const clock::time_point now = broker_.time().now();
  const std::size_t window =
      std::min<std::size_t>(client_receive_maximum_, broker_.settings().max_inflight);
  struct retransmission {
    delivery item;
    std::uint16_t packet_id;
    inflight_entry::stage at;
  };
  std::vector<retransmission> resend;
  // Deliveries move from the session queue to the transport in bounded batches, and not while
  // the transport is congested: the backlog of a slow reader stays in the session queue, where
  // its bounds and drop policy apply, instead of growing the socket's write queue. The transport
  // wakes the connection when its backlog has drained.
  constexpr std::size_t batch_items = 64;
  constexpr std::size_t batch_bytes = 64 * 1024;
  // The batch vector's capacity is kept per thread, not per connection (an idle connection holds
  // none); taken for this call, so a nested call would start with a vector of its own.
  static thread_local std::vector<std::pair<delivery, std::uint16_t>> scratch;
  std::vector<std::pair<delivery, std::uint16_t>> batch;
  batch.swap(scratch);
  bool progress = true;
  bool refused = false;
  while (progress && state_ == state::connected && !refused) {
    progress = false;
    batch.clear();
    std::size_t bytes = 0;
    {
      auto held = session_->lock();
      if (held->owner != connection_id_ || held->ended) break;
      held->wake_pending = false;
      if (held->delivery_refused) {
        // Routing found a delivery this principal may not receive and the principal asks to be
        // disconnected for it (RFC 9431 3.2).
        held->delivery_refused = false;
        refused = true;
        break;
      }
      // Checked after wake_pending is cleared: routing keeps waking a congested connection, so
      // the transport's slow-consumer clock keeps being consulted.
      if (io_.congested()) break;
      // An idle session has no traffic state (none is allocated for it), and nothing to send.
      session_traffic* const held_traffic = held->traffic_if_any();
      if (held_traffic == nullptr ||
          (held_traffic->queue.empty() && held_traffic->awaiting_resend == 0)) {
        break;
      }
      session_traffic& traffic = *held_traffic;
      if (traffic.awaiting_resend > 0) {
        // [MQTT-4.4.0-1]: a resumed session retransmits unacknowledged PUBLISH (DUP 1) and
        // PUBREL in the original order, within the client's Receive Maximum [MQTT-3.3.4-9].
        std::vector<std::pair<std::uint64_t, std::uint16_t>> order;
        for (const auto& [packet_id, entry] : traffic.inflight) {
          if (entry.resend) order.emplace_back(entry.sequence, packet_id);
        }
        std::sort(order.begin(), order.end());
        for (const auto& [sequence, packet_id] : order) {
          if (traffic.inflight.size() - traffic.awaiting_resend >= window) break;
          inflight_entry& entry = traffic.inflight.at(packet_id);
          entry.resend = false;
          --traffic.awaiting_resend;
          resend.push_back({entry.item, packet_id, entry.at});
        }
      }
      // New messages wait until every retransmission is out, keeping the original order.
      while (traffic.awaiting_resend == 0 && !traffic.queue.empty()) {
        if (batch.size() >= batch_items || bytes >= batch_bytes) {
          progress = true;  // more after this batch is written out
          break;
        }
        // [MQTT-3.3.4-9]: no more QoS 1/2 in flight than the client's Receive Maximum. Order is
        // kept [MQTT-4.6.0-6], so later QoS 0 messages wait too.
        if (traffic.queue.front().qos > 0 && traffic.inflight.size() >= window) break;
        delivery item = *held->dequeue();
        if (item.msg->expired(now)) {
          // [MQTT-3.3.2-5]: an expired message is not delivered.
          broker_.counters().messages_expired.fetch_add(1, std::memory_order_relaxed);
          if (persistence* const store = held->store(); store != nullptr && item.store_key != 0) {
            store->delivery_removed(item.store_key);
          }
          continue;
        }
        if (principal_ && !principal_->may_receive(item.msg->topic)) {
          broker_.counters().deliveries_denied.fetch_add(1, std::memory_order_relaxed);
          if (persistence* const store = held->store(); store != nullptr && item.store_key != 0) {
            store->delivery_removed(item.store_key);
          }
          if (principal_->disconnect_on_denied_delivery()) {
            // RFC 9431 3.2 / 6.2: never forward, and close the connection (0x87 in v5).
            refused = true;
            break;
          }
          continue;
        }
        std::uint16_t packet_id = 0;
        if (item.qos > 0) {
          const auto allocated = held->allocate_packet_id();
          if (!allocated) {
            held->requeue_front(std::move(item));
            break;
          }
          packet_id = *allocated;
          const std::uint64_t sequence = traffic.next_sequence++;
          traffic.inflight.emplace(
              packet_id, inflight_entry{item, inflight_entry::stage::publish_sent, sequence});
          if (persistence* const store = held->store(); store != nullptr && item.store_key != 0) {
            store->delivery_sent(item.store_key, packet_id, sequence);
          }
        }
        bytes += item.msg->payload_size() + item.msg->topic.size();
        batch.emplace_back(std::move(item), packet_id);
      }
    }
    for (const retransmission& again : resend) {
      if (state_ != state::connected) break;
      if (again.at == inflight_entry::stage::pubrel_sent) {
        mqtt::pubrel release;
        release.packet_id = again.packet_id;
        send_packet(std::move(release));
      } else if (!send_publish(again.item, again.packet_id, true)) {
        drop_inflight(again.packet_id);
        progress = true;
      }
    }
    resend.clear();
    for (const auto& [item, packet_id] : batch) {
      if (state_ != state::connected) break;
      if (!send_publish(item, packet_id, false) && packet_id != 0) {
        // Dropped for size: behave as if acknowledged, freeing the window (and pump again).
        drop_inflight(packet_id);
        progress = true;
      }
    }
    batch.clear();
  }
  batch.swap(scratch);
  if (refused) disconnect_and_close(reason_code::not_authorized);
}

void connection::drop_inflight(std::uint16_t packet_id) {
  auto held = session_->lock();
  if (const auto found = held->find_inflight(packet_id)) held->erase_inflight(*found);
}

// ---- other outbound packets ----

void connection::send_packet(mqtt::packet packet) {
  byte_vector bytes;
  bytes.reserve(mqtt::encoded_size(packet, version_));
  mqtt::encode(packet, version_, bytes);
  if (client_maximum_packet_size_ != 0 && bytes.size() > client_maximum_packet_size_) {
    // [MQTT-3.1.2-25]: strip what may be stripped (Reason String, User Properties), else drop.
    std::visit(
        [](auto& p) {
          if constexpr (requires { p.properties; }) {
            p.properties.reason_string.reset();
            p.properties.user_properties.clear();
          }
        },
        packet);
    bytes.clear();
    mqtt::encode(packet, version_, bytes);
    if (bytes.size() > client_maximum_packet_size_) {
      broker_.counters().messages_dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  io_.send(outgoing{std::move(bytes), nullptr});
}

}  // namespace acemq::broker
