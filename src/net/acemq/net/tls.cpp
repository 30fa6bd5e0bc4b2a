#include "acemq/net/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>

namespace acemq::net {
namespace {

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

}  // namespace

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
  // Session resumption is disabled: a resumed TLS 1.2 session would share the exporter values of
  // the session it resumes, and tokens are bound to a single session.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  return context;
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
  const char* identity = SSL_get_psk_identity(session_);
  if (identity == nullptr) return std::nullopt;
  return std::string(identity);
}

std::string_view openssl_tls_facts::protocol() const {
  return protocol_;
}

}  // namespace acemq::net
