#pragma once
// as_client over HTTPS (Boost.Beast on asio::ssl) with its own I/O thread, so validation never
// blocks a connection thread. One TLS connection per call (calls are rare: key refreshes,
// introspections of reference tokens, one revocation poll per interval), each bounded by a
// timeout and a body size limit. The AS certificate is verified against the configured CA and
// host name; the broker authenticates with HTTP Basic (RFC 7662 2.1, its RS credentials).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "acemq/ace/as_client.hpp"

namespace acemq::ace {

struct https_as_settings {
  /// Base URL of the AS, "https://host[:port]" (no path).
  std::string base_url;
  /// PEM file of the CA that signed the AS certificate; empty = the system trust store.
  std::string ca_file;
  /// This broker's credentials at the AS (resource server id and secret). Never logged.
  std::string client_id;
  std::string client_secret;
  std::string jwks_path = "/jwks";
  std::string introspection_path = "/introspect";
  std::string revocation_list_path = "/trl";
  /// Whole-call deadline (connect, handshake, request, response).
  std::chrono::milliseconds timeout{5000};
  /// Largest response body accepted.
  std::size_t max_body = 1024 * 1024;
};

class https_as_client final : public as_client {
 public:
  /// Starts the I/O thread. Throws std::invalid_argument for a malformed base_url and
  /// std::runtime_error when the TLS context cannot be set up (start-up errors).
  explicit https_as_client(https_as_settings settings);
  /// Stops the thread; calls still in flight complete with as_error::unreachable.
  ~https_as_client() override;
  https_as_client(const https_as_client&) = delete;
  https_as_client& operator=(const https_as_client&) = delete;

  void fetch_jwks(completion done) override;
  void introspect(byte_view token, completion done) override;
  void fetch_revocations(std::int64_t cursor, completion done) override;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace acemq::ace
