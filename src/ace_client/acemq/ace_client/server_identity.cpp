#include "acemq/ace_client/server_identity.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

namespace acemq::ace_client {

bool certificate_matches(byte_view leaf_certificate_der, const token::crypto::key& rs_cnf_key) {
  if (leaf_certificate_der.empty() || rs_cnf_key.native_handle() == nullptr) return false;
  const unsigned char* cursor = leaf_certificate_der.data();
  std::unique_ptr<X509, decltype(&X509_free)> certificate(
      d2i_X509(nullptr, &cursor, static_cast<long>(leaf_certificate_der.size())), &X509_free);
  // The whole buffer must be one certificate.
  if (!certificate || cursor != leaf_certificate_der.data() + leaf_certificate_der.size()) {
    return false;
  }
  EVP_PKEY* certificate_key = X509_get0_pubkey(certificate.get());
  if (certificate_key == nullptr) return false;
  // RFC 9201 5: rs_cnf is the key the broker proves possession of in the TLS handshake.
  return EVP_PKEY_eq(certificate_key, rs_cnf_key.native_handle()) == 1;
}

std::function<bool(byte_view)> rs_cnf_pin(token::crypto::key rs_cnf_key) {
  return [key = std::move(rs_cnf_key)](byte_view leaf) { return certificate_matches(leaf, key); };
}

}  // namespace acemq::ace_client
