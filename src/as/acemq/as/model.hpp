#pragma once
// The authorization server's data model: who may ask (clients), for whom (resource servers), who
// decides (resource owners and their grants), and what was issued (tokens, refresh tokens,
// signing keys). The owner of a topic subtree decides who may use it — not a central
// administrator (see docs/authorization-server.md, "Data model").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace acemq::as {

/// How the access tokens for one resource server are encoded.
enum class token_format : std::uint8_t {
  jwt = 0x01,  // JWS-signed JWT (RFC 7519); symmetric PoP keys travel as cnf.jwe (RFC 7800 3.3)
  cwt = 0x02,  // COSE_Sign1 CWT (RFC 8392); symmetric PoP keys as Encrypted_COSE_Key (RFC 8747)
  reference = 0x03,  // opaque random handle, resolved by /introspect (RFC 7662)
};

std::string_view to_string(token_format format) noexcept;
std::optional<token_format> token_format_from_string(std::string_view text) noexcept;

/// What happens to a refresh token when it is used (RFC 6749 6).
enum class refresh_mode : std::uint8_t {
  none = 0x00,      // no refresh token is issued
  constant = 0x01,  // the same refresh token stays valid: a device that lost a reply is not
                    // locked out (Fremantle et al., "Federated IAM for the IoT", 4.A)
  rotating = 0x02,  // each use returns a new refresh token and invalidates the old one
};

std::string_view to_string(refresh_mode mode) noexcept;
std::optional<refresh_mode> refresh_mode_from_string(std::string_view text) noexcept;

/// Permission bits of a grant, the AIF-MQTT "pub"/"sub" (RFC 9431 2.3).
enum class permission_bits : std::uint8_t {
  publish = 0x01,
  subscribe = 0x02,
};

/// A client of the token endpoint (RFC 6749 2). Secrets are stored as argon2id hashes only.
struct client_record {
  std::string client_id;
  std::string secret_hash;             // argon2id encoded hash; empty = no secret
  std::string certificate_thumbprint;  // base64url SHA-256 of the DER certificate; empty = none
  bool allow_client_credentials = true;
  refresh_mode refresh = refresh_mode::none;
  std::int64_t refresh_lifetime = 30 * 24 * 3600;  // seconds
  std::string description;
  std::int64_t created_at = 0;
  bool disabled = false;
};

/// A resource server (the broker): the audience tokens are minted for, how, and for how long.
struct resource_server_record {
  std::string audience;
  std::string secret_hash;  // argon2id; authenticates /introspect and /trl (RFC 7662 2.1)
  token_format format = token_format::jwt;
  std::int64_t token_lifetime = 3600;  // seconds
  bool use_exi = false;  // add "exi" for servers without a synchronised clock (RFC 9200 5.10.3)
  std::string rs_cnf;    // JSON object returned as rs_cnf (RFC 9201 5), e.g. {"jwk":{...}}
  std::string encryption_key;  // JWK (JSON) of the key the PoP key is encrypted to
  std::int64_t created_at = 0;
};

/// A resource owner: the person or organisation whose topic subtrees they control.
struct owner_record {
  std::string owner_id;
  std::string secret_hash;  // argon2id; authenticates the owner API
  std::string display_name;
  std::int64_t created_at = 0;
};

/// A topic subtree an owner controls on one resource server (e.g. "home/alice/#").
struct owner_subtree {
  std::string owner_id;
  std::string audience;
  std::string filter;
};

/// An owner's decision: client X may publish/subscribe on filter F at audience A until T.
struct grant_record {
  std::int64_t grant_id = 0;
  std::string owner_id;
  std::string client_id;
  std::string audience;
  std::string filter;
  std::uint8_t permissions = 0;  // permission_bits
  std::int64_t not_after = 0;    // unix seconds; the grant ends here
  std::int64_t created_at = 0;
  std::int64_t revoked_at = 0;  // 0 = not revoked

  bool active_at(std::int64_t now) const noexcept { return revoked_at == 0 && now < not_after; }
};

/// An access token the server issued: kept for introspection, revocation and audit.
struct issued_token_record {
  std::string token_id;    // jti / cti, hex of 16 random bytes
  std::string token_hash;  // base64url SHA-256 of the token bytes (RFC 9770 style)
  std::string client_id;
  std::string audience;
  std::string scope;  // AIF-MQTT JSON text actually granted
  token_format format = token_format::jwt;
  std::string cnf;     // JSON text of the cnf claim (what introspection returns)
  std::string cnonce;  // base64url; empty when none
  std::int64_t exi = 0;
  std::int64_t issued_at = 0;
  std::int64_t expires_at = 0;
  std::string signing_kid;
  std::string refresh_id;  // the refresh token it was issued with/through, if any
  std::int64_t revoked_at = 0;

  bool active_at(std::int64_t now) const noexcept { return revoked_at == 0 && now < expires_at; }
};

/// A refresh token: stored by hash; remembers what was asked so a refresh re-applies the
/// owners' current grants.
struct refresh_token_record {
  std::string refresh_id;
  std::string token_hash;
  std::string client_id;
  std::string audience;
  std::string requested_scope;  // AIF JSON text the client asked for; empty = everything granted
  std::string req_cnf;          // JSON text of the client's req_cnf; empty = AS-generated key
  std::int64_t issued_at = 0;
  std::int64_t expires_at = 0;
  std::int64_t revoked_at = 0;

  bool active_at(std::int64_t now) const noexcept { return revoked_at == 0 && now < expires_at; }
};

/// A client's public proof-of-possession key, named by its RFC 7638 thumbprint: the AS bound it
/// to a token of this client (req_cnf with the key, RFC 9201 3.1). Later requests of the same
/// client may name it by kid alone; no other client can (see docs/authorization-server.md,
/// "Proof-of-possession keys").
struct client_pop_key_record {
  std::string client_id;
  std::string kid;  // base64url RFC 7638 thumbprint of the public key
  /// The latest expiry of a token or refresh token that carries the key itself; the record is
  /// purged after it.
  std::int64_t bound_until = 0;

  bool active_at(std::int64_t now) const noexcept { return now < bound_until; }
};

/// One entry of the token revocation list the broker polls (GET /trl).
struct revocation_entry {
  std::int64_t sequence = 0;  // the cursor
  std::string token_hash;
  std::string audience;
  std::int64_t expires_at = 0;
  std::int64_t revoked_at = 0;
  std::int64_t issued_at = 0;  // the token's iat: a broker whose list overflows floors on it
};

/// A signing key of the AS. Retired keys stay published until their last token expires.
struct signing_key_record {
  std::string kid;
  std::string algorithm;  // JOSE name: "EdDSA" or "ES256"
  std::string private_pem;
  std::int64_t created_at = 0;
  std::int64_t retired_at = 0;     // 0 = the current key
  std::int64_t publish_until = 0;  // retired keys: the latest expiry of a token they signed
};

}  // namespace acemq::as
