#pragma once
// JSON Web Keys (RFC 7517, RFC 7518 6, RFC 8037) for Ed25519, P-256, RSA and oct keys; JWK Sets;
// JWK thumbprints (RFC 7638).

#include <boost/json/object.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "acemq/common/result.hpp"
#include "acemq/token/crypto/key.hpp"
#include "acemq/token/failure.hpp"
#include "acemq/token/jose/json.hpp"

namespace acemq::token::jose {

/// What a caller accepts when reading a JWK.
struct jwk_options {
  /// Refuse private members (d, p, q, ..., and every oct key): for keys that must be public,
  /// such as an RFC 7800 cnf "jwk" or an "epk".
  bool public_only = false;
  /// When set, a JWK whose "use" is present and different is refused (RFC 7517 4.2).
  std::optional<std::string> required_use = std::nullopt;
};

/// Whether to_jwk writes the private members.
enum class jwk_content : std::uint8_t { public_only = 0x00, with_private = 0x01 };

/// Reads a JWK object. Unknown kty or crv, missing or malformed members, inconsistent private
/// parts, or an "alg" that the key cannot be used with -> bad_key; an "alg" this library does not
/// implement -> unsupported_algorithm. "kid" becomes the key id (its UTF-8 bytes), "alg" the
/// algorithm binding.
result<crypto::key, failure> parse_jwk(const boost::json::object& jwk,
                                       const jwk_options& options = {});
/// Same, from JSON text (bounded by `bounds`).
result<crypto::key, failure> parse_jwk(std::string_view json, const jwk_options& options = {},
                                       const limits& bounds = {});

/// Writes a key as a JWK with kty, crv, key members, "kid" (when the key id is UTF-8), "alg"
/// (when bound) and optional "use". A symmetric key with jwk_content::public_only -> bad_key.
result<boost::json::object, failure> to_jwk(const crypto::key& k, jwk_content content,
                                            std::optional<std::string_view> use = {});

/// RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order, no whitespace.
result<byte_vector, failure> thumbprint(const crypto::key& k);
/// The thumbprint as base64url (the usual "kid" derived from a key).
result<std::string, failure> thumbprint_base64url(const crypto::key& k);

/// A JWK Set (RFC 7517 5), bounded in size.
class jwk_set {
 public:
  static constexpr std::size_t default_max_keys = 64;

  jwk_set() = default;
  explicit jwk_set(std::vector<crypto::key> keys) : keys_(std::move(keys)) {}

  const std::vector<crypto::key>& keys() const noexcept { return keys_; }
  void add(crypto::key k) { keys_.push_back(std::move(k)); }
  /// Keys whose kid equals `kid` (bytes compare).
  std::vector<const crypto::key*> find(byte_view kid) const;

 private:
  std::vector<crypto::key> keys_;
};

/// Reads {"keys": [...]}. Members of unknown kty are skipped, as RFC 7517 5 requires; malformed
/// members of known kty -> bad_key; more than `max_keys` keys -> too_large.
result<jwk_set, failure> parse_jwk_set(std::string_view json, const jwk_options& options = {},
                                       std::size_t max_keys = jwk_set::default_max_keys,
                                       const limits& bounds = {});
/// Writes {"keys": [...]}.
result<boost::json::object, failure> to_jwk_set(const jwk_set& set, jwk_content content);

}  // namespace acemq::token::jose
