#pragma once
// Internal to the network layer (not a public header): what the transports, the acceptor and the
// workers share. The per-thread worker with its deadline queue, readiness set and write-queue
// spares, the server's state (listeners, counters, stop and reload), and the factories through
// which the acceptor creates a connection of each transport (tcp_transport.cpp,
// tls_transport.cpp, ws_transport.cpp, metrics_listener.cpp).

#include <sys/epoll.h>
#include <sys/uio.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "acemq/common/rate_limiter.hpp"
#include "acemq/net/server.hpp"
#include "acemq/net/tls.hpp"

namespace acemq::net::detail {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
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

class connection_base;
class tcp_connection;

/// "192.0.2.1:50000", "[2001:db8::1]:8883".
broker::address_text endpoint_text(const tcp::endpoint& endpoint);

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

struct server_state {
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
  /// The failure-injection seam (tests only); null in production.
  std::shared_ptr<io_faults> faults;
  std::function<server::reload_outcome()> reload_handler;
  std::vector<periodic_task> periodic;
  std::atomic<std::size_t> http_active{0};
};

/// The size of each transport's connection object, for the memory budget's tests
/// (docs/memory.md); each class lives in its transport's file.
std::size_t tcp_connection_size() noexcept;
std::size_t tls_connection_size() noexcept;
std::size_t websocket_connection_size(bool secure) noexcept;

/// Creates the driver of a plain TCP connection (tcp_transport.cpp).
std::shared_ptr<connection_base> make_tcp_connection(worker& home, const listener_config& listener,
                                                     tcp_socket socket,
                                                     const tcp::endpoint& remote);

/// Creates the driver of an MQTT over TLS connection with the listener's current context
/// (tls_transport.cpp).
std::shared_ptr<connection_base> make_tls_connection(worker& home, const listener_config& listener,
                                                     std::shared_ptr<ssl::context> context,
                                                     tcp_socket socket,
                                                     const tcp::endpoint& remote);

/// Creates the driver of an MQTT over WebSocket connection: plain (ws) when `context` is null,
/// over TLS (wss) otherwise (ws_transport.cpp).
std::shared_ptr<connection_base> make_websocket_connection(worker& home,
                                                           const listener_config& listener,
                                                           std::shared_ptr<ssl::context> context,
                                                           tcp_socket socket,
                                                           const tcp::endpoint& remote);

/// Serves one connection of an http listener (GET /metrics) on `home`'s thread
/// (metrics_listener.cpp). The caller has counted it in owner.http_active.
void start_metrics_connection(server_state& owner, worker& home, const listener_config& listener,
                              tcp_socket socket);

}  // namespace acemq::net::detail
