#pragma once
// JWE compact serialisation (RFC 7516) with key management "dir", "A128KW"/"A256KW" (RFC 7518
// 4.4) and "ECDH-ES" direct key agreement on P-256 (RFC 7518 4.6), and content encryption
// "A128GCM"/"A256GCM" (RFC 7518 5.3). The decryption key decides the key management algorithm.

#include <boost/json/object.hpp>

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
#include "acemq/token/jose/jwk.hpp"

namespace acemq::token::jose {

/// How to encrypt.
struct jwe_encrypt_options {
  /// crypto::algorithm::dir, a128kw, a256kw or ecdh_es.
  crypto::algorithm key_management = crypto::algorithm::a128kw;
  /// crypto::algorithm::a128gcm or a256gcm.
  crypto::algorithm content = crypto::algorithm::a128gcm;
  /// Defaults to the recipient key's kid (when it is UTF-8); an empty string omits "kid".
  std::optional<std::string> kid = std::nullopt;
  std::optional<std::string> typ = std::nullopt;
  std::optional<std::string> cty = std::nullopt;  // "JWT" for a nested signed token (RFC 7519 5.2)
  /// ECDH-ES PartyUInfo / PartyVInfo (RFC 7518 4.6.1.2/4.6.1.3); written as "apu"/"apv".
  byte_vector apu = {};
  byte_vector apv = {};
};

/// A JWE whose content decrypted and authenticated.
struct decrypted_jwe {
  boost::json::object header;
  crypto::algorithm key_management;
  crypto::algorithm content;
  std::optional<std::string> kid = std::nullopt;
  byte_vector plaintext;
};

/// Encrypts `plaintext` to `recipient`: a symmetric key for dir / key wrap (of exactly the
/// algorithm's size), a P-256 public key for ECDH-ES. The CEK and IV come from `random`; the
/// ECDH-ES ephemeral key from OpenSSL's CSPRNG. A key that does not allow the algorithm ->
/// algorithm_not_allowed; other algorithms -> unsupported_algorithm.
result<std::string, failure> encrypt_jwe(byte_view plaintext, const crypto::key& recipient,
                                         const jwe_encrypt_options& options, random_source& random);

/// Decrypts a compact JWE with the recipient's key. Errors: too_large, bad_encoding (not five
/// base64url parts, bad header, IV not 12 bytes, a non-empty encrypted key for dir/ECDH-ES),
/// too_deep, unsupported_algorithm ("alg"/"enc" outside the supported set, or "zip"),
/// unknown_critical_header, algorithm_not_allowed (key type or size does not fit "alg"/"enc"),
/// bad_key (unusable "epk"), decryption_failed (unwrap or tag failure, truncated tag).
result<decrypted_jwe, failure> decrypt_jwe(std::string_view compact, const crypto::key& recipient,
                                           const limits& bounds = {});

/// Decrypts with one of several keys: by "kid" when the header has one (no match ->
/// unknown_key), else every key that allows the header's "alg".
result<decrypted_jwe, failure> decrypt_jwe(std::string_view compact,
                                           std::span<const crypto::key> keys,
                                           const limits& bounds = {});

/// The "kid" of a JWE or JWS header without decrypting or verifying anything (for key
/// selection); std::nullopt when absent. Errors as for the header checks of decrypt_jwe.
result<std::optional<std::string>, failure> peek_kid(std::string_view compact,
                                                     const limits& bounds = {});

}  // namespace acemq::token::jose
