#pragma once
// The AS's signing keys with rotation: one current key signs; retired keys stay published in
// /jwks until the last token they signed has expired (RFC 7517 5, RFC 8414 2 jwks_uri), so a
// broker that caches the JWK Set keeps verifying tokens across a rotation.

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "acemq/as/storage.hpp"
#include "acemq/token/crypto/algorithm.hpp"
#include "acemq/token/crypto/key.hpp"

namespace acemq::as {

/// One loaded signing key.
struct signing_key {
  signing_key_record record;
  token::crypto::key key;  // private key; kid = RFC 7638 thumbprint, algorithm bound
};

class key_ring {
 public:
  /// Loads the keys from storage; when there is no current key, generates one with `algorithm`
  /// (EdDSA or ES256) and stores it. Throws std::runtime_error when a stored key cannot be read:
  /// that is a start-up error.
  static key_ring load(storage& store, token::crypto::algorithm algorithm, std::int64_t now);

  /// The key that signs new tokens.
  const signing_key& current() const { return keys_.back(); }
  /// Every key (current last).
  const std::vector<signing_key>& keys() const noexcept { return keys_; }

  /// Retires the current key (published until now + `max_token_lifetime`) and makes a freshly
  /// generated key current. The change is stored before it takes effect.
  storage_result<void> rotate(storage& store, std::int64_t now, std::int64_t max_token_lifetime);

  /// The public JWK Set: the current key and every retired key still published at `now`.
  boost::json::object jwks(std::int64_t now) const;

  /// Public verification keys published at `now` (for tests and tools).
  std::vector<token::crypto::key> published_public_keys(std::int64_t now) const;

 private:
  key_ring(std::vector<signing_key> keys, token::crypto::algorithm algorithm)
      : keys_(std::move(keys)), algorithm_(algorithm) {}
  static signing_key generate(token::crypto::algorithm algorithm, std::int64_t now);

  std::vector<signing_key> keys_;
  token::crypto::algorithm algorithm_;
};

}  // namespace acemq::as
