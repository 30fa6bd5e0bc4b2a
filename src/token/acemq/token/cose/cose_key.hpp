#pragma once
// COSE_Key (RFC 9052 7, RFC 9053 7): OKP Ed25519, EC2 P-256 and Symmetric keys, converted to and
// from crypto::key. The COSE kid (2) and alg (3) become the key's kid and algorithm binding.

#include <cstdint>

#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/cbor/codec.hpp"
#include "acemq/token/cbor/value.hpp"
#include "acemq/token/crypto/key.hpp"
#include "acemq/token/failure.hpp"

namespace acemq::token::cose {

/// COSE_Key labels (RFC 9052 7.1, RFC 9053 7.1/7.2/7.3). crv and k share -1 (by key type).
enum class key_label : std::int64_t {
  kty = 0x01,
  kid = 0x02,
  alg = 0x03,
  crv = -0x01,
  x = -0x02,
  y = -0x03,
  d = -0x04,
  k = -0x01,
};

/// Key types (RFC 9053 7).
enum class key_type_id : std::int64_t {
  okp = 0x01,
  ec2 = 0x02,
  symmetric = 0x04,
};

/// Elliptic curves (RFC 9053 7.1).
enum class curve_id : std::int64_t {
  p256 = 0x01,
  ed25519 = 0x06,
};

/// Builds a crypto::key from a COSE_Key map. Malformed or unusable material -> bad_key (or
/// bad_encoding when the item is not a map at all); an alg this library does not implement ->
/// unsupported_algorithm; an alg the key cannot be used with -> bad_key.
result<crypto::key, failure> key_from_cose(const cbor::value& cose_key);
result<crypto::key, failure> key_from_cose(byte_view encoded,
                                           const cbor::decode_limits& limits = {});

/// The COSE_Key map for `k`: the public part only unless `include_private` (symmetric keys are
/// secret by nature and need include_private, else bad_key). RSA keys -> bad_key (no RSA
/// COSE_Key support here).
result<cbor::value, failure> key_to_cose(const crypto::key& k, bool include_private = false);

}  // namespace acemq::token::cose
