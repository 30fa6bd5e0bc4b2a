#pragma once
// Settings of the ACE MQTT-TLS profile provider (RFC 9431). Every field is a setting of the
// broker configuration ([ace] section); the defaults below are the documented defaults.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "acemq/token/verify.hpp"

namespace acemq::ace {

/// AS discovery (RFC 9431 2.4.1, RFC 9200 5.3): what the `ace_as_hint` User Property carries.
struct discovery_settings {
  /// The "AS" member: the URI of the authorization server (required).
  std::string as_uri;
  /// The "audience" member; empty = the broker's own audience.
  std::string audience;
  /// The "scope" member (the AIF JSON text a client should ask for); empty = omitted.
  std::string scope;
  /// Include a fresh "cnonce" (RFC 9200 5.3.1) that must come back inside the token.
  bool issue_cnonce = false;
  /// false: the hint is sent only on a tokenless CONNECT (the discovery request of RFC 9431
  /// 2.2.1); true: on every refused ACE CONNECT. draft-06 behaviour forces true.
  bool on_every_failure = false;
};

/// Bounds of the authz-info token store (RFC 9431 2.2.2 and section 8: a DoS target).
struct token_store_limits {
  /// Tokens held at once; beyond, expired tokens go first, then the least recently used one.
  std::size_t max_tokens = 10'000;
  /// Uploads accepted per remote address: a token bucket of this many tokens ...
  double uploads_burst = 10.0;
  /// ... refilled at this rate (tokens per second).
  double uploads_per_second = 1.0;
  /// Remote addresses tracked by the rate limiter; the idlest is forgotten beyond it.
  std::size_t max_tracked_addresses = 10'000;
};

struct ace_settings {
  /// This broker's audience: every token's `aud` must contain it (RFC 9200 5.10.1.1).
  std::string audience;
  /// Required `iss`; empty accepts any issuer whose key is trusted.
  std::string issuer;
  /// The AS verification keys from configuration and the broker's own decryption keys. Keys
  /// fetched from the AS /jwks are added to these at run time.
  token::trusted_keys keys;
  /// Clock skew tolerated on nbf and iat. Expiry is enforced exactly: a principal ends at `exp`.
  std::int64_t leeway_seconds = 30;
  /// Longest token lifetime accepted.
  std::int64_t max_lifetime_seconds = 24 * 60 * 60;
  /// Largest token accepted, in bytes.
  std::size_t max_token_size = 8 * 1024;
  /// RFC 9431 3.1 / 3.3 MAY: answer unauthorized PUBLISH/SUBSCRIBE with 0x80 instead of 0x87 so
  /// topic names do not leak.
  bool hide_topic_names = false;
  /// draft-ietf-ace-mqtt-tls-profile-06 compatibility: u16 length prefix on the client nonce and
  /// AS discovery on every refusal.
  bool draft06 = false;
  /// RFC 9431 6: accept MQTT 3.1.1 clients ("ace" || base64url(token) username).
  bool allow_v311 = true;
  /// RFC 9431 2.2.3.2: accept a token (or a cnf kid of an uploaded token) as TLS-PSK identity.
  bool allow_psk_identity = true;
  /// RFC 9431 2.2.1 / 2.2: the client and the broker MUST mutually authenticate, over TLS. The
  /// `ace` method over plain TCP sends the token in clear and binds the proof to no channel, so
  /// it is refused (0x87) unless this is set (insecure; a warning is printed at start).
  bool allow_plain_tcp = false;
  /// AS discovery; absent = no hint.
  std::optional<discovery_settings> discovery;
  /// Lifetime of an issued cnonce, and how many may be outstanding (oldest dropped beyond).
  std::chrono::seconds cnonce_lifetime{300};
  std::size_t max_cnonces = 10'000;
  /// Refuse tokens that do not carry a cnonce this broker issued (RFC 9200 5.3.1 freshness).
  bool require_cnonce = false;
  /// How long a broker challenge (AUTH 0x18 rs_nonce) waits for the client's answer.
  std::chrono::seconds challenge_timeout{30};
  /// Challenges outstanding at once, and from one remote host; beyond, new ones are refused with
  /// 0x89 Server busy (broker::challenge_table).
  std::size_t max_pending_challenges = 10'000;
  std::size_t max_pending_challenges_per_address = 100;
  /// Verified tokens remembered by hash (LRU), so a reconnect costs only the PoP check.
  std::size_t verified_cache_size = 10'000;
  /// How long an introspection result is trusted before the AS is asked again (RFC 9431 2.4.2
  /// SHOULD use a cache timeout).
  std::chrono::seconds introspection_cache_ttl{60};
  /// Minimum time between two /jwks fetches triggered by an unknown kid.
  std::chrono::seconds jwks_min_refresh_interval{30};
  /// Connections waiting for one /jwks or /introspect answer; beyond, refused (0x87).
  std::size_t max_waiting_validations = 1024;
  /// Length of the reference tokens the AS issues: base64url without padding (acemq-as: 43
  /// characters, 32 random bytes). A token of another length or alphabet cannot be one of them
  /// and is refused without an introspection call. 0 = any length in the RFC 6750 2.1 b64token
  /// shape (another AS).
  std::size_t reference_token_length = 43;
  /// Reference tokens the AS answered inactive (RFC 7662 2.2), remembered by hash (LRU) and
  /// refused without asking again until the TTL passes.
  std::size_t inactive_cache_size = 10'000;
  std::chrono::seconds inactive_cache_ttl{30};
  /// Introspection calls that the tokens from one remote host may cause (token bucket, the
  /// project's rate_limiter): back to back, then per second. Beyond, the CONNECT is refused
  /// with 0x9F Connection rate exceeded before any call to the AS.
  double introspection_address_burst = 10;
  double introspection_address_rate = 1;
  /// Remote hosts tracked by that limiter (the least recently seen forgotten beyond it).
  std::size_t introspection_tracked_addresses = 65'536;
  /// authz-info store bounds.
  token_store_limits store;
  /// How often the AS revocation list is polled (RFC 9431: revocation within this interval).
  std::chrono::milliseconds revocation_poll_interval{500};
  /// Revoked token hashes remembered (each until its token's exp).
  std::size_t max_revoked_entries = 100'000;

  /// The token::expectations these settings imply.
  token::expectations expectations() const {
    token::expectations e;
    e.issuer = issuer;
    e.audience = audience;
    e.leeway_seconds = leeway_seconds;
    e.max_lifetime_seconds = max_lifetime_seconds;
    e.require_cnf = true;
    e.max_token_size = max_token_size;
    return e;
  }
};

}  // namespace acemq::ace
