#include "acemq/auth/device_jwt_provider.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <limits>
#include <utility>

#include "acemq/common/base64.hpp"
#include "acemq/common/log.hpp"
#include "acemq/token/jose/jws.hpp"
#include "acemq/token/jose/jwt.hpp"

namespace acemq::auth {

namespace {

using failure = device_jwt_failure;

/// Longest `jti` stored in the replay cache.
constexpr std::size_t max_jti_size = 256;

/// A NumericDate member (RFC 7519 2): absent -> nullopt inside; present but not a finite number
/// in range -> malformed.
result<std::optional<std::int64_t>, failure> numeric_date(const boost::json::object& claims,
                                                          std::string_view name) {
  const auto* value = claims.if_contains(name);
  if (!value) return std::optional<std::int64_t>{};
  if (value->is_int64()) return std::optional<std::int64_t>(value->get_int64());
  if (value->is_uint64()) {
    if (value->get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return unexpected(failure::malformed);
    return std::optional<std::int64_t>(static_cast<std::int64_t>(value->get_uint64()));
  }
  if (value->is_double()) {
    const double seconds = value->get_double();
    // RFC 7519 2: NumericDate may be non-integer; keep whole seconds (floor), in a safe range.
    if (!std::isfinite(seconds) || seconds < -9.0e15 || seconds > 9.0e15)
      return unexpected(failure::malformed);
    return std::optional<std::int64_t>(static_cast<std::int64_t>(std::floor(seconds)));
  }
  return unexpected(failure::malformed);
}

bool audience_matches(const boost::json::value& aud, std::string_view audience) {
  // RFC 7519 4.1.3: a string or an array of strings; this broker must be named.
  if (aud.is_string()) return aud.get_string() == audience;
  if (aud.is_array()) {
    for (const auto& entry : aud.get_array()) {
      if (entry.is_string() && entry.get_string() == audience) return true;
    }
  }
  return false;
}

bool string_claim_equals(const boost::json::object& claims, std::string_view name,
                         byte_view expected) {
  const auto* value = claims.if_contains(name);
  if (!value || !value->is_string()) return false;
  const std::string_view text(value->get_string().data(), value->get_string().size());
  return constant_time_equal(as_bytes(text), expected);
}

bool looks_like_jws(byte_view password) {
  // Three base64url parts: header.payload.signature (RFC 7515 7.1).
  std::size_t dots = 0;
  for (auto byte : password) {
    if (byte == '.') {
      ++dots;
    } else if (!((byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
                 (byte >= '0' && byte <= '9') || byte == '-' || byte == '_')) {
      return false;
    }
  }
  return dots == 2;
}

mqtt::reason_code reason_for(failure reason) {
  switch (reason) {
    case failure::replay_store_full:
    case failure::storage:
      return mqtt::reason_code::server_busy;  // 0x89: try again later
    default:
      return mqtt::reason_code::not_authorized;  // 0x87
  }
}

}  // namespace

std::string_view to_string(device_jwt_failure reason) noexcept {
  switch (reason) {
    case failure::malformed:
      return "malformed";
    case failure::unknown_key:
      return "unknown_key";
    case failure::bad_signature:
      return "bad_signature";
    case failure::wrong_audience:
      return "wrong_audience";
    case failure::missing_claim:
      return "missing_claim";
    case failure::expired:
      return "expired";
    case failure::issued_in_future:
      return "issued_in_future";
    case failure::not_yet_valid:
      return "not_yet_valid";
    case failure::lifetime_too_long:
      return "lifetime_too_long";
    case failure::wrong_subject:
      return "wrong_subject";
    case failure::nonce_mismatch:
      return "nonce_mismatch";
    case failure::binding_mismatch:
      return "binding_mismatch";
    case failure::channel_unavailable:
      return "channel_unavailable";
    case failure::replayed:
      return "replayed";
    case failure::counter_not_increasing:
      return "counter_not_increasing";
    case failure::replay_store_full:
      return "replay_store_full";
    case failure::storage:
      return "storage";
  }
  return "unknown";
}

result<verified_device_jwt, device_jwt_failure> verify_device_jwt(
    std::string_view token, const device_record& device, const device_jwt_settings& settings,
    const device_jwt_context& context, device_registry& registry) {
  if (token.size() > settings.max_token_size) return unexpected(failure::malformed);
  // A JWE (five parts) is refused by parse_jws: device tokens are signed, never encrypted.
  auto parts = token::jose::parse_jws(token);
  if (!parts) return unexpected(failure::malformed);

  // Select the key: by "kid" (the RFC 7638 thumbprint) when present, else every registered key.
  // The key decides the algorithm (each is bound to RS256, ES256 or EdDSA).
  const device_key* signer = nullptr;
  std::optional<token::jose::verified_jws> verified;
  bool any_candidate = false;
  for (const auto& candidate : device.keys) {
    if (parts->kid && *parts->kid != candidate.key_id) continue;
    any_candidate = true;
    auto checked = token::jose::verify_jws(token, candidate.key);
    if (checked) {
      signer = &candidate;
      verified = std::move(*checked);
      break;
    }
  }
  if (!any_candidate) return unexpected(failure::unknown_key);
  if (!signer) return unexpected(failure::bad_signature);

  auto parsed_claims = token::jose::parse_claims(verified->payload);
  if (!parsed_claims) return unexpected(failure::malformed);
  const boost::json::object& claims = *parsed_claims;

  // RFC 7519 4.1.3: aud names this broker.
  const auto* aud = claims.if_contains("aud");
  if (!aud) return unexpected(failure::missing_claim);
  if (!audience_matches(*aud, settings.audience)) return unexpected(failure::wrong_audience);
  // RFC 7519 4.1.2: when present, sub must be the device.
  if (const auto* sub = claims.if_contains("sub")) {
    if (!sub->is_string() || sub->get_string() != device.id)
      return unexpected(failure::wrong_subject);
  }

  auto exp = numeric_date(claims, "exp");
  auto iat = numeric_date(claims, "iat");
  auto nbf = numeric_date(claims, "nbf");
  if (!exp) return unexpected(exp.error());
  if (!iat) return unexpected(iat.error());
  if (!nbf) return unexpected(nbf.error());
  if (!*exp || !*iat) return unexpected(failure::missing_claim);
  const std::int64_t skew = settings.clock_skew.count();
  const std::int64_t now = context.now_unix;
  // Saturating arithmetic: claims are attacker-chosen 64-bit values.
  const auto add = [](std::int64_t a, std::int64_t b) {
    if (b > 0 && a > std::numeric_limits<std::int64_t>::max() - b)
      return std::numeric_limits<std::int64_t>::max();
    if (b < 0 && a < std::numeric_limits<std::int64_t>::min() - b)
      return std::numeric_limits<std::int64_t>::min();
    return a + b;
  };
  // RFC 7519 4.1.4: refuse at or after exp (with the configured skew).
  if (now >= add(**exp, skew)) return unexpected(failure::expired);
  // RFC 7519 4.1.6 and seed 004: an iat in the future is a pre-minted token.
  if (**iat > add(now, skew)) return unexpected(failure::issued_in_future);
  if (**exp <= **iat) return unexpected(failure::malformed);
  // Compared through add(), never by subtracting: exp - iat could overflow.
  if (**exp > add(**iat, settings.max_lifetime.count()) ||
      **exp > add(now, add(skew, settings.max_lifetime.count())))
    return unexpected(failure::lifetime_too_long);
  if (*nbf && **nbf > add(now, skew)) return unexpected(failure::not_yet_valid);

  // Freshness that the device could not have produced before this connection.
  if (context.expected_nonce) {
    // MQTT 5 challenge: the nonce claim must be the broker's (whatever the policy).
    if (!claims.if_contains("nonce")) return unexpected(failure::missing_claim);
    if (!string_claim_equals(claims, "nonce", as_bytes(*context.expected_nonce)))
      return unexpected(failure::nonce_mismatch);
  } else if (device.policy == replay_policy::nonce) {
    if (!context.tls_exporter) return unexpected(failure::channel_unavailable);
    if (!claims.if_contains(device_jwt_exporter_claim)) return unexpected(failure::missing_claim);
    const std::string expected = base64url_encode(*context.tls_exporter);
    if (!string_claim_equals(claims, device_jwt_exporter_claim, as_bytes(expected)))
      return unexpected(failure::binding_mismatch);
  }

  // Replay state last, so a token that fails a check above never consumes a jti or counter.
  if (device.policy == replay_policy::jti) {
    const auto* jti = claims.if_contains("jti");
    if (!jti || !jti->is_string()) return unexpected(failure::missing_claim);
    const std::string_view jti_text(jti->get_string().data(), jti->get_string().size());
    if (jti_text.empty() || jti_text.size() > max_jti_size) return unexpected(failure::malformed);
    auto recorded = registry.record_jti(device.id, jti_text, add(**exp, skew), now);
    if (!recorded) return unexpected(failure::storage);
    if (*recorded == jti_outcome::replayed) return unexpected(failure::replayed);
    if (*recorded == jti_outcome::full) return unexpected(failure::replay_store_full);
  } else if (device.policy == replay_policy::counter) {
    const auto* ctr = claims.if_contains("ctr");
    if (!ctr) return unexpected(failure::missing_claim);
    std::int64_t counter = 0;
    if (ctr->is_int64() && ctr->get_int64() >= 0) {
      counter = ctr->get_int64();
    } else if (ctr->is_uint64() &&
               ctr->get_uint64() <=
                   static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      counter = static_cast<std::int64_t>(ctr->get_uint64());
    } else {
      return unexpected(failure::malformed);
    }
    auto advanced = registry.advance_counter(device.id, signer->key_id, counter);
    if (!advanced) return unexpected(failure::storage);
    if (!*advanced) return unexpected(failure::counter_not_increasing);
  }
  return verified_device_jwt{signer->key_id, **exp};
}

device_jwt_provider::device_jwt_provider(std::shared_ptr<device_registry> registry,
                                         std::shared_ptr<const acl_store> acl,
                                         device_jwt_settings settings, const clock& time,
                                         random_source& random)
    : registry_(std::move(registry)),
      acl_(std::move(acl)),
      settings_(std::move(settings)),
      clock_(time),
      random_(random),
      challenges_(broker::challenge_limits{settings_.max_pending_challenges,
                                           settings_.max_pending_challenges_per_address,
                                           settings_.challenge_timeout},
                  time) {}

std::size_t device_jwt_provider::pending_challenges() const {
  return challenges_.size();
}

void device_jwt_provider::connection_closed(std::string_view listener_name,
                                            std::string_view remote_address) {
  challenges_.release(broker::challenge_owner(listener_name, remote_address));
}

broker::auth_step device_jwt_provider::issue_challenge(
    const broker::authentication_request& request) {
  byte_vector random_bytes(device_jwt_nonce_size);
  {
    std::lock_guard lock(random_mutex_);
    random_.fill(random_bytes);
  }
  std::string nonce = base64url_encode(random_bytes);
  if (!challenges_.hold(broker::challenge_owner(request), nonce)) {
    return broker::auth_step::fail(mqtt::reason_code::server_busy);
  }
  return broker::auth_step::continue_exchange(to_bytes(nonce));
}

broker::auth_step device_jwt_provider::check(const broker::authentication_request& request,
                                             std::string_view token, const device_record& device,
                                             std::optional<std::string> nonce) {
  device_jwt_context context;
  context.now_unix = clock_.unix_seconds();
  context.expected_nonce = std::move(nonce);
  if (request.tls) {
    context.tls_exporter = request.tls->export_keying_material(device_jwt_exporter_label, {}, false,
                                                               device_jwt_exporter_length);
  }
  auto verified = verify_device_jwt(token, device, settings_, context, *registry_);
  if (!verified) {
    spdlog::info("device_jwt: {} refused: {}", request.client_id, to_string(verified.error()));
    return broker::auth_step::fail(reason_for(verified.error()));
  }
  // The principal expires with the JWT, so the broker closes the connection at exp.
  return broker::auth_step::succeed(std::make_shared<acl_principal>(
      "device-jwt", device.id, request.client_id, device.id, acl_, verified->expires_at));
}

void device_jwt_provider::start(const broker::authentication_request& request, completion done) {
  if (request.method && *request.method != device_jwt_method) {
    done(broker::auth_step::pass());
    return;
  }
  if (!request.method && (!request.password || !looks_like_jws(*request.password))) {
    done(broker::auth_step::pass());
    return;
  }
  auto device = registry_->find(request.client_id);
  if (!device) {
    done(broker::auth_step::fail(mqtt::reason_code::server_busy));
    return;
  }
  if (!*device) {
    // Not one of our devices: another provider (e.g. ACE with a token in the password) may know
    // the client. With our method named, nobody else can.
    done(request.method ? broker::auth_step::fail(mqtt::reason_code::not_authorized)
                        : broker::auth_step::pass());
    return;
  }
  if (request.method) {
    if (request.data && !request.data->empty()) {
      // A JWT already in CONNECT's Authentication Data: checked without a challenge.
      done(check(request, as_string_view(*request.data), **device, std::nullopt));
      return;
    }
    done(issue_challenge(request));
    return;
  }
  done(check(request, as_string_view(*request.password), **device, std::nullopt));
}

void device_jwt_provider::continue_auth(const broker::authentication_request& request,
                                        completion done) {
  // A nonce is single use: taken out whatever the outcome.
  std::optional<std::string> nonce = challenges_.take(broker::challenge_owner(request));
  if (!nonce || !request.data) {
    done(broker::auth_step::fail(mqtt::reason_code::not_authorized));
    return;
  }
  auto device = registry_->find(request.client_id);
  if (!device || !*device) {
    done(broker::auth_step::fail(mqtt::reason_code::not_authorized));
    return;
  }
  done(check(request, as_string_view(*request.data), **device, std::move(nonce)));
}

void device_jwt_provider::reauthenticate(const broker::authentication_request& request,
                                         completion done) {
  // MQTT 5.0 4.12.1: the same method again; a fresh challenge, answered by a fresh JWT.
  if (request.method && *request.method != device_jwt_method) {
    done(broker::auth_step::fail(mqtt::reason_code::bad_authentication_method));
    return;
  }
  auto device = registry_->find(request.client_id);
  if (!device || !*device) {
    done(broker::auth_step::fail(mqtt::reason_code::not_authorized));
    return;
  }
  done(issue_challenge(request));
}

}  // namespace acemq::auth
