#pragma once
// COSE single-recipient messages (RFC 9052): COSE_Sign1 (tag 18), COSE_Mac0 (tag 17) and
// COSE_Encrypt0 (tag 16), with the algorithms of RFC 9053 the project uses. The key decides the
// algorithm: the header's alg must be one the key allows (crypto::check_key_allows).

#include <cstdint>
#include <optional>

#include "acemq/common/bytes.hpp"
#include "acemq/common/random.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/cbor/codec.hpp"
#include "acemq/token/cbor/value.hpp"
#include "acemq/token/crypto/algorithm.hpp"
#include "acemq/token/crypto/key.hpp"
#include "acemq/token/failure.hpp"

namespace acemq::token::cose {

/// Common header parameter labels (RFC 9052 3.1).
enum class header_label : std::int64_t {
  alg = 0x01,
  crit = 0x02,
  content_type = 0x03,
  kid = 0x04,
  iv = 0x05,
  partial_iv = 0x06,
};

/// The CBOR tags of the messages (RFC 9052 2, table 1).
enum class message_type : std::uint64_t {
  encrypt0 = 0x10,
  mac0 = 0x11,
  sign1 = 0x12,
};

/// The CWT CBOR tag (RFC 8392 6).
inline constexpr std::uint64_t cwt_tag = 61;

/// Both header buckets of a message, with the common parameters extracted and checked.
struct headers {
  /// The protected bucket exactly as carried (the bstr content); signatures, MACs and the AEAD
  /// cover these bytes, never a re-encoding.
  byte_vector protected_bytes;
  cbor::value protected_map = cbor::value::map();
  cbor::value unprotected_map = cbor::value::map();

  /// alg (1) and whether it came from the protected bucket.
  std::optional<std::int64_t> alg;
  bool alg_protected = false;
  std::optional<byte_vector> kid;
  std::optional<byte_vector> iv;
  std::optional<byte_vector> partial_iv;
  std::optional<cbor::value> content_type;
};

/// A parsed, not yet verified, message.
struct message {
  message_type type = message_type::sign1;
  bool tagged = false;
  headers header;
  /// Sign1/Mac0: the payload; Encrypt0: the ciphertext (with the AEAD tag).
  byte_vector content;
  /// Sign1: the signature; Mac0: the tag; empty for Encrypt0.
  byte_vector signature_or_tag;
};

/// Parses a COSE message from bytes. A tagged message must carry one of the three tags; an
/// untagged one is accepted only when `untagged_type` says what it is (RFC 9052 2). Unknown
/// critical headers fail with unknown_critical_header; malformed structure with bad_encoding.
result<message, failure> parse(byte_view bytes, std::optional<message_type> untagged_type = {},
                               const cbor::decode_limits& limits = {});
/// The same from an already decoded item (e.g. an Encrypted_COSE_Key inside a CWT cnf).
result<message, failure> parse(const cbor::value& item, std::optional<message_type> untagged_type,
                               const cbor::decode_limits& limits = {});

/// The algorithm the message's alg names, checked against the message type and the key
/// (crypto::check_key_allows). For Sign1 and Mac0 the alg must be protected (RFC 9052 3.1 lets
/// an attacker rewrite the unprotected bucket). algorithm_not_allowed / unsupported_algorithm.
result<crypto::algorithm, failure> checked_algorithm(const message& msg, const crypto::key& key);

/// Verifies a Sign1 or Mac0 message and returns its payload.
result<byte_vector, failure> verify(const message& msg, const crypto::key& key,
                                    byte_view external_aad = {});
/// Decrypts an Encrypt0 message and returns the plaintext.
result<byte_vector, failure> decrypt(const message& msg, const crypto::key& key,
                                     byte_view external_aad = {});
/// verify() for Sign1/Mac0, decrypt() for Encrypt0.
result<byte_vector, failure> open(const message& msg, const crypto::key& key,
                                  byte_view external_aad = {});

/// How to build a message. The algorithm always goes in the protected bucket; the kid (the
/// key's kid unless `kid` is set) and the IV in the unprotected one, as in RFC 8392 appendix A.
struct protect_options {
  std::optional<byte_vector> kid;
  bool omit_kid = false;
  std::optional<cbor::value> content_type;  // content type (3), protected
  byte_view external_aad;  // a view: the bytes must outlive the sign1/mac0/encrypt0 call
  bool tagged = true;
  /// Encrypt0 only: a fixed IV (tests and vectors). Normally drawn from the random source.
  std::optional<byte_vector> iv;
};

/// COSE_Sign1 with EdDSA (Ed25519) or ES256 (and RS256/PS256 where the key is RSA).
result<byte_vector, failure> sign1(crypto::algorithm alg, const crypto::key& key, byte_view payload,
                                   const protect_options& options = {});
/// COSE_Mac0 with HMAC 256/256 or HMAC 256/64 (or HMAC 384/512).
result<byte_vector, failure> mac0(crypto::algorithm alg, const crypto::key& key, byte_view payload,
                                  const protect_options& options = {});
/// COSE_Encrypt0 with A128GCM, A256GCM or AES-CCM-16-64-128; the IV comes from `random`.
result<byte_vector, failure> encrypt0(crypto::algorithm alg, const crypto::key& key,
                                      byte_view plaintext, random_source& random,
                                      const protect_options& options = {});
/// Encrypt0 as a CBOR item (for embedding, e.g. an Encrypted_COSE_Key in a CWT cnf).
result<cbor::value, failure> encrypt0_value(crypto::algorithm alg, const crypto::key& key,
                                            byte_view plaintext, random_source& random,
                                            const protect_options& options = {});

/// The to-be-signed / to-be-MACed / AAD structures of RFC 9052 4.4, 6.3 and 5.3.
byte_vector sig_structure(byte_view protected_bytes, byte_view external_aad, byte_view payload);
byte_vector mac_structure(byte_view protected_bytes, byte_view external_aad, byte_view payload);
byte_vector enc_structure(byte_view protected_bytes, byte_view external_aad);

}  // namespace acemq::token::cose
