#pragma once
// JWS compact serialisation (RFC 7515) with HS256/384/512, EdDSA (RFC 8037), ES256, RS256, PS256.
// Verification is driven by the trusted key: the header's "alg" is only accepted when the key
// allows it (crypto::check_key_allows), "none" is always refused, and keys named in the header
// (jwk, jku, x5u, x5c) are never trusted.

#include <boost/json/object.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/crypto/algorithm.hpp"
#include "acemq/token/crypto/key.hpp"
#include "acemq/token/failure.hpp"
#include "acemq/token/jose/json.hpp"
#include "acemq/token/jose/jwk.hpp"

namespace acemq::token::jose {

/// Header parameters to write when signing.
struct jws_sign_options {
  /// Defaults to the key's bound algorithm, else default_signature_algorithm(key).
  std::optional<crypto::algorithm> alg = std::nullopt;
  /// Defaults to the key's kid (when it is UTF-8); an empty string omits "kid".
  std::optional<std::string> kid = std::nullopt;
  std::optional<std::string> typ = std::nullopt;  // e.g. "JWT"
  std::optional<std::string> cty = std::nullopt;  // e.g. "JWT" for a nested token
};

/// A JWS split and decoded but NOT verified: for key selection and for tools that inspect.
struct jws_parts {
  boost::json::object header;
  crypto::algorithm alg;
  std::optional<std::string> kid = std::nullopt;
  byte_vector payload;
  byte_vector signature;
  std::string signing_input;  // ASCII(BASE64URL(header) || '.' || BASE64URL(payload))
};

/// A JWS whose signature verified with a trusted key.
struct verified_jws {
  boost::json::object header;
  crypto::algorithm alg;
  std::optional<std::string> kid = std::nullopt;
  byte_vector payload;
};

/// The algorithm used for a key when none is given: its binding, else EdDSA / ES256 / RS256 /
/// HS256 by key type.
crypto::algorithm default_signature_algorithm(const crypto::key& k) noexcept;

/// Signs `payload` into a compact JWS.
result<std::string, failure> sign_jws(const crypto::key& signing_key, byte_view payload,
                                      const jws_sign_options& options = {});

/// Splits and decodes a compact JWS and checks its header, without verifying the signature.
/// Errors: too_large, bad_encoding (not three base64url parts, header not a JSON object, "alg" not
/// a string, malformed "crit" or "kid"), too_deep, alg_none, unsupported_algorithm,
/// unknown_critical_header (any "crit" entry, including "b64").
result<jws_parts, failure> parse_jws(std::string_view compact, const limits& bounds = {});

/// Verifies a compact JWS with one trusted key. Besides parse_jws's errors:
/// algorithm_not_allowed (the key does not allow the header's alg) and bad_signature.
result<verified_jws, failure> verify_jws(std::string_view compact, const crypto::key& trusted,
                                         const limits& bounds = {});

/// Verifies with a set of trusted keys. With a header "kid", only keys with that kid are tried
/// (none -> unknown_key); without one, every key that allows the header's alg is tried
/// (none -> algorithm_not_allowed).
result<verified_jws, failure> verify_jws(std::string_view compact,
                                         std::span<const crypto::key> trusted,
                                         const limits& bounds = {});
result<verified_jws, failure> verify_jws(std::string_view compact, const jwk_set& trusted,
                                         const limits& bounds = {});

}  // namespace acemq::token::jose
