#include "acemq/ace/validation.hpp"

#include <algorithm>

#include "acemq/common/base64.hpp"
#include "acemq/token/crypto/aead.hpp"
#include "acemq/token/jose/jwk.hpp"

namespace acemq::ace {

std::string_view to_string(rejection reason) noexcept {
  switch (reason) {
    case rejection::not_a_token:
      return "not_a_token";
    case rejection::invalid_token:
      return "invalid_token";
    case rejection::revoked:
      return "revoked";
    case rejection::as_unavailable:
      return "as_unavailable";
    case rejection::unknown_pop_key:
      return "unknown_pop_key";
    case rejection::bad_pop:
      return "bad_pop";
    case rejection::bad_nonce:
      return "bad_nonce";
    case rejection::malformed_auth_data:
      return "malformed_auth_data";
    case rejection::no_token:
      return "no_token";
    case rejection::busy:
      return "busy";
    case rejection::rate_limited:
      return "rate_limited";
    case rejection::challenge_unknown:
      return "challenge_unknown";
    case rejection::will_not_allowed:
      return "will_not_allowed";
    case rejection::exporter_unavailable:
      return "exporter_unavailable";
    case rejection::key_held_by_another:
      return "key_held_by_another";
    case rejection::tls_required:
      return "tls_required";
  }
  return "unknown";
}

std::int64_t validated_token::ends_at() const noexcept {
  const std::int64_t revoked_time = revoked_at.load(std::memory_order_acquire);
  return revoked_time != 0 ? std::min(expires_at, revoked_time) : expires_at;
}

byte_vector token_hash(byte_view token_bytes) {
  return token::crypto::sha256(token_bytes);
}

std::string key_identity(const token::crypto::key& pop_key) {
  auto thumbprint = token::jose::thumbprint_base64url(pop_key);
  return thumbprint ? std::move(*thumbprint) : std::string();
}

}  // namespace acemq::ace
