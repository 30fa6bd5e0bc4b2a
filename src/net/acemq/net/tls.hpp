#pragma once
// TLS through OpenSSL 3: the server context of a listener, the post-handshake policy check, and
// the tls_facts the authentication providers read (exporter, peer certificate, PSK identity).
// Plain OpenSSL, no Asio, so it can be tested without sockets.

#include <openssl/ssl.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/broker/auth.hpp"
#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"
#include "acemq/net/config.hpp"

namespace acemq::net {

struct ssl_context_deleter {
  void operator()(SSL_CTX* context) const noexcept { SSL_CTX_free(context); }
};
using ssl_context_ptr = std::unique_ptr<SSL_CTX, ssl_context_deleter>;

/// Builds the server context of a TLS listener: TLS 1.3 and TLS 1.2 only, the certificate chain
/// and key (checked to match), and client certificate verification per
/// `listener.client_certificates` against `listener.ca`.
result<ssl_context_ptr, std::string> make_server_tls_context(const listener_config& listener);

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
  std::optional<std::string> psk_identity() const override;
  std::string_view protocol() const override;

  /// Largest exporter output handed out; larger requests fail instead of allocating.
  static constexpr std::size_t max_exporter_length = 1024;

 private:
  SSL* session_;
  std::string protocol_;
};

}  // namespace acemq::net
