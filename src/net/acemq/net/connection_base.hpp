#pragma once
// Internal to the network layer (not a public header): the part of a connection driver that does
// not depend on the stream type - the machine's connection_io, the write queue and its
// back-pressure, close and linger, deadlines. Each transport derives from it.

#include <spdlog/spdlog.h>

#include "acemq/net/transport_core.hpp"

namespace acemq::net::detail {

/// The parts of a connection driver that do not depend on the stream type.
class connection_base : public broker::connection_io,
                        public std::enable_shared_from_this<connection_base> {
 public:
  connection_base(worker& home, const listener_config& listener, const tcp::endpoint& remote)
      : home_(home), listener_(listener), remote_(remote) {}

  virtual void start() = 0;

  /// Hands over the reference a connection registered with the readiness set holds to itself
  /// (the worker is going away); empty for the others.
  virtual std::shared_ptr<connection_base> release_self() { return nullptr; }

  /// Called by the worker's deadline queue once this connection's deadline has passed (the queue
  /// no longer holds it): the machine's timer once it exists, the handshake deadline before.
  void deadline_passed(clock::time_point now) {
    if (finished_) return;
    if (close_requested_) {
      finish();  // the linger of close() ended with bytes still unwritten
    } else if (handler_) {
      handler_->on_timer(now);
    } else {
      handshake_timed_out();
    }
  }

  /// The server is stopping: let the protocol machine say goodbye, or just close.
  void server_shutdown() {
    if (handler_ && !finished_) {
      handler_->shutdown();
    } else {
      finish();
    }
  }

  /// Closes the transport now and tells the machine (once). Idempotent.
  void finish() {
    if (finished_) return;
    finished_ = true;
    clear_deadline();
    close_socket();
    home_.connections.erase(this);
    if (handler_) handler_->on_transport_closed();
    queue_.clear();
    queued_bytes_ = 0;
    owner().connection_finished();
  }

  // broker::connection_io
  void send(broker::outgoing message) override {
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

  void close() override {
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

  void arm_timer(clock::time_point deadline) override {
    if (finished_ || close_requested_) return;
    home_.deadlines.schedule(*this, deadline);
  }

  broker::address_text remote_address() const override { return endpoint_text(remote_); }

  void wake() override {
    // Coalesced: a fan-out that queues many deliveries for this session posts one on_wake().
    // The flag is cleared before on_wake() runs, so deliveries queued during it post again.
    if (wake_pending_.exchange(true, std::memory_order_acq_rel)) return;
    asio::post(home_.io, [self = shared_from_this()] {
      self->wake_pending_.store(false, std::memory_order_release);
      if (self->handler_ && !self->finished_) self->handler_->on_wake();
    });
  }

  void post(std::function<void()> task) override {
    // Tasks (e.g. asynchronous authentication completions) that arrive after the transport has
    // gone are dropped: the machine accepts no calls after on_transport_closed().
    asio::post(home_.io, [self = shared_from_this(), task = std::move(task)] {
      if (!self->finished_) task();
    });
  }

  bool congested() override {
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

  void pause_reading() override { reading_paused_ = true; }

  void resume_reading() override {
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

 protected:
  virtual void close_socket() = 0;
  virtual void close_transport() = 0;
  /// The TLS handshake or WebSocket upgrade did not finish within handshake_timeout (a plain TCP
  /// connection has its machine from the start and never gets here).
  virtual void handshake_timed_out() { finish(); }
  virtual void write_queued() = 0;
  virtual void read_more() = 0;

  void post_finish() {
    asio::post(home_.io, [self = shared_from_this()] { self->finish(); });
  }

  /// Drops this connection's deadline, if any (the machine's on_timer is only ever called for a
  /// deadline the machine set). The queue's reference is released on a later turn: it may be the
  /// last one, and the caller is still running on this object.
  void clear_deadline() {
    if (auto held = home_.deadlines.cancel(*this))
      asio::post(home_.io, [held = std::move(held)] {});
  }

  /// Registers the connection and creates the machine; false if the server is stopping.
  bool attach() {
    if (owner().stopping) {
      finish();
      return false;
    }
    home_.connections.insert(this);
    handler_ = owner().factory(*this, listener_);
    return true;
  }

  /// The worker's read buffer (see worker::read_buffer), sized to read_chunk.
  std::vector<std::uint8_t>& worker_read_buffer() {
    auto& buffer = home_.read_buffer;
    if (buffer.size() != owner().config.read_chunk) buffer.resize(owner().config.read_chunk);
    return buffer;
  }

  void on_read_bytes(const boost::system::error_code& ec, byte_view data) {
    if (finished_) return;
    if (ec) {
      if (ec != asio::error::eof && ec != asio::error::operation_aborted &&
          ec != ssl::error::stream_truncated) {
        spdlog::debug("{}: read: {}", remote_address().view(), ec.message());
      }
      finish();
      return;
    }
    handler_->on_bytes(data);
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

  /// Persistence with durability sync: what the engine recorded (a routed message, a packet
  /// identifier, an inbound QoS 2 id) is committed before any byte that may acknowledge it is
  /// written - one group commit covers every connection waiting. False when the store failed:
  /// the connection closes without acknowledging, so the client retransmits later.
  bool durable_before_write() {
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

  /// Called when a gathered write finished: drops what was written, continues or closes.
  void on_written(const boost::system::error_code& ec, std::size_t items, std::size_t bytes) {
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

  /// Calls `part` with each non-empty buffer of the first `limit` queued items in order (header
  /// bytes, then the payload by reference: fan-out shares it), stopping before an item that
  /// would take the bytes past max_bytes_per_write; returns how many items and bytes those
  /// buffers cover.
  template <typename Part>
  std::pair<std::size_t, std::size_t> for_each_queued(std::size_t limit, Part&& part) const {
    std::size_t items = 0;
    std::size_t bytes = 0;
    for (const auto& queued : queue_.pending()) {
      const broker::outgoing& item = queued.item;
      if (items == limit || (items > 0 && bytes + item.size() > max_bytes_per_write)) break;
      if (!item.bytes.empty()) part(item.bytes);
      if (item.payload && !item.payload->empty()) part(*item.payload);
      bytes += item.size();
      ++items;
    }
    return {items, bytes};
  }

  /// Fills `gather` with buffers for up to max_items_per_write queued items; returns how many
  /// items and bytes those buffers cover.
  std::pair<std::size_t, std::size_t> gather_queued(std::vector<asio::const_buffer>& gather) const {
    gather.clear();
    return for_each_queued(max_items_per_write, [&](const byte_vector& part) {
      gather.emplace_back(asio::buffer(part));
    });
  }

  detail::server_state& owner() const noexcept { return home_.owner; }

  worker& home_;
  const listener_config& listener_;
  /// The peer, in binary (28 bytes; remote_address() writes it out).
  tcp::endpoint remote_;

 private:
  friend class deadline_queue;
  static constexpr std::uint32_t no_deadline_slot = ~std::uint32_t{0};
  /// This connection's place in home_.deadlines (no_deadline_slot: none) and its deadline. A
  /// worker holds at most broker.max_connections (at most 10,000,000) of them: 32 bits suffice.
  std::uint32_t deadline_slot_ = no_deadline_slot;
  clock::time_point deadline_{};

 protected:
  std::unique_ptr<connection_handler> handler_;
  write_queue queue_;
  std::size_t queued_bytes_ = 0;
  std::atomic<bool> wake_pending_{false};
  bool writing_ = false;
  bool close_requested_ = false;
  bool finished_ = false;
  // Back-pressure towards the machine (congested) and from it (pause_reading).
  bool drain_wanted_ = false;
  bool reading_paused_ = false;
  bool read_stalled_ = false;
  /// When the current stretch above the high-water mark began; not_congested when there is none.
  static constexpr std::chrono::steady_clock::time_point not_congested{};
  std::chrono::steady_clock::time_point congested_since_ = not_congested;
};

}  // namespace acemq::net::detail
