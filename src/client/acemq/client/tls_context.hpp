#pragma once
// TLS settings for client connections, loaded once and shared by many connections (loading a CA
// file per connection would dominate a connection-rate measurement).

#include <acemq/common/bytes.hpp>
#include <acemq/common/result.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace acemq::client {

/// Oldest TLS version offered.
enum class tls_version : std::uint8_t {
  tls1_2 = 0x12,
  tls1_3 = 0x13,
};

/// A TLS 1.3 external pre-shared key (RFC 8446 4.2.11, RFC 9258). In the ACE MQTT-TLS profile
/// (RFC 9431 2.2.1, 2.2.3.2) the identity is the access token (or a `cnf` naming its key id) and
/// the key is the token's symmetric proof-of-possession key.
struct external_psk {
  /// Sent in the clear in the ClientHello: 1 to 65535 bytes.
  byte_vector identity;
  /// The secret; never logged. At least 16 bytes.
  byte_vector key;
};

/// How to verify the server and who the client is.
struct tls_options {
  /// PEM trust anchors; empty uses OpenSSL's default verify paths.
  std::string ca_file;
  /// Client certificate chain and key (PEM) for certificate authentication; both or neither.
  std::string certificate_file;
  std::string private_key_file;
  /// Verify the server's chain and name (the name is the connection's server_name or host).
  bool verify_peer = true;
  tls_version minimum_version = tls_version::tls1_2;
  /// Optional pinning: called after verification with the server's leaf certificate (DER);
  /// returning false aborts the connection with tls_error.
  std::function<bool(byte_view leaf_certificate_der)> pin;
  /// When set: TLS 1.3 only, with this PSK (TLS_AES_128_GCM_SHA256, the suite a SHA-256 PSK is
  /// bound to), and no certificate check: the PSK authenticates both sides (RFC 9431 2.2.1), so
  /// ca_file, verify_peer and pin are not used. A handshake the server completes without
  /// accepting the PSK fails with tls_error. Not combinable with a client certificate or a pin.
  std::optional<external_psk> psk;
  /// TLS 1.3 session resumption (RFC 8446 2.2): keep the session tickets servers send (at most
  /// `max_cached_tickets` per server, `max_cached_servers` servers; the oldest go first) and offer
  /// one, once, on the next connection to the same host, port and server name. A resumed handshake
  /// skips the certificate exchange: the server was authenticated when the ticket was issued, and
  /// the pin is checked against the certificate recorded then. TLS 1.2 sessions are never reused
  /// (their exporter values would repeat). Not used with a PSK.
  bool resume_sessions = true;
};

inline constexpr std::size_t max_cached_tickets = 4;
inline constexpr std::size_t max_cached_servers = 256;

/// An OpenSSL client context built from tls_options; immutable once created, thread-safe to share.
class tls_context {
 public:
  /// Loads the files; the error text names the file or setting that failed.
  static result<std::shared_ptr<const tls_context>, std::string> create(tls_options options);

  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  const tls_options& options() const noexcept;

  /// Tickets held for resumption (all servers); for tests and diagnostics.
  std::size_t cached_tickets() const;

  struct impl;
  /// For the connection driver only.
  impl& implementation() const noexcept { return *impl_; }

 private:
  explicit tls_context(std::unique_ptr<impl> implementation);
  std::unique_ptr<impl> impl_;
};

}  // namespace acemq::client
