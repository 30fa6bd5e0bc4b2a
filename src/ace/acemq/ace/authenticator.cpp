#include "acemq/ace/authenticator.hpp"

#include <boost/json.hpp>

#include <spdlog/spdlog.h>

#include <utility>

#include "acemq/common/log.hpp"
#include "acemq/common/rate_limiter.hpp"
#include "acemq/token/pop/proof.hpp"

namespace acemq::ace {

namespace pop = token::pop;

ace_authenticator::ace_authenticator(const ace_settings& settings,
                                     std::shared_ptr<token_validator> validator, token_store& store,
                                     cnonce_registry* cnonces, const clock& time,
                                     random_source& random)
    : settings_(settings),
      validator_(std::move(validator)),
      store_(store),
      cnonces_(cnonces),
      clock_(time),
      random_(random),
      refused_psk_identities_(settings.verified_cache_size),
      challenges_(broker::challenge_limits{settings.max_pending_challenges,
                                           settings.max_pending_challenges_per_address,
                                           settings.challenge_timeout},
                  time) {}

std::size_t ace_authenticator::pending_challenges() const {
  return challenges_.size();
}

void ace_authenticator::connection_closed(std::string_view listener_name,
                                          std::string_view remote_address) {
  challenges_.release(broker::challenge_owner(listener_name, remote_address));
}

namespace {

// A client over its host's introspection budget is told to come back later (0x9F, like the
// password throttle; MQTT 3.1.1: return code 3); every other refusal of a token is 0x87
// (RFC 9431 2.4.1).
mqtt::reason_code refusal_code(rejection why) {
  return why == rejection::rate_limited ? mqtt::reason_code::connection_rate_exceeded
                                        : mqtt::reason_code::not_authorized;
}

}  // namespace

broker::auth_step ace_authenticator::refuse(rejection why, bool tokenless,
                                            mqtt::reason_code reason) const {
  spdlog::info("ace: authentication refused: {}", to_string(why));
  broker::auth_step step = broker::auth_step::fail(reason);
  // RFC 9431 2.4.1: the Broker MAY trigger AS discovery with the `ace_as_hint` User Property;
  // draft-06 made it mandatory on every refusal.
  if (settings_.discovery &&
      (tokenless || settings_.discovery->on_every_failure || settings_.draft06)) {
    std::optional<byte_vector> cnonce;
    if (settings_.discovery->issue_cnonce && cnonces_ != nullptr) cnonce = cnonces_->issue();
    step.user_properties.emplace_back(
        std::string(as_hint_property),
        build_as_hint(*settings_.discovery, settings_.audience, cnonce));
  }
  return step;
}

broker::auth_step ace_authenticator::accept(const validated_token_ptr& token,
                                            const std::string& client_id,
                                            const std::optional<std::string>& will_topic) {
  // RFC 9431 4: expiry (and revocation) is checked on CONNECT, also after a slow exchange.
  if (token->ends_at() <= clock_.unix_seconds()) return refuse(rejection::invalid_token, false);
  // RFC 9431 2.2.4.1 / 2.3: the scope must allow the Will topic, or the CONNECT is refused with
  // 0x87 (never 0x80: the client named the topic itself).
  if (will_topic && !token->claims.scope.allows_publish(*will_topic)) {
    return refuse(rejection::will_not_allowed, false);
  }
  // RFC 9431 2.4.2: the token is kept during the connection and after it, for later use.
  store_.put(token, client_id);
  return broker::auth_step::succeed(
      std::make_shared<ace_principal>(token, client_id, settings_.hide_topic_names, clock_));
}

broker::auth_step ace_authenticator::issue_challenge(const std::string& key,
                                                     validated_token_ptr token,
                                                     bool reauthentication,
                                                     std::optional<std::string> will_topic) {
  challenge pending;
  pending.token = std::move(token);
  pending.reauthentication = reauthentication;
  pending.will_topic = std::move(will_topic);
  {
    // RFC 9431 2.2.4.2.2: an 8-byte nonce from the CSPRNG.
    std::lock_guard lock(random_mutex_);
    random_.fill(pending.rs_nonce);
  }
  const pop::nonce rs_nonce = pending.rs_nonce;
  if (!challenges_.hold(key, std::move(pending))) {
    return refuse(rejection::busy, false, mqtt::reason_code::server_busy);
  }
  return broker::auth_step::continue_exchange(pop::build_broker_challenge(rs_nonce));
}

void ace_authenticator::start(const broker::authentication_request& request, completion done) {
  if (request.method) {
    // Another Authentication Method belongs to another provider (MQTT 5.0 4.12; the chain
    // answers 0x8C when nobody implements it, RFC 9431 2.2.4.2).
    if (*request.method != ace_method) {
      done(broker::auth_step::pass());
      return;
    }
    // RFC 9431 2.2.1: MUST mutually authenticate, which takes TLS (2.2).
    if (request.tls == nullptr && !settings_.allow_plain_tcp) {
      done(refuse(rejection::tls_required, false));
      return;
    }
    start_v5(request, std::move(done));
    return;
  }
  // RFC 9431 6.1: MQTT 3.1.1 carries the token in the username, prefixed "ace".
  if (settings_.allow_v311 && request.version != mqtt::protocol_version::v5 && request.username &&
      request.username->starts_with(pop::username_prefix)) {
    auto token_bytes = pop::parse_username(*request.username);
    if (token_bytes) {
      start_v311(request, std::move(*token_bytes), std::move(done));
      return;
    }
  }
  // RFC 9431 2.2.3.2: TLS:Known(PSK),MQTT:none, the token (or its kid) as the PSK identity.
  if (settings_.allow_psk_identity && request.tls != nullptr) {
    if (const auto identity = request.tls->psk_identity()) {
      if (auto token = token_for_psk(*identity)) {
        // The TLS handshake already proved possession of the PSK, which is the PoP key.
        done(accept(token, request.client_id, request.will_topic));
        return;
      }
    }
  }
  done(broker::auth_step::pass());
}

void ace_authenticator::start_v311(const broker::authentication_request& request,
                                   byte_vector token_bytes, completion done) {
  // RFC 9431 6.1: the password is the PoP over the TLS exporter; 6.2: no token, no connection.
  if (!request.password || request.password->empty()) {
    done(refuse(rejection::malformed_auth_data, false));
    return;
  }
  validate_exporter_pop(request, token_bytes, *request.password, std::move(done));
}

template <typename Then>
void ace_authenticator::validate_then(byte_view token_bytes,
                                      const broker::authentication_request& request,
                                      completion done, Then then) {
  std::weak_ptr<ace_authenticator> self = weak_from_this();
  validator_->validate(
      token_bytes,
      [self, done = std::move(done),
       then = std::move(then)](token_validator::outcome outcome) mutable {
        auto alive = self.lock();
        if (!alive) {
          done(broker::auth_step::fail(mqtt::reason_code::not_authorized));
          return;
        }
        if (!outcome) {
          done(alive->refuse(outcome.error().reason, false, refusal_code(outcome.error().reason)));
          return;
        }
        done(then(*alive, std::move(*outcome)));
      },
      per_address_key(request.remote_address));
}

void ace_authenticator::start_v5(const broker::authentication_request& request, completion done) {
  const byte_view data = request.data ? byte_view(*request.data) : byte_view();
  std::optional<std::string> will_topic = request.will_topic;
  const std::string key = broker::challenge_owner(request);

  if (data.empty()) {
    // RFC 9431 2.2.4.2.2: no token in CONNECT, but one held for the client -> challenge.
    if (auto held = store_.find_for_client(request.client_id)) {
      done(issue_challenge(key, std::move(held), false, std::move(will_topic)));
      return;
    }
    // RFC 9431 2.4.1: no token and none stored -> 0x87 (the discovery request of 2.2.1).
    done(refuse(rejection::no_token, true));
    return;
  }

  if (auto only_token = pop::parse_connect_challenge(data); only_token && only_token->token) {
    // RFC 9431 2.2.4.2.2: only the token -> validate, then AUTH 0x18 with the rs_nonce.
    validate_then(*only_token->token, request, std::move(done),
                  [key, will_topic = std::move(will_topic)](ace_authenticator& alive,
                                                            validated_token_ptr token) mutable {
                    return alive.issue_challenge(key, std::move(token), false,
                                                 std::move(will_topic));
                  });
    return;
  }

  auto with_pop = pop::parse_connect_exporter(data);
  if (!with_pop) {
    // RFC 9431 2.4.1: malformed Authentication Data -> 0x87.
    done(refuse(rejection::malformed_auth_data, false));
    return;
  }
  validate_exporter_pop(request, with_pop->token,
                        byte_vector(with_pop->pop.begin(), with_pop->pop.end()), std::move(done));
}

void ace_authenticator::validate_exporter_pop(const broker::authentication_request& request,
                                              byte_view token_bytes, byte_vector proof,
                                              completion done) {
  // RFC 9431 2.2.4.2.1 (v5) and 6.1 (v3.1.1): the exporter with label
  // EXPORTER-ACE-MQTT-Sign-Challenge, an empty (present) context and 32 bytes. Taken now:
  // `request` is valid only during this call.
  std::optional<byte_vector> exporter;
  if (request.tls != nullptr) {
    exporter =
        request.tls->export_keying_material(pop::exporter_label, {}, true, pop::exporter_length);
  }
  if (!exporter) {
    done(refuse(rejection::exporter_unavailable, false));
    return;
  }
  validate_then(token_bytes, request, std::move(done),
                [exporter = std::move(*exporter), proof = std::move(proof),
                 client_id = request.client_id, will_topic = request.will_topic](
                    ace_authenticator& alive, const validated_token_ptr& token) {
                  // RFC 9431 2.2.5: the MAC or signature must verify with the cnf key.
                  if (!pop::verify_pop(token->pop_key, exporter, proof)) {
                    return alive.refuse(rejection::bad_pop, false);
                  }
                  return alive.accept(token, client_id, will_topic);
                });
}

void ace_authenticator::continue_auth(const broker::authentication_request& request,
                                      completion done) {
  // A challenge is single use: taken out whatever the outcome, so an answer cannot be replayed.
  std::optional<challenge> pending = challenges_.take(broker::challenge_owner(request));
  if (!pending) {
    done(refuse(rejection::challenge_unknown, false));
    return;
  }
  const byte_view data = request.data ? byte_view(*request.data) : byte_view();
  auto answer = pop::parse_client_response(data, settings_.draft06);
  if (!answer) {
    done(refuse(rejection::malformed_auth_data, false));
    return;
  }
  // RFC 9431 2.2.4.2.2: the PoP covers rs_nonce || client_nonce.
  const byte_vector covered = pop::challenge_bytes(pending->rs_nonce, answer->client_nonce);
  if (!pop::verify_pop(pending->token->pop_key, covered, answer->pop)) {
    done(refuse(rejection::bad_pop, false));
    return;
  }
  if (pending->reauthentication) {
    // RFC 9431 4: the new token's scope and expiry replace the old ones; the Will was
    // authorised at CONNECT and is not checked again.
    done(accept(pending->token, request.client_id, std::nullopt));
    return;
  }
  done(accept(pending->token, request.client_id, pending->will_topic));
}

void ace_authenticator::reauthenticate(const broker::authentication_request& request,
                                       completion done) {
  // RFC 9431 4: method "ace" and the new token in the Authentication Data. Only the
  // challenge/response is allowed within one TLS session: data with a PoP after the token (the
  // exporter layout) does not parse as `u16 len || token` and is refused.
  if (!request.method || *request.method != ace_method) {
    done(broker::auth_step::fail(mqtt::reason_code::bad_authentication_method));
    return;
  }
  if (request.tls == nullptr && !settings_.allow_plain_tcp) {
    done(refuse(rejection::tls_required, false));
    return;
  }
  const byte_view data = request.data ? byte_view(*request.data) : byte_view();
  auto token_bytes = pop::parse_token_only(data);
  if (!token_bytes) {
    done(refuse(rejection::malformed_auth_data, false));
    return;
  }
  // RFC 9431 4: a failed re-authentication ends in DISCONNECT 0x87 (the connection maps a
  // failure during re-authentication to DISCONNECT).
  validate_then(*token_bytes, request, std::move(done),
                [key = broker::challenge_owner(request)](ace_authenticator& alive,
                                                         validated_token_ptr token) {
                  return alive.issue_challenge(key, std::move(token), true, std::nullopt);
                });
}

validated_token_ptr ace_authenticator::token_for_psk(std::string_view identity) {
  // Cheap checks first: every ClientHello of anyone may carry identities.
  if (identity.empty() || identity.size() > settings_.max_token_size) return nullptr;
  // The identity is a token (RFC 9431 2.2.3.2: "the most recent access token ... as a PSK
  // identity") ... Nothing is stored here: the handshake has not proved the key yet (the binder
  // is checked after this lookup). The CONNECT on the finished handshake validates it again, from
  // the validator's cache, and accept() stores it then.
  if (token::detect_format(as_bytes(identity))) {
    const std::string hash(as_string_view(token_hash(as_bytes(identity))));
    const auto now = clock_.now();
    {
      std::lock_guard lock(refused_mutex_);
      if (const clock::time_point* until = refused_psk_identities_.find(hash);
          until != nullptr && *until > now) {
        return nullptr;
      }
    }
    auto outcome = validator_->validate_local(as_bytes(identity));
    if (!outcome) {
      // Failures are remembered for a while, so a repeated bad identity costs one lookup.
      std::lock_guard lock(refused_mutex_);
      refused_psk_identities_.put(hash, now + refused_psk_identity_ttl);
      return nullptr;
    }
    return std::move(*outcome);
  }
  // ... or a cnf structure naming the kid from the token response's rs_cnf.
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 4;
  const boost::json::value parsed = boost::json::parse(identity, ec, {}, options);
  if (ec || !parsed.is_object()) return nullptr;
  const auto* cnf = parsed.get_object().if_contains("cnf");
  if (cnf == nullptr || !cnf->is_object()) return nullptr;
  const boost::json::value* kid = cnf->get_object().if_contains("kid");
  if (kid == nullptr) {
    const auto* jwk = cnf->get_object().if_contains("jwk");
    if (jwk != nullptr && jwk->is_object()) kid = jwk->get_object().if_contains("kid");
  }
  if (kid == nullptr || !kid->is_string()) return nullptr;
  return store_.find_by_kid(as_bytes(kid->get_string()));
}

std::optional<byte_vector> ace_authenticator::psk_for_identity(std::string_view identity) {
  const validated_token_ptr token = token_for_psk(identity);
  if (!token || token->pop_key.type() != token::crypto::key_type::symmetric) return std::nullopt;
  const byte_view secret = token->pop_key.symmetric_bytes();
  return byte_vector(secret.begin(), secret.end());
}

}  // namespace acemq::ace
