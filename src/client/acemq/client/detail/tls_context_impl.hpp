#pragma once
// Internal: the Asio SSL context behind tls_context, shared by tls_context.cpp and client.cpp.

#include <acemq/client/tls_context.hpp>

#include <boost/asio/ssl/context.hpp>

#include <deque>
#include <map>
#include <mutex>
#include <string>

namespace acemq::client {

struct ssl_session_deleter {
  void operator()(SSL_SESSION* session) const noexcept { SSL_SESSION_free(session); }
};
using ssl_session_ptr = std::unique_ptr<SSL_SESSION, ssl_session_deleter>;

/// TLS 1.3 session tickets by server ("host:port/server name"), bounded as tls_options says.
/// Each ticket is offered once (RFC 8446 C.4: clients SHOULD NOT reuse a ticket).
class ticket_cache {
 public:
  /// Takes a ticket for `server`, or null.
  ssl_session_ptr take(const std::string& server);
  /// Keeps `session` (a resumable TLS 1.3 session) for `server`.
  void put(const std::string& server, ssl_session_ptr session);
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::deque<ssl_session_ptr>> by_server_;
  std::deque<std::string> servers_;  // the keys of by_server_ in the order first seen
};

struct tls_context::impl {
  // Asio's stream API takes a non-const context; it is only read after creation.
  mutable boost::asio::ssl::context context{boost::asio::ssl::context::tls_client};
  tls_options options;
  mutable ticket_cache tickets;

  /// Before the handshake: names the server the session's tickets belong to and offers a cached
  /// ticket for it. False if OpenSSL refused (the connection then fails).
  bool prepare_resumption(SSL* ssl, const std::string& server) const;
};

}  // namespace acemq::client
