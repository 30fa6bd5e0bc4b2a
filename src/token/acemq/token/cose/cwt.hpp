#pragma once
// CBOR Web Tokens (RFC 8392) with the ACE claims (RFC 9200 5.10, RFC 8747 cnf): building the
// claims, protecting them with COSE, and parsing plus verifying/decrypting a token (nested layers
// included). Claim *validation* (exp, aud, scope...) is the caller's: this returns what verified.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "acemq/common/bytes.hpp"
#include "acemq/common/random.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/cbor/codec.hpp"
#include "acemq/token/cbor/value.hpp"
#include "acemq/token/cose/cose_message.hpp"
#include "acemq/token/crypto/key.hpp"
#include "acemq/token/failure.hpp"

namespace acemq::token::cose {

/// Claim keys (RFC 8392 4, RFC 9200 5.10 / table 6, RFC 8747 3.1).
enum class claim_key : std::int64_t {
  iss = 0x01,
  sub = 0x02,
  aud = 0x03,
  exp = 0x04,
  nbf = 0x05,
  iat = 0x06,
  cti = 0x07,
  cnf = 0x08,
  scope = 0x09,
  ace_profile = 0x26,  // 38
  cnonce = 0x27,       // 39
  exi = 0x28,          // 40
};

/// Members of the cnf claim (RFC 8747 3.1).
enum class confirmation_method : std::int64_t {
  cose_key = 0x01,
  encrypted_cose_key = 0x02,
  kid = 0x03,
};

/// ace_profile value of the MQTT-TLS profile. Draft-17 (the text in specs/) leaves the value "to
/// be assigned by IANA"; the IANA "ACE Profiles" registry assigned 3 to mqtt_tls (RFC 9431 9.2),
/// after coap_dtls (1, RFC 9202) and coap_oscore (2, RFC 9203).
inline constexpr std::int64_t ace_profile_mqtt_tls = 3;

/// The proof-of-possession key of a token (RFC 8747 3): exactly one of the three forms.
struct confirmation {
  /// cnf 1: a COSE_Key, kept as the map (see key_from_cose()).
  std::optional<cbor::value> cose_key;
  /// cnf 2: a COSE_Encrypt0 (tagged or not) whose plaintext is a COSE_Key.
  std::optional<cbor::value> encrypted_cose_key;
  /// cnf 3: a key identifier.
  std::optional<byte_vector> kid;
};

/// The claims of one CWT. Unknown claims are kept in `all` (the whole claims map).
struct claims {
  std::optional<std::string> iss;
  std::optional<std::string> sub;
  /// aud: a text string, or (as RFC 9200 allows) an array of them.
  std::vector<std::string> aud;
  /// NumericDates (RFC 8392 2). A floating-point date is rounded towards the stricter side:
  /// exp down, nbf and iat up; non-finite or out-of-range values are bad_encoding.
  std::optional<std::int64_t> exp;
  std::optional<std::int64_t> nbf;
  std::optional<std::int64_t> iat;
  std::optional<byte_vector> cti;
  std::optional<confirmation> cnf;
  /// scope (9): text, bytes or (AIF, RFC 9237) an array; interpreted by the scope module.
  std::optional<cbor::value> scope;
  std::optional<std::int64_t> ace_profile;
  std::optional<byte_vector> cnonce;
  std::optional<std::uint64_t> exi;
  /// The claims map as received (or as built by to_value()).
  cbor::value all = cbor::value::map();
};

/// The claims map for `c` (the typed fields; claims in `c.all` with other keys are kept).
cbor::value to_value(const claims& c);
/// Deterministically encoded claims, the payload of the COSE layer.
byte_vector encode_claims(const claims& c);
/// Reads the typed claims from a claims map. Wrong types -> bad_encoding; a malformed cnf ->
/// bad_cnf.
result<claims, failure> claims_from_value(const cbor::value& map);
result<claims, failure> decode_claims(byte_view encoded, const cbor::decode_limits& limits = {});

/// Prefixes the CWT tag 61 (RFC 8392 6).
byte_vector add_cwt_tag(byte_view message);

/// Finds the key for one COSE layer (by its type, kid and alg), or fails with unknown_key.
using key_lookup = std::function<result<crypto::key, failure>(const message& layer)>;

struct verify_options {
  cbor::decode_limits limits;
  /// COSE layers accepted (RFC 8392 7.2 nesting, e.g. Sign1 inside Encrypt0).
  std::size_t max_layers = 3;
  byte_view external_aad;
  /// When a token is not tagged (16/17/18 or 61), the COSE type it is taken to be.
  std::optional<message_type> untagged_type;
};

struct verified_cwt {
  claims claims_set;
  /// The COSE layers from the outside in (e.g. {encrypt0, sign1} for RFC 8392 A.6).
  std::vector<message_type> layers;
  /// kid of the innermost (signing or MACing) layer, when present.
  std::optional<byte_vector> kid;
};

/// Parses a CWT, verifies or decrypts every layer with the keys `keys` returns, and decodes the
/// claims (RFC 8392 7.2). An Encrypt0 layer under a key shared with the issuer authenticates the
/// token as a MAC would (RFC 8392 A.5); which keys are trusted is the `keys` callback's decision.
result<verified_cwt, failure> verify_cwt(byte_view token, const key_lookup& keys,
                                         const verify_options& options = {});

/// Recovers the COSE_Key of a cnf Encrypted_COSE_Key with the key-encryption key `kek`.
result<crypto::key, failure> decrypt_confirmation_key(const confirmation& cnf,
                                                      const crypto::key& kek,
                                                      byte_view external_aad = {},
                                                      const cbor::decode_limits& limits = {});
/// The PoP key of a cnf holding a plain COSE_Key (bad_cnf otherwise).
result<crypto::key, failure> confirmation_key(const confirmation& cnf);

}  // namespace acemq::token::cose
