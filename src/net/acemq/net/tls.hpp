#pragma once
// TLS through OpenSSL 3: the server context of a listener, the post-handshake policy check, and
// the tls_facts the authentication providers read (exporter, peer certificate, PSK identity).
// Plain OpenSSL, no Asio, so it can be tested without sockets.

#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/broker/auth_provider.hpp"
#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"
#include "acemq/net/listener_config.hpp"

namespace acemq::net {

struct ssl_context_deleter {
  void operator()(SSL_CTX* context) const noexcept { SSL_CTX_free(context); }
};
using ssl_context_ptr = std::unique_ptr<SSL_CTX, ssl_context_deleter>;

struct ssl_deleter {
  void operator()(SSL* session) const noexcept { SSL_free(session); }
};
using ssl_ptr = std::unique_ptr<SSL, ssl_deleter>;

/// Finds the pre-shared key for a TLS 1.3 PSK identity (nullopt: no such identity). Called on the
/// handshake thread, synchronously; it must not block on the network.
using psk_lookup = std::function<std::optional<byte_vector>(std::string_view identity)>;

/// Longest PSK identity handed to the lookup (RFC 8446 4.2.11 allows 2^16-1 bytes; a token used
/// as identity, RFC 9431 2.2.3.2, stays far below this).
inline constexpr std::size_t max_psk_identity = 16 * 1024;

/// Makes the context accept TLS 1.3 external PSKs found by `lookup`
/// (SSL_CTX_set_psk_find_session_callback), with TLS_AES_128_GCM_SHA256 as the PSK's hash
/// (RFC 8446 4.2.11: an external PSK is bound to one hash), so the SHA-256 suites are preferred
/// on this context. Identities the lookup does not know
/// fall back to certificate authentication. The context keeps its own copy of `lookup`.
result<void, std::string> enable_psk(SSL_CTX* context, psk_lookup lookup);

/// Builds the server context of a TLS listener: TLS 1.3 and TLS 1.2 only, the certificate chain
/// and key (checked to match), client certificate verification per
/// `listener.client_certificates` against `listener.ca`, and on an MQTT over TLS listener (not
/// wss) the ALPN protocol "mqtt" when the client offers it (RFC 9431 2.2.3; a client offering
/// none, or only others, continues without ALPN).
result<ssl_context_ptr, std::string> make_server_tls_context(const listener_config& listener);

/// Makes `session` read and write the connected, non-blocking socket `descriptor` directly. Unlike
/// SSL_set_fd, writes never raise SIGPIPE when the peer has gone (send with MSG_NOSIGNAL); a
/// write or read that would block sets OpenSSL's retry flags (SSL_ERROR_WANT_WRITE / WANT_READ).
/// The descriptor stays owned by the caller. False if OpenSSL could not allocate the BIO.
bool attach_socket(SSL* session, int descriptor);

/// What ties a new TLS session to its socket (attach_socket in production).
using tls_socket_binding = std::function<bool(SSL* session, int descriptor)>;

/// Called after a completed handshake: the reason to refuse the session, or nullopt to accept.
/// TLS 1.2 is accepted only with the Extended Master Secret (RFC 7627): without it the exporter
/// values the ACE profile binds tokens to are not unique to the session (RFC 9431 2.2.4.2.2 relies
/// on RFC 5705 keying material; RFC 7627 5.4 / RFC 9266 on why EMS is required).
std::optional<std::string> refusal_reason(const SSL* session);

/// The facts of one established TLS session. Holds the SSL* without owning it; the transport
/// stream owns it and outlives this object.
class openssl_tls_facts final : public broker::tls_facts {
 public:
  explicit openssl_tls_facts(SSL* session);

  /// RFC 5705 exporter. `use_context` is passed through unchanged: RFC 9431 2.2.4.2.2 uses an
  /// EMPTY context with use_context = 1, which differs from "no context" in TLS 1.2.
  std::optional<byte_vector> export_keying_material(std::string_view label, byte_view context,
                                                    bool use_context,
                                                    std::size_t length) const override;
  std::optional<std::string> peer_certificate_pem() const override;
  std::optional<std::string> peer_subject_common_name() const override;
  std::vector<std::string> peer_subject_alternative_names() const override;
  /// The identity of a TLS 1.3 external PSK accepted by enable_psk()'s callback, else OpenSSL's
  /// (TLS 1.2 PSK).
  std::optional<std::string> psk_identity() const override;
  std::string_view protocol() const override;

  /// Largest exporter output handed out; larger requests fail instead of allocating.
  static constexpr std::size_t max_exporter_length = 1024;

 private:
  SSL* session_;
  std::string protocol_;
};

}  // namespace acemq::net
