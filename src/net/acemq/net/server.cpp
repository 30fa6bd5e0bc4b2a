#include "acemq/net/server.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <optional>
#include <span>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>

#include "acemq/common/rate_limiter.hpp"
#include "acemq/net/tls.hpp"

namespace acemq::net {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = asio::ip::tcp;
/// Sockets and timers bound to the io_context's own executor type rather than the polymorphic
/// any_io_executor: 48 bytes less per socket, 48 per timer and less in every pending operation,
/// which is most of what an idle connection costs.
using io_executor = asio::io_context::executor_type;
using tcp_socket = asio::basic_stream_socket<tcp, io_executor>;
using steady_timer =
    asio::basic_waitable_timer<std::chrono::steady_clock,
                               asio::wait_traits<std::chrono::steady_clock>, io_executor>;
using tls_stream = ssl::stream<tcp_socket>;

/// Most queued items gathered into one write; bounds the iovec array (IOV_MAX is 1024 on Linux).
constexpr std::size_t max_items_per_write = 256;
/// Bytes past which no further queued item joins a write. One item (a packet, at most 256 MiB
/// and its header) always goes: a write covers less than 1.3 GiB, so 32 bits count it.
constexpr std::size_t max_bytes_per_write = 1024 * 1024 * 1024;
/// TLS records are at most 16 KiB of plaintext; stage up to four records per SSL_write batch.
constexpr std::size_t tls_staging_limit = 64 * 1024;
/// Connections served at once by all http listeners together (a scrape needs one); more are
/// closed at accept.
constexpr std::size_t max_http_connections = 64;
/// MQTT 5.0 section 6: the WebSocket subprotocol; MQTT 3.1 clients still offer "mqttv3.1".
constexpr std::string_view mqtt_subprotocol = "mqtt";
constexpr std::string_view legacy_mqtt_subprotocol = "mqttv3.1";

class connection_base;
class tcp_connection;

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

/// The packets a connection has handed to the transport and not yet written, with when each was
/// handed over (for the write latency histogram). A vector consumed from a moving head (std::deque
/// allocates a block up front). An emptied queue hands its storage to its worker's spares and the
/// next queue to need one takes it from there: an idle connection holds no storage, and a busy
/// one does not allocate per message.
class write_queue {
 public:
  using clock_type = std::chrono::steady_clock;

  struct entry {
    broker::outgoing item;
    clock_type::time_point enqueued_at;
  };

  /// Emptied queues' storage, kept by a worker for reuse. Bounded: at most max_kept vectors of
  /// at most max_capacity entries each (about 100 KiB); storage beyond that is freed.
  class spares {
   public:
    std::vector<entry> take() {
      if (kept_.empty()) return {};
      std::vector<entry> storage = std::move(kept_.back());
      kept_.pop_back();
      return storage;
    }
    void give(std::vector<entry>&& storage) {
      storage.clear();
      if (storage.capacity() == 0 || storage.capacity() > max_capacity) return;
      if (kept_.size() < max_kept) kept_.push_back(std::move(storage));
    }

   private:
    static constexpr std::size_t max_kept = 32;
    static constexpr std::size_t max_capacity = 64;
    std::vector<std::vector<entry>> kept_;
  };

  bool empty() const noexcept { return head_ == entries_.size(); }
  std::size_t size() const noexcept { return entries_.size() - head_; }
  const entry& front() const noexcept { return entries_[head_]; }
  /// The queued packets, oldest first.
  std::span<const entry> pending() const noexcept { return std::span(entries_).subspan(head_); }

  void push_back(broker::outgoing item, clock_type::time_point at, spares& from) {
    if (entries_.capacity() == 0) entries_ = from.take();
    entries_.push_back(entry{std::move(item), at});
  }

  void pop_front(spares& to) {
    entries_[head_].item = broker::outgoing{};  // release the bytes and the shared payload now
    ++head_;
    if (head_ == entries_.size()) {
      head_ = 0;
      to.give(std::exchange(entries_, {}));
    } else if (head_ >= compact_after && head_ * 2 >= entries_.size()) {
      entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  void clear() {
    std::vector<entry>().swap(entries_);
    head_ = 0;
  }

 private:
  static constexpr std::size_t compact_after = 256;

  std::vector<entry> entries_;
  std::size_t head_ = 0;
};

/// The deadlines of one worker's connections (connect and handshake timeouts, keep alive,
/// credential expiry, the end of a throttle): a binary min-heap ordered by deadline, with one Asio
/// timer armed for the earliest. A connection with a deadline costs one heap slot, not a timer
/// object and a pending wait operation of its own. The heap holds each scheduled connection alive
/// until its deadline passes or is cancelled, as a pending timer wait did.
class deadline_queue {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit deadline_queue(asio::io_context& io) : timer_(io) {}

  /// Sets the deadline of `who`, replacing the one it had.
  void schedule(connection_base& who, time_point at);
  /// Removes the deadline of `who`, if it has one, and hands back the reference the queue held
  /// (it may be the last one: the caller decides when to release it).
  std::shared_ptr<connection_base> cancel(connection_base& who);

 private:
  static bool earlier(const connection_base& a, const connection_base& b) noexcept;
  void swap_slots(std::size_t a, std::size_t b) noexcept;
  void sift_up(std::size_t slot) noexcept;
  void sift_down(std::size_t slot) noexcept;
  std::shared_ptr<connection_base> remove_at(std::size_t slot);
  /// Arms the timer for the earliest deadline unless a wait that fires no later is pending.
  void arm();
  /// Calls every connection whose deadline has passed, then re-arms.
  void expired();

  std::vector<std::shared_ptr<connection_base>> heap_;
  steady_timer timer_;
  /// The expiry of the pending wait; empty when none is pending.
  std::optional<time_point> armed_for_;
  /// While expired() runs: the time it calls the due connections for.
  std::optional<time_point> expiring_at_;
};

/// The readiness of one worker's plain TCP sockets. The sockets sit in an epoll set of their
/// own, edge-triggered for input, output and hang-up, each with its connection as the event's
/// pointer; that set's descriptor is the only thing the worker's io_context waits on for them.
/// When it is readable, the ready sockets are fetched with one epoll_wait and their connections
/// are called. A connection costs its kernel registration and nothing here, not an Asio
/// descriptor state and a pending wait operation (about 300 bytes with the allocator's headers,
/// most of an idle connection's cost). See docs/adr/0004-plain-tcp-readiness.md.
///
/// A registered connection holds itself alive and releases itself no earlier than the turn after
/// its socket left the set, so an event fetched in the same batch never reaches a freed one.
/// Touched only on the worker's thread.
class readiness_set {
 public:
  explicit readiness_set(asio::io_context& io);

  /// Registers `socket` for `who` and starts watching the set if it is not watched yet; false
  /// (with errno set) if the kernel refused.
  bool add(int socket, tcp_connection& who);
  /// Unregisters `socket`.
  void remove(int socket) noexcept;

 private:
  /// Waits (through the io_context) until a registered socket is ready.
  void wait();
  /// Fetches the ready sockets and calls their connections.
  void dispatch();

  asio::posix::basic_stream_descriptor<io_executor> watch_;
  std::array<epoll_event, 128> ready_{};
  bool waiting_ = false;
};

/// One I/O thread: its io_context and the connections pinned to it (touched only on it).
struct worker {
  explicit worker(detail::server_state& owner_in) : owner(owner_in) {}
  /// Releases the connections that hold themselves while registered with `readiness`, while
  /// everything they use exists.
  ~worker();
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  /// The server this thread belongs to.
  detail::server_state& owner;
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard{
      asio::make_work_guard(io)};
  /// Open addressing: a pointer in the table per connection, no node of its own.
  boost::unordered_flat_set<connection_base*> connections;
  readiness_set readiness{io};
  /// Destroyed before the io_context: the connections it still holds close their sockets while
  /// the reactor they are registered with exists.
  deadline_queue deadlines{io};
  /// Plain TCP and TLS connections read (TLS: decrypt) into this one buffer once their socket is
  /// readable (the machine consumes or copies the bytes before the next read on this thread), so
  /// an idle connection holds no read buffer of its own.
  std::vector<std::uint8_t> read_buffer;
  /// Scratch for gathering a TCP connection's queued packets into one sendmsg (gathered again
  /// after every wait, so no connection holds a buffer list).
  std::vector<iovec> gather;
  /// Storage of emptied write queues (see write_queue).
  write_queue::spares spare_queues;
};

}  // namespace

struct detail::server_state {
  server_state(server_config config_in, handler_factory factory_in,
               std::function<void(clock::time_point)> tick_in)
      : config(std::move(config_in)), factory(std::move(factory_in)), tick(std::move(tick_in)) {
    const unsigned threads = std::max(1u, config.threads);
    for (unsigned i = 0; i < threads; ++i)
      workers.push_back(std::make_unique<worker>(*this));
  }

  // Explicit order: Asio objects go before their io_context, and the connections (destroyed
  // with the io_contexts' pending handlers) go before the listener settings and TLS contexts
  // they refer to.
  ~server_state() {
    signals.reset();
    grace_timer.reset();
    tick_timer.reset();
    periodic.clear();
    for (auto& listener : listeners) {
      listener->acceptor.reset();
      listener->retry.reset();
    }
    workers.clear();
  }
  server_state(const server_state&) = delete;
  server_state& operator=(const server_state&) = delete;

  struct listener_state {
    listener_config settings;
    std::unique_ptr<tcp::acceptor> acceptor;
    bound_listener bound;
    std::unique_ptr<steady_timer> retry;
    /// Token buckets of listener.connection_rate (one key) and address_connection_rate.
    std::unique_ptr<rate_limiter> connection_rate;
    std::unique_ptr<rate_limiter> address_rate;

    /// The TLS context for new connections; replaced by a reload. Each connection holds the
    /// context it was created with.
    std::shared_ptr<ssl::context> tls() const {
      std::lock_guard lock(tls_mutex);
      return tls_context;
    }
    void set_tls(std::shared_ptr<ssl::context> context) {
      std::lock_guard lock(tls_mutex);
      tls_context = std::move(context);
    }

   private:
    mutable std::mutex tls_mutex;
    std::shared_ptr<ssl::context> tls_context;
  };

  struct periodic_task {
    std::chrono::milliseconds interval;
    std::function<void()> task;
    std::unique_ptr<steady_timer> timer;
  };

  worker& main_worker() { return *workers.front(); }
  worker& next_worker() {
    const std::size_t index = next.fetch_add(1, std::memory_order_relaxed) % workers.size();
    return *workers[index];
  }

  void accept(listener_state& listener);
  void on_accepted(listener_state& listener, worker& home, tcp_socket socket);
  bool admit(listener_state& listener, const tcp::endpoint& remote);
  result<std::shared_ptr<ssl::context>, std::string> make_tls(const listener_config& settings);
  std::vector<std::string> reload_tls(const std::vector<listener_config>& fresh);
  void reload();
  void schedule_periodic(periodic_task& each);
  void begin_stop(std::chrono::milliseconds grace);
  void connection_finished();
  void finish_stop();
  void schedule_tick();
  void wait_signal();

  server_config config;
  handler_factory factory;
  std::function<void(clock::time_point)> tick;
  std::vector<std::unique_ptr<worker>> workers;
  std::vector<std::unique_ptr<listener_state>> listeners;
  std::atomic<std::size_t> next{0};
  server_counters counters;
  std::atomic<bool> stopping{false};
  std::atomic<bool> stopped{false};
  std::unique_ptr<steady_timer> tick_timer;
  std::unique_ptr<steady_timer> grace_timer;
  std::unique_ptr<asio::signal_set> signals;
  clock::time_point next_tick{};
  psk_lookup psk;
  std::function<std::string()> metrics;
  tls_socket_binding bind_tls_socket = attach_socket;
  std::function<server::reload_outcome()> reload_handler;
  std::vector<periodic_task> periodic;
  std::atomic<std::size_t> http_active{0};
};

namespace {

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
/// at once is sent when it reports room, gathered again from the queue.
class tcp_connection final : public connection_base {
 public:
  tcp_connection(worker& home, const listener_config& listener, tcp_socket socket,
                 const tcp::endpoint& remote)
      : connection_base(home, listener, remote) {
    // The descriptor leaves Asio's reactor: the readiness set watches it from now on.
    boost::system::error_code ec;
    fd_ = socket.release(ec);
    if (ec) fd_ = -1;  // the socket closes itself
  }

  ~tcp_connection() override {
    // Reached registered only when the worker goes away (see worker::~worker).
    if (fd_ >= 0) ::close(fd_);
  }

  tcp_connection(const tcp_connection&) = delete;
  tcp_connection& operator=(const tcp_connection&) = delete;

  void start() override {
    if (fd_ < 0) {
      finish();
      return;
    }
    if (!home_.readiness.add(fd_, *this)) {
      spdlog::warn("{}: cannot watch the socket: {}", remote_address().view(),
                   std::error_code(errno, std::generic_category()).message());
      finish();
      return;
    }
    self_ = shared_from_this();
    if (!attach()) return;
    // Bytes may have arrived before the socket was registered.
    readable_ = true;
    read_more();
  }

  const broker::tls_facts* tls() const override { return nullptr; }

  std::shared_ptr<connection_base> release_self() override { return std::move(self_); }

  /// Called by the worker's readiness set with the epoll events of this connection's socket.
  void on_ready(std::uint32_t events) {
    if (finished_) return;
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
      readable_ = true;
      if (read_wanted_ && !read_posted_) read_now();
    }
    if (finished_) return;
    if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0 && write_blocked_) send_batch();
  }

 private:
  void read_more() override {
    read_wanted_ = true;
    if (!readable_ || read_posted_) return;  // the readiness set calls on_ready() when it is
    read_posted_ = true;
    asio::post(home_.io, [self = shared_from_this()] {
      auto& me = static_cast<tcp_connection&>(*self);
      me.read_posted_ = false;
      if (!me.finished_ && me.read_wanted_) me.read_now();
    });
  }

  void read_now() {
    read_wanted_ = false;
    auto& buffer = worker_read_buffer();
    for (;;) {
      const ssize_t got = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (got > 0) {
        const auto size = static_cast<std::size_t>(got);
        // A short read emptied the socket: the next bytes to arrive raise a new edge.
        readable_ = size == buffer.size();
        on_read_bytes({}, byte_view(buffer.data(), size));
        return;
      }
      if (got == 0) {
        on_read_bytes(asio::error::eof, byte_view{});
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        readable_ = false;
        read_wanted_ = true;
        return;
      }
      on_read_bytes(boost::system::error_code(errno, boost::system::system_category()),
                    byte_view{});
      return;
    }
  }

  void write_queued() override {
    if (!durable_before_write()) return;
    writing_ = true;
    batch_sent_ = 0;
    // The batch is what this first gathering covers.
    const auto [items, bytes] = gather_rest(home_.gather, max_items_per_write);
    batch_items_ = static_cast<std::uint32_t>(items);
    batch_bytes_ = static_cast<std::uint32_t>(bytes);
    send_batch(true);
  }

  /// Gathers the unsent rest (past batch_sent_ bytes) of the first `limit` queued items into the
  /// worker's iovec array; returns how many items and bytes those items hold in all.
  std::pair<std::size_t, std::size_t> gather_rest(std::vector<iovec>& gather,
                                                  std::size_t limit) const {
    gather.clear();
    std::size_t skip = batch_sent_;
    return for_each_queued(limit, [&](const byte_vector& part) {
      if (part.size() <= skip) {
        skip -= part.size();
        return;
      }
      // iovec's base is not const; sendmsg only reads it.
      gather.push_back(iovec{const_cast<std::uint8_t*>(part.data()) + skip, part.size() - skip});
      skip = 0;
    });
  }

  /// Sends what the socket takes of the current batch (`gathered`: the worker's iovec array
  /// already holds its unsent rest); the completion is posted (it may call the machine, which
  /// may be the caller), or the rest waits for on_ready() to report room.
  void send_batch(bool gathered = false) {
    write_blocked_ = false;
    auto& gather = home_.gather;
    boost::system::error_code ec;
    while (batch_sent_ < batch_bytes_) {
      if (!gathered) gather_rest(gather, batch_items_);
      gathered = false;
      msghdr message{};
      message.msg_iov = gather.data();
      message.msg_iovlen = gather.size();
      const ssize_t sent = ::sendmsg(fd_, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent > 0) {
        batch_sent_ += static_cast<std::uint32_t>(sent);
        continue;
      }
      if (sent < 0 && errno == EINTR) continue;
      if (sent == 0 || errno == EAGAIN || errno == EWOULDBLOCK) {
        write_blocked_ = true;
        return;
      }
      ec = boost::system::error_code(errno, boost::system::system_category());
      break;
    }
    asio::post(home_.io, [self = shared_from_this(), ec, items = std::size_t{batch_items_},
                          bytes = std::size_t{batch_bytes_}] {
      static_cast<tcp_connection&>(*self).on_written(ec, items, bytes);
    });
  }

  void close_transport() override {
    // FIN after the queued bytes, so the peer reads the final DISCONNECT before the close.
    if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
    finish();
  }

  void close_socket() override {
    if (fd_ < 0) return;
    home_.readiness.remove(fd_);
    ::close(fd_);
    fd_ = -1;
    // The reference may be the last one, and this object is still running (perhaps called from
    // an event batch that holds more events for it): it is released on a later turn.
    if (self_) asio::post(home_.io, [held = std::move(self_)] {});
  }

  /// While the socket is registered: this connection (see readiness_set).
  std::shared_ptr<connection_base> self_;
  int fd_ = -1;
  /// The batch being written: its first batch_items_ queued items, batch_bytes_ bytes in all,
  /// of which batch_sent_ have been sent (max_bytes_per_write keeps them within 32 bits).
  std::uint32_t batch_items_ = 0;
  std::uint32_t batch_bytes_ = 0;
  std::uint32_t batch_sent_ = 0;
  /// The socket may hold unread bytes (no read since it reported input came up short).
  bool readable_ = false;
  /// The connection reads at the socket's next input (read_more() was called since the last
  /// read).
  bool read_wanted_ = false;
  bool read_posted_ = false;
  /// The current batch waits for room in the socket.
  bool write_blocked_ = false;
};

readiness_set::readiness_set(asio::io_context& io) : watch_(io) {
  const int set = ::epoll_create1(EPOLL_CLOEXEC);
  if (set < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  watch_.assign(set);
}

bool readiness_set::add(int socket, tcp_connection& who) {
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.ptr = &who;
  if (::epoll_ctl(watch_.native_handle(), EPOLL_CTL_ADD, socket, &event) != 0) return false;
  if (!waiting_) wait();
  return true;
}

void readiness_set::remove(int socket) noexcept {
  // Closing the descriptor would remove it too, unless another process shares it.
  epoll_event ignored{};
  ::epoll_ctl(watch_.native_handle(), EPOLL_CTL_DEL, socket, &ignored);
}

worker::~worker() {
  std::vector<std::shared_ptr<connection_base>> held;
  for (connection_base* connection : connections) {
    if (auto self = connection->release_self()) held.push_back(std::move(self));
  }
  held.clear();
}

void readiness_set::wait() {
  waiting_ = true;
  watch_.async_wait(asio::posix::descriptor_base::wait_read,
                    [this](const boost::system::error_code& ec) {
                      waiting_ = false;
                      if (!ec) dispatch();
                    });
}

void readiness_set::dispatch() {
  const int count =
      ::epoll_wait(watch_.native_handle(), ready_.data(), static_cast<int>(ready_.size()), 0);
  if (count < 0 && errno != EINTR) {
    spdlog::error("epoll_wait: {}", std::error_code(errno, std::generic_category()).message());
  }
  for (int i = 0; i < count; ++i) {
    // A connection called earlier in this batch may have closed this one: it is still alive
    // (released on a later turn) and ignores the event.
    const epoll_event& event = ready_[static_cast<std::size_t>(i)];
    static_cast<tcp_connection*>(event.data.ptr)->on_ready(event.events);
  }
  if (count == static_cast<int>(ready_.size())) {
    // More may be ready: fetch them after the handlers already queued, without waiting.
    waiting_ = true;
    asio::post(watch_.get_executor(), [this] {
      waiting_ = false;
      dispatch();
    });
    return;
  }
  wait();
}

/// TLS straight over the socket: OpenSSL reads and writes the non-blocking descriptor itself and
/// the connection waits for readiness when it asks to (SSL_ERROR_WANT_READ / WANT_WRITE). No
/// buffer pair sits between OpenSSL and the socket, decrypted bytes land in the worker's read
/// buffer, and OpenSSL releases its record buffers while the connection is idle
/// (SSL_MODE_RELEASE_BUFFERS): an idle TLS connection costs its SSL object, not four 17 KB
/// buffers and a read chunk. OpenSSL encrypts one buffer per SSL_write, so small queued packets
/// are first staged into one contiguous buffer (a few records per write, not one per packet).
class tls_connection final : public connection_base {
 public:
  tls_connection(worker& home, const listener_config& listener,
                 std::shared_ptr<ssl::context> context, tcp_socket socket,
                 const tcp::endpoint& remote)
      : connection_base(home, listener, remote),
        context_(std::move(context)),
        socket_(std::move(socket)) {}

  void start() override {
    if (owner().stopping) {
      finish();
      return;
    }
    boost::system::error_code mode;
    socket_.non_blocking(true, mode);
    ssl_.reset(SSL_new(context_->native_handle()));
    if (mode || !ssl_ || !owner().bind_tls_socket(ssl_.get(), socket_.native_handle())) {
      spdlog::warn("{}: TLS session could not be created", remote_address().view());
      ++owner().counters.tls_handshake_failures;
      finish();
      return;
    }
    SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                 SSL_MODE_RELEASE_BUFFERS);
    SSL_set_accept_state(ssl_.get());
    home_.connections.insert(this);
    home_.deadlines.schedule(*this, std::chrono::steady_clock::now() + listener_.handshake_timeout);
    continue_handshake();
  }

  const broker::tls_facts* tls() const override { return facts_.get(); }

  void handshake_timed_out() override {
    spdlog::info("{}: TLS handshake timed out", remote_address().view());
    ++owner().counters.tls_handshake_failures;
    finish();
  }

 private:
  /// What an SSL_* call that did not complete asks for next.
  enum class outcome : std::uint8_t { want_read, want_write, closed, failed };

  outcome classify(int rc) {
    switch (SSL_get_error(ssl_.get(), rc)) {
      case SSL_ERROR_WANT_READ:
        return outcome::want_read;
      case SSL_ERROR_WANT_WRITE:
        return outcome::want_write;
      case SSL_ERROR_ZERO_RETURN:
        return outcome::closed;
      default:
        return outcome::failed;
    }
  }

  /// The oldest OpenSSL error of this thread as text (and the queue cleared), for the log.
  static std::string ssl_error_text() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "connection closed or reset";
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    return text;
  }

  /// Waits until the socket is readable or writable, then calls `next` on this connection.
  void wait_for(outcome what, void (tls_connection::*next)()) {
    socket_.async_wait(
        what == outcome::want_write ? tcp::socket::wait_write : tcp::socket::wait_read,
        [self = shared_from_this(), next](const boost::system::error_code& ec) {
          auto& me = static_cast<tls_connection&>(*self);
          if (me.finished_) return;
          if (ec) {
            me.finish();
            return;
          }
          (me.*next)();
        });
  }

  void continue_handshake() {
    if (finished_) return;
    ERR_clear_error();
    const int rc = SSL_do_handshake(ssl_.get());
    if (rc == 1) {
      on_handshake();
      return;
    }
    const outcome next = classify(rc);
    if (next == outcome::want_read || next == outcome::want_write) {
      wait_for(next, &tls_connection::continue_handshake);
      return;
    }
    ++owner().counters.tls_handshake_failures;
    spdlog::info("{}: TLS handshake failed: {}", remote_address().view(), ssl_error_text());
    finish();
  }

  void on_handshake() {
    clear_deadline();
    if (auto reason = refusal_reason(ssl_.get())) {
      ++owner().counters.tls_refused_no_ems;
      spdlog::warn("{}: TLS session refused: {}", remote_address().view(), *reason);
      finish();
      return;
    }
    facts_ = std::make_unique<openssl_tls_facts>(ssl_.get());
    home_.connections.erase(this);  // attach() registers it again together with the machine
    if (!attach()) return;
    read_more();
  }

  /// Decrypts what is available into the worker's buffer and hands it to the machine, which
  /// calls read_more() again when it wants more: that call continues this loop instead of
  /// recursing. After a burst of records the rest is posted, so one busy client cannot hold the
  /// worker's other connections back.
  void read_more() override {
    if (in_read_loop_) {
      read_again_ = true;
      return;
    }
    in_read_loop_ = true;
    for (int records = 0;; ++records) {
      read_again_ = false;
      if (finished_) break;
      if (records == max_records_per_turn) {
        asio::post(home_.io, [self = shared_from_this()] {
          static_cast<tls_connection&>(*self).read_more();
        });
        break;
      }
      auto& buffer = worker_read_buffer();
      ERR_clear_error();
      std::size_t size = 0;
      const int rc = SSL_read_ex(ssl_.get(), buffer.data(), buffer.size(), &size);
      if (rc == 1) {
        on_read_bytes({}, byte_view(buffer.data(), size));
        if (!read_again_) break;  // paused, closing or finished: the machine asks again later
        continue;
      }
      const outcome next = classify(rc);
      if (next == outcome::want_read || next == outcome::want_write) {
        wait_for(next, &tls_connection::read_more);
      } else {
        if (next == outcome::failed)
          spdlog::debug("{}: read: {}", remote_address().view(), ssl_error_text());
        finish();
      }
      break;
    }
    in_read_loop_ = false;
  }

  void write_queued() override {
    if (in_write_loop_) {
      // Called by on_written() inside flush_staged(): the loop there writes the next batch.
      write_again_ = true;
      return;
    }
    if (!durable_before_write()) return;
    stage();
    writing_ = true;
    flush_staged();
  }

  /// Writes the staged batch, then the next ones while the socket takes them (on_written() asks
  /// for each through write_queued()); stops when OpenSSL waits for the socket (flush_staged
  /// continues then), the write failed or nothing is left.
  void flush_staged() {
    in_write_loop_ = true;
    while (write_staged()) {
      write_again_ = false;
      on_written({}, write_items_, write_bytes_);
      if (!write_again_ || !durable_before_write()) break;
      stage();
      writing_ = true;
    }
    in_write_loop_ = false;
  }

  /// Chooses the bytes of the next write: one large message from its own buffer, or several
  /// small ones copied into staging_.
  void stage() {
    write_items_ = 0;
    write_bytes_ = 0;
    write_offset_ = 0;
    const auto& first = queue_.front().item;
    const std::size_t first_size = first.size();
    if (first_size >= tls_staging_limit || (queue_.size() == 1 && !first.payload)) {
      write_items_ = 1;
      write_bytes_ = first_size;
      if (first.payload && !first.payload->empty()) {
        staging_.assign(first.bytes.begin(), first.bytes.end());
        staging_.insert(staging_.end(), first.payload->begin(), first.payload->end());
        write_data_ = byte_view(staging_.data(), staging_.size());
      } else {
        write_data_ = byte_view(first.bytes.data(), first.bytes.size());
      }
      return;
    }
    staging_.clear();
    for (const auto& queued : queue_.pending()) {
      const broker::outgoing& item = queued.item;
      const std::size_t size = item.size();
      if (write_items_ > 0 && staging_.size() + size > tls_staging_limit) break;
      staging_.insert(staging_.end(), item.bytes.begin(), item.bytes.end());
      if (item.payload) staging_.insert(staging_.end(), item.payload->begin(), item.payload->end());
      write_bytes_ += size;
      ++write_items_;
    }
    write_data_ = byte_view(staging_.data(), staging_.size());
  }

  /// Writes what stage() chose; true when all of it was written now, false when the rest waits
  /// for the socket or the connection failed.
  bool write_staged() {
    while (write_offset_ < write_data_.size()) {
      ERR_clear_error();
      std::size_t written = 0;
      const int rc = SSL_write_ex(ssl_.get(), write_data_.data() + write_offset_,
                                  write_data_.size() - write_offset_, &written);
      if (rc == 1) {
        write_offset_ += written;
        continue;
      }
      const outcome next = classify(rc);
      if (next == outcome::want_read || next == outcome::want_write) {
        wait_for(next, &tls_connection::flush_staged);
        return false;
      }
      spdlog::debug("{}: write: {}", remote_address().view(), ssl_error_text());
      // Posted like the TCP and WebSocket completions: this write may have started inside the
      // machine (send() from on_bytes or a posted authentication completion), which must not
      // learn that the transport is gone, and reset its session, before that call returns.
      asio::post(home_.io, [self = shared_from_this()] {
        static_cast<tls_connection&>(*self).on_written(asio::error::connection_reset, 0, 0);
      });
      return false;
    }
    return true;
  }

  void close_transport() override {
    // No close_notify exchange: the MQTT DISCONNECT (if any) has been flushed, and waiting for the
    // peer's close_notify would let a silent peer hold the connection open.
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    finish();
  }

  void close_socket() override {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  /// Records decrypted in one turn before the rest of a busy client's input is posted.
  static constexpr int max_records_per_turn = 16;

  std::shared_ptr<ssl::context> context_;  // the context of the listener when accepted
  tcp_socket socket_;
  ssl_ptr ssl_;
  std::unique_ptr<openssl_tls_facts> facts_;  // refers to ssl_: declared after it
  std::vector<std::uint8_t> staging_;
  byte_view write_data_;
  std::size_t write_offset_ = 0;
  std::size_t write_items_ = 0;
  std::size_t write_bytes_ = 0;
  bool in_read_loop_ = false;
  bool read_again_ = false;
  bool in_write_loop_ = false;
  bool write_again_ = false;
};

/// The subprotocol to answer for a Sec-WebSocket-Protocol list: "mqtt" when offered, else
/// "mqttv3.1", else empty (refused).
std::string_view choose_subprotocol(std::string_view offered) {
  bool legacy = false;
  while (!offered.empty()) {
    const auto comma = offered.find(',');
    std::string_view item = offered.substr(0, comma);
    offered = comma == std::string_view::npos ? std::string_view{} : offered.substr(comma + 1);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
      item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
      item.remove_suffix(1);
    if (item == mqtt_subprotocol) return mqtt_subprotocol;
    if (item == legacy_mqtt_subprotocol) legacy = true;
  }
  return legacy ? legacy_mqtt_subprotocol : std::string_view{};
}

/// MQTT over WebSocket (MQTT 5.0 section 6) on plain TCP (`Next` = tcp_socket) or TLS
/// (`Next` = tls_stream): the TLS handshake (wss), the HTTP upgrade on the configured path with
/// the mqtt subprotocol, then binary messages carrying MQTT bytes in any split.
template <typename Next>
class websocket_connection final : public connection_base {
  static constexpr bool secure = std::is_same_v<Next, tls_stream>;

 public:
  template <typename... NextArguments>
  websocket_connection(worker& home, const listener_config& listener,
                       std::shared_ptr<ssl::context> context, const tcp::endpoint& remote,
                       NextArguments&&... next)
      : connection_base(home, listener, remote),
        context_(std::move(context)),
        ws_(std::forward<NextArguments>(next)...),
        http_buffer_(home.owner.config.max_http_header) {}

  void start() override {
    if (owner().stopping) {
      finish();
      return;
    }
    home_.connections.insert(this);
    // One deadline for the TLS handshake and the WebSocket upgrade together.
    home_.deadlines.schedule(*this, std::chrono::steady_clock::now() + listener_.handshake_timeout);
    if constexpr (secure) {
      ws_.next_layer().async_handshake(
          ssl::stream_base::server,
          [self = shared_from_this()](const boost::system::error_code& ec) {
            static_cast<websocket_connection&>(*self).on_tls_handshake(ec);
          });
    } else {
      read_upgrade();
    }
  }

  const broker::tls_facts* tls() const override { return facts_.get(); }

  void handshake_timed_out() override {
    spdlog::info("{}: WebSocket handshake timed out", remote_address().view());
    finish();
  }

 private:
  std::vector<std::uint8_t>& own_read_buffer() {
    if (read_buffer_.empty()) read_buffer_.resize(owner().config.read_chunk);
    return read_buffer_;
  }

  void on_read(const boost::system::error_code& ec, std::size_t size) {
    on_read_bytes(ec, byte_view(read_buffer_.data(), ec ? 0 : size));
  }

  void on_tls_handshake(const boost::system::error_code& ec) {
    if (finished_) return;
    if (ec) {
      ++owner().counters.tls_handshake_failures;
      spdlog::info("{}: TLS handshake failed: {}", remote_address().view(), ec.message());
      finish();
      return;
    }
    if constexpr (secure) {
      if (auto reason = refusal_reason(ws_.next_layer().native_handle())) {
        ++owner().counters.tls_refused_no_ems;
        spdlog::warn("{}: TLS session refused: {}", remote_address().view(), *reason);
        finish();
        return;
      }
      facts_ = std::make_unique<openssl_tls_facts>(ws_.next_layer().native_handle());
    }
    read_upgrade();
  }

  void read_upgrade() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(owner().config.max_http_header));
    parser_->body_limit(0);  // an upgrade request has no body
    http::async_read(ws_.next_layer(), http_buffer_, *parser_,
                     [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                       static_cast<websocket_connection&>(*self).on_upgrade_request(ec);
                     });
  }

  void on_upgrade_request(const boost::system::error_code& ec) {
    if (finished_) return;
    if (ec) {
      spdlog::debug("{}: WebSocket upgrade request: {}", remote_address().view(), ec.message());
      finish();
      return;
    }
    const auto& request = parser_->get();
    std::string_view target(request.target().data(), request.target().size());
    target = target.substr(0, target.find('?'));
    if (!websocket::is_upgrade(request)) {
      refuse(http::status::upgrade_required, "WebSocket upgrade required\n");
      return;
    }
    if (target != listener_.path) {
      refuse(http::status::not_found, "no MQTT WebSocket endpoint at this path\n");
      return;
    }
    const auto offered = request[http::field::sec_websocket_protocol];
    // [MQTT-6.0.0-3] the client offers "mqtt"; [MQTT-6.0.0-4] the server selects it.
    const std::string_view protocol =
        choose_subprotocol(std::string_view(offered.data(), offered.size()));
    if (protocol.empty()) {
      refuse(http::status::bad_request, "Sec-WebSocket-Protocol must offer mqtt\n");
      return;
    }
    ws_.set_option(websocket::stream_base::decorator(
        [chosen = std::string(protocol)](websocket::response_type& response) {
          response.set(http::field::sec_websocket_protocol, chosen);
          response.set(http::field::server, "acemq");
        }));
    ws_.set_option(websocket::stream_base::timeout{
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            listener_.handshake_timeout),
        websocket::stream_base::none(), false});
    // No message larger than the largest MQTT packet is ever buffered whole.
    ws_.read_message_max(owner().config.max_websocket_message);
    ws_.binary(true);
    ws_.async_accept(request,
                     [self = shared_from_this()](const boost::system::error_code& accept_error) {
                       static_cast<websocket_connection&>(*self).on_accepted(accept_error);
                     });
  }

  void refuse(http::status status, std::string body) {
    ++owner().counters.websocket_refused;
    spdlog::info("{}: WebSocket upgrade refused: {}", remote_address().view(),
                 static_cast<unsigned>(status));
    auto response = std::make_shared<http::response<http::string_body>>(status, 11);
    response->set(http::field::server, "acemq");
    response->set(http::field::content_type, "text/plain");
    response->set(http::field::connection, "close");
    response->body() = std::move(body);
    response->prepare_payload();
    http::async_write(
        ws_.next_layer(), *response,
        [self = shared_from_this(), response](const boost::system::error_code&, std::size_t) {
          static_cast<websocket_connection&>(*self).close_transport();
        });
  }

  void on_accepted(const boost::system::error_code& ec) {
    if (finished_) return;
    clear_deadline();
    if (ec) {
      spdlog::info("{}: WebSocket handshake failed: {}", remote_address().view(), ec.message());
      finish();
      return;
    }
    parser_.reset();
    home_.connections.erase(this);  // attach() registers it again together with the machine
    if (!attach()) return;
    read_more();
  }

  void read_more() override {
    ws_.async_read_some(
        asio::buffer(own_read_buffer()),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t size) {
          auto& me = static_cast<websocket_connection&>(*self);
          // [MQTT-6.0.0-1] MQTT travels in binary frames; any other data frame closes.
          if (!ec && size > 0 && !me.ws_.got_binary()) {
            spdlog::info("{}: WebSocket text frame; closing [MQTT-6.0.0-1]",
                         me.remote_address().view());
            me.finish();
            return;
          }
          me.on_read(ec == websocket::error::closed ? asio::error::eof : ec, size);
        });
  }

  void write_queued() override {
    if (!durable_before_write()) return;
    // Plain variables, not a structured binding: clang 14 cannot capture those in the lambda.
    const auto gathered = gather_queued(gather_);
    const std::size_t items = gathered.first;
    const std::size_t bytes = gathered.second;
    writing_ = true;
    // One binary message per batch; MQTT packets may span messages ([MQTT-6.0.0-2]).
    ws_.async_write(gather_, [self = shared_from_this(), items, bytes](
                                 const boost::system::error_code& ec, std::size_t) {
      static_cast<websocket_connection&>(*self).on_written(ec, items, bytes);
    });
  }

  void close_transport() override {
    // As for TLS: the final MQTT packet is flushed; no close handshake a silent peer could stall.
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws_).shutdown(tcp::socket::shutdown_send, ignored);
    finish();
  }

  void close_socket() override {
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws_).close(ignored);
  }

  std::shared_ptr<ssl::context> context_;  // null for ws
  websocket::stream<Next> ws_;
  /// Frames are read into this buffer (allocated at the first read); plain TCP and TLS
  /// connections read into the worker's.
  std::vector<std::uint8_t> read_buffer_;
  beast::flat_buffer http_buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::unique_ptr<openssl_tls_facts> facts_;
  std::vector<asio::const_buffer> gather_;
};

/// Whether an Authorization header value is "Bearer <expected>" (RFC 6750 2.1; the scheme is
/// case-insensitive, RFC 9110 11.1). The tokens are compared as SHA-256 digests with
/// CRYPTO_memcmp, so the time taken tells nothing about the expected token, not even its length.
bool bearer_matches(std::string_view authorization, std::string_view expected) {
  constexpr std::string_view scheme = "bearer ";
  if (authorization.size() <= scheme.size()) return false;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    const char c = authorization[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != scheme[i]) return false;
  }
  const std::string_view presented = authorization.substr(scheme.size());
  std::array<unsigned char, EVP_MAX_MD_SIZE> presented_digest{};
  std::array<unsigned char, EVP_MAX_MD_SIZE> expected_digest{};
  unsigned int size = 0;
  if (EVP_Digest(presented.data(), presented.size(), presented_digest.data(), &size, EVP_sha256(),
                 nullptr) != 1 ||
      EVP_Digest(expected.data(), expected.size(), expected_digest.data(), &size, EVP_sha256(),
                 nullptr) != 1) {
    return false;
  }
  return CRYPTO_memcmp(presented_digest.data(), expected_digest.data(), size) == 0;
}

/// An http listener: GET /metrics (Prometheus text format 0.0.4), keep-alive, one request at a
/// time, each bounded by the header limit and the listener's handshake_timeout.
class http_connection final : public std::enable_shared_from_this<http_connection> {
 public:
  http_connection(detail::server_state& owner, worker& home, const listener_config& listener,
                  tcp_socket socket)
      : owner_(owner),
        listener_(listener),
        socket_(std::move(socket)),
        timer_(home.io),
        buffer_(owner.config.max_http_header) {}
  ~http_connection() { --owner_.http_active; }
  http_connection(const http_connection&) = delete;
  http_connection& operator=(const http_connection&) = delete;

  void start() { read_request(); }

 private:
  void read_request() {
    if (owner_.stopping) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(owner_.config.max_http_header));
    parser_->body_limit(0);
    timer_.expires_after(listener_.handshake_timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->close();
    });
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                       self->on_request(ec);
                     });
  }

  void on_request(const boost::system::error_code& ec) {
    timer_.cancel();
    if (ec) return close();
    ++owner_.counters.http_requests;
    const auto& request = parser_->get();
    std::string_view target(request.target().data(), request.target().size());
    target = target.substr(0, target.find('?'));
    auto response =
        std::make_shared<http::response<http::string_body>>(http::status::ok, request.version());
    response->set(http::field::server, "acemq");
    const std::string& bearer = owner_.config.metrics_bearer_token;
    const auto authorization = request.find(http::field::authorization);
    if (!bearer.empty() && (authorization == request.end() ||
                            !bearer_matches(std::string_view(authorization->value().data(),
                                                             authorization->value().size()),
                                            bearer))) {
      // RFC 6750 3: no credentials -> the challenge alone; wrong ones -> invalid_token (3.1).
      response->result(http::status::unauthorized);
      response->set(http::field::www_authenticate,
                    authorization == request.end()
                        ? R"(Bearer realm="acemq-metrics")"
                        : R"(Bearer realm="acemq-metrics", error="invalid_token")");
      response->set(http::field::content_type, "text/plain");
      response->body() = "unauthorized\n";
    } else if (target != "/metrics" || !owner_.metrics) {
      response->result(http::status::not_found);
      response->set(http::field::content_type, "text/plain");
      response->body() = "not found\n";
    } else if (request.method() != http::verb::get && request.method() != http::verb::head) {
      response->result(http::status::method_not_allowed);
      response->set(http::field::allow, "GET, HEAD");
      response->set(http::field::content_type, "text/plain");
      response->body() = "method not allowed\n";
    } else {
      response->set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      if (request.method() == http::verb::get) response->body() = owner_.metrics();
    }
    response->keep_alive(request.keep_alive());
    response->prepare_payload();
    if (request.method() == http::verb::head) response->body().clear();
    http::async_write(
        socket_, *response,
        [self = shared_from_this(), response](const boost::system::error_code& write, std::size_t) {
          if (write || !response->keep_alive()) return self->close();
          self->read_request();
        });
  }

  void close() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

  detail::server_state& owner_;
  const listener_config& listener_;
  tcp_socket socket_;
  steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
};

}  // namespace

void detail::server_state::accept(listener_state& listener) {
  if (stopping) return;
  // The socket is accepted straight onto the io_context of the worker that will own it.
  worker& target = next_worker();
  listener.acceptor->async_accept(
      target.io,
      [this, &listener, &target](const boost::system::error_code& ec, tcp_socket socket) {
        if (ec == asio::error::operation_aborted || stopping) return;
        if (ec) {
          // EMFILE and friends: back off briefly instead of spinning on the error.
          spdlog::warn("listener {}: accept: {}", listener.settings.name, ec.message());
          listener.retry->expires_after(std::chrono::milliseconds(100));
          listener.retry->async_wait([this, &listener](const boost::system::error_code& wait) {
            if (!wait) accept(listener);
          });
          return;
        }
        on_accepted(listener, target, std::move(socket));
        accept(listener);
      });
}

void detail::server_state::on_accepted(listener_state& listener, worker& home, tcp_socket socket) {
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return;  // already reset by the peer
  if (!admit(listener, remote)) {
    socket.close(ec);
    return;
  }
  if (listener.settings.type == transport::http) {
    if (http_active.fetch_add(1) >= max_http_connections) {
      --http_active;
      socket.close(ec);
      return;
    }
    auto connection =
        std::make_shared<http_connection>(*this, home, listener.settings, std::move(socket));
    asio::post(home.io, [connection] { connection->start(); });
    return;
  }
  if (counters.active.load() >= config.max_connections) {
    ++counters.refused_over_limit;
    spdlog::warn("listener {}: {} refused: {} connections is the limit", listener.settings.name,
                 endpoint_text(remote).view(), config.max_connections);
    socket.close(ec);
    return;
  }
  ++counters.active;
  ++counters.accepted;
  socket.set_option(tcp::no_delay(true), ec);
  std::shared_ptr<connection_base> connection;
  switch (listener.settings.type) {
    case transport::tls:
      connection = std::make_shared<tls_connection>(home, listener.settings, listener.tls(),
                                                    std::move(socket), remote);
      break;
    case transport::ws:
      connection = std::make_shared<websocket_connection<tcp_socket>>(
          home, listener.settings, nullptr, remote, std::move(socket));
      break;
    case transport::wss: {
      auto context = listener.tls();
      connection = std::make_shared<websocket_connection<tls_stream>>(
          home, listener.settings, context, remote, std::move(socket), *context);
      break;
    }
    case transport::tcp:
    case transport::http:
      connection =
          std::make_shared<tcp_connection>(home, listener.settings, std::move(socket), remote);
      break;
  }
  // From here on the connection is only touched on its own thread.
  asio::post(home.io, [connection] { connection->start(); });
}

bool detail::server_state::admit(listener_state& listener, const tcp::endpoint& remote) {
  // Both buckets are checked before either is charged, so a refusal by one does not use up the
  // other. The address bucket is the peer's per_address_key (an IPv6 peer's /64); the log names
  // the peer itself.
  const std::string address = remote.address().to_string();
  const std::string address_key = per_address_key(address);
  if (listener.connection_rate && !listener.connection_rate->allowed("")) {
    ++counters.refused_listener_rate;
    spdlog::debug("listener {}: {} refused: connection rate", listener.settings.name, address);
    return false;
  }
  if (listener.address_rate && !listener.address_rate->allowed(address_key)) {
    ++counters.refused_address_rate;
    spdlog::debug("listener {}: {} refused: connection rate of the address", listener.settings.name,
                  address);
    return false;
  }
  if (listener.connection_rate) listener.connection_rate->take("");
  if (listener.address_rate) listener.address_rate->take(address_key);
  return true;
}

void detail::server_state::connection_finished() {
  const std::size_t remaining = --counters.active;
  if (remaining == 0 && stopping) {
    asio::post(main_worker().io, [this] { finish_stop(); });
  }
}

void detail::server_state::schedule_tick() {
  if (!tick) return;
  next_tick += std::chrono::seconds(1);
  tick_timer->expires_at(next_tick);
  tick_timer->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping) return;
    tick(std::chrono::steady_clock::now());
    schedule_tick();
  });
}

void detail::server_state::begin_stop(std::chrono::milliseconds grace) {
  if (stopping.exchange(true)) return;
  spdlog::info("shutting down: closing listeners and {} connections", counters.active.load());
  for (auto& listener : listeners) {
    boost::system::error_code ignored;
    listener->acceptor->close(ignored);
    listener->retry->cancel();
  }
  if (tick_timer) tick_timer->cancel();
  for (auto& each : periodic) {
    if (each.timer) each.timer->cancel();
  }
  for (auto& each : workers) {
    worker* target = each.get();
    asio::post(target->io, [target] {
      // Copy: shutting a connection down may remove it from the set.
      std::vector<connection_base*> snapshot(target->connections.begin(),
                                             target->connections.end());
      for (auto* connection : snapshot) {
        if (target->connections.count(connection)) connection->server_shutdown();
      }
    });
  }
  if (counters.active.load() == 0) {
    finish_stop();
    return;
  }
  grace_timer->expires_after(grace);
  grace_timer->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped) return;
    spdlog::warn("shutdown: {} connections did not close in time; dropping them",
                 counters.active.load());
    for (auto& each : workers) {
      worker* target = each.get();
      asio::post(target->io, [target] {
        std::vector<connection_base*> snapshot(target->connections.begin(),
                                               target->connections.end());
        for (auto* connection : snapshot)
          connection->finish();
      });
    }
  });
}

void detail::server_state::finish_stop() {
  if (stopped.exchange(true)) return;
  if (grace_timer) grace_timer->cancel();
  if (signals) {
    boost::system::error_code ignored;
    signals->cancel(ignored);
  }
  for (auto& each : workers) {
    each->guard.reset();
    each->io.stop();
  }
}

server::server(server_config config, handler_factory factory,
               std::function<void(clock::time_point)> tick)
    : impl_(std::make_unique<detail::server_state>(std::move(config), std::move(factory),
                                                   std::move(tick))) {
  // spdlog creates its registry at the first log call; create it here, before any I/O thread
  // runs, so that first call is never made by two threads at once.
  spdlog::default_logger_raw();
}

server::~server() = default;

result<void, std::string> server::start() {
  auto& io = impl_->main_worker().io;
  for (const auto& settings : impl_->config.listeners) {
    auto state = std::make_unique<detail::server_state::listener_state>();
    state->settings = settings;
    if (uses_tls(settings.type)) {
      auto context = impl_->make_tls(settings);
      if (!context) return unexpected("listener " + settings.name + ": " + context.error());
      state->set_tls(std::move(*context));
    }
    auto limiter = [](double rate, double burst, std::size_t entries) {
      rate_limit_settings bucket;
      bucket.refill_per_second = rate;
      bucket.burst = burst > 0 ? burst : std::max(1.0, rate);
      bucket.max_entries = entries;
      return std::make_unique<rate_limiter>(system_clock::instance(), bucket);
    };
    if (settings.connection_rate > 0) {
      state->connection_rate = limiter(settings.connection_rate, settings.connection_burst, 1);
    }
    if (settings.address_connection_rate > 0) {
      state->address_rate =
          limiter(settings.address_connection_rate, settings.address_connection_burst,
                  impl_->config.max_tracked_addresses);
    }
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(settings.address, ec);
    if (ec) return unexpected("listener " + settings.name + ": bad address " + settings.address);
    const tcp::endpoint endpoint(address, settings.port);
    auto acceptor = std::make_unique<tcp::acceptor>(io);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && address.is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return unexpected("listener " + settings.name + ": cannot listen on " +
                        std::string(endpoint_text(endpoint).view()) + ": " + ec.message());
    }
    const auto local = acceptor->local_endpoint(ec);
    state->bound = {settings.name, settings.type, settings.address, local.port()};
    state->acceptor = std::move(acceptor);
    state->retry = std::make_unique<steady_timer>(io);
    impl_->listeners.push_back(std::move(state));
  }
  impl_->grace_timer = std::make_unique<steady_timer>(io);
  impl_->tick_timer = std::make_unique<steady_timer>(io);
  for (auto& listener : impl_->listeners)
    impl_->accept(*listener);
  impl_->next_tick = std::chrono::steady_clock::now();
  impl_->schedule_tick();
  for (auto& each : impl_->periodic) {
    each.timer = std::make_unique<steady_timer>(io);
    impl_->schedule_periodic(each);
  }
  return {};
}

void detail::server_state::schedule_periodic(periodic_task& each) {
  each.timer->expires_after(each.interval);
  each.timer->async_wait([this, &each](const boost::system::error_code& ec) {
    if (ec || stopping) return;
    each.task();
    schedule_periodic(each);
  });
}

result<std::shared_ptr<ssl::context>, std::string> detail::server_state::make_tls(
    const listener_config& settings) {
  auto context = make_server_tls_context(settings);
  if (!context) return unexpected(context.error());
  const bool chain_has_ace =
      settings.auth.empty() ||
      std::find(settings.auth.begin(), settings.auth.end(), "ace") != settings.auth.end();
  if (psk && chain_has_ace) {
    if (auto enabled = enable_psk(context->get(), psk); !enabled)
      return unexpected(enabled.error());
  }
  return std::make_shared<ssl::context>(context->release());
}

std::vector<std::string> detail::server_state::reload_tls(
    const std::vector<listener_config>& fresh) {
  std::vector<std::string> problems;
  for (auto& listener : listeners) {
    if (!uses_tls(listener->settings.type)) continue;
    listener_config settings = listener->settings;
    for (const auto& candidate : fresh) {
      if (candidate.name != settings.name) continue;
      settings.certificate = candidate.certificate;
      settings.key = candidate.key;
      settings.ca = candidate.ca;
      settings.client_certificates = candidate.client_certificates;
    }
    auto context = make_tls(settings);
    if (!context) {
      problems.push_back("listener " + settings.name + ": " + context.error() +
                         " (previous certificate kept)");
      continue;
    }
    listener->set_tls(std::move(*context));
    spdlog::info("listener {}: TLS certificate reloaded from {}", settings.name,
                 settings.certificate);
  }
  return problems;
}

void detail::server_state::reload() {
  ++counters.reloads;
  server::reload_outcome outcome;
  if (reload_handler) {
    outcome = reload_handler();
  } else {
    outcome.listeners = config.listeners;
  }
  auto tls_problems = reload_tls(outcome.listeners);
  outcome.problems.insert(outcome.problems.end(), tls_problems.begin(), tls_problems.end());
  for (const auto& problem : outcome.problems) {
    ++counters.reload_failures;
    spdlog::error("reload: {}", problem);
  }
  spdlog::info("reload finished: {} problem(s); {} connections kept", outcome.problems.size(),
               counters.active.load());
}

void server::set_psk_lookup(psk_lookup lookup) {
  impl_->psk = std::move(lookup);
}

void server::set_metrics_source(std::function<std::string()> render) {
  impl_->metrics = std::move(render);
}

void server::set_tls_socket_binding(tls_socket_binding bind) {
  impl_->bind_tls_socket = std::move(bind);
}

void server::set_reload_handler(std::function<reload_outcome()> reload) {
  impl_->reload_handler = std::move(reload);
}

void server::add_periodic(std::chrono::milliseconds interval, std::function<void()> task) {
  impl_->periodic.push_back({interval, std::move(task), nullptr});
}

std::vector<std::string> server::reload_tls(const std::vector<listener_config>& fresh) {
  return impl_->reload_tls(fresh);
}

std::vector<bound_listener> server::listeners() const {
  std::vector<bound_listener> out;
  for (const auto& listener : impl_->listeners)
    out.push_back(listener->bound);
  return out;
}

void detail::server_state::wait_signal() {
  signals->async_wait([this](const boost::system::error_code& ec, int number) {
    if (ec) return;
    if (number == SIGHUP) {
      spdlog::info("SIGHUP received: reloading TLS certificates, log level and auth files");
      reload();
    } else {
      spdlog::info("signal {} received: stopping", number);
      begin_stop(std::chrono::milliseconds(5000));
    }
    wait_signal();
  });
}

void server::handle_signals() {
  impl_->signals =
      std::make_unique<asio::signal_set>(impl_->main_worker().io, SIGINT, SIGTERM, SIGHUP);
  impl_->wait_signal();
}

void server::run() {
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < impl_->workers.size(); ++i) {
    threads.emplace_back([this, i] { impl_->workers[i]->io.run(); });
  }
  impl_->workers.front()->io.run();
  for (auto& thread : threads)
    thread.join();
}

void server::stop(std::chrono::milliseconds grace) {
  asio::post(impl_->main_worker().io, [this, grace] { impl_->begin_stop(grace); });
}

const server_counters& server::counters() const {
  return impl_->counters;
}

}  // namespace acemq::net
