#pragma once
// Bytes waiting to be written, batched so that one write carries every packet queued since the
// previous write (one syscall for many packets). Two batches alternate: the driver writes one
// while the protocol machine appends to the other, so buffers are reused and never reallocated in
// steady state. Large payloads are referenced, not copied: the shared payload of a PUBLISH goes
// into the gather list as its own buffer.

#include <acemq/common/bytes.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

namespace acemq::client {

/// A double-buffered gather list of encoded packets.
class outbound_queue {
 public:
  /// Payloads of at most `inline_payload_limit` bytes are copied next to their header (cheaper
  /// than a separate buffer); larger ones are referenced. A stream that cannot gather (TLS
  /// writes each buffer as its own record) passes SIZE_MAX.
  explicit outbound_queue(std::size_t inline_payload_limit) noexcept
      : inline_payload_limit_(inline_payload_limit) {}

  /// The buffer to append encoded bytes to (for encode() and encode_publish_header()).
  byte_vector& bytes() noexcept { return batches_[pending_].bytes; }

  /// Appends a payload after the bytes appended so far: copied or referenced by size.
  void append_payload(const std::shared_ptr<const byte_vector>& payload);

  /// Bytes waiting for the next write (not counting the batch being written).
  std::size_t pending_bytes() const noexcept;
  bool has_pending() const noexcept { return pending_bytes() != 0; }
  bool writing() const noexcept { return writing_; }

  /// Moves the pending batch to "being written" and returns its buffers, in order. Precondition:
  /// not writing() and has_pending(). The views stay valid until end_write().
  std::span<const byte_view> begin_write();
  /// The write finished: the batch's memory is kept for reuse and its payload references released.
  void end_write() noexcept;
  /// Drops everything (connection closed).
  void clear() noexcept;

 private:
  struct payload_segment {
    std::size_t offset;  // position in `bytes` before which the payload goes
    std::shared_ptr<const byte_vector> payload;
  };
  struct batch {
    byte_vector bytes;
    std::vector<payload_segment> payloads;
    std::size_t payload_bytes = 0;
    std::vector<byte_view> views;
  };

  std::size_t inline_payload_limit_;
  batch batches_[2];
  std::size_t pending_ = 0;  // index of the batch being filled
  bool writing_ = false;
};

}  // namespace acemq::client
