#pragma once
// Proof of possession for the ACE MQTT-TLS profile (RFC 9431 2.2.4): the client proves it holds
// the token's `cnf` key by MACing or signing either the TLS exporter value (2.2.4.1) or the
// broker's and its own nonces (2.2.4.2). The key decides the algorithm.

#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/crypto/algorithm.hpp"
#include "acemq/token/crypto/key.hpp"
#include "acemq/token/failure.hpp"

namespace acemq::token::pop {

/// The PoP algorithm a cnf key implies (RFC 9431 2.2.4): HMAC-SHA256 for a symmetric key,
/// Ed25519 for an OKP key, ES256 for a P-256 key. RSA keys are not PoP keys in the profile
/// (bad_key).
result<crypto::algorithm, failure> pop_algorithm(const crypto::key& pop_key);

/// Computes the PoP over `data`: a 32-byte HMAC-SHA256, a 64-byte Ed25519 signature or a
/// 64-byte raw r||s ES256 signature. The key must be private (symmetric secret or key pair).
result<byte_vector, failure> compute_pop(const crypto::key& pop_key, byte_view data);

/// Verifies a PoP value with the token's cnf key. A PoP of the wrong length, a wrong MAC (compared
/// in constant time) or a bad signature -> failure::bad_pop; an unusable key -> bad_key.
result<void, failure> verify_pop(const crypto::key& pop_key, byte_view data, byte_view pop);

}  // namespace acemq::token::pop
