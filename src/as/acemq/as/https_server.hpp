#pragma once
// The HTTPS transport of acemq-as: Boost.Beast HTTP/1.1 with keep-alive over TLS (Boost.Asio
// SSL). It only moves bytes between sockets and the sans-I/O handler; size limits on headers and
// bodies are enforced here, before anything is buffered beyond them. The only Asio/Beast
// translation unit of the authorization server.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "acemq/as/http.hpp"

namespace acemq::as {

struct https_server_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8443;     // 0 = any free port (tests)
  std::string certificate_file;  // PEM chain
  std::string private_key_file;  // PEM
  /// PEM CA bundle for TLS client certificates (RFC 8705); empty = no client certificates asked.
  std::string client_ca_file;
  std::size_t max_body = 16 * 1024;
  std::size_t max_header = 8 * 1024;
  std::size_t max_connections = 1024;
  /// Connections one remote address (an IPv6 /64: per_address_key) may hold at once;
  /// beyond it a new one is closed at once, so a few hosts cannot take every slot of
  /// max_connections.
  std::size_t max_connections_per_address = 32;
  /// Time from accepting a connection to a finished TLS handshake (a client that sends nothing
  /// holds its slot this long, not idle_timeout).
  std::chrono::seconds handshake_timeout{10};
  std::chrono::seconds idle_timeout{30};
  int threads = 2;
  /// Threads that run requests whose handling may verify a secret (argon2id), off the I/O
  /// threads.
  int workers = 2;
  /// Such requests waiting for a worker; beyond it a request is answered 503 with Retry-After at
  /// once.
  std::size_t max_queued = 64;
};

using request_handler = std::function<http_response(const http_request&)>;
/// Whether a request must run on the worker pool (it may take long); empty = every request.
using request_classifier = std::function<bool(const http_request&)>;

class https_server {
 public:
  /// Throws std::runtime_error on TLS configuration errors (unreadable key/certificate).
  https_server(https_server_options options, request_handler handler,
               request_classifier needs_worker = {});
  ~https_server();
  https_server(const https_server&) = delete;
  https_server& operator=(const https_server&) = delete;

  /// Binds and starts accepting; returns the bound port. Throws on bind errors.
  std::uint16_t start();
  /// Runs the I/O threads until stop() or SIGINT/SIGTERM.
  void run();
  /// Stops accepting and closes connections; safe from any thread.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace acemq::as
