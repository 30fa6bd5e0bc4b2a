#include "acemq/ace/token_validator.hpp"

#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "acemq/common/base64.hpp"
#include "acemq/common/log.hpp"
#include "acemq/token/detail/jwt_verify.hpp"
#include "acemq/token/jose/json.hpp"
#include "acemq/token/jose/jwk.hpp"
#include "acemq/token/jose/jwt.hpp"
#include "acemq/token/pop/proof.hpp"

namespace acemq::ace {

namespace {

validation_error refused(rejection reason, std::optional<token::failure> detail = std::nullopt) {
  return validation_error{reason, detail};
}

// RFC 9431 2.2.2: "does not parse to a token" is told apart from "not valid" (0x99 vs 0x87).
validation_error from_token_failure(token::failure reason) {
  switch (reason) {
    case token::failure::bad_encoding:
    case token::failure::too_deep:
      return refused(rejection::not_a_token, reason);
    case token::failure::bad_nonce:
      return refused(rejection::bad_nonce, reason);
    default:
      return refused(rejection::invalid_token, reason);
  }
}

// A reference token is an opaque handle, but one in the shape of an OAuth access token: the
// RFC 6750 2.1 b64token (ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then "=" padding);
// the AS issues base64url handles of a known length (`length`; 0 = any). Anything else cannot
// be a token it issued, so it is refused as such (RFC 9431 2.2.2: 0x99 on authz-info) without
// asking the AS, which also keeps junk on the public authz-info topic and in CONNECTs from
// turning into introspection calls (RFC 9431 8).
bool has_reference_shape(byte_view token, std::size_t length) {
  if (length != 0) {
    // RFC 4648 5: base64url, unpadded.
    const auto is_base64url = [](std::uint8_t c) {
      return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '_';
    };
    return token.size() == length && std::all_of(token.begin(), token.end(), is_base64url);
  }
  std::size_t index = 0;
  const auto is_token_char = [](std::uint8_t c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
  };
  while (index < token.size() && is_token_char(token[index]))
    ++index;
  if (index == 0) return false;
  while (index < token.size() && token[index] == '=')
    ++index;
  return index == token.size();
}

}  // namespace

token_validator::token_validator(const ace_settings& settings, const clock& time, as_client* as,
                                 revocation_list* revocations, cnonce_registry* cnonces)
    : settings_(settings),
      expectations_(settings.expectations()),
      clock_(time),
      as_(as),
      revocations_(revocations),
      cnonces_(cnonces),
      keys_(std::make_shared<const token::trusted_keys>(settings.keys)),
      cache_(settings.verified_cache_size),
      inactive_(settings.inactive_cache_size),
      introspection_budget_(time, rate_limit_settings{settings.introspection_address_burst,
                                                      settings.introspection_address_rate,
                                                      settings.introspection_tracked_addresses}) {}

void token_validator::set_key_lookup(key_lookup lookup) {
  std::lock_guard lock(mutex_);
  lookup_ = std::move(lookup);
}

token_validator::key_set token_validator::keys() const {
  std::lock_guard lock(mutex_);
  return keys_;
}

result<std::size_t, token::failure> token_validator::install_jwks(std::string_view json) {
  token::jose::jwk_options options;
  // The AS publishes verification keys: public keys only, never a secret.
  options.public_only = true;
  auto set = token::jose::parse_jwk_set(json, options);
  if (!set) return unexpected(set.error());
  token::trusted_keys combined = settings_.keys;
  for (const auto& k : set->keys())
    combined.issuer_keys.push_back(k);
  const std::size_t installed = set->keys().size();
  std::lock_guard lock(mutex_);
  keys_ = std::make_shared<const token::trusted_keys>(std::move(combined));
  return installed;
}

std::size_t token_validator::cache_size() const {
  std::lock_guard lock(mutex_);
  return cache_.size();
}

std::uint64_t token_validator::verifications() const {
  std::lock_guard lock(mutex_);
  return verifications_;
}

std::uint64_t token_validator::jwks_fetches() const {
  std::lock_guard lock(mutex_);
  return jwks_fetches_;
}

std::uint64_t token_validator::introspections_avoided() const {
  std::lock_guard lock(mutex_);
  return introspections_avoided_;
}

bool token_validator::known_inactive(const byte_vector& hash) {
  const std::string key(as_string_view(hash));
  std::lock_guard lock(mutex_);
  const clock::time_point* until = inactive_.find(key);
  if (until == nullptr) return false;
  if (clock_.now() >= *until) {
    inactive_.erase(key);
    return false;
  }
  ++introspections_avoided_;
  return true;
}

token_validator::outcome token_validator::cached(const byte_vector& hash,
                                                 const std::string& hash_text) {
  const std::string key(as_string_view(hash));
  std::lock_guard lock(mutex_);
  validated_token_ptr* hit = cache_.find(key);
  if (hit == nullptr) return unexpected(refused(rejection::no_token));
  const validated_token_ptr token = *hit;
  // RFC 9431 4: expiry is checked on every use; RFC 9431 2.4.2: an introspection result is
  // trusted only for the cache timeout.
  if (clock_.unix_seconds() >= token->expires_at || clock_.now() >= token->fresh_until) {
    cache_.erase(key);
    return unexpected(refused(rejection::no_token));
  }
  if (token->revoked() ||
      (revocations_ != nullptr && (revocations_->is_revoked(hash_text) ||
                                   revocations_->below_floor(token->claims.issued_at)))) {
    return unexpected(refused(rejection::revoked));
  }
  return token;
}

token_validator::outcome token_validator::finish(byte_view token_bytes, token::claims verified,
                                                 const byte_vector& hash, std::string hash_text,
                                                 bool introspected) {
  // verify() allows leeway on exp for clock skew; a principal must end exactly at exp (RFC 7519
  // 4.1.4), so a token already past it is refused here.
  const std::int64_t now = clock_.unix_seconds();
  if (!verified.expires_at || *verified.expires_at <= now) {
    return unexpected(refused(rejection::invalid_token, token::failure::expired));
  }
  // A revocation list that overflowed refuses every token issued at or before its floor: one of
  // them may be a revoked token whose entry it had to drop (docs/operations.md).
  if (revocations_ != nullptr && revocations_->below_floor(verified.issued_at)) {
    return unexpected(refused(rejection::revoked));
  }
  if (!verified.cnf)
    return unexpected(refused(rejection::invalid_token, token::failure::missing_cnf));
  std::optional<token::crypto::key> pop_key = verified.cnf->key;
  if (!pop_key) {
    // cnf by key id (RFC 9431 2.2.5): only a key the broker already holds will do.
    key_lookup lookup;
    {
      std::lock_guard lock(mutex_);
      lookup = lookup_;
    }
    if (verified.cnf->key_id && lookup) pop_key = lookup(*verified.cnf->key_id);
    if (!pop_key)
      return unexpected(refused(rejection::unknown_pop_key, token::failure::unknown_key));
  }
  // RFC 9431 2.2.5: HS256 and Ed25519 (and ES256 here) PoP keys; anything else is unusable.
  if (auto alg = token::pop::pop_algorithm(*pop_key); !alg) {
    return unexpected(refused(rejection::invalid_token, alg.error()));
  }
  // RFC 9200 5.3.1: a cnonce in the token must be one this broker issued, used once.
  if (verified.cnonce) {
    if (cnonces_ == nullptr || !cnonces_->consume(*verified.cnonce)) {
      return unexpected(refused(rejection::bad_nonce, token::failure::bad_nonce));
    }
  } else if (settings_.require_cnonce) {
    return unexpected(refused(rejection::bad_nonce, token::failure::bad_nonce));
  }
  auto token = std::make_shared<validated_token>(std::move(verified), std::move(*pop_key));
  token->raw.assign(token_bytes.begin(), token_bytes.end());
  token->hash = hash;
  token->hash_text = std::move(hash_text);
  token->expires_at = *token->claims.expires_at;
  token->key_identity = key_identity(token->pop_key);
  token->introspected = introspected;
  token->fresh_until =
      introspected ? clock_.now() + settings_.introspection_cache_ttl : clock::time_point::max();
  validated_token_ptr shared = std::move(token);
  {
    std::lock_guard lock(mutex_);
    cache_.put(std::string(as_string_view(hash)), shared);
  }
  if (revocations_ != nullptr) revocations_->track(shared);
  return shared;
}

token_validator::outcome token_validator::verify_locally(byte_view token, const byte_vector& hash,
                                                         std::string hash_text,
                                                         key_set* unknown_key_in) {
  const auto trusted = keys();
  {
    std::lock_guard lock(mutex_);
    ++verifications_;
  }
  auto verified = token::verify(token, *trusted, expectations_, clock_.unix_seconds());
  if (!verified) {
    if (unknown_key_in != nullptr && verified.error() == token::failure::unknown_key) {
      *unknown_key_in = trusted;
    }
    return unexpected(from_token_failure(verified.error()));
  }
  return finish(token, std::move(*verified), hash, std::move(hash_text), false);
}

token_validator::outcome token_validator::validate_local(byte_view token) {
  if (token.empty()) return unexpected(refused(rejection::not_a_token));
  if (token.size() > settings_.max_token_size) {
    return unexpected(refused(rejection::invalid_token, token::failure::too_large));
  }
  const byte_vector hash = token_hash(token);
  std::string hash_text = base64url_encode(hash);
  if (auto hit = cached(hash, hash_text); hit || hit.error().reason == rejection::revoked) {
    return hit;
  }
  if (revocations_ != nullptr && revocations_->is_revoked(hash_text)) {
    return unexpected(refused(rejection::revoked));
  }
  if (!token::detect_format(token)) return unexpected(refused(rejection::not_a_token));
  return verify_locally(token, hash, std::move(hash_text), nullptr);
}

void token_validator::validate(byte_view token, completion done, std::string_view requester) {
  if (token.empty()) {
    done(unexpected(refused(rejection::not_a_token)));
    return;
  }
  if (token.size() > settings_.max_token_size) {
    done(unexpected(refused(rejection::invalid_token, token::failure::too_large)));
    return;
  }
  const byte_vector hash = token_hash(token);
  std::string hash_text = base64url_encode(hash);
  if (auto hit = cached(hash, hash_text); hit || hit.error().reason == rejection::revoked) {
    done(std::move(hit));
    return;
  }
  if (revocations_ != nullptr && revocations_->is_revoked(hash_text)) {
    done(unexpected(refused(rejection::revoked)));
    return;
  }
  if (!token::detect_format(token)) {
    // Neither JWT nor CWT: a reference token, which only the AS can explain (RFC 9200 5.9).
    if (as_ == nullptr || !has_reference_shape(token, settings_.reference_token_length)) {
      done(unexpected(refused(rejection::not_a_token)));
      return;
    }
    // RFC 7662 2.2: the AS said inactive a moment ago; asking again would say the same.
    if (known_inactive(hash)) {
      done(unexpected(refused(rejection::invalid_token, token::failure::expired)));
      return;
    }
    // RFC 9431 8: a client must not be able to make the broker call the AS at will. Each host's
    // tokens may cost a bounded number of introspections; the global bound on waiting calls
    // (max_waiting_validations) applies on top.
    if (!requester.empty() && !introspection_budget_.try_take(requester)) {
      {
        std::lock_guard lock(mutex_);
        ++introspections_avoided_;
      }
      done(unexpected(refused(rejection::rate_limited)));
      return;
    }
    introspect(byte_vector(token.begin(), token.end()), hash, std::move(hash_text),
               std::move(done));
    return;
  }
  key_set unknown_key_in;
  auto verified = verify_locally(token, hash, hash_text, &unknown_key_in);
  if (!verified && unknown_key_in && as_ != nullptr) {
    refresh_keys_then(byte_vector(token.begin(), token.end()), unknown_key_in, std::move(done));
    return;
  }
  done(std::move(verified));
}

void token_validator::refresh_keys_then(byte_vector token, const key_set& seen, completion done) {
  bool start_fetch = false;
  bool verify_again = false;
  {
    std::lock_guard lock(mutex_);
    const auto now = clock_.now();
    const bool allowed =
        !last_jwks_fetch_ || now - *last_jwks_fetch_ >= settings_.jwks_min_refresh_interval;
    if (keys_ != seen) {
      // A fetch completed between the lookup and now: the kid may be in the new key set, so the
      // token is verified against it rather than refused (the rate limit below would refuse it).
      verify_again = true;
    } else if (!jwks_in_flight_ && !allowed) {
      // Rate limit: an unknown kid right after a fetch is a forged or foreign token, not a key
      // rotation; the AS is not asked again for it.
      start_fetch = false;
    } else if (key_waiters_.size() >= settings_.max_waiting_validations) {
      start_fetch = false;
    } else {
      key_waiters_.push_back(waiter{std::move(token), std::move(done)});
      if (!jwks_in_flight_) {
        jwks_in_flight_ = true;
        last_jwks_fetch_ = now;
        ++jwks_fetches_;
        start_fetch = true;
      }
      done = nullptr;
    }
  }
  if (verify_again) {
    const byte_vector hash = token_hash(token);
    done(verify_locally(token, hash, base64url_encode(hash), nullptr));
    return;
  }
  if (done) {
    done(unexpected(refused(rejection::invalid_token, token::failure::unknown_key)));
    return;
  }
  if (!start_fetch) return;
  std::weak_ptr<token_validator> self = weak_from_this();
  as_->fetch_jwks([self](result<std::string, as_error> body) {
    if (auto alive = self.lock()) alive->on_jwks(std::move(body));
  });
}

void token_validator::on_jwks(result<std::string, as_error> body) {
  if (body) {
    if (auto installed = install_jwks(*body); !installed) {
      spdlog::warn("ace: the AS key set was refused: {}", token::to_string(installed.error()));
    }
  } else {
    spdlog::warn("ace: fetching the AS key set failed ({})", static_cast<int>(body.error()));
  }
  std::vector<waiter> waiting;
  {
    std::lock_guard lock(mutex_);
    jwks_in_flight_ = false;
    waiting.swap(key_waiters_);
  }
  for (auto& item : waiting) {
    const byte_vector hash = token_hash(item.token);
    item.done(verify_locally(item.token, hash, base64url_encode(hash), nullptr));
  }
}

void token_validator::introspect(byte_vector token, byte_vector hash, std::string hash_text,
                                 completion done) {
  bool busy = false;
  {
    std::lock_guard lock(mutex_);
    busy = introspections_in_flight_ >= settings_.max_waiting_validations;
    if (!busy) {
      ++introspections_in_flight_;
      ++verifications_;
    }
  }
  if (busy) {
    done(unexpected(refused(rejection::busy)));
    return;
  }
  std::weak_ptr<token_validator> self = weak_from_this();
  auto finish_call = [self, raw = token, hash = std::move(hash), hash_text = std::move(hash_text),
                      done](result<std::string, as_error> body) mutable {
    auto alive = self.lock();
    if (!alive) {
      done(unexpected(refused(rejection::as_unavailable)));
      return;
    }
    {
      std::lock_guard lock(alive->mutex_);
      --alive->introspections_in_flight_;
    }
    if (!body) {
      // RFC 9431 2.2.2: "the claims cannot be obtained" is a refusal (0x87).
      done(unexpected(refused(rejection::as_unavailable)));
      return;
    }
    auto object = token::jose::parse_object(*body, 16);
    if (!object) {
      done(unexpected(refused(rejection::as_unavailable, object.error())));
      return;
    }
    // RFC 7662 2.2: only an active token has claims worth reading.
    const auto* active = object->if_contains("active");
    if (active == nullptr || !active->is_bool() || !active->get_bool()) {
      if (alive->settings_.inactive_cache_ttl.count() > 0) {
        std::lock_guard lock(alive->mutex_);
        alive->inactive_.put(std::string(as_string_view(hash)),
                             alive->clock_.now() + alive->settings_.inactive_cache_ttl);
      }
      done(unexpected(refused(rejection::invalid_token, token::failure::expired)));
      return;
    }
    const auto trusted = alive->keys();
    // RFC 9431 2.2.5: "For a token-by-reference, the Broker uses the cnf structure returned as a
    // result of token introspection". The response came over the authenticated HTTPS channel
    // (RFC 9431 2, RFC 7662 2.1), so unlike a JWT it may carry a symmetric PoP key in the clear
    // (RFC 7800 3.2; RFC 9200 5.9.2 Figure 10).
    auto claims = token::detail::claims_from_json(*object, *trusted, alive->expectations_,
                                                  token::jose::cnf_origin::introspection);
    if (!claims) {
      done(unexpected(refused(rejection::invalid_token, claims.error())));
      return;
    }
    if (auto checked =
            token::check_claims(*claims, alive->expectations_, alive->clock_.unix_seconds());
        !checked) {
      done(unexpected(from_token_failure(checked.error())));
      return;
    }
    done(alive->finish(raw, std::move(*claims), hash, std::move(hash_text), true));
  };
  as_->introspect(token, std::move(finish_call));
}

}  // namespace acemq::ace
