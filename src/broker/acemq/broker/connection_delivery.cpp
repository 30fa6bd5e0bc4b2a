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
#include "acemq/broker/message_home.hpp"
#include "acemq/mqtt/encode.hpp"

namespace acemq::broker {

using mqtt::protocol_version;
using mqtt::reason_code;

// ---- PUBLISH, outbound ----

bool connection::send_publish(const delivery& item, std::uint16_t packet_id, bool dup,
                              byte_vector* batch) {
  const bool v5 = version_ == protocol_version::v5;
  // One per I/O thread, reused (its buffers keep their capacity): every field is set below, and
  // nothing here runs another connection's send_publish before `out` is done with.
  thread_local mqtt::publish scratch;
  // Whether scratch's properties hold a forwarded message's (most messages forward none, and
  // copying an empty set of properties over an empty one is work for nothing).
  thread_local bool scratch_forwards = false;
  mqtt::publish& out = scratch;
  out.dup = dup;
  out.qos = item.qos;
  out.retain = item.retain;
  out.packet_id = packet_id;
  out.payload = item.msg->payload;
  std::uint16_t new_alias = 0;
  if (v5) {
    const bool forwards = item.msg->forwarded != nullptr;
    if (forwards || scratch_forwards) out.properties = item.msg->forwarded_properties();
    scratch_forwards = forwards;
    out.properties.subscription_identifiers = item.subscription_identifiers;
    out.properties.message_expiry_interval.reset();
    out.properties.topic_alias.reset();
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
  const byte_view payload = out.payload_view();
  const bool coalesce = batch != nullptr && payload.size() <= coalesced_payload_limit;
  byte_vector header;
  byte_vector& into = coalesce ? *batch : header;
  const std::size_t start = into.size();
  // A header of its own: one allocation, for the topic plus fixed fields and typical properties.
  if (!coalesce) header.reserve(out.topic.size() + 64);
  mqtt::encode_publish_header(out, version_, into);
  const std::size_t total = into.size() - start + payload.size();
  out.payload.reset();
  if (client_maximum_packet_size_ != 0 && total > client_maximum_packet_size_) {
    // [MQTT-3.1.2-25]: never larger than the client's Maximum Packet Size; the message is
    // discarded as if it had been sent.
    into.resize(start);
    broker_.counters().messages_dropped.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (new_alias != 0) aliases().outbound.remember(item.msg->topic, new_alias);
  broker_.counters().messages_out.fetch_add(1, std::memory_order_relaxed);
  broker_.counters().bytes_out.fetch_add(total, std::memory_order_relaxed);
  if (coalesce) {
    into.insert(into.end(), payload.begin(), payload.end());
    return true;
  }
  // A larger payload is written from the message itself (shared by every subscriber); the
  // small ones gathered before it go first.
  if (batch != nullptr) send_gathered(*batch);
  io_.send(outgoing{std::move(header), item.msg->payload});
  return true;
}

void connection::send_gathered(byte_vector& batch) {
  if (batch.empty()) return;
  io_.send(outgoing{std::move(batch), nullptr});
  batch = byte_vector{};
}

void connection::pump() {
  if (state_ != state::connected || !session_) return;
  const batch_request request{
      .owner = connection_id_,
      .window = std::min<std::size_t>(client_receive_maximum_, broker_.settings().max_inflight),
      .now = broker_.time().now(),
      .receiver = principal_.get(),
      .transport = &io_,
      .resume_below_messages = broker_.settings().max_queued_messages / 4,
      .resume_below_bytes = broker_.settings().max_queued_bytes / 4,
  };
  // The batch's capacity is kept per thread, not per connection (an idle connection holds none);
  // taken for this call, so a nested call would start with a batch of its own.
  static thread_local outbound_batch scratch;
  outbound_batch batch;
  std::swap(batch, scratch);
  bool more = true;
  bool refused = false;
  while (more && state_ == state::connected && !refused) {
    session_->take_batch(request, batch);
    for (const std::weak_ptr<session>& waiting : batch.resume) {
      if (const std::shared_ptr<session> publisher = waiting.lock()) {
        broker::resume_publisher(*publisher);
      }
    }
    more = batch.more;
    refused = batch.refused;
    if (batch.expired > 0) {
      broker_.counters().messages_expired.fetch_add(batch.expired, std::memory_order_relaxed);
    }
    if (batch.denied > 0) {
      broker_.counters().deliveries_denied.fetch_add(batch.denied, std::memory_order_relaxed);
    }
    for (const auto& again : batch.resend) {
      if (state_ != state::connected) break;
      if (again.at == inflight_entry::stage::pubrel_sent) {
        mqtt::pubrel release;
        release.packet_id = again.packet_id;
        send_packet(std::move(release));
      } else if (!send_publish(again.item, again.packet_id, true)) {
        session_->drop_inflight(again.packet_id);
        more = true;
      }
    }
    byte_vector small;  // the batch's small PUBLISH packets, one buffer
    std::size_t room = 0;
    for (const auto& fresh : batch.fresh) {
      const message& content = *fresh.first.msg;
      if (content.payload_size() <= coalesced_payload_limit) {
        room += content.topic.size() + content.payload_size() + 16;
      }
    }
    small.reserve(room);
    for (const auto& [item, packet_id] : batch.fresh) {
      if (state_ != state::connected) break;
      if (!send_publish(item, packet_id, false, &small) && packet_id != 0) {
        // Dropped for size: behave as if acknowledged, freeing the window (and pump again).
        session_->drop_inflight(packet_id);
        more = true;
      }
    }
    if (state_ == state::connected) send_gathered(small);
    // The messages this batch released for the last time go back to the threads that built
    // them, to be freed there (message_home.hpp).
    message_home::give_back(batch.fresh,
                            [](auto& entry) -> message_ptr& { return entry.first.msg; });
  }
  batch.clear();
  std::swap(batch, scratch);
  if (refused) disconnect_and_close(reason_code::not_authorized);
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
