#pragma once
// JSON Web Tokens (RFC 7519): claims sets protected by a JWS, or by a JWS nested in a JWE
// ("cty":"JWT", RFC 7519 5.2), and the RFC 7800 "cnf" confirmation members. Claims validation
// (exp, nbf, iat, aud, iss) is done by acemq::token::verify(); this layer establishes who
// signed what and returns the claims as a JSON object.

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "acemq/common/bytes.hpp"
#include "acemq/common/random.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/crypto/algorithm.hpp"
#include "acemq/token/crypto/key.hpp"
#include "acemq/token/failure.hpp"
#include "acemq/token/jose/json.hpp"
#include "acemq/token/jose/jwe.hpp"
#include "acemq/token/jose/jws.hpp"

namespace acemq::token::jose {

/// A JWT whose signature verified (and which decrypted, when it was nested in a JWE).
struct verified_jwt {
  boost::json::object header;  // the JWS header
  boost::json::object claims;
  crypto::algorithm alg;  // the JWS algorithm
  std::optional<std::string> kid = std::nullopt;
  bool was_encrypted = false;  // true when the JWS came out of a JWE
};

/// The keys a JWT may be checked with: issuers' signing keys, and this party's own decryption
/// keys for nested JWTs.
struct jwt_keys {
  std::span<const crypto::key> verification = {};
  std::span<const crypto::key> decryption = {};
};

/// True when the compact serialisation has five parts (a JWE) rather than three (a JWS). Only
/// counts dots; no decoding.
bool looks_like_jwe(std::string_view compact) noexcept;

/// Parses a claims set: a JSON object (RFC 7519 7.2 step 10), else bad_encoding / too_deep.
result<boost::json::object, failure> parse_claims(byte_view payload, const limits& bounds = {});

/// Signs a claims set into a JWS compact JWT; "typ" defaults to "JWT".
result<std::string, failure> sign_jwt(const boost::json::object& claims,
                                      const crypto::key& signing_key,
                                      jws_sign_options options = {});

/// Encrypts a signed JWT to a recipient as a nested JWT ("cty":"JWT").
result<std::string, failure> encrypt_jwt(std::string_view signed_jwt, const crypto::key& recipient,
                                         jwe_encrypt_options options, random_source& random);

/// Verifies a JWT: a JWS checked with keys.verification, or a JWE decrypted with
/// keys.decryption whose content is a nested JWS ("cty":"JWT", case-insensitive) checked with
/// keys.verification. A JWE that does not carry a nested JWS is refused with alg_none: the claims
/// would carry no issuer signature. Errors are those of verify_jws / decrypt_jwe.
result<verified_jwt, failure> verify_jwt(std::string_view token, const jwt_keys& keys,
                                         const limits& bounds = {});

/// RFC 7800 "cnf": exactly one of "jwk" (a public key), "jwe" (an encrypted JWK, usually a
/// symmetric PoP key, RFC 7800 3.3) or "kid".
struct confirmation {
  std::optional<crypto::key> jwk = std::nullopt;
  std::optional<std::string> jwe = std::nullopt;
  std::optional<std::string> kid = std::nullopt;
};

/// Where a "cnf" was read, which decides whether a symmetric key may appear in the clear.
enum class cnf_origin : std::uint8_t {
  /// A self-contained JWT, readable by whoever holds it: a "jwk" must be a public key, a
  /// symmetric key comes only as a "jwe" (RFC 9431 2.1, RFC 7800 3.3).
  jwt = 0x00,
  /// An introspection response (RFC 7662), received over the authenticated and confidential
  /// channel to the AS (RFC 9431 2): a "jwk" may also be a symmetric key (RFC 7800 3.2, the
  /// symmetric COSE_Key of RFC 9200 5.9.2 Figure 10). An asymmetric "jwk" is still public only.
  introspection = 0x01,
};

/// Reads "cnf" from a claims set: absent -> missing_cnf; not an object, not exactly one known
/// method, or an unusable key (a "jwk" with private members, a symmetric "jwk" in the clear from
/// a JWT) -> bad_cnf.
result<confirmation, failure> parse_cnf(const boost::json::object& claims,
                                        cnf_origin origin = cnf_origin::jwt);

/// Decrypts a cnf "jwe" into its key with this party's decryption key. Any failure -> bad_cnf.
result<crypto::key, failure> decrypt_cnf_key(std::string_view jwe,
                                             const crypto::key& decryption_key,
                                             const limits& bounds = {});

/// {"jwk": <public JWK of k>}; bad_key for symmetric keys (those must be encrypted).
result<boost::json::object, failure> make_cnf_jwk(const crypto::key& k);
/// {"jwe": <k as a JWK, encrypted to recipient>} (RFC 7800 3.3, RFC 9431 2.1).
result<boost::json::object, failure> make_cnf_jwe(const crypto::key& k,
                                                  const crypto::key& recipient,
                                                  const jwe_encrypt_options& options,
                                                  random_source& random);
/// {"kid": kid}.
boost::json::object make_cnf_kid(std::string_view kid);

}  // namespace acemq::token::jose
