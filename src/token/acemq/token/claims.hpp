#pragma once
// The verified content of an ACE access token (RFC 9200 5.10, RFC 9431), the same for JWT and
// CWT: what the broker's ACE provider and the tools need after verify() has checked it.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "acemq/common/bytes.hpp"
#include "acemq/token/crypto/key.hpp"
#include "acemq/token/scope/aif.hpp"

namespace acemq::token {

/// The token encodings verify() accepts.
enum class token_format : std::uint8_t {
  jwt = 0x01,  // RFC 7519: JWS compact, or a JWE compact wrapping one
  cwt = 0x02,  // RFC 8392: COSE_Sign1 / COSE_Mac0 / COSE_Encrypt0, optionally tagged 61
};

/// How the token's `cnf` claim named the proof-of-possession key (RFC 7800, RFC 8747).
enum class cnf_form : std::uint8_t {
  key = 0x01,            // JWT `jwk` / CWT COSE_Key (1): the key itself
  encrypted_key = 0x02,  // JWT `jwe` / CWT Encrypted_COSE_Key (2): decrypted by verify()
  key_id = 0x03,         // JWT `kid` / CWT kid (3): the broker must already hold the key
};

/// The proof-of-possession confirmation (`cnf`).
struct confirmation {
  cnf_form form = cnf_form::key;
  /// The PoP key for `key` and `encrypted_key` (public for asymmetric keys, secret for
  /// symmetric ones). Never log a symmetric key.
  std::optional<crypto::key> key;
  /// The key id for `key_id` (also the key's kid, when it has one).
  std::optional<byte_vector> key_id;
};

/// The claims of a verified token. Times are NumericDate seconds (RFC 7519 2).
struct claims {
  token_format format = token_format::jwt;
  std::optional<std::string> issuer;       // iss (JWT "iss", CWT 1)
  std::optional<std::string> subject;      // sub (2)
  std::vector<std::string> audience;       // aud (3): a string or an array of strings in JWT
  std::optional<std::int64_t> expires_at;  // exp (4)
  std::optional<std::int64_t> not_before;  // nbf (5)
  std::optional<std::int64_t> issued_at;   // iat (6)
  std::optional<byte_vector> token_id;     // cti (7) bytes, or jti as its UTF-8 bytes
  /// The AIF-MQTT scope (9), precompiled. Empty (grants nothing) when the claim is absent.
  scope::aif_scope scope;
  bool has_scope = false;
  std::optional<confirmation> cnf;         // cnf (8)
  std::optional<std::string> ace_profile;  // ace_profile (38): "mqtt_tls" when present
  std::optional<byte_vector> cnonce;       // cnonce (39)
  std::optional<std::int64_t> exi;         // exi (40): expires-in, seconds
  std::optional<std::string> client_id;    // client_id (JWT / introspection)
  /// The claims as JSON text, for tools (`acemq token verify`). For a CWT, integer keys are
  /// shown by their names and byte strings as base64url. Secrets in cnf are not included.
  std::string json;
};

}  // namespace acemq::token
