#pragma once
// Checking the broker against `rs_cnf` (RFC 9201 5, RFC 9431 2.2.1): when the AS tells the client
// the broker's public key, the TLS server certificate must carry that key. This adds to, and does
// not replace, the usual chain and host name verification.

#include <functional>

#include "acemq/common/bytes.hpp"
#include "acemq/token/crypto/key.hpp"

namespace acemq::ace_client {

/// True when the DER certificate's SubjectPublicKeyInfo holds the same key as `rs_cnf_key`
/// (Ed25519, P-256 or RSA). A certificate that does not parse, or has another key, is false.
bool certificate_matches(byte_view leaf_certificate_der, const token::crypto::key& rs_cnf_key);

/// A client::tls_options::pin function for `rs_cnf_key`.
std::function<bool(byte_view)> rs_cnf_pin(token::crypto::key rs_cnf_key);

}  // namespace acemq::ace_client
