// The stream-independent part of every MQTT connection driver (see connection_base.hpp): the
// machine's connection_io, the write queue and its back-pressure, close and linger, reads handed
// to the machine.

#include "acemq/net/connection_base.hpp"

#include <spdlog/spdlog.h>

namespace acemq::net::detail {

void connection_base::deadline_passed(clock::time_point now) {
  if (finished_) return;
  if (close_requested_) {
    finish();  // the linger of close() ended with bytes still unwritten
  } else if (handler_) {
    call_machine([&] { handler_->on_timer(now); });
  } else {
    handshake_timed_out();
  }
}

void connection_base::server_shutdown() {
  if (handler_ && !finished_) {
    call_machine([&] { handler_->shutdown(); });
  } else {
    finish();
  }
}

void connection_base::finish() {
  if (finished_) return;
  if (machine_calls_ > 0) {
    post_finish();  // never inside a call into the machine
    return;
  }
  finished_ = true;
  clear_deadline();
  close_socket();
  home_.connections.erase(this);
  if (handler_) handler_->on_transport_closed();
  queue_.clear();
  queued_bytes_ = 0;
  owner().connection_finished();
}

void connection_base::send(broker::outgoing message) {
  if (finished_ || close_requested_) return;
  const std::size_t size = message.size();
  // The socket queue only absorbs bursts; the session queue in the engine holds the backlog.
  // A reader that lets this queue grow past the limit is disconnected as a slow consumer.
  if (!queue_.empty() && queued_bytes_ + size > owner().config.write_queue_limit) {
    ++owner().counters.slow_consumers;
    spdlog::warn("{}: slow consumer, {} bytes queued; disconnecting", remote_address().view(),
                 queued_bytes_);
    close_requested_ = true;
    post_finish();
    return;
  }
  queued_bytes_ += size;
  queue_.push_back(std::move(message), std::chrono::steady_clock::now(), home_.spare_queues);
  if (!writing_) write_queued();
}

void connection_base::close() {
  if (finished_ || close_requested_) return;
  close_requested_ = true;
  if (!writing_) {
    // Never re-enter the machine from inside its own call.
    asio::post(home_.io, [self = shared_from_this()] { self->close_transport(); });
    return;
  }
  // A peer that stops reading must not keep a closing connection alive forever: the
  // connection's deadline becomes the end of the linger (the machine, closed, sets no more).
  home_.deadlines.schedule(*this, std::chrono::steady_clock::now() + owner().config.close_linger);
}

void connection_base::wake() {
  // Coalesced: a fan-out that queues many deliveries for this session posts one on_wake().
  // The flag is cleared before on_wake() runs, so deliveries queued during it post again.
  if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
  asio::post(home_.io, [self = shared_from_this()] {
    self->wake_pending_.store(false, std::memory_order_release);
    if (self->handler_ && !self->finished_) self->call_machine([&] { self->handler_->on_wake(); });
  });
}

void connection_base::post(std::function<void()> task) {
  // Tasks (e.g. asynchronous authentication completions) that arrive after the transport has
  // gone are dropped: the machine accepts no calls after on_transport_closed().
  asio::post(home_.io, [self = shared_from_this(), task = std::move(task)] {
    if (!self->finished_) self->call_machine(task);
  });
}

bool connection_base::congested() {
  if (queued_bytes_ < owner().config.write_high_water) {
    // The slow-consumer clock measures one uninterrupted stretch above the mark.
    congested_since_ = not_congested;
    return false;
  }
  // on_written() wakes the machine once the socket has drained to half the mark.
  drain_wanted_ = true;
  const auto now = std::chrono::steady_clock::now();
  if (congested_since_ == not_congested) {
    congested_since_ = now;
  } else if (owner().config.slow_consumer_timeout.count() > 0 &&
             now - congested_since_ > owner().config.slow_consumer_timeout && !close_requested_) {
    // Deliveries keep waiting and the reader does not catch up: a slow consumer.
    ++owner().counters.slow_consumers;
    spdlog::warn("{}: slow consumer, {} bytes unread for {} s; disconnecting",
                 remote_address().view(), queued_bytes_,
                 owner().config.slow_consumer_timeout.count());
    close_requested_ = true;
    post_finish();
  }
  return true;
}

void connection_base::resume_reading() {
  if (!reading_paused_) return;
  reading_paused_ = false;
  if (read_stalled_ && !finished_ && !close_requested_) {
    read_stalled_ = false;
    // Never re-enter the machine from inside its own call: over TLS a read hands decrypted
    // bytes over (or fails) at once, so it starts on a later turn, as a TCP read completes.
    asio::post(home_.io, [self = shared_from_this()] {
      if (self->finished_ || self->close_requested_) return;
      if (self->reading_paused_) {
        self->read_stalled_ = true;  // paused again meanwhile: the next resume reads
        return;
      }
      self->read_more();
    });
  }
}

void connection_base::clear_deadline() {
  if (auto held = home_.deadlines.cancel(*this)) asio::post(home_.io, [held = std::move(held)] {});
}

bool connection_base::attach() {
  if (owner().stopping) {
    finish();
    return false;
  }
  home_.connections.insert(this);
  handler_ = owner().factory(*this, listener_);
  return true;
}

void connection_base::on_read_bytes(const boost::system::error_code& ec, byte_view data) {
  if (finished_) return;
  if (ec) {
    if (ec != asio::error::eof && ec != asio::error::operation_aborted &&
        ec != ssl::error::stream_truncated) {
      spdlog::debug("{}: read: {}", remote_address().view(), ec.message());
    }
    finish();
    return;
  }
  call_machine([&] { handler_->on_bytes(data); });
  // After close() the machine has nothing more to read (a DISCONNECT was sent or the peer
  // misbehaved); the write path completes the close. While the machine throttles this client
  // (pause_reading) no read is outstanding, so the kernel's receive window closes.
  if (finished_ || close_requested_) return;
  if (reading_paused_) {
    read_stalled_ = true;
  } else {
    read_more();
  }
}

bool connection_base::durable_before_write() {
  broker::persistence* store = owner().config.persistence;
  if (store == nullptr || !store->barrier_needed()) return true;
  if (auto done = store->barrier(); !done) {
    spdlog::error("{}: persistence: {}; closing without acknowledging", remote_address().view(),
                  done.error().message);
    close_requested_ = true;
    post_finish();
    return false;
  }
  return true;
}

void connection_base::on_written(const boost::system::error_code& ec, std::size_t items,
                                 std::size_t bytes) {
  writing_ = false;
  if (finished_) return;
  if (ec) {
    spdlog::debug("{}: write: {}", remote_address().view(), ec.message());
    finish();
    return;
  }
  const auto written_at = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < items; ++i) {
    // [MQTT-2.1.1] packet type 3 (PUBLISH) in the high nibble of the first byte.
    const auto& sent = queue_.front();
    if (!sent.item.bytes.empty() && (sent.item.bytes.front() >> 4) == 3) {
      owner().counters.publish_write_latency.observe(written_at - sent.enqueued_at);
    }
    queue_.pop_front(home_.spare_queues);
  }
  queued_bytes_ -= bytes;
  if (queued_bytes_ < owner().config.write_high_water) congested_since_ = not_congested;
  if (drain_wanted_ && queued_bytes_ <= owner().config.write_high_water / 2) {
    // Back-pressure released: the machine moves more deliveries from the session queue.
    drain_wanted_ = false;
    congested_since_ = not_congested;
    wake();
  }
  if (!queue_.empty()) {
    write_queued();
  } else if (close_requested_) {
    close_transport();
  }
}
}  // namespace acemq::net::detail
