// rs_cnf: the TLS server certificate must hold the key the AS named (RFC 9201 5).
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

#include "acemq/ace_client/server_identity.hpp"

namespace acemq::ace_client {
namespace {

using token::crypto::key;

// A self-signed certificate (DER) over `subject_key`, signed by that key.
byte_vector self_signed(const key& subject_key) {
  std::unique_ptr<X509, decltype(&X509_free)> certificate(X509_new(), &X509_free);
  X509_set_version(certificate.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 3600);
  X509_set_pubkey(certificate.get(), subject_key.native_handle());
  X509_NAME* name = X509_get_subject_name(certificate.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("broker"), -1, -1, 0);
  X509_set_issuer_name(certificate.get(), name);
  const EVP_MD* digest =
      subject_key.type() == token::crypto::key_type::okp_ed25519 ? nullptr : EVP_sha256();
  EXPECT_GT(X509_sign(certificate.get(), subject_key.native_handle(), digest), 0);
  const int size = i2d_X509(certificate.get(), nullptr);
  byte_vector der(static_cast<std::size_t>(size));
  unsigned char* cursor = der.data();
  i2d_X509(certificate.get(), &cursor);
  return der;
}

TEST(certificate_matches, same_key_different_key_and_garbage) {
  for (const key& broker : {key::generate_ed25519(), key::generate_p256()}) {
    const byte_vector der = self_signed(broker);
    EXPECT_TRUE(certificate_matches(der, *broker.public_key()));
    EXPECT_FALSE(certificate_matches(der, *key::generate_ed25519().public_key()));
    EXPECT_FALSE(certificate_matches(der, *key::generate_p256().public_key()));
    EXPECT_TRUE(rs_cnf_pin(*broker.public_key())(der));
    // Truncated or extended DER is not one certificate.
    EXPECT_FALSE(certificate_matches(byte_view(der).first(der.size() - 1), *broker.public_key()));
    byte_vector longer = der;
    longer.push_back(0);
    EXPECT_FALSE(certificate_matches(longer, *broker.public_key()));
  }
  EXPECT_FALSE(certificate_matches({}, *key::generate_ed25519().public_key()));
}

}  // namespace
}  // namespace acemq::ace_client
