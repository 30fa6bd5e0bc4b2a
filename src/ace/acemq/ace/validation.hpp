#pragma once
// What the provider knows about a token once it has been validated (RFC 9431 2.2.5), and the
// closed set of reasons a token or a proof of possession is refused.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "acemq/common/bytes.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/mqtt/reason_code.hpp"
#include "acemq/token/claims.hpp"
#include "acemq/token/crypto/key.hpp"
#include "acemq/token/failure.hpp"

namespace acemq::ace {

/// Why the provider refused a token, a proof of possession or an authz-info upload.
enum class rejection : std::uint8_t {
  not_a_token = 0x01,      // does not parse as a JWT, CWT or known reference (0x99 on authz-info)
  invalid_token = 0x02,    // signature, claims (RFC 9200 5.10.1.1) or key checks failed
  revoked = 0x03,          // on the AS revocation list
  as_unavailable = 0x04,   // introspection or key fetch failed or timed out
  unknown_pop_key = 0x05,  // cnf names a key id the broker does not hold
  bad_pop = 0x06,          // the MAC or signature of the proof of possession is wrong
  bad_nonce = 0x07,        // cnonce missing or not issued by this broker
  malformed_auth_data = 0x08,   // Authentication Data does not have an RFC 9431 layout
  no_token = 0x09,              // tokenless CONNECT and no token held for the client
  busy = 0x0A,                  // a bound was reached (challenges, waiting validations)
  rate_limited = 0x0B,          // authz-info uploads or introspections from this host: over rate
  challenge_unknown = 0x0C,     // an AUTH answer with no outstanding challenge (or a replay)
  will_not_allowed = 0x0D,      // the scope does not allow the Will topic (RFC 9431 2.2.4.1)
  exporter_unavailable = 0x0E,  // no TLS, or the TLS exporter failed
  key_held_by_another = 0x0F,   // the PoP key holds a live token of another client
  tls_required = 0x10,          // the `ace` method over plain TCP (ace.allow_plain_tcp off)
};

/// A stable lower-case name for logs ("bad_pop").
std::string_view to_string(rejection reason) noexcept;

/// A refusal with the token library's reason when there is one.
struct validation_error {
  rejection reason = rejection::invalid_token;
  std::optional<token::failure> detail;
};

/// A validated token. Shared (immutable except for the revocation mark) by the verification
/// cache, the authz-info store and every principal created from it.
struct validated_token {
  /// The token bytes as received (kept so the broker's store can persist it and validate it
  /// again after a restart).
  byte_vector raw;
  /// SHA-256 of the token bytes as received, and its base64url form, which is how the AS
  /// revocation list names tokens.
  byte_vector hash;
  std::string hash_text;
  /// The verified claims: precompiled scope, exp, cnf, sub/client_id ...
  token::claims claims;
  /// The proof-of-possession key, resolved (cnf key, decrypted key, or held key for a kid).
  token::crypto::key pop_key;
  /// The identity of the PoP key for the store (RFC 9431 2.2.2: one token per PoP key): the
  /// RFC 7638 thumbprint, base64url. Never logged for symmetric keys.
  std::string key_identity;
  /// Seconds since the epoch; always set (tokens without exp are refused).
  std::int64_t expires_at = 0;
  /// True when the claims came from /introspect (then they are re-checked after the TTL).
  bool introspected = false;
  /// When a cache may stop trusting this result without asking again (steady clock).
  clock::time_point fresh_until{};
  /// Set once when the token shows up on the revocation list: seconds since the epoch.
  mutable std::atomic<std::int64_t> revoked_at{0};

  validated_token(token::claims verified, token::crypto::key key)
      : claims(std::move(verified)), pop_key(std::move(key)) {}

  bool revoked() const noexcept { return revoked_at.load(std::memory_order_acquire) != 0; }
  /// The end of the grant: exp, or the revocation time when that is earlier.
  std::int64_t ends_at() const noexcept;
};

using validated_token_ptr = std::shared_ptr<const validated_token>;

/// SHA-256 of the token bytes.
byte_vector token_hash(byte_view token_bytes);

/// RFC 7638 thumbprint of the key, base64url; empty for a key that has none.
std::string key_identity(const token::crypto::key& pop_key);

}  // namespace acemq::ace
