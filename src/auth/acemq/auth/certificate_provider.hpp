#pragma once
// Client-certificate authentication: the TLS layer has verified the certificate chain against the
// listener's CA; this provider turns the verified certificate into an identity (subject CN or a
// subject alternative name), refuses certificates listed in an optional CRL, and can insist on
// TLS 1.3, where the client certificate travels encrypted (RFC 8446 2: in TLS 1.2 it is sent in
// clear, which identifies the device to any observer, the privacy point of seed 000).

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "acemq/auth/acl.hpp"
#include "acemq/broker/auth_provider.hpp"
#include "acemq/common/result.hpp"

namespace acemq::auth {

/// Where the identity comes from.
enum class certificate_identity_source : std::uint8_t {
  subject_common_name = 0x01,
  san_dns = 0x02,    ///< first dNSName subject alternative name
  san_uri = 0x03,    ///< first uniformResourceIdentifier subject alternative name
  san_email = 0x04,  ///< first rfc822Name subject alternative name
};

/// Parses "cn", "san_dns", "san_uri" or "san_email".
std::optional<certificate_identity_source> parse_identity_source(std::string_view text);

struct certificate_provider_settings {
  certificate_identity_source identity = certificate_identity_source::subject_common_name;
  /// PEM CRL file (may hold several CRLs); empty = no revocation check.
  std::string crl_file;
  /// PEM CA bundle the CRLs must be signed by; empty = the CRL file is trusted as it is (it is a
  /// local file the operator installed).
  std::string crl_issuer_file;
  /// Refuse clients whose TLS session is not TLS 1.3.
  bool require_tls13 = false;
};

/// The certificate revocation lists in force. Immutable; swapped as a whole on reload.
class revocation_list {
 public:
  /// Loads every CRL in a PEM file; when `issuer_file` is not empty each CRL must verify against a
  /// certificate of that bundle whose subject is the CRL's issuer.
  static result<std::shared_ptr<const revocation_list>, std::string> load(
      const std::string& crl_file, const std::string& issuer_file);
  ~revocation_list();
  revocation_list(const revocation_list&) = delete;
  revocation_list& operator=(const revocation_list&) = delete;

  /// Whether the certificate (PEM) is listed by a CRL of its issuer. A certificate that cannot be
  /// parsed counts as revoked (fail closed).
  bool is_revoked(std::string_view certificate_pem) const;
  std::size_t size() const noexcept;

 private:
  revocation_list() = default;
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// The identity a certificate yields under `source`, or nullopt when it has none (or the PEM does
/// not parse). Identities containing control characters or U+0000 are refused.
std::optional<std::string> certificate_identity(std::string_view certificate_pem,
                                                certificate_identity_source source);

class certificate_provider final : public broker::authenticator {
 public:
  /// Throws std::runtime_error when the CRL cannot be loaded (a start-up error).
  certificate_provider(certificate_provider_settings settings,
                       std::shared_ptr<const acl_store> acl);

  std::string_view name() const override { return "certificate"; }
  void start(const broker::authentication_request& request, completion done) override;
  void continue_auth(const broker::authentication_request& request, completion done) override;
  void reauthenticate(const broker::authentication_request& request, completion done) override;

  /// Re-reads the CRL file; on error the CRL in force stays.
  result<void, std::string> reload_crl();

 private:
  certificate_provider_settings settings_;
  std::shared_ptr<const acl_store> acl_;
  std::atomic<std::shared_ptr<const revocation_list>> crl_;
};

}  // namespace acemq::auth
