#include "acemq/auth/certificate_provider.hpp"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdexcept>
#include <utility>
#include <vector>

#include "acemq/common/log.hpp"
#include "acemq/common/small_file.hpp"
#include "acemq/common/utf8.hpp"

namespace acemq::auth {

namespace {

struct bio_deleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct x509_deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct crl_deleter {
  void operator()(X509_CRL* crl) const { X509_CRL_free(crl); }
};
struct general_names_deleter {
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;
using x509_ptr = std::unique_ptr<X509, x509_deleter>;
using crl_ptr = std::unique_ptr<X509_CRL, crl_deleter>;

constexpr std::size_t max_pem_file = 64 * 1024 * 1024;
constexpr std::size_t max_identity = 1024;

bio_ptr memory_bio(std::string_view text) {
  if (text.size() > static_cast<std::size_t>(INT32_MAX)) return nullptr;
  return bio_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

x509_ptr parse_certificate(std::string_view pem) {
  auto bio = memory_bio(pem);
  if (!bio) return nullptr;
  return x509_ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

std::optional<std::string> read_file(const std::string& path) {
  auto text = read_small_file(path, max_pem_file);
  if (!text) return std::nullopt;
  return std::move(*text);
}

/// An identity is a user name for the ACL and for logs: printable UTF-8 only.
std::optional<std::string> checked_identity(std::string text) {
  if (text.empty() || text.size() > max_identity || !is_valid_utf8(text)) return std::nullopt;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) return std::nullopt;
  }
  return text;
}

std::optional<std::string> asn1_to_utf8(const ASN1_STRING* value) {
  unsigned char* utf8 = nullptr;
  const int length = ASN1_STRING_to_UTF8(&utf8, value);
  if (length < 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length));
  OPENSSL_free(utf8);
  return checked_identity(std::move(out));
}

}  // namespace

std::optional<certificate_identity_source> parse_identity_source(std::string_view text) {
  if (text == "cn") return certificate_identity_source::subject_common_name;
  if (text == "san_dns") return certificate_identity_source::san_dns;
  if (text == "san_uri") return certificate_identity_source::san_uri;
  if (text == "san_email") return certificate_identity_source::san_email;
  return std::nullopt;
}

std::optional<std::string> certificate_identity(std::string_view certificate_pem,
                                                certificate_identity_source source) {
  const auto cert = parse_certificate(certificate_pem);
  if (!cert) return std::nullopt;
  if (source == certificate_identity_source::subject_common_name) {
    const X509_NAME* subject = X509_get_subject_name(cert.get());
    const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index < 0) return std::nullopt;
    // A subject with two CNs is ambiguous: refuse rather than pick one.
    if (X509_NAME_get_index_by_NID(subject, NID_commonName, index) >= 0) return std::nullopt;
    return asn1_to_utf8(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
  }
  int wanted = GEN_DNS;
  if (source == certificate_identity_source::san_uri) wanted = GEN_URI;
  if (source == certificate_identity_source::san_email) wanted = GEN_EMAIL;
  std::unique_ptr<GENERAL_NAMES, general_names_deleter> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return std::nullopt;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    int type = 0;
    const void* value = GENERAL_NAME_get0_value(name, &type);
    if (type == wanted) return asn1_to_utf8(static_cast<const ASN1_STRING*>(value));
  }
  return std::nullopt;
}

struct revocation_list::impl {
  std::vector<crl_ptr> crls;
};

revocation_list::~revocation_list() = default;

std::size_t revocation_list::size() const noexcept {
  return impl_->crls.size();
}

result<std::shared_ptr<const revocation_list>, std::string> revocation_list::load(
    const std::string& crl_file, const std::string& issuer_file) {
  const auto text = read_file(crl_file);
  if (!text) return unexpected(std::string("cannot read CRL file ") + crl_file);
  std::vector<x509_ptr> issuers;
  if (!issuer_file.empty()) {
    const auto issuer_text = read_file(issuer_file);
    if (!issuer_text) return unexpected(std::string("cannot read CRL issuer file ") + issuer_file);
    auto bio = memory_bio(*issuer_text);
    while (bio) {
      x509_ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
      if (!cert) break;
      issuers.push_back(std::move(cert));
    }
    if (issuers.empty()) return unexpected("no certificate in " + issuer_file);
  }
  std::shared_ptr<revocation_list> list(new revocation_list());
  list->impl_ = std::make_unique<impl>();
  auto bio = memory_bio(*text);
  while (bio) {
    crl_ptr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    if (!crl) break;
    if (!issuers.empty()) {
      bool verified = false;
      for (const auto& issuer : issuers) {
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(issuer.get())) ==
                0 &&
            X509_CRL_verify(crl.get(), X509_get0_pubkey(issuer.get())) == 1) {
          verified = true;
          break;
        }
      }
      if (!verified) return unexpected("a CRL in " + crl_file + " is not signed by its issuer");
    }
    const ASN1_TIME* next_update = X509_CRL_get0_nextUpdate(crl.get());
    if (next_update && X509_cmp_current_time(next_update) < 0) {
      // A stale CRL is still applied: refusing every client would be worse than a late update.
      spdlog::warn("certificate: a CRL in {} is past its nextUpdate", crl_file);
    }
    list->impl_->crls.push_back(std::move(crl));
  }
  if (list->impl_->crls.empty()) return unexpected("no CRL in " + crl_file);
  return std::shared_ptr<const revocation_list>(std::move(list));
}

bool revocation_list::is_revoked(std::string_view certificate_pem) const {
  const auto cert = parse_certificate(certificate_pem);
  if (!cert) return true;
  for (const auto& crl : impl_->crls) {
    // RFC 5280 5.3.3 (indirect CRLs) is not supported: a CRL covers its issuer's certificates.
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_issuer_name(cert.get())) != 0)
      continue;
    X509_REVOKED* revoked = nullptr;
    if (X509_CRL_get0_by_cert(crl.get(), &revoked, cert.get()) == 1) return true;
  }
  return false;
}

certificate_provider::certificate_provider(certificate_provider_settings settings,
                                           std::shared_ptr<const acl_store> acl)
    : settings_(std::move(settings)), acl_(std::move(acl)) {
  if (!settings_.crl_file.empty()) {
    auto loaded = revocation_list::load(settings_.crl_file, settings_.crl_issuer_file);
    if (!loaded) throw std::runtime_error(loaded.error());
    crl_.store(std::move(*loaded));
  }
}

result<void, std::string> certificate_provider::reload_crl() {
  if (settings_.crl_file.empty()) return {};
  auto loaded = revocation_list::load(settings_.crl_file, settings_.crl_issuer_file);
  if (!loaded) return unexpected(loaded.error());
  crl_.store(std::move(*loaded));
  return {};
}

void certificate_provider::start(const broker::authentication_request& request, completion done) {
  // Only CONNECTs that rely on the certificate alone: no Authentication Method and no Password
  // (a password or JWT belongs to the providers that check it).
  if (request.method || request.password || !request.tls) {
    done(broker::auth_step::pass());
    return;
  }
  const auto pem = request.tls->peer_certificate_pem();
  if (!pem) {
    done(broker::auth_step::pass());
    return;
  }
  if (settings_.require_tls13 && request.tls->protocol() != "TLSv1.3") {
    spdlog::info("certificate: {} refused: {} is not TLS 1.3", request.client_id,
                 request.tls->protocol());
    done(broker::auth_step::fail(mqtt::reason_code::not_authorized));
    return;
  }
  if (const auto crl = crl_.load(); crl && crl->is_revoked(*pem)) {
    spdlog::info("certificate: {} refused: certificate revoked", request.client_id);
    done(broker::auth_step::fail(mqtt::reason_code::not_authorized));
    return;
  }
  auto identity = certificate_identity(*pem, settings_.identity);
  if (!identity) {
    spdlog::info("certificate: {} refused: no usable identity in the certificate",
                 request.client_id);
    done(broker::auth_step::fail(mqtt::reason_code::not_authorized));
    return;
  }
  // The certificate identity acts as the user name for the ACL (%u).
  done(broker::auth_step::succeed(std::make_shared<acl_principal>(
      "certificate", *identity, request.client_id, *identity, acl_)));
}

void certificate_provider::continue_auth(const broker::authentication_request&, completion done) {
  done(broker::auth_step::fail(mqtt::reason_code::protocol_error));
}

void certificate_provider::reauthenticate(const broker::authentication_request&, completion done) {
  // MQTT 5.0 4.12.1: no Authentication Method was used, so there is nothing to re-run.
  done(broker::auth_step::fail(mqtt::reason_code::bad_authentication_method));
}

}  // namespace acemq::auth
