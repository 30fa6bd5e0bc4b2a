#include "acemq/broker/session.hpp"

#include <algorithm>
#include <iterator>
#include <utility>

#include "acemq/broker/persistence.hpp"
#include "acemq/broker/settings.hpp"
#include "acemq/mqtt/connection_rules.hpp"

namespace acemq::broker {

namespace {
/// What traffic_view() shows of a session that has had none.
const session_traffic no_traffic;
}  // namespace

session_state::~session_state() {
  leave_principal();
  if (auto* total = total_queued_bytes();
      total != nullptr && traffic_ && traffic_->queued_bytes > 0)
    total->fetch_sub(traffic_->queued_bytes, std::memory_order_relaxed);
}

principal_usage* session_state::leave_principal() noexcept {
  principal_usage* const left = std::exchange(usage, nullptr);
  if (left != nullptr && traffic_ && traffic_->queued_bytes > 0)
    left->queued_bytes.fetch_sub(traffic_->queued_bytes, std::memory_order_relaxed);
  return left;
}

session_traffic& session_state::traffic() {
  if (!traffic_) traffic_ = std::make_unique<session_traffic>();
  return *traffic_;
}

const session_traffic& session_state::traffic_view() const noexcept {
  return traffic_ ? *traffic_ : no_traffic;
}

// remember() and forget() are called only where traffic_ exists (an item is in the queue).
void session_state::remember(const delivery& item) noexcept {
  const std::size_t size = item.msg->payload_size();
  traffic_->queued_bytes += size;
  if (item.qos == 0) ++traffic_->queued_qos0;
  if (auto* total = total_queued_bytes()) total->fetch_add(size, std::memory_order_relaxed);
  if (usage != nullptr) usage->queued_bytes.fetch_add(size, std::memory_order_relaxed);
}

void session_state::forget(const delivery& item) noexcept {
  forget_locally(item);
  settle_taken(item.msg->payload_size());
}

void session_state::forget_locally(const delivery& item) noexcept {
  traffic_->queued_bytes -= item.msg->payload_size();
  if (item.qos == 0) --traffic_->queued_qos0;
}

void session_state::settle_taken(std::size_t taken) noexcept {
  if (taken == 0) return;
  if (auto* total = total_queued_bytes()) total->fetch_sub(taken, std::memory_order_relaxed);
  if (usage != nullptr) usage->queued_bytes.fetch_sub(taken, std::memory_order_relaxed);
}

enqueue_result session_state::enqueue(delivery item, const broker_settings& settings,
                                      clock::time_point now) {
  if (item.msg->expired(now)) return enqueue_result::dropped_expired;
  session_traffic& held = traffic();
  auto& queue = held.queue;
  const std::size_t size = item.msg->payload_size();
  const std::atomic<std::size_t>* total = total_queued_bytes();
  const std::size_t share = queued_memory_share(settings);
  const auto over = [&] {
    return queue.size() >= settings.max_queued_messages ||
           held.queued_bytes + size > settings.max_queued_bytes ||
           (usage != nullptr &&
            usage->queued_bytes.load(std::memory_order_relaxed) + size > share) ||
           (total != nullptr &&
            total->load(std::memory_order_relaxed) + size > settings.max_queued_memory);
  };
  // Documented policy (docs/broker-core.md): QoS 0 is the first to go. A QoS 1/2 message evicts
  // queued QoS 0 messages, oldest first, until it fits; otherwise the new message is dropped.
  while (over()) {
    if (item.qos == 0 || held.queued_qos0 == 0) {
      ++held.dropped;
      return enqueue_result::dropped_full;
    }
    const auto oldest_qos0 =
        std::find_if(queue.begin(), queue.end(), [](const delivery& d) { return d.qos == 0; });
    forget(*oldest_qos0);
    queue.erase(oldest_qos0);
    ++held.dropped;
  }
  remember(item);
  queue.push_back(std::move(item));
  return enqueue_result::queued;
}

std::optional<delivery> session_state::dequeue() {
  std::size_t taken = 0;
  auto item = take_front(taken);
  settle_taken(taken);
  return item;
}

std::optional<delivery> session_state::take_front(std::size_t& taken) {
  if (!traffic_ || traffic_->queue.empty()) return std::nullopt;
  auto& queue = traffic_->queue;
  delivery item = std::move(queue.front());
  queue.pop_front();
  forget_locally(item);
  taken += item.msg->payload_size();
  release_if_drained();
  return item;
}

void session_state::release_if_drained() noexcept {
  // The devector keeps its block when emptied; a backlog's block goes once the backlog is gone.
  if (traffic_ && traffic_->queue.empty() && traffic_->queue.capacity() > retained_queue_capacity) {
    boost::container::devector<delivery>().swap(traffic_->queue);
  }
}

void session_state::requeue_front(delivery item) {
  session_traffic& held = traffic();
  remember(item);
  held.queue.push_front(std::move(item));
}

bool session_state::congested(const broker_settings& settings) const noexcept {
  const session_traffic& held = traffic_view();
  return held.queue.size() >=
             settings.max_queued_messages / 4 * 3 + settings.max_queued_messages % 4 ||
         held.queued_bytes >= settings.max_queued_bytes / 4 * 3;
}

std::optional<std::uint16_t> session_state::allocate_packet_id() {
  const auto& inflight = traffic_view().inflight;
  if (inflight.size() >= mqtt::packet_ids_available) return std::nullopt;
  // [MQTT-2.2.1-3]: a new identifier must not be one in use.
  while (true) {
    const std::uint16_t candidate = next_packet_id;
    next_packet_id = mqtt::next_packet_id(next_packet_id);
    if (!inflight.contains(candidate)) return candidate;
  }
}

void session_state::unstore(const delivery& item) {
  if (persistence* const to = store(); to != nullptr && item.store_key != 0)
    to->delivery_removed(item.store_key);
}

std::optional<session_state::inflight_iterator> session_state::find_inflight(
    std::uint16_t packet_id) {
  if (!traffic_) return std::nullopt;
  const auto found = traffic_->inflight.find(packet_id);
  if (found == traffic_->inflight.end()) return std::nullopt;
  return found;
}

void session_state::erase_inflight(inflight_iterator entry) {
  // An iterator into the map exists only if traffic_ does.
  if (entry->second.resend) --traffic_->awaiting_resend;
  unstore(entry->second.item);
  traffic_->inflight.erase(entry);
}

void session_state::mark_inflight_for_resend() {
  if (!traffic_) return;
  for (auto& [packet_id, entry] : traffic_->inflight)
    entry.resend = true;
  traffic_->awaiting_resend = traffic_->inflight.size();
}

std::size_t session_state::purge_expired(clock::time_point now) {
  return drop_queued_if([now](const delivery& item) { return item.msg->expired(now); });
}

void session_state::drop_queued_qos0() {
  if (!traffic_ || traffic_->queued_qos0 == 0) return;
  // QoS 0 is never stored: dropping one tells the store nothing.
  drop_queued_if([](const delivery& item) { return item.qos == 0; });
}

}  // namespace acemq::broker
