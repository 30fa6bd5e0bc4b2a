// authorization_service: POST /token (RFC 6749 4.4 and 6, RFC 9200 5.8, RFC 9201 3.1) — the
// client credentials and refresh token grants, PoP key binding and token minting.
#include "acemq/as/service.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstring>

#include "acemq/as/endpoint_common.hpp"
#include "acemq/as/policy.hpp"
#include "acemq/as/token_minter.hpp"
#include "acemq/common/base64.hpp"
#include "acemq/token/cbor/codec.hpp"
#include "acemq/token/cose/cose_key.hpp"
#include "acemq/token/cose/cwt.hpp"
#include "acemq/token/crypto/aead.hpp"
#include "acemq/token/jose/jwk.hpp"

namespace acemq::as {

namespace crypto = token::crypto;
namespace jose = token::jose;
namespace cose = token::cose;
using namespace detail;  // the responses and keys every endpoint shares

namespace {

constexpr std::int64_t purge_interval = 3600;

std::string random_id(random_source& random, std::size_t size) {
  return base64url_encode(random.bytes(size));
}

/// A client's public PoP key as the AS binds it: named by its RFC 7638 thumbprint, whatever kid
/// the client sent. A kid the AS derives cannot be chosen, so no client can have a key of its own
/// bound under the name of another client's key (the broker resolves a cnf that names its key by
/// kid alone with the keys it already holds, RFC 9431 2.2.5).
std::optional<pop_key> named_by_thumbprint(crypto::key public_key) {
  auto thumbprint = jose::thumbprint_base64url(public_key);
  if (!thumbprint) return std::nullopt;
  pop_key pop;
  pop.kid = to_bytes(*thumbprint);
  public_key.set_kid(pop.kid);
  pop.key = std::move(public_key);
  return pop;
}

/// The client's PoP key from a req_cnf that carries the key (RFC 9201 3.1: a JWK or a COSE_Key).
/// Only public Ed25519 / P-256 keys: the MQTT-TLS profile's broker verifies Ed25519 and ES256
/// proofs (RFC 9431 2.2.4.1). A req_cnf naming a key by kid alone is resolved by the service,
/// which knows the client.
result<pop_key, request_error> pop_from_request(const requested_cnf& cnf) {
  result<crypto::key, token::failure> parsed = unexpected(token::failure::bad_key);
  if (!cnf.jwk_json.empty()) {
    jose::jwk_options options;
    options.public_only = true;
    parsed = jose::parse_jwk(cnf.jwk_json, options);
  } else if (cnf.cose_key) {
    parsed = cose::key_from_cose(*cnf.cose_key);
  }
  if (!parsed) {
    if (parsed.error() == token::failure::bad_encoding) {
      return unexpected(request_error{oauth_error::invalid_request, "req_cnf key is malformed"});
    }
    return unexpected(request_error{oauth_error::unsupported_pop_key, "req_cnf key not usable"});
  }
  if (parsed->is_private() || (parsed->type() != crypto::key_type::okp_ed25519 &&
                               parsed->type() != crypto::key_type::ec_p256)) {
    return unexpected(request_error{oauth_error::unsupported_pop_key,
                                    "req_cnf must be a public Ed25519 or P-256 key"});
  }
  // A kid the client put in the key is replaced by the thumbprint, never copied.
  auto pop = named_by_thumbprint(std::move(*parsed));
  if (!pop) {
    return unexpected(request_error{oauth_error::unsupported_pop_key, "req_cnf key not usable"});
  }
  return std::move(*pop);
}

/// Restores a PoP key stored with a refresh token. A stored key is named by its thumbprint again:
/// a refresh token from before that rule must not carry a client-chosen kid into new tokens.
std::optional<pop_key> pop_from_stored(const std::string& cnf_json) {
  boost::system::error_code ec;
  auto parsed = json::parse(cnf_json, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  const auto& object = parsed.get_object();
  if (const auto* jwk = object.if_contains("jwk"); jwk != nullptr && jwk->is_object()) {
    jose::jwk_options options;
    options.public_only = true;
    auto k = jose::parse_jwk(jwk->get_object(), options);
    if (!k) return std::nullopt;
    return named_by_thumbprint(std::move(*k));
  }
  if (const auto* kid = object.if_contains("kid"); kid != nullptr && kid->is_string()) {
    pop_key pop;
    pop.kid = to_bytes(std::string_view(kid->get_string().data(), kid->get_string().size()));
    return pop;
  }
  return std::nullopt;
}

/// Takes one request from `key`'s bucket: 0 when it may go on, else the whole seconds until it
/// may (Retry-After). A limit without a refill rate is off.
std::int64_t acquire(rate_limiter& limiter, const rate_limit_settings& limit,
                     std::string_view key) {
  if (limit.refill_per_second <= 0) return 0;
  if (limiter.try_take(key)) return 0;
  return limiter.seconds_until_allowed(key);
}

/// A fresh symmetric PoP key for HS256 (RFC 9431 2.2.4.1: HMAC-SHA256 is mandatory).
pop_key generate_symmetric_pop(random_source& random) {
  pop_key pop;
  auto k = crypto::key::generate_symmetric(32, random);
  k.bind_algorithm(crypto::algorithm::hs256);
  pop.kid = to_bytes(random_id(random, 8));
  k.set_kid(pop.kid);
  pop.key = std::move(k);
  return pop;
}

}  // namespace

void authorization_service::rotate_if_due(std::int64_t now) {
  if (options_.key_rotation_interval > 0 &&
      now - keys_.current().record.created_at >= options_.key_rotation_interval) {
    // A failed rotation keeps the current key signing; the next request tries again.
    (void)keys_.rotate(store_, now, options_.max_token_lifetime);
  }
}

http_response authorization_service::token_endpoint(const http_request& request) {
  if (request.method != "POST") return method_not_allowed("POST");
  const auto format = content_format_from_media_type(request.header("content-type"));
  if (!format) return unsupported_media_type(content_format::json, accepted_token_media_types);
  if (const auto wait =
          acquire(address_limiter_, options_.per_address, per_address_key(request.peer_address));
      wait > 0) {
    audit(audit_kind::token_refused, &request, "", "", "", "rate limited (address)");
    return too_many_requests(*format, wait);
  }
  auto parsed = parse_token_request(*format, request.body, options_.limits);
  if (!parsed) {
    audit(audit_kind::token_refused, &request, "", "", "",
          std::string(to_string(parsed.error().code)));
    return error_response(*format, parsed.error().code, parsed.error().description);
  }
  auto& token_request = *parsed;
  auto client = authenticate_client(request, token_request.client_id, token_request.client_secret);
  if (!client) {
    audit(audit_kind::token_refused, &request, token_request.client_id.value_or(""), "", "",
          client.error().retry_after > 0 ? std::string("rate limited (authentication)")
                                         : std::string(to_string(client.error().code)));
    return authentication_refused(*format, client.error());
  }
  const auto& client_id = client->client.client_id;
  if (const auto wait = acquire(client_limiter_, options_.per_client, client_id); wait > 0) {
    audit(audit_kind::token_refused, &request, client_id, "", "", "rate limited (client)");
    return too_many_requests(*format, wait);
  }
  const auto refuse = [&](oauth_error code, std::string description) {
    audit(audit_kind::token_refused, &request, client_id, token_request.audience.value_or(""), "",
          std::string(to_string(code)) + ": " + description);
    return error_response(*format, code, description);
  };

  if (!token_request.grant || (*token_request.grant != grant_type::client_credentials &&
                               *token_request.grant != grant_type::refresh_token)) {
    return refuse(oauth_error::unsupported_grant_type,
                  "grant_type not supported: " + token_request.grant_type_text);
  }
  const bool refreshing = *token_request.grant == grant_type::refresh_token;
  if (!refreshing && !client->client.allow_client_credentials) {
    return refuse(oauth_error::unauthorized_client, "client_credentials not allowed");
  }
  if (refreshing && client->client.refresh == refresh_mode::none) {
    return refuse(oauth_error::unauthorized_client, "refresh_token not allowed");
  }

  std::lock_guard lock(mutex_);
  const auto now = clock_.unix_seconds();
  rotate_if_due(now);

  // What is being asked: audience, scope and PoP key, from the request or the refresh token.
  std::optional<refresh_token_record> refresh;
  std::string audience;
  std::optional<std::vector<token::scope::grant>> requested = token_request.scope;
  pop_key pop;
  bool pop_generated = false;
  if (refreshing) {
    if (!token_request.refresh_token) {
      return refuse(oauth_error::invalid_request, "refresh_token is missing");
    }
    auto found =
        store_.find_refresh_token_by_hash(token_hash(as_bytes(*token_request.refresh_token)));
    if (!found) return server_error(*format);
    if (!found->has_value() || !(*found)->active_at(now) || (*found)->client_id != client_id) {
      return refuse(oauth_error::invalid_grant, "refresh token invalid, expired or revoked");
    }
    refresh = std::move(**found);
    audience = refresh->audience;
    if (token_request.audience && *token_request.audience != audience) {
      return refuse(oauth_error::invalid_request, "audience differs from the refresh token's");
    }
    std::optional<std::vector<token::scope::grant>> original;
    if (!refresh->requested_scope.empty()) {
      auto scope = token::scope::aif_scope::from_json(refresh->requested_scope);
      if (!scope) return server_error(*format);
      original = scope->grants();
    }
    if (requested && original) {
      // RFC 6749 6: a refresh may narrow the scope, never widen it beyond the original request.
      std::vector<grant_record> original_as_grants;
      for (const auto& entry : *original) {
        grant_record g;
        g.filter = entry.filter;
        g.permissions =
            static_cast<std::uint8_t>((entry.publish ? 0x01 : 0) | (entry.subscribe ? 0x02 : 0));
        g.not_after = now + 1;
        original_as_grants.push_back(std::move(g));
      }
      auto narrowed = policy::intersect(requested, original_as_grants, now);
      if (narrowed.empty())
        return refuse(oauth_error::invalid_scope, "scope exceeds the original grant");
      requested = std::move(narrowed);
    } else if (!requested) {
      requested = std::move(original);
    }
    if (!refresh->req_cnf.empty()) {
      auto stored = pop_from_stored(refresh->req_cnf);
      if (!stored) return server_error(*format);
      pop = std::move(*stored);
      if (!pop.key) {
        // The kid rule of the request below holds for every token the refresh token mints.
        auto bound =
            store_.find_client_pop_key(client_id, std::string(as_string_view(pop.kid)), now);
        if (!bound) return server_error(*format);
        if (!bound->has_value()) {
          return refuse(oauth_error::invalid_grant,
                        "the refresh token's req_cnf kid no longer names a key of this client");
        }
      }
    } else {
      pop = generate_symmetric_pop(random_);
      pop_generated = true;
    }
  } else {
    if (!token_request.audience || token_request.audience->empty()) {
      return refuse(oauth_error::invalid_request, "audience is missing");
    }
    audience = *token_request.audience;
    if (token_request.req_cnf && token_request.req_cnf->kid) {
      // RFC 9201 3.1: a kid names a key the client already holds. Only a key this same client
      // sent and the AS bound to one of its tokens (by its RFC 7638 thumbprint) may be named, so
      // no client can name another's. RFC 9200 5.8.3 keeps
      // unsupported_pop_key for keys the RS cannot process; an unknown kid is a bad parameter
      // value (RFC 6749 5.2 invalid_request).
      const std::string kid(as_string_view(*token_request.req_cnf->kid));
      auto bound = store_.find_client_pop_key(client_id, kid, now);
      if (!bound) return server_error(*format);
      if (!bound->has_value()) {
        return refuse(oauth_error::invalid_request,
                      "req_cnf kid does not name a key bound to this client's tokens");
      }
      pop.kid = *token_request.req_cnf->kid;
    } else if (token_request.req_cnf) {
      auto requested_pop = pop_from_request(*token_request.req_cnf);
      if (!requested_pop) {
        return refuse(requested_pop.error().code, requested_pop.error().description);
      }
      pop = std::move(*requested_pop);
    } else {
      pop = generate_symmetric_pop(random_);
      pop_generated = true;
    }
  }

  auto server = store_.find_resource_server(audience);
  if (!server) return server_error(*format);
  if (!server->has_value()) return refuse(oauth_error::invalid_request, "unknown audience");

  // The owners decide: intersect what was asked with the grants active now.
  grant_query query;
  query.client_id = client_id;
  query.audience = audience;
  query.now = now;
  auto grants = store_.list_grants(query);
  if (!grants) return server_error(*format);
  auto granted_entries = policy::intersect(requested, *grants, now);
  if (granted_entries.empty()) {
    return refuse(oauth_error::invalid_scope, "no grant allows the requested scope");
  }
  auto granted = token::scope::aif_scope::from_grants(granted_entries);
  if (!granted) return server_error(*format);

  // A token never outlives the grants that allow it: its exp is at most the end of the grants
  // its scope comes from, so a grant that ends ends the sessions it allowed.
  const auto grants_end = policy::covered_until(granted_entries, *grants, now);
  if (grants_end <= now) return server_error(*format);  // intersect() keeps only active grants
  const auto lifetime =
      std::min({(*server)->token_lifetime, options_.max_token_lifetime, grants_end - now});
  mint_request mint;
  mint.issuer = options_.issuer;
  mint.client_id = client_id;
  mint.token_id = random_id(random_, 16);
  mint.scope = *granted;
  mint.pop = pop;
  mint.cnonce = token_request.cnonce;
  mint.issued_at = now;
  mint.expires_at = now + lifetime;
  auto minted = mint_token(mint, **server, keys_.current(), random_);
  if (!minted) {
    if (minted.error() == mint_error::no_encryption_key) {
      return refuse(oauth_error::invalid_request,
                    "the resource server cannot receive a symmetric key; send req_cnf");
    }
    if (minted.error() == mint_error::unsupported_key) {
      return refuse(oauth_error::unsupported_pop_key,
                    "the resource server's token format cannot carry this key");
    }
    return server_error(*format);
  }

  // Refresh token: a new one for client_credentials; on refresh, rotate or keep constant.
  std::optional<std::string> refresh_text;
  std::string refresh_id = refresh ? refresh->refresh_id : std::string();
  std::int64_t key_bound_until = mint.expires_at;
  const bool issue_refresh = client->client.refresh != refresh_mode::none &&
                             (!refreshing || client->client.refresh == refresh_mode::rotating);
  if (issue_refresh) {
    refresh_token_record record;
    record.refresh_id = random_id(random_, 16);
    refresh_text = random_id(random_, 32);
    record.token_hash = token_hash(as_bytes(*refresh_text));
    record.client_id = client_id;
    record.audience = audience;
    if (refresh) {
      record.requested_scope = refresh->requested_scope;
    } else if (token_request.scope) {
      auto asked = token::scope::aif_scope::from_grants(*token_request.scope);
      if (asked) record.requested_scope = asked->to_json();
    }
    record.req_cnf = pop_generated ? std::string() : pop_cnf_json(pop);
    record.issued_at = now;
    record.expires_at = now + client->client.refresh_lifetime;
    if (refresh) {
      // Rotation: the presented refresh token stops working (RFC 6749 6, RFC 9700 4.14.2).
      if (auto revoked = store_.revoke_refresh_token(refresh->refresh_id, now); !revoked) {
        return server_error(*format);
      }
    }
    if (auto stored = store_.insert_refresh_token(record); !stored) return server_error(*format);
    refresh_id = record.refresh_id;
    key_bound_until = std::max(key_bound_until, record.expires_at);
  }
  if (pop.key && !pop.symmetric()) {
    // The client's public key, by its thumbprint: later requests of this client may name it by
    // kid while a token or refresh token carrying it lives.
    client_pop_key_record bound_key;
    bound_key.client_id = client_id;
    bound_key.kid = std::string(as_string_view(pop.kid));
    bound_key.bound_until = key_bound_until;
    if (auto stored = store_.bind_client_pop_key(bound_key); !stored) {
      return server_error(*format);
    }
  }

  issued_token_record record;
  record.token_id = mint.token_id;
  record.token_hash = minted->hash;
  record.client_id = client_id;
  record.audience = audience;
  record.scope = granted->to_json();
  record.format = minted->format;
  record.cnf = minted->cnf_json;
  if (mint.cnonce) record.cnonce = base64url_encode(*mint.cnonce);
  record.exi = (*server)->use_exi ? lifetime : 0;
  record.issued_at = now;
  record.expires_at = mint.expires_at;
  record.signing_kid = minted->signing_kid;
  record.refresh_id = refresh_id;
  if (auto stored = store_.insert_token(record); !stored) return server_error(*format);
  audit(audit_kind::token_issued, &request, client_id, audience, record.token_id,
        std::string(to_string(minted->format)) + " " + client->method + " " + record.scope);

  // RFC 9200 5.8.2 / RFC 9201: the access token response.
  http_response response;
  if (*format == content_format::cbor) {
    auto body = cbor::value::map();
    body.insert(key::access_token, cbor::value::bytes(minted->bytes));
    body.insert(key::expires_in, cbor::value::integer(lifetime));
    body.insert(key::scope, granted->to_cbor_value());
    body.insert(key::token_type, cbor::value::integer(token_type_pop_cbor));
    body.insert(key::ace_profile, cbor::value::integer(cose::ace_profile_mqtt_tls));
    if (pop_generated) {
      auto cnf = pop_cnf_cbor(pop);
      if (!cnf) return server_error(*format);
      body.insert(key::cnf, std::move(*cnf));
    }
    if (!(*server)->rs_cnf.empty()) {
      if (auto rs_cnf = cnf_json_to_cbor((*server)->rs_cnf)) body.insert(key::rs_cnf, *rs_cnf);
    }
    if (refresh_text) body.insert(key::refresh_token, cbor::value::bytes(as_bytes(*refresh_text)));
    response = cbor_response(200, body);
  } else {
    json::object body;
    body["access_token"] = minted->text;
    body["token_type"] = "PoP";
    body["expires_in"] = lifetime;
    body["scope"] = granted->to_json();
    body["ace_profile"] = profile_name;
    if (pop_generated) body["cnf"] = json::parse(minted->cnf_json);
    if (!(*server)->rs_cnf.empty()) {
      boost::system::error_code ec;
      auto rs_cnf = json::parse((*server)->rs_cnf, ec);
      if (!ec) body["rs_cnf"] = std::move(rs_cnf);
    }
    if (refresh_text) body["refresh_token"] = *refresh_text;
    response = json_response(200, body);
  }
  no_store(response);
  if (now - last_purge_ >= purge_interval) {
    last_purge_ = now;
    (void)store_.purge_expired(now);
  }
  return response;
}

}  // namespace acemq::as
