#include <acemq/client/detail/tls_context_impl.hpp>
#include <acemq/client/tls_context.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <utility>

namespace acemq::client {

namespace {

std::string openssl_error(const std::string& what) {
  const unsigned long code = ERR_get_error();
  if (code == 0) return what;
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return what + ": " + text;
}

// Where a context keeps a pointer to its PSK for the session callback.
int psk_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// RFC 8446 B.4: TLS_AES_128_GCM_SHA256.
constexpr unsigned char psk_cipher_suite[2] = {0x13, 0x01};
constexpr std::size_t min_psk_size = 16;
constexpr std::size_t max_psk_identity_size = 0xFFFF;

// OpenSSL asks for the PSK session before the ClientHello (md null) and again after a
// HelloRetryRequest (md the negotiated hash, which must match the PSK's).
int use_psk_session(SSL* ssl, const EVP_MD* md, const unsigned char** id, std::size_t* id_length,
                    SSL_SESSION** session) {
  *id = nullptr;
  *id_length = 0;
  *session = nullptr;
  const auto* psk =
      static_cast<const external_psk*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), psk_index()));
  if (psk == nullptr) return 1;
  const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, psk_cipher_suite);
  if (cipher == nullptr) return 0;
  if (md != nullptr && md != SSL_CIPHER_get_handshake_digest(cipher)) return 1;
  SSL_SESSION* made = SSL_SESSION_new();
  if (made == nullptr || SSL_SESSION_set1_master_key(made, psk->key.data(), psk->key.size()) != 1 ||
      SSL_SESSION_set_cipher(made, cipher) != 1 ||
      SSL_SESSION_set_protocol_version(made, TLS1_3_VERSION) != 1) {
    SSL_SESSION_free(made);
    return 0;
  }
  *session = made;
  *id = psk->identity.data();
  *id_length = psk->identity.size();
  return 1;
}

result<void, std::string> configure_psk(SSL_CTX* ctx, const tls_options& options) {
  const external_psk& psk = *options.psk;
  if (psk.identity.empty() || psk.identity.size() > max_psk_identity_size) {
    return unexpected{std::string("the PSK identity must be 1 to 65535 bytes")};
  }
  if (psk.key.size() < min_psk_size) {
    return unexpected{std::string("the PSK must be at least 16 bytes")};
  }
  if (!options.certificate_file.empty() || options.pin) {
    return unexpected{std::string("a PSK connection has no certificates to present or pin")};
  }
  // RFC 9431 2.2.1: external PSKs are a TLS 1.3 feature here.
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256") != 1) {
    return unexpected{openssl_error("cannot restrict the context to TLS 1.3 with SHA-256")};
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL_CTX_set_psk_use_session_callback(ctx, use_psk_session);
  return {};
}

// Where a connection's SSL keeps the name of its server (an owned std::string) for the new
// session callback.
void free_server_name(void*, void* pointer, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::string*>(pointer);
}

int server_name_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, &free_server_name);
  return index;
}

// Where a context keeps a pointer to its implementation, for the new session callback.
int implementation_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// OpenSSL hands over each ticket as it arrives (TLS 1.3: after the handshake). The cache keeps a
// copy: OpenSSL marks the connection's own session unresumable when the connection ends without a
// TLS shutdown (a dropped TCP connection, say), which must not cost the client its ticket.
int keep_ticket(SSL* ssl, SSL_SESSION* session) {
  const auto* server = static_cast<const std::string*>(SSL_get_ex_data(ssl, server_name_index()));
  const auto* implementation = static_cast<const tls_context::impl*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), implementation_index()));
  if (server == nullptr || implementation == nullptr ||
      SSL_SESSION_get_protocol_version(session) != TLS1_3_VERSION ||
      SSL_SESSION_is_resumable(session) != 1) {
    return 0;
  }
  ssl_session_ptr copy(SSL_SESSION_dup(session));
  if (copy) implementation->tickets.put(*server, std::move(copy));
  return 0;  // OpenSSL keeps its reference
}

result<void, std::string> enable_resumption(SSL_CTX* ctx, const tls_context::impl* implementation) {
  if (SSL_CTX_set_ex_data(ctx, implementation_index(),
                          const_cast<tls_context::impl*>(implementation)) != 1) {
    return unexpected{openssl_error("cannot attach the ticket cache to the context")};
  }
  // The application keeps the tickets; OpenSSL's own client cache is not used.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &keep_ticket);
  return {};
}

}  // namespace

ssl_session_ptr ticket_cache::take(const std::string& server) {
  std::lock_guard lock(mutex_);
  auto found = by_server_.find(server);
  if (found == by_server_.end() || found->second.empty()) return nullptr;
  // The newest ticket: the server issued it last, so it is least likely to have expired.
  ssl_session_ptr session = std::move(found->second.back());
  found->second.pop_back();
  return session;
}

void ticket_cache::put(const std::string& server, ssl_session_ptr session) {
  std::lock_guard lock(mutex_);
  auto found = by_server_.find(server);
  if (found == by_server_.end()) {
    if (servers_.size() >= max_cached_servers) {
      by_server_.erase(servers_.front());
      servers_.pop_front();
    }
    servers_.push_back(server);
    found = by_server_.emplace(server, std::deque<ssl_session_ptr>{}).first;
  }
  std::deque<ssl_session_ptr>& held = found->second;
  if (held.size() >= max_cached_tickets) held.pop_front();
  held.push_back(std::move(session));
}

std::size_t ticket_cache::size() const {
  std::lock_guard lock(mutex_);
  std::size_t tickets = 0;
  for (const auto& [server, held] : by_server_)
    tickets += held.size();
  return tickets;
}

bool tls_context::impl::prepare_resumption(SSL* ssl, const std::string& server) const {
  if (options.psk || !options.resume_sessions) return true;
  auto* name = new std::string(server);
  if (SSL_set_ex_data(ssl, server_name_index(), name) != 1) {
    delete name;
    return false;
  }
  if (ssl_session_ptr ticket = tickets.take(server)) {
    // SSL_set_session takes its own reference; ours goes with `ticket`. A ticket the server no
    // longer accepts simply leads to a full handshake.
    if (SSL_set_session(ssl, ticket.get()) != 1) return false;
  }
  return true;
}

result<std::shared_ptr<const tls_context>, std::string> tls_context::create(tls_options options) {
  auto implementation = std::make_unique<impl>();
  SSL_CTX* ctx = implementation->context.native_handle();
  if (options.psk) {
    if (auto configured = configure_psk(ctx, options); !configured) {
      return unexpected{std::move(configured.error())};
    }
    options.verify_peer = false;
    implementation->options = std::move(options);
    // The pointer stays valid: the options live in the implementation as long as the context.
    if (SSL_CTX_set_ex_data(ctx, psk_index(), &*implementation->options.psk) != 1) {
      return unexpected{openssl_error("cannot attach the PSK to the context")};
    }
    return std::shared_ptr<const tls_context>(new tls_context(std::move(implementation)));
  }
  const int minimum =
      options.minimum_version == tls_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (SSL_CTX_set_min_proto_version(ctx, minimum) != 1) {
    return unexpected{openssl_error("cannot set the minimum TLS version")};
  }
  if (options.verify_peer) {
    const int loaded = options.ca_file.empty()
                           ? SSL_CTX_set_default_verify_paths(ctx)
                           : SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr);
    if (loaded != 1) return unexpected{openssl_error("cannot load CA file " + options.ca_file)};
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (options.certificate_file.empty() != options.private_key_file.empty()) {
    return unexpected{std::string("a client certificate needs both the certificate and the key")};
  }
  if (!options.certificate_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, options.certificate_file.c_str()) != 1) {
      return unexpected{openssl_error("cannot load certificate " + options.certificate_file)};
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, options.private_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return unexpected{openssl_error("cannot load private key " + options.private_key_file)};
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      return unexpected{openssl_error("the private key does not match the certificate")};
    }
  }
  if (options.resume_sessions) {
    if (auto enabled = enable_resumption(ctx, implementation.get()); !enabled) {
      return unexpected{std::move(enabled.error())};
    }
  }
  implementation->options = std::move(options);
  return std::shared_ptr<const tls_context>(new tls_context(std::move(implementation)));
}

tls_context::tls_context(std::unique_ptr<impl> implementation) : impl_(std::move(implementation)) {}

tls_context::~tls_context() = default;

const tls_options& tls_context::options() const noexcept {
  return impl_->options;
}

std::size_t tls_context::cached_tickets() const {
  return impl_->tickets.size();
}

}  // namespace acemq::client
