#pragma once
// What a client holds after a token request: the access token and the proof-of-possession key it
// is bound to (RFC 9431 2.1), plus what it needs to renew it. Saved as a JSON file by
// `acemq token get --out`; it contains a private key, so whoever writes it must protect it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "acemq/ace_client/token_request.hpp"
#include "acemq/common/bytes.hpp"
#include "acemq/common/result.hpp"
#include "acemq/token/crypto/key.hpp"

namespace acemq::ace_client {

/// A token and its PoP key.
struct pop_credentials {
  /// The token as sent in Authentication Data (JWT text, CWT bytes, reference handle).
  byte_vector token;
  /// The private PoP key: the client's own Ed25519 / P-256 key pair, or the symmetric key the AS
  /// returned in `cnf`. Never logged.
  token::crypto::key pop_key;
  /// Unix time at which the token expires; 0 when unknown.
  std::int64_t expires_at = 0;
  std::string scope;
  std::string audience;
  /// Where the token came from, to renew it (https URL of the AS).
  std::string as_url;
  /// The broker's key from `rs_cnf`, when the AS sent one.
  std::optional<token::crypto::key> rs_cnf_key;
};

/// Pairs a token response with the key that proves possession: `own_key` when the request
/// carried req_cnf, else the response's `cnf` key (bad_key when neither exists or when the AS
/// returned a cnf key although the client sent its own). `now` is unix seconds.
result<pop_credentials, token_failure> make_credentials(const token_response& response,
                                                        std::optional<token::crypto::key> own_key,
                                                        std::string audience, std::string as_url,
                                                        std::int64_t now);

/// JSON file form: {"token": base64url, "pop_key": JWK with private members, "expires_at",
/// "scope", "audience", "as", "rs_cnf": JWK?}. Contains the private key.
std::string to_json(const pop_credentials& credentials);
/// Reads the JSON file form; bad_response with a description for anything malformed.
result<pop_credentials, token_failure> credentials_from_json(std::string_view json);

/// Seconds until expiry at `now` (negative when expired); nullopt when the expiry is unknown.
std::optional<std::int64_t> seconds_left(const pop_credentials& credentials, std::int64_t now);

}  // namespace acemq::ace_client
