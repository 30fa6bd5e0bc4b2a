#include <acemq/client/outbound_queue.hpp>

#include <cassert>

namespace acemq::client {

void outbound_queue::append_payload(const std::shared_ptr<const byte_vector>& payload) {
  if (!payload || payload->empty()) return;
  batch& b = batches_[pending_];
  if (payload->size() <= inline_payload_limit_) {
    b.bytes.insert(b.bytes.end(), payload->begin(), payload->end());
    return;
  }
  b.payloads.push_back({b.bytes.size(), payload});
  b.payload_bytes += payload->size();
}

std::size_t outbound_queue::pending_bytes() const noexcept {
  const batch& b = batches_[pending_];
  return b.bytes.size() + b.payload_bytes;
}

std::span<const byte_view> outbound_queue::begin_write() {
  assert(!writing_ && has_pending());
  batch& b = batches_[pending_];
  b.views.clear();
  const byte_view all(b.bytes);
  std::size_t position = 0;
  for (const payload_segment& segment : b.payloads) {
    if (segment.offset > position) {
      b.views.push_back(all.subspan(position, segment.offset - position));
    }
    b.views.emplace_back(*segment.payload);
    position = segment.offset;
  }
  if (all.size() > position) b.views.push_back(all.subspan(position));
  writing_ = true;
  pending_ ^= 1U;
  return b.views;
}

void outbound_queue::end_write() noexcept {
  assert(writing_);
  batch& written = batches_[pending_ ^ 1U];
  written.bytes.clear();
  written.payloads.clear();
  written.payload_bytes = 0;
  written.views.clear();
  writing_ = false;
}

void outbound_queue::clear() noexcept {
  for (batch& b : batches_) {
    b.bytes.clear();
    b.payloads.clear();
    b.payload_bytes = 0;
    b.views.clear();
  }
  writing_ = false;
}

}  // namespace acemq::client
