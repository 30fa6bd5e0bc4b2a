#include "acemq/net/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace acemq::net {
namespace {

int socket_of(BIO* bio) {
  return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio)));
}

int socket_bio_write(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  for (;;) {
    const ssize_t sent = ::send(socket_of(bio), data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
    if (sent >= 0) return static_cast<int>(sent);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(bio);
    return -1;
  }
}

int socket_bio_read(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  for (;;) {
    const ssize_t got = ::recv(socket_of(bio), data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
    if (got >= 0) return static_cast<int>(got);  // 0: the peer closed
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_read(bio);
    return -1;
  }
}

long socket_bio_ctrl(BIO*, int command, long, void*) {
  // Nothing is buffered in this BIO: a flush is always complete, every other query is "no".
  return command == BIO_CTRL_FLUSH ? 1 : 0;
}

int socket_bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* socket_bio_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "acemq socket");
    if (made != nullptr) {
      BIO_meth_set_write(made, &socket_bio_write);
      BIO_meth_set_read(made, &socket_bio_read);
      BIO_meth_set_ctrl(made, &socket_bio_ctrl);
      BIO_meth_set_create(made, &socket_bio_create);
    }
    return made;
  }();
  return method;
}

/// The most recent OpenSSL error as text, clearing the queue.
std::string openssl_error() {
  std::string text;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    text = buffer;  // keep the last (most specific) one
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

void free_psk_lookup(void*, void* pointer, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<psk_lookup*>(pointer);
}

void free_identity(void*, void* pointer, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::string*>(pointer);
}

/// ex_data slot of an SSL_CTX holding its psk_lookup (owned, freed with the context).
int psk_lookup_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_psk_lookup);
  return index;
}

/// ex_data slot of an SSL holding the accepted external PSK identity: OpenSSL records the
/// identity only for TLS 1.2 PSKs, not for sessions found by the TLS 1.3 callback.
int psk_identity_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_identity);
  return index;
}

/// The session id context of every server context: resumed sessions and PSKs are only valid on
/// a context that has one when peers are verified.
constexpr unsigned char session_id_context[] = {'a', 'c', 'e', 'm', 'q'};

// RFC 8446 B.4: TLS_AES_128_GCM_SHA256.
constexpr unsigned char tls13_aes_128_gcm_sha256[2] = {0x13, 0x01};

int find_psk_session(SSL* session, const unsigned char* identity, std::size_t length,
                     SSL_SESSION** found) {
  *found = nullptr;  // returning 1 without a session: continue without a PSK (certificates)
  const auto* lookup = static_cast<const psk_lookup*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(session), psk_lookup_index()));
  if (lookup == nullptr || !*lookup || length == 0 || length > max_psk_identity) return 1;
  const std::string name(reinterpret_cast<const char*>(identity), length);
  const std::optional<byte_vector> key = (*lookup)(name);
  if (!key || key->empty()) return 1;
  const SSL_CIPHER* cipher = SSL_CIPHER_find(session, tls13_aes_128_gcm_sha256);
  if (cipher == nullptr) return 1;
  SSL_SESSION* psk = SSL_SESSION_new();
  if (psk == nullptr) return 0;
  if (SSL_SESSION_set1_master_key(psk, key->data(), key->size()) != 1 ||
      SSL_SESSION_set_cipher(psk, cipher) != 1 ||
      SSL_SESSION_set_protocol_version(psk, TLS1_3_VERSION) != 1) {
    SSL_SESSION_free(psk);
    ERR_clear_error();
    return 1;  // a key OpenSSL cannot use (e.g. longer than 64 bytes): no PSK
  }
  auto* remembered = new std::string(name);
  if (SSL_set_ex_data(session, psk_identity_index(), remembered) != 1) {
    delete remembered;
    SSL_SESSION_free(psk);
    return 0;
  }
  *found = psk;
  return 1;
}

/// The ALPN protocol id of MQTT in the IANA "TLS Application-Layer Protocol Negotiation (ALPN)
/// Protocol IDs" registry.
constexpr unsigned char mqtt_protocol_id[] = {'m', 'q', 't', 't'};

/// RFC 9431 2.2.3: TLS implementations SHOULD use ALPN "so the TLS handshake authenticates as
/// much of the protocol context as possible": "mqtt" is selected when the client offers it. A
/// client that offers no ALPN, or only other protocols, gets no ALPN extension and the handshake
/// goes on; RFC 7301 3.2 would have the server abort the latter with no_application_protocol,
/// docs/adr/0005-alpn-without-a-match.md says why it does not.
int select_mqtt_protocol(SSL*, const unsigned char** selected, unsigned char* selected_length,
                         const unsigned char* offered, unsigned int offered_length, void*) {
  // RFC 7301 3.1: the ProtocolNameList as names of one length byte each (OpenSSL passes it
  // without its two-byte length, after checking that it is well formed; checked again here).
  std::size_t at = 0;
  while (at < offered_length) {
    const std::size_t length = offered[at];
    const std::size_t name_at = at + 1;
    if (length == 0 || name_at + length > offered_length) break;
    if (length == sizeof mqtt_protocol_id &&
        std::memcmp(offered + name_at, mqtt_protocol_id, length) == 0) {
      *selected = mqtt_protocol_id;
      *selected_length = sizeof mqtt_protocol_id;
      return SSL_TLSEXT_ERR_OK;
    }
    at = name_at + length;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

/// Resumption is TLS 1.3 only. A resumed TLS 1.2 session would share the exporter values of the
/// session it resumes (RFC 5705), and the ACE profile binds proofs of possession to them; a TLS 1.3
/// resumption derives a new exporter secret from the new handshake (RFC 8446 7.5). Tickets of
/// other versions are ignored: the client gets a full handshake.
SSL_TICKET_RETURN accept_ticket(SSL*, SSL_SESSION* session, const unsigned char*, std::size_t,
                                SSL_TICKET_STATUS status, void*) {
  switch (status) {
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW:
      break;
    case SSL_TICKET_NONE:
    case SSL_TICKET_EMPTY:
    case SSL_TICKET_NO_DECRYPT:
      return SSL_TICKET_RETURN_IGNORE_RENEW;
    default:
      return SSL_TICKET_RETURN_ABORT;
  }
  if (session == nullptr || SSL_SESSION_get_protocol_version(session) != TLS1_3_VERSION) {
    return SSL_TICKET_RETURN_IGNORE;
  }
  return status == SSL_TICKET_SUCCESS_RENEW ? SSL_TICKET_RETURN_USE_RENEW : SSL_TICKET_RETURN_USE;
}

}  // namespace

result<void, std::string> enable_psk(SSL_CTX* context, psk_lookup lookup) {
  if (!lookup) return unexpected(std::string("no PSK lookup"));
  auto* owned = new psk_lookup(std::move(lookup));
  auto* previous = static_cast<psk_lookup*>(SSL_CTX_get_ex_data(context, psk_lookup_index()));
  if (SSL_CTX_set_ex_data(context, psk_lookup_index(), owned) != 1) {
    delete owned;
    return unexpected("cannot attach the PSK lookup: " + openssl_error());
  }
  delete previous;
  // The PSK is bound to SHA-256, and OpenSSL drops a PSK whose hash differs from the negotiated
  // suite's; with server preference the SHA-256 suites must therefore come first.
  if (SSL_CTX_set_ciphersuites(
          context, "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384") !=
      1) {
    return unexpected("cannot order the TLS 1.3 cipher suites: " + openssl_error());
  }
  // OpenSSL treats a PSK handshake as a resumption, and refuses resumptions on a context that
  // verifies peers without a session id context.
  if (SSL_CTX_set_session_id_context(context, session_id_context, sizeof session_id_context) != 1) {
    return unexpected("cannot set the session id context: " + openssl_error());
  }
  SSL_CTX_set_psk_find_session_callback(context, &find_psk_session);
  return {};
}

result<ssl_context_ptr, std::string> make_server_tls_context(const listener_config& listener) {
  ERR_clear_error();
  ssl_context_ptr context(SSL_CTX_new(TLS_server_method()));
  if (!context) return unexpected("cannot create TLS context: " + openssl_error());
  SSL_CTX* ctx = context.get();
  // TLS 1.2 and 1.3 only; 1.2 sessions are further checked for EMS after the handshake.
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return unexpected("cannot restrict TLS versions: " + openssl_error());
  }
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Partial writes let the driver hand OpenSSL a gathered buffer sequence.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_use_certificate_chain_file(ctx, listener.certificate.c_str()) != 1) {
    return unexpected("certificate " + listener.certificate + ": " + openssl_error());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, listener.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    return unexpected("key " + listener.key + ": " + openssl_error());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return unexpected("key " + listener.key + " does not match certificate " +
                      listener.certificate);
  }
  if (!listener.ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, listener.ca.c_str(), nullptr) != 1) {
      return unexpected("ca " + listener.ca + ": " + openssl_error());
    }
    // Advertise the acceptable issuers in the CertificateRequest.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(listener.ca.c_str())) {
      SSL_CTX_set_client_CA_list(ctx, names);
    }
  }
  switch (listener.client_certificates) {
    case client_certificate_mode::none:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
      break;
    case client_certificate_mode::optional:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      break;
    case client_certificate_mode::required:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  if (listener.type == transport::tls) {
    // RFC 9431 2.2.3: ALPN "mqtt". Not on a WebSocket listener (wss), whose TLS carries HTTP.
    SSL_CTX_set_alpn_select_cb(ctx, &select_mqtt_protocol, nullptr);
  }
  // No server-side session cache: TLS 1.2 session-id resumption stays off.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (listener.session_ticket_lifetime.count() == 0) {
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    return context;
  }
  // TLS 1.3 resumption with stateless tickets (encrypted under keys this context generated at
  // random; a reload makes new ones). One ticket per connection is enough to reconnect once.
  // OpenSSL refuses to resume a session on a context that verifies peers without a session id
  // context; enable_psk sets the same one.
  if (SSL_CTX_set_session_id_context(ctx, session_id_context, sizeof session_id_context) != 1 ||
      SSL_CTX_set_num_tickets(ctx, 1) != 1 ||
      SSL_CTX_set_session_ticket_cb(ctx, nullptr, &accept_ticket, nullptr) != 1) {
    return unexpected("cannot enable session tickets: " + openssl_error());
  }
  SSL_CTX_set_timeout(ctx, static_cast<long>(listener.session_ticket_lifetime.count()));
  return context;
}

bool attach_socket(SSL* session, int descriptor) {
  const BIO_METHOD* method = socket_bio_method();
  if (method == nullptr) return false;
  BIO* bio = BIO_new(method);
  if (bio == nullptr) return false;
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(descriptor)));
  SSL_set_bio(session, bio, bio);  // one reference, owned by the session from here
  return true;
}

std::optional<std::string> refusal_reason(const SSL* session) {
  const int version = SSL_version(session);
  if (version == TLS1_3_VERSION) return std::nullopt;
  if (version == TLS1_2_VERSION) {
    // RFC 7627: without the Extended Master Secret a man in the middle can synchronise two
    // sessions' master secrets, so exporter-based proof of possession would not be unique.
    if (SSL_get_extms_support(const_cast<SSL*>(session)) != 1) {
      return "TLS 1.2 without the Extended Master Secret extension (RFC 7627)";
    }
    return std::nullopt;
  }
  return std::string("protocol ") + SSL_get_version(session) + " is not allowed";
}

openssl_tls_facts::openssl_tls_facts(SSL* session)
    : session_(session), protocol_(SSL_get_version(session)) {}

std::optional<byte_vector> openssl_tls_facts::export_keying_material(std::string_view label,
                                                                     byte_view context,
                                                                     bool use_context,
                                                                     std::size_t length) const {
  if (length == 0 || length > max_exporter_length) return std::nullopt;
  byte_vector out(length);
  const int ok =
      SSL_export_keying_material(session_, out.data(), out.size(), label.data(), label.size(),
                                 context.data(), context.size(), use_context ? 1 : 0);
  if (ok != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> openssl_tls_facts::peer_certificate_pem() const {
  X509* certificate = SSL_get0_peer_certificate(session_);
  if (certificate == nullptr) return std::nullopt;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  if (!bio || PEM_write_bio_X509(bio.get(), certificate) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  if (size <= 0 || data == nullptr) return std::nullopt;
  return std::string(data, static_cast<std::size_t>(size));
}

std::optional<std::string> openssl_tls_facts::peer_subject_common_name() const {
  X509* certificate = SSL_get0_peer_certificate(session_);
  if (certificate == nullptr) return std::nullopt;
  const X509_NAME* subject = X509_get_subject_name(certificate);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return std::nullopt;
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, data);
  if (length < 0) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  return out;
}

std::vector<std::string> openssl_tls_facts::peer_subject_alternative_names() const {
  std::vector<std::string> out;
  X509* certificate = SSL_get0_peer_certificate(session_);
  if (certificate == nullptr) return out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DNS || name->type == GEN_URI) {
      const ASN1_IA5STRING* text =
          name->type == GEN_DNS ? name->d.dNSName : name->d.uniformResourceIdentifier;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                       static_cast<std::size_t>(ASN1_STRING_length(text)));
    } else if (name->type == GEN_IPADD) {
      const unsigned char* raw = ASN1_STRING_get0_data(name->d.iPAddress);
      const int size = ASN1_STRING_length(name->d.iPAddress);
      char buffer[64] = {};
      if (size == 4) {
        std::snprintf(buffer, sizeof buffer, "%u.%u.%u.%u", raw[0], raw[1], raw[2], raw[3]);
        out.emplace_back(buffer);
      } else if (size == 16) {
        std::string text;
        for (int part = 0; part < 8; ++part) {
          std::snprintf(buffer, sizeof buffer, part == 0 ? "%x" : ":%x",
                        (unsigned{raw[2 * part]} << 8) | raw[2 * part + 1]);
          text += buffer;
        }
        out.push_back(std::move(text));
      }
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

std::optional<std::string> openssl_tls_facts::psk_identity() const {
  if (const auto* external =
          static_cast<const std::string*>(SSL_get_ex_data(session_, psk_identity_index()))) {
    return *external;
  }
  const char* identity = SSL_get_psk_identity(session_);
  if (identity == nullptr) return std::nullopt;
  return std::string(identity);
}

std::string_view openssl_tls_facts::protocol() const {
  return protocol_;
}

}  // namespace acemq::net
