#pragma once
// Signatures and MACs over byte strings, in the wire forms JOSE and COSE use: raw r||s for ECDSA
// (RFC 7518 3.4, RFC 9053 2.1), raw 64-byte Ed25519 signatures, full-length HMAC tags except for
// the explicitly truncated COSE "HMAC 256/64".

#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/crypto/algorithm.hpp"
#include "acemq/token/crypto/key.hpp"
#include "acemq/token/failure.hpp"

namespace acemq::token::crypto {

/// Signs (or MACs) `data`. The key must allow `alg` (check_key_allows) and be private;
/// otherwise algorithm_not_allowed / bad_key. Non-signature algorithms -> unsupported_algorithm.
result<byte_vector, failure> sign(algorithm alg, const key& signing_key, byte_view data);

/// Verifies a signature or MAC. Fails with algorithm_not_allowed when the key does not allow
/// `alg`, and bad_signature for any signature that does not verify, including one of the wrong
/// length (a DER-encoded ECDSA signature or a truncated MAC is never accepted).
result<void, failure> verify(algorithm alg, const key& verification_key, byte_view data,
                             byte_view signature);

/// The exact signature/tag length for `alg` with `k` (RSA: modulus bytes); 0 if not applicable.
std::size_t signature_size(algorithm alg, const key& k) noexcept;

}  // namespace acemq::token::crypto
