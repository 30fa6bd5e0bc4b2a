#pragma once
// Minting access tokens in the format a resource server is registered for: JWT (JWS), CWT
// (COSE_Sign1) or an opaque reference. Pure: keys, clock values and randomness come in.

#include <cstdint>
#include <optional>
#include <string>

#include "acemq/as/key_ring.hpp"
#include "acemq/as/model.hpp"
#include "acemq/common/random.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/cbor/value.hpp"
#include "acemq/token/crypto/key.hpp"
#include "acemq/token/failure.hpp"
#include "acemq/token/scope/aif.hpp"

namespace acemq::as {

/// The proof-of-possession key bound to a token (RFC 9201 3.1, RFC 9431 2.1).
struct pop_key {
  /// A public key from the client's req_cnf, or the symmetric key the AS generated. Unset when
  /// the client named its key by `kid` only.
  std::optional<token::crypto::key> key;
  /// Key id: the RFC 7638 thumbprint (base64url, as UTF-8 bytes) of a client's public key, also
  /// when the client named the key by kid; the random kid of a symmetric key the AS generated.
  byte_vector kid;
  bool symmetric() const noexcept {
    return key && key->type() == token::crypto::key_type::symmetric;
  }
};

struct mint_request {
  std::string issuer;
  std::string client_id;
  std::string token_id;  // jti / cti (base64url of 16 random bytes)
  token::scope::aif_scope scope;
  pop_key pop;
  std::optional<byte_vector> cnonce;
  std::int64_t issued_at = 0;
  std::int64_t expires_at = 0;
};

struct minted_token {
  token_format format = token_format::jwt;
  std::string text;      // JWT compact, reference handle, or base64url of the CWT bytes
  byte_vector bytes;     // the token as sent in CBOR responses (JWT/reference: ASCII)
  std::string hash;      // base64url SHA-256 of `bytes` (revocation list, lookups)
  std::string cnf_json;  // cnf as the client/introspection sees it: {"jwk":...} or {"kid":...}
  std::string signing_kid;
};

/// Why minting failed: the resource server's registration cannot carry this PoP key.
enum class mint_error : std::uint8_t {
  no_encryption_key = 0x01,  // symmetric PoP key but no key to encrypt it to the RS
  unsupported_key = 0x02,    // the PoP key cannot be expressed in this token format
  signing_failed = 0x03,
};

/// The token hash used across the AS: base64url(SHA-256(token bytes)).
std::string token_hash(byte_view token_bytes);

/// Mints one token for `server`.
result<minted_token, mint_error> mint_token(const mint_request& request,
                                            const resource_server_record& server,
                                            const signing_key& signer, random_source& random);

/// The PoP key as the JSON cnf object of RFC 7800 (with the secret for symmetric keys: this is
/// what the client and an introspecting RS receive over TLS).
std::string pop_cnf_json(const pop_key& pop);
/// The same as the CBOR cnf map of RFC 8747 ({1: COSE_Key} or {3: kid}); nullopt when the key
/// has no COSE_Key form (RSA).
std::optional<token::cbor::value> pop_cnf_cbor(const pop_key& pop);

/// Converts a stored JSON cnf ({"jwk": ...} / {"kid": ...}) to the CBOR form, for CBOR
/// introspection and token responses; nullopt when it cannot be expressed.
std::optional<token::cbor::value> cnf_json_to_cbor(std::string_view cnf_json);

}  // namespace acemq::as
