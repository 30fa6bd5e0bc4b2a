#pragma once
// Internal to the network layer (not a public header): the part of a connection driver that does
// not depend on the stream type - the machine's connection_io, the write queue and its
// back-pressure, close and linger, deadlines. Each transport derives from it; the larger
// bodies are in connection_base.cpp.

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
  void deadline_passed(clock::time_point now);

  /// The server is stopping: let the protocol machine say goodbye, or just close.
  void server_shutdown();

  /// Closes the transport now and tells the machine (once). Idempotent.
  void finish();

  // broker::connection_io
  void send(broker::outgoing message) override;

  void close() override;

  void arm_timer(clock::time_point deadline) override {
    if (finished_ || close_requested_) return;
    home_.deadlines.schedule(*this, deadline);
  }

  broker::address_text remote_address() const override { return endpoint_text(remote_); }

  void wake() override;

  void post(std::function<void()> task) override;

  bool congested() override;

  void pause_reading() override { reading_paused_ = true; }

  void resume_reading() override;

 protected:
  virtual void close_socket() = 0;
  virtual void close_transport() = 0;
  /// The TLS handshake or WebSocket upgrade did not finish within handshake_timeout (a plain TCP
  /// connection has its machine from the start and never gets here).
  virtual void handshake_timed_out() { finish(); }
  virtual void write_queued() = 0;
  virtual void read_more() = 0;

  /// Whether the failure-injection seam fails this step (never in production: no seam).
  bool injected_failure(io_step step) const noexcept {
    return owner().faults != nullptr && owner().faults->fails(step);
  }

  /// Runs `call`, a call into the protocol machine (or a task it posted to itself). While one
  /// runs, finish() is posted instead of run: the machine never learns that its transport is
  /// gone inside one of its own calls, whichever transport fails and wherever (the rule every
  /// transport keeps; tests/net/fault_matrix_test.cpp).
  template <typename Call>
  void call_machine(Call&& call) {
    ++machine_calls_;
    call();
    --machine_calls_;
  }

  void post_finish() {
    asio::post(home_.io, [self = shared_from_this()] { self->finish(); });
  }

  /// Drops this connection's deadline, if any (the machine's on_timer is only ever called for a
  /// deadline the machine set). The queue's reference is released on a later turn: it may be the
  /// last one, and the caller is still running on this object.
  void clear_deadline();

  /// Registers the connection and creates the machine; false if the server is stopping.
  bool attach();

  /// The worker's read buffer (see worker::read_buffer), sized to read_chunk.
  std::vector<std::uint8_t>& worker_read_buffer() {
    auto& buffer = home_.read_buffer;
    if (buffer.size() != owner().config.read_chunk) buffer.resize(owner().config.read_chunk);
    return buffer;
  }

  void on_read_bytes(const boost::system::error_code& ec, byte_view data);

  /// Persistence with durability sync: what the engine recorded (a routed message, a packet
  /// identifier, an inbound QoS 2 id) is committed before any byte that may acknowledge it is
  /// written - one group commit covers every connection waiting. False when the store failed:
  /// the connection closes without acknowledging, so the client retransmits later.
  bool durable_before_write();

  /// Called when a gathered write finished: drops what was written, continues or closes.
  void on_written(const boost::system::error_code& ec, std::size_t items, std::size_t bytes);

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
  /// Calls into the machine in progress (see call_machine).
  std::uint8_t machine_calls_ = 0;
  /// When the current stretch above the high-water mark began; not_congested when there is none.
  static constexpr std::chrono::steady_clock::time_point not_congested{};
  std::chrono::steady_clock::time_point congested_since_ = not_congested;
};

}  // namespace acemq::net::detail
