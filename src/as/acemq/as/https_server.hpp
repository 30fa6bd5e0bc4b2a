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
  std::chrono::seconds idle_timeout{30};
  int threads = 2;
};

using request_handler = std::function<http_response(const http_request&)>;

class https_server {
 public:
  /// Throws std::runtime_error on TLS configuration errors (unreadable key/certificate).
  https_server(https_server_options options, request_handler handler);
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
