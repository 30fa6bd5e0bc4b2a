// The per-thread pieces shared by every transport: the deadline queue of a worker's connections,
// the worker's teardown, and how an endpoint is written in the log.

#include <spdlog/spdlog.h>

#include "acemq/net/connection_base.hpp"

namespace acemq::net::detail {

/// "192.0.2.1:50000", "[2001:db8::1]:8883".
broker::address_text endpoint_text(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  const std::string host = address.to_string();  // IPv4: within the string's own storage
  std::array<char, broker::address_text::capacity> text{};
  const auto written =
      address.is_v6() ? fmt::format_to_n(text.data(), text.size(), "[{}]:{}", host, endpoint.port())
                      : fmt::format_to_n(text.data(), text.size(), "{}:{}", host, endpoint.port());
  return broker::address_text(std::string_view(text.data(), std::min(written.size, text.size())));
}

void deadline_queue::schedule(connection_base& who, time_point at) {
  // A deadline set while expired() runs that has already passed waits for the next turn, after
  // the worker's other handlers (no connection is called twice in one turn).
  if (expiring_at_ && at <= *expiring_at_) at = *expiring_at_ + time_point::duration{1};
  if (who.deadline_slot_ == connection_base::no_deadline_slot) {
    who.deadline_ = at;
    who.deadline_slot_ = static_cast<std::uint32_t>(heap_.size());
    heap_.push_back(who.shared_from_this());
    sift_up(who.deadline_slot_);
  } else {
    const bool sooner = at < who.deadline_;
    who.deadline_ = at;
    if (sooner) {
      sift_up(who.deadline_slot_);
    } else {
      sift_down(who.deadline_slot_);
    }
  }
  arm();
}

std::shared_ptr<connection_base> deadline_queue::cancel(connection_base& who) {
  if (who.deadline_slot_ == connection_base::no_deadline_slot) return nullptr;
  // The timer stays armed: if it fires for nothing, expired() re-arms for the new earliest.
  return remove_at(who.deadline_slot_);
}

bool deadline_queue::earlier(const connection_base& a, const connection_base& b) noexcept {
  return a.deadline_ < b.deadline_;
}

void deadline_queue::swap_slots(std::size_t a, std::size_t b) noexcept {
  std::swap(heap_[a], heap_[b]);
  heap_[a]->deadline_slot_ = static_cast<std::uint32_t>(a);
  heap_[b]->deadline_slot_ = static_cast<std::uint32_t>(b);
}

void deadline_queue::sift_up(std::size_t slot) noexcept {
  while (slot > 0) {
    const std::size_t parent = (slot - 1) / 2;
    if (!earlier(*heap_[slot], *heap_[parent])) break;
    swap_slots(slot, parent);
    slot = parent;
  }
}

void deadline_queue::sift_down(std::size_t slot) noexcept {
  for (;;) {
    const std::size_t left = 2 * slot + 1;
    if (left >= heap_.size()) break;
    const std::size_t right = left + 1;
    const std::size_t child =
        right < heap_.size() && earlier(*heap_[right], *heap_[left]) ? right : left;
    if (!earlier(*heap_[child], *heap_[slot])) break;
    swap_slots(slot, child);
    slot = child;
  }
}

std::shared_ptr<connection_base> deadline_queue::remove_at(std::size_t slot) {
  std::shared_ptr<connection_base> removed = std::move(heap_[slot]);
  removed->deadline_slot_ = connection_base::no_deadline_slot;
  const std::size_t last = heap_.size() - 1;
  if (slot != last) {
    heap_[slot] = std::move(heap_[last]);
    heap_[slot]->deadline_slot_ = static_cast<std::uint32_t>(slot);
  }
  heap_.pop_back();
  if (slot < heap_.size()) {
    // The moved entry may belong above or below its new place.
    if (slot > 0 && earlier(*heap_[slot], *heap_[(slot - 1) / 2])) {
      sift_up(slot);
    } else {
      sift_down(slot);
    }
  }
  return removed;
}

void deadline_queue::arm() {
  if (heap_.empty()) return;  // a pending wait fires for nothing and stops
  const time_point first = heap_.front()->deadline_;
  if (armed_for_ && *armed_for_ <= first) return;
  armed_for_ = first;
  // Replacing the expiry cancels a pending wait: it completes with operation_aborted.
  timer_.expires_at(first);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    armed_for_.reset();
    expired();
  });
}

void deadline_queue::expired() {
  const time_point now = std::chrono::steady_clock::now();
  expiring_at_ = now;
  while (!heap_.empty() && heap_.front()->deadline_ <= now) {
    std::shared_ptr<connection_base> due = remove_at(0);
    due->deadline_passed(now);
  }
  expiring_at_.reset();
  arm();
}

/// Plain TCP on a non-blocking descriptor watched by the worker's readiness set (see
/// readiness_set). Reads go into the worker's buffer; a read that fills the buffer may have left
/// bytes behind (the socket is edge-triggered), so the next read is posted instead of awaited,
/// after the handlers already queued. Writes are scatter/gather straight from the queued buffers
/// (one sendmsg for many queued packets and their shared payloads); what the socket does not take

worker::~worker() {
  std::vector<std::shared_ptr<connection_base>> held;
  for (connection_base* connection : connections) {
    if (auto self = connection->release_self()) held.push_back(std::move(self));
  }
  held.clear();
}

}  // namespace acemq::net::detail
