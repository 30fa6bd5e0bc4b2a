#include "acemq/as/key_ring.hpp"

#include <algorithm>
#include <stdexcept>

#include "acemq/token/jose/jwk.hpp"

namespace acemq::as {
namespace {

namespace crypto = token::crypto;
namespace jose = token::jose;

crypto::key with_identity(crypto::key k, crypto::algorithm algorithm) {
  k.bind_algorithm(algorithm);
  auto public_half = k.public_key();
  if (!public_half) throw std::runtime_error("signing key has no public half");
  auto thumbprint = jose::thumbprint_base64url(*public_half);
  if (!thumbprint) throw std::runtime_error("cannot compute the signing key thumbprint");
  k.set_kid(to_bytes(*thumbprint));
  return k;
}

}  // namespace

signing_key key_ring::generate(crypto::algorithm algorithm, std::int64_t now) {
  crypto::key k = algorithm == crypto::algorithm::es256 ? crypto::key::generate_p256()
                                                        : crypto::key::generate_ed25519();
  k = with_identity(std::move(k), algorithm);
  auto pem = k.private_pem();
  if (!pem) throw std::runtime_error("cannot serialise the new signing key");
  signing_key_record record;
  record.kid = std::string(as_string_view(*k.kid()));
  record.algorithm = std::string(crypto::jose_name(algorithm));
  record.private_pem = std::move(*pem);
  record.created_at = now;
  return signing_key{std::move(record), std::move(k)};
}

key_ring key_ring::load(storage& store, crypto::algorithm algorithm, std::int64_t now) {
  if (algorithm != crypto::algorithm::eddsa && algorithm != crypto::algorithm::es256) {
    throw std::runtime_error("signing algorithm must be EdDSA or ES256");
  }
  auto records = store.list_signing_keys();
  if (!records) throw std::runtime_error("cannot read signing keys: " + records.error().message);
  std::vector<signing_key> keys;
  const signing_key_record* current = nullptr;
  for (const auto& record : *records) {
    if (record.retired_at == 0) current = &record;
  }
  for (const auto& record : *records) {
    if (&record == current) continue;
    // A retired key is kept only while still published; a second unretired key (from an
    // interrupted rotation) is treated as retired.
    auto stored_algorithm = crypto::algorithm_from_jose_name(record.algorithm);
    auto k = crypto::key::from_pem(record.private_pem);
    if (!k || !stored_algorithm)
      throw std::runtime_error("stored signing key " + record.kid + " is unreadable");
    keys.push_back(signing_key{record, with_identity(std::move(*k), *stored_algorithm)});
  }
  if (current != nullptr) {
    auto stored_algorithm = crypto::algorithm_from_jose_name(current->algorithm);
    auto k = crypto::key::from_pem(current->private_pem);
    if (!k || !stored_algorithm)
      throw std::runtime_error("stored signing key " + current->kid + " is unreadable");
    keys.push_back(signing_key{*current, with_identity(std::move(*k), *stored_algorithm)});
  } else {
    auto fresh = generate(algorithm, now);
    if (auto stored = store.insert_signing_key(fresh.record); !stored) {
      throw std::runtime_error("cannot store the signing key: " + stored.error().message);
    }
    keys.push_back(std::move(fresh));
  }
  return key_ring(std::move(keys), algorithm);
}

storage_result<void> key_ring::rotate(storage& store, std::int64_t now,
                                      std::int64_t max_token_lifetime) {
  auto fresh = generate(algorithm_, now);
  auto retiring = keys_.back().record;
  retiring.retired_at = now;
  retiring.publish_until = now + max_token_lifetime;
  if (auto outcome = store.update_signing_key(retiring); !outcome) return outcome;
  if (auto outcome = store.insert_signing_key(fresh.record); !outcome) return outcome;
  keys_.back().record = retiring;
  keys_.push_back(std::move(fresh));
  // Forget keys that are no longer published; storage purges them too.
  std::erase_if(keys_, [now](const signing_key& k) {
    return k.record.retired_at != 0 && k.record.publish_until <= now;
  });
  return {};
}

std::vector<crypto::key> key_ring::published_public_keys(std::int64_t now) const {
  std::vector<crypto::key> out;
  for (const auto& k : keys_) {
    if (k.record.retired_at != 0 && k.record.publish_until <= now) continue;
    auto public_half = k.key.public_key();
    if (public_half) out.push_back(std::move(*public_half));
  }
  return out;
}

boost::json::object key_ring::jwks(std::int64_t now) const {
  boost::json::array keys;
  for (const auto& k : published_public_keys(now)) {
    auto jwk = jose::to_jwk(k, jose::jwk_content::public_only, "sig");
    if (jwk) keys.push_back(std::move(*jwk));
  }
  boost::json::object set;
  set["keys"] = std::move(keys);
  return set;
}

}  // namespace acemq::as
