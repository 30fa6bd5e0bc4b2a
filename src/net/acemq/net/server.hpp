#pragma once
// The network layer: Boost.Asio listeners (TCP, TLS, WebSocket and secure WebSocket per MQTT 5.0
// section 6, and HTTP for /metrics) and one driver per connection around the sans-I/O protocol
// machine (conventions 1). Asio stays inside the transports' sources (pimpl: transport_core.hpp,
// an internal header), so including this header costs nothing.
//
// Threading: one io_context per thread; each connection is pinned to one of them for its whole
// life, so the protocol machine is only ever called from that thread. Only
// connection_io::wake()/post() cross threads, and they do so by posting to that io_context.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "acemq/broker/broker.hpp"
#include "acemq/broker/connection.hpp"
#include "acemq/common/bytes.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/result.hpp"
#include "acemq/net/io_faults.hpp"
#include "acemq/net/latency_histogram.hpp"
#include "acemq/net/listener_config.hpp"
#include "acemq/net/tls.hpp"

namespace acemq::net {

namespace detail {
struct server_state;  // defined in transport_core.hpp, next to Asio
}

/// The protocol machine as the driver sees it. The production implementation wraps
/// broker::connection (see make_broker_handler_factory); tests plug in small fakes.
class connection_handler {
 public:
  virtual ~connection_handler() = default;
  /// Bytes received, in order, in any split.
  virtual void on_bytes(byte_view data) = 0;
  /// The deadline last given to connection_io::arm_timer() passed.
  virtual void on_timer(clock::time_point now) = 0;
  /// connection_io::wake() was called (from any thread); runs on the connection's thread.
  virtual void on_wake() = 0;
  /// The transport is gone (EOF, error, or the close the machine asked for). Called once.
  virtual void on_transport_closed() = 0;
  /// The server is stopping: say goodbye (MQTT 5: DISCONNECT 0x8B) and close.
  virtual void shutdown() = 0;
};

/// Creates the machine for a new connection once its transport is ready (after the TLS
/// handshake). `io` outlives the handler, and so does the factory: the server destroys every
/// handler before the factory it holds, so a handler may refer to what the factory owns.
using handler_factory = std::function<std::unique_ptr<connection_handler>(
    broker::connection_io& io, const listener_config& listener)>;

/// A listener after binding: the port is the real one (useful when 0 was configured).
struct bound_listener {
  std::string name;
  transport type = transport::tcp;
  std::string address;
  std::uint16_t port = 0;
};

/// Counters of the network layer, readable from any thread.
struct server_counters {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused_over_limit{0};     ///< closed because max_connections was hit
  std::atomic<std::uint64_t> refused_listener_rate{0};  ///< over listener.connection_rate
  std::atomic<std::uint64_t> refused_address_rate{0};   ///< over address_connection_rate
  std::atomic<std::uint64_t> websocket_refused{0};      ///< upgrades refused (path, subprotocol)
  std::atomic<std::uint64_t> http_requests{0};          ///< requests on http listeners
  std::atomic<std::uint64_t> reloads{0};                ///< SIGHUP reloads run
  std::atomic<std::uint64_t> reload_failures{0};        ///< parts of a reload that failed
  /// Outgoing PUBLISH packets: time from connection_io::send() to the completed socket write.
  latency_histogram publish_write_latency;
  std::atomic<std::uint64_t> slow_consumers{0};  ///< disconnected for a full write queue
  std::atomic<std::uint64_t> tls_handshake_failures{0};
  std::atomic<std::uint64_t> tls_refused_no_ems{0};  ///< TLS 1.2 without Extended Master Secret
  std::atomic<std::uint64_t> active{0};
};

/// Listeners, I/O threads and connection drivers.
class server {
 public:
  /// `tick` (optional) is called every second on one I/O thread with the current time; the
  /// broker engine uses it for session expiry, delayed Wills and message expiry.
  server(server_config config, handler_factory factory,
         std::function<void(clock::time_point)> tick = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// TLS 1.3 external PSKs (RFC 9431 2.2.3.2) on every TLS and wss listener whose chain may use
  /// them. Call before start().
  void set_psk_lookup(psk_lookup lookup);

  /// The body of GET /metrics on http listeners (called on an I/O thread per request). Call
  /// before start(); without it http listeners answer 404.
  void set_metrics_source(std::function<std::string()> render);

  /// How an MQTT over TLS connection's SSL session is tied to its socket; attach_socket (tls.hpp)
  /// unless replaced. A seam for tests: a binding that puts a filter BIO in front of the socket
  /// can fail the Nth read or write of the real connection. Call before start().
  void set_tls_socket_binding(tls_socket_binding bind);

  /// Failure injection for tests (io_faults.hpp): every transport asks `faults` before each
  /// socket read, write and handshake step whether it fails. Call before start().
  void set_io_faults(std::shared_ptr<io_faults> faults);

  /// What a SIGHUP reload handler returns: the listener settings to rebuild the TLS contexts from
  /// (certificate, key, CA by listener name) and the parts it could not reload.
  struct reload_outcome {
    std::vector<listener_config> listeners;
    std::vector<std::string> problems;
  };

  /// Called on SIGHUP (on an I/O thread) before the TLS contexts are rebuilt; may reload other
  /// state (log level, auth files). Without it the TLS files are re-read from the same paths.
  /// Call before handle_signals().
  void set_reload_handler(std::function<reload_outcome()> reload);

  /// Calls `task` every `interval` on one I/O thread from start() until stop (e.g. the AS
  /// revocation poll). Call before start().
  void add_periodic(std::chrono::milliseconds interval, std::function<void()> task);

  /// Rebuilds the TLS context of every TLS/wss listener from `fresh` (matched by name; absent
  /// listeners keep their files). New connections get the new certificate; established ones keep
  /// their session. A listener whose files fail to load keeps its previous context; the messages
  /// are returned. Any thread.
  std::vector<std::string> reload_tls(const std::vector<listener_config>& fresh);

  /// Creates the TLS contexts and binds every listener. Errors (a certificate that cannot be
  /// loaded, an address in use) are returned with the listener's name.
  result<void, std::string> start();

  /// The listeners as bound by start().
  std::vector<bound_listener> listeners() const;

  /// Makes SIGTERM and SIGINT call stop(), and SIGHUP run the reload handler and reload_tls()
  /// without dropping connections. Call before run().
  void handle_signals();

  /// Runs the I/O threads (the calling thread is one of them) until stop() has finished.
  void run();

  /// Graceful stop, callable from any thread: stop accepting, ask every connection to shut down
  /// (MQTT 5 clients receive DISCONNECT 0x8B), wait for them to flush and close (at most
  /// `grace`), then make run() return.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

  const server_counters& counters() const;

 private:
  std::unique_ptr<detail::server_state> impl_;
};

/// The authentication chain of a listener; null = the broker's default chain.
using chain_selector =
    std::function<std::shared_ptr<const broker::auth_chain>(const listener_config& listener)>;

/// The publish interceptor of a listener (e.g. RFC 9431 authz-info); null = none.
using interceptor_selector =
    std::function<std::shared_ptr<broker::publish_interceptor>(const listener_config& listener)>;

/// The production factory: one broker::connection per transport connection, with the
/// broker::listener_settings of its listener (its own chain and interceptor when the selectors
/// give them).
/// `shared_broker` must outlive the server.
handler_factory make_broker_handler_factory(broker::broker& shared_broker,
                                            const std::vector<listener_config>& listeners,
                                            const chain_selector& chains = {},
                                            const interceptor_selector& interceptors = {});

}  // namespace acemq::net
