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

}  // namespace

result<std::shared_ptr<const tls_context>, std::string> tls_context::create(tls_options options) {
  auto implementation = std::make_unique<impl>();
  SSL_CTX* ctx = implementation->context.native_handle();
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
  implementation->options = std::move(options);
  return std::shared_ptr<const tls_context>(new tls_context(std::move(implementation)));
}

tls_context::tls_context(std::unique_ptr<impl> implementation) : impl_(std::move(implementation)) {}

tls_context::~tls_context() = default;

const tls_options& tls_context::options() const noexcept {
  return impl_->options;
}

}  // namespace acemq::client
