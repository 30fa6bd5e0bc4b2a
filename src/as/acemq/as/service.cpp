#include "acemq/as/service.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

#include "acemq/as/policy.hpp"
#include "acemq/as/secret_hash.hpp"
#include "acemq/as/token_minter.hpp"
#include "acemq/common/base64.hpp"
#include "acemq/common/topic.hpp"
#include "acemq/token/cbor/codec.hpp"
#include "acemq/token/cose/cwt.hpp"
#include "acemq/token/cose/key.hpp"
#include "acemq/token/crypto/aead.hpp"
#include "acemq/token/jose/jwk.hpp"

namespace acemq::as {
namespace {

namespace json = boost::json;
namespace cbor = token::cbor;
namespace crypto = token::crypto;
namespace jose = token::jose;
namespace cose = token::cose;

constexpr std::string_view profile_name = "mqtt_tls";
constexpr std::int64_t token_type_pop_cbor = 2;  // RFC 9200 8.7: "PoP" -> 2
constexpr std::int64_t purge_interval = 3600;
constexpr std::size_t max_verified_secrets = 4096;

// RFC 9200 Table 5 / Table 6 and RFC 9201 CBOR keys used in responses.
namespace key {
constexpr std::int64_t iss = 1;
constexpr std::int64_t sub = 2;
constexpr std::int64_t aud = 3;
constexpr std::int64_t exp = 4;
constexpr std::int64_t iat = 6;
constexpr std::int64_t cti = 7;
constexpr std::int64_t access_token = 1;
constexpr std::int64_t expires_in = 2;
constexpr std::int64_t cnf = 8;
constexpr std::int64_t scope = 9;
constexpr std::int64_t active = 10;
constexpr std::int64_t client_id = 24;
constexpr std::int64_t error = 30;
constexpr std::int64_t error_description = 31;
constexpr std::int64_t token_type = 34;
constexpr std::int64_t refresh_token = 37;
constexpr std::int64_t ace_profile = 38;
constexpr std::int64_t cnonce = 39;
constexpr std::int64_t exi = 40;
constexpr std::int64_t rs_cnf = 41;
}  // namespace key

void no_store(http_response& response) {
  // RFC 6749 5.1: responses carrying tokens or credentials are never cached.
  response.headers.emplace_back("cache-control", "no-store");
  response.headers.emplace_back("pragma", "no-cache");
}

http_response json_response(unsigned status, const json::value& body) {
  http_response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = json::serialize(body);
  return response;
}

http_response cbor_response(unsigned status, const cbor::value& body) {
  http_response response;
  response.status = status;
  response.content_type = "application/ace+cbor";
  const auto bytes = cbor::encode(body);
  response.body.assign(bytes.begin(), bytes.end());
  return response;
}

/// RFC 6749 5.2 (JSON) or RFC 9200 5.8.3 (CBOR, abbreviated codes) error response.
http_response error_response(content_format format, oauth_error code, std::string_view description,
                             unsigned status = 0) {
  if (status == 0) status = code == oauth_error::invalid_client ? 401 : 400;
  http_response response;
  if (format == content_format::cbor) {
    auto body = cbor::value::map();
    body.insert(key::error, cbor::value::unsigned_integer(static_cast<std::uint8_t>(code)));
    if (!description.empty()) body.insert(key::error_description, cbor::value::text(description));
    response = cbor_response(status, body);
  } else {
    json::object body;
    body["error"] = to_string(code);
    if (!description.empty()) body["error_description"] = description;
    response = json_response(status, body);
  }
  if (code == oauth_error::invalid_client) {
    // RFC 6749 5.2: a 401 carries the authentication scheme the client should use.
    response.headers.emplace_back("www-authenticate", "Basic realm=\"acemq-as\"");
  }
  no_store(response);
  return response;
}

http_response server_error(content_format format) {
  http_response response;
  if (format == content_format::cbor) {
    auto body = cbor::value::map();
    body.insert(key::error_description, cbor::value::text("server_error"));
    response = cbor_response(500, body);
  } else {
    json::object body;
    body["error"] = "server_error";
    response = json_response(500, body);
  }
  no_store(response);
  return response;
}

http_response method_not_allowed(std::string_view allowed) {
  json::object body;
  body["error"] = "invalid_request";
  body["error_description"] = "method not allowed";
  auto response = json_response(405, body);
  response.headers.emplace_back("allow", std::string(allowed));
  return response;
}

http_response too_many_requests(content_format format, std::int64_t retry_after) {
  auto response = error_response(format, oauth_error::invalid_request, "rate limit exceeded", 429);
  response.headers.emplace_back("retry-after", std::to_string(retry_after));
  return response;
}

/// A refused authentication: 429 + Retry-After when a guessing limit refused it before any
/// secret check (the answer of the /token request limits too: RFC 8628's slow_down belongs to the
/// device flow and has no CBOR abbreviation in RFC 9200 8.4), else the error as it is.
http_response authentication_refused(content_format format, const request_error& error) {
  if (error.retry_after > 0) return too_many_requests(format, error.retry_after);
  return error_response(format, error.code, error.description);
}

/// RFC 9110 15.5.16: a body in a content type the endpoint does not take.
constexpr std::string_view accepted_token_media_types =
    "application/x-www-form-urlencoded, application/ace+json or application/ace+cbor";

http_response unsupported_media_type(content_format format, std::string_view accepted) {
  return error_response(format, oauth_error::invalid_request,
                        "unsupported content type; send " + std::string(accepted), 415);
}

/// The ASCII origin of an absolute URL (RFC 6454 6.2): scheme://host[:port], lower case, without
/// the scheme's default port and without path; the text itself when it is not such a URL.
std::string origin_of(std::string_view url) {
  std::string text(url);
  for (auto& c : text)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto scheme_end = text.find("://");
  if (scheme_end == std::string::npos) return text;
  const auto path = text.find_first_of("/?#", scheme_end + 3);
  if (path != std::string::npos) text.resize(path);
  const std::string_view scheme = std::string_view(text).substr(0, scheme_end);
  for (const auto& [name, port] : {std::pair{"https", ":443"}, std::pair{"http", ":80"}}) {
    if (scheme == name && text.ends_with(port)) text.resize(text.size() - std::strlen(port));
  }
  return text;
}

std::pair<std::string_view, std::string_view> split_target(std::string_view target) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return {target, {}};
  return {target.substr(0, question), target.substr(question + 1)};
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::string random_id(random_source& random, std::size_t size) {
  return base64url_encode(random.bytes(size));
}

std::string permissions_text(std::uint8_t permissions) {
  std::string out;
  if ((permissions & 0x01) != 0) out += "pub";
  if ((permissions & 0x02) != 0) out += out.empty() ? "sub" : ",sub";
  return out;
}

json::object grant_to_json(const grant_record& g) {
  json::object out;
  out["grant_id"] = g.grant_id;
  out["owner_id"] = g.owner_id;
  out["client_id"] = g.client_id;
  out["audience"] = g.audience;
  out["filter"] = g.filter;
  json::array permissions;
  if ((g.permissions & 0x01) != 0) permissions.emplace_back("pub");
  if ((g.permissions & 0x02) != 0) permissions.emplace_back("sub");
  out["permissions"] = std::move(permissions);
  out["not_after"] = g.not_after;
  out["created_at"] = g.created_at;
  out["revoked_at"] = g.revoked_at;
  return out;
}

std::optional<std::uint8_t> permissions_from_json(const json::value* value) {
  if (value == nullptr || !value->is_array() || value->get_array().size() > 2) return std::nullopt;
  std::uint8_t bits = 0;
  for (const auto& item : value->get_array()) {
    if (!item.is_string()) return std::nullopt;
    if (item.get_string() == "pub") {
      bits |= 0x01;
    } else if (item.get_string() == "sub") {
      bits |= 0x02;
    } else {
      return std::nullopt;
    }
  }
  if (bits == 0) return std::nullopt;
  return bits;
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

struct authorization_service::authenticated_client {
  client_record client;
  std::string method;  // client_secret_basic, client_secret_post, tls_client_auth
};

authorization_service::authorization_service(service_options options, storage& store,
                                             key_ring& keys, const clock& time_source,
                                             random_source& random, audit_sink& audit)
    : options_(std::move(options)),
      store_(store),
      keys_(keys),
      clock_(time_source),
      random_(random),
      audit_(audit),
      client_limiter_(time_source, options_.per_client),
      address_limiter_(time_source, options_.per_address),
      cache_key_(random.bytes(32)),
      throttle_(time_source, options_.authentication) {}

void authorization_service::audit(audit_kind kind, const http_request* request, std::string actor,
                                  std::string audience, std::string subject, std::string detail) {
  audit_event event;
  event.time = clock_.unix_seconds();
  event.kind = kind;
  event.actor = std::move(actor);
  if (request != nullptr) event.address = request->peer_address;
  event.audience = std::move(audience);
  event.subject = std::move(subject);
  event.detail = std::move(detail);
  audit_.record(event);
}

bool authorization_service::may_check_secret(const http_request& request) {
  const auto path = split_target(request.target).first;
  return path != "/jwks" && path != "/.well-known/oauth-authorization-server";
}

std::string authorization_service::recently_verified_entry(std::string_view kind,
                                                           std::string_view id,
                                                           std::string_view secret) const {
  std::string material("recent");
  material += '\0';
  material += kind;
  material += '\0';
  material += id;
  material += '\0';
  material += secret;
  return base64url_encode(crypto::hmac_sha256(cache_key_, as_bytes(material)));
}

bool authorization_service::needs_worker(const http_request& request) {
  if (!may_check_secret(request)) return false;
  if (options_.verified_secret_ttl <= 0 || !request.has_header("authorization")) return true;
  const auto path = split_target(request.target).first;
  std::string_view kind;
  if (path == "/token" || path == "/revoke") kind = "client";
  if (path == "/introspect" || path == "/trl") kind = "resource_server";
  if (path == "/owner/grants" || path.starts_with("/owner/grants/")) kind = "owner";
  if (kind.empty()) return true;
  const auto basic = parse_basic_authorization(request.header("authorization"));
  if (!basic) return true;
  // A guess the limits refuse costs no hashing: its 429 is answered at once on the I/O thread
  // instead of waiting in the queue behind other hosts' checks.
  if (authentication_wait(kind, basic->client_id, request) > 0) return false;
  const auto entry = recently_verified_entry(kind, basic->client_id, basic->client_secret);
  std::lock_guard lock(cache_mutex_);
  const auto it = verified_secrets_.find(entry);
  return it == verified_secrets_.end() || it->second <= clock_.unix_seconds();
}

std::optional<http_response> authorization_service::refuse_cross_site(
    const http_request& request) const {
  // A browser names the page's origin in every cross-origin POST, PATCH and DELETE (RFC 6454 7,
  // Fetch "Origin header"): a page elsewhere must not spend the credentials the browser holds
  // for the AS. Requests without Origin (every non-browser client) are not concerned.
  if (!request.has_header("origin")) return std::nullopt;
  const auto origin = origin_of(request.header("origin"));
  if (origin == origin_of(options_.issuer)) return std::nullopt;
  for (const auto& allowed : options_.allowed_origins) {
    if (origin == origin_of(allowed)) return std::nullopt;
  }
  json::object body;
  body["error"] = "invalid_request";
  body["error_description"] = "cross-origin request refused";
  return json_response(403, body);
}

http_response authorization_service::handle(const http_request& request) {
  const auto [path, query] = split_target(request.target);
  // Public documents: any origin may read them.
  if (path == "/jwks") {
    if (request.method != "GET") return method_not_allowed("GET");
    return jwks_endpoint();
  }
  if (path == "/.well-known/oauth-authorization-server") {
    if (request.method != "GET") return method_not_allowed("GET");
    return metadata_endpoint();
  }
  if (auto refused = refuse_cross_site(request)) return std::move(*refused);
  if (path == "/token") return token_endpoint(request);
  if (path == "/introspect") return introspection_endpoint(request);
  if (path == "/revoke") return revocation_endpoint(request);
  if (path == "/trl") return revocation_list_endpoint(request);
  if (path == "/owner/grants" || path.starts_with("/owner/grants/")) {
    return owner_endpoint(request);
  }
  json::object body;
  body["error"] = "not_found";
  return json_response(404, body);
}

// --- authentication ---

bool authorization_service::check_secret(std::string_view kind, const std::string& id,
                                         std::string_view secret, const std::string& encoded_hash) {
  if (encoded_hash.empty() || secret.empty()) return false;
  std::string material(kind);
  material += '\0';
  material += id;
  material += '\0';
  material += secret;
  material += '\0';
  material += encoded_hash;
  // The cache holds a keyed MAC, never the secret; the key lives only in this process.
  const auto cache_entry = base64url_encode(crypto::hmac_sha256(cache_key_, as_bytes(material)));
  const auto now = clock_.unix_seconds();
  if (options_.verified_secret_ttl > 0) {
    std::lock_guard lock(cache_mutex_);
    const auto it = verified_secrets_.find(cache_entry);
    if (it != verified_secrets_.end() && it->second > now) return true;
  }
  if (!verify_secret(secret, encoded_hash)) return false;
  if (options_.verified_secret_ttl > 0) {
    std::lock_guard lock(cache_mutex_);
    if (verified_secrets_.size() >= max_verified_secrets) {
      std::erase_if(verified_secrets_, [now](const auto& entry) { return entry.second <= now; });
      if (verified_secrets_.size() >= max_verified_secrets) verified_secrets_.clear();
    }
    verified_secrets_[cache_entry] = now + options_.verified_secret_ttl;
    verified_secrets_[recently_verified_entry(kind, id, secret)] =
        now + options_.verified_secret_ttl;
  }
  return true;
}

std::int64_t authorization_service::authentication_wait(std::string_view kind, std::string_view id,
                                                        const http_request& request) {
  std::string identity(kind);
  identity += '\n';
  identity += id;
  return throttle_.wait_before_check(identity, per_address_key(request.peer_address));
}

bool authorization_service::verify_identity(std::string_view kind, const std::string& id,
                                            std::string_view secret,
                                            const std::string* encoded_hash,
                                            const http_request& request) {
  // An unknown identity costs one argon2id check like a known one (same parameters), and is
  // charged to the limits like a wrong secret: neither the time nor the limits tell which exist.
  bool matched = false;
  if (!secret.empty()) {
    if (encoded_hash != nullptr && !encoded_hash->empty()) {
      matched = check_secret(kind, id, secret, *encoded_hash);
    } else {
      (void)verify_secret(secret, dummy_secret_hash());
    }
  }
  std::string identity(kind);
  identity += '\n';
  identity += id;
  const auto host = per_address_key(request.peer_address);
  if (matched) {
    throttle_.succeeded(identity, host);
  } else {
    throttle_.failed(identity, host);
  }
  return matched;
}

result<authorization_service::authenticated_client, request_error>
authorization_service::authenticate_client(const http_request& request,
                                           const std::optional<std::string>& body_client_id,
                                           const std::optional<std::string>& body_client_secret) {
  const auto refuse = [](std::string description) {
    return unexpected(request_error{oauth_error::invalid_client, std::move(description)});
  };
  std::optional<basic_credentials> basic;
  if (request.has_header("authorization")) {
    basic = parse_basic_authorization(request.header("authorization"));
    if (!basic) return refuse("malformed Authorization header");
  }
  if (basic && body_client_secret) {
    // RFC 6749 2.3: a client MUST NOT use more than one authentication method per request.
    return unexpected(
        request_error{oauth_error::invalid_request, "more than one client authentication method"});
  }
  if (basic && body_client_id && *body_client_id != basic->client_id) {
    return unexpected(request_error{oauth_error::invalid_request, "client_id mismatch"});
  }
  const std::string client_id = basic ? basic->client_id : body_client_id.value_or("");
  if (client_id.empty()) return refuse("client authentication required");
  const bool with_secret = basic || body_client_secret;
  if (with_secret) {
    // Refused before the lookup and before any argon2id work while a guessing limit holds.
    if (const auto wait = authentication_wait("client", client_id, request); wait > 0) {
      return unexpected(request_error{oauth_error::invalid_request, "rate limit exceeded", wait});
    }
  }

  std::optional<client_record> client;
  {
    std::lock_guard lock(mutex_);
    auto found = store_.find_client(client_id);
    if (!found) return refuse("client lookup failed");
    client = std::move(*found);
  }
  const bool usable = client && !client->disabled;
  if (with_secret) {
    const std::string_view secret =
        basic ? std::string_view(basic->client_secret) : std::string_view(*body_client_secret);
    if (!verify_identity("client", client_id, secret, usable ? &client->secret_hash : nullptr,
                         request)) {
      return refuse("unknown client or bad credentials");
    }
    return authenticated_client{std::move(*client),
                                basic ? "client_secret_basic" : "client_secret_post"};
  }
  if (!usable) return refuse("unknown client or bad credentials");
  // RFC 8705 2.1.2 (tls_client_auth, here pinned to the certificate's SHA-256 thumbprint).
  if (!request.client_certificate_thumbprint.empty() && !client->certificate_thumbprint.empty() &&
      constant_time_equal(as_bytes(request.client_certificate_thumbprint),
                          as_bytes(client->certificate_thumbprint))) {
    return authenticated_client{std::move(*client), "tls_client_auth"};
  }
  return refuse("unknown client or bad credentials");
}

result<resource_server_record, request_error> authorization_service::authenticate_resource_server(
    const http_request& request) {
  const auto refuse = [] {
    return unexpected(
        request_error{oauth_error::invalid_client, "resource server authentication required"});
  };
  auto basic = parse_basic_authorization(request.header("authorization"));
  if (!basic) return refuse();
  if (const auto wait = authentication_wait("resource_server", basic->client_id, request);
      wait > 0) {
    return unexpected(request_error{oauth_error::invalid_request, "rate limit exceeded", wait});
  }
  std::optional<resource_server_record> server;
  {
    std::lock_guard lock(mutex_);
    auto found = store_.find_resource_server(basic->client_id);
    if (!found) return refuse();
    server = std::move(*found);
  }
  if (!verify_identity("resource_server", basic->client_id, basic->client_secret,
                       server ? &server->secret_hash : nullptr, request)) {
    return refuse();
  }
  return std::move(*server);
}

result<owner_record, request_error> authorization_service::authenticate_owner(
    const http_request& request) {
  const auto refuse = [] {
    return unexpected(request_error{oauth_error::invalid_client, "owner authentication required"});
  };
  auto basic = parse_basic_authorization(request.header("authorization"));
  if (!basic) return refuse();
  if (const auto wait = authentication_wait("owner", basic->client_id, request); wait > 0) {
    return unexpected(request_error{oauth_error::invalid_request, "rate limit exceeded", wait});
  }
  std::optional<owner_record> owner;
  {
    std::lock_guard lock(mutex_);
    auto found = store_.find_owner(basic->client_id);
    if (!found) return refuse();
    owner = std::move(*found);
  }
  if (!verify_identity("owner", basic->client_id, basic->client_secret,
                       owner ? &owner->secret_hash : nullptr, request)) {
    return refuse();
  }
  return std::move(*owner);
}

// --- /token ---

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

// --- /introspect ---

std::optional<issued_token_record> authorization_service::find_token(
    const token_reference_request& reference) {
  std::vector<std::string> hashes;
  if (reference.token_bytes) hashes.push_back(token_hash(*reference.token_bytes));
  hashes.push_back(token_hash(as_bytes(reference.token)));
  // A CWT sent in a JSON or form body is the base64url of its bytes.
  if (auto decoded = base64url_decode(reference.token); decoded && !decoded->empty()) {
    hashes.push_back(token_hash(*decoded));
  }
  for (const auto& hash : hashes) {
    auto found = store_.find_token_by_hash(hash);
    if (found && found->has_value()) return std::move(**found);
  }
  return std::nullopt;
}

http_response authorization_service::introspection_endpoint(const http_request& request) {
  if (request.method != "POST") return method_not_allowed("POST");
  const auto format = content_format_from_media_type(request.header("content-type"));
  const auto reply_format = format.value_or(content_format::json);
  auto server = authenticate_resource_server(request);
  if (!server) {
    // RFC 7662 2.3 / RFC 9200 5.9: invalid credentials of the requesting RS -> 401.
    audit(audit_kind::introspection_refused, &request, "", "", "",
          server.error().retry_after > 0 ? "rate limited (authentication)" : "invalid_client");
    return authentication_refused(reply_format, server.error());
  }
  if (!format) return unsupported_media_type(content_format::json, accepted_token_media_types);
  auto parsed = parse_token_reference_request(*format, request.body, options_.limits);
  if (!parsed) return error_response(*format, parsed.error().code, parsed.error().description);

  std::lock_guard lock(mutex_);
  const auto now = clock_.unix_seconds();
  auto record = find_token(*parsed);
  // A token for another audience is reported inactive: an RS learns nothing about tokens that
  // are not meant for it (RFC 7662 4).
  const bool active = record && record->audience == server->audience && record->active_at(now);
  std::optional<token::scope::aif_scope> scope;
  if (active) {
    auto parsed_scope = token::scope::aif_scope::from_json(record->scope);
    if (parsed_scope) scope = std::move(*parsed_scope);
  }
  http_response response;
  if (*format == content_format::cbor) {
    auto body = cbor::value::map();
    body.insert(key::active, cbor::value::boolean(active && scope.has_value()));
    if (active && scope) {
      body.insert(key::scope, scope->to_cbor_value());
      body.insert(key::client_id, cbor::value::text(record->client_id));
      body.insert(key::sub, cbor::value::text(record->client_id));
      body.insert(key::aud, cbor::value::text(record->audience));
      body.insert(key::iss, cbor::value::text(options_.issuer));
      body.insert(key::exp, cbor::value::integer(record->expires_at));
      body.insert(key::iat, cbor::value::integer(record->issued_at));
      body.insert(key::cti, cbor::value::bytes(as_bytes(record->token_id)));
      if (auto cnf = cnf_json_to_cbor(record->cnf)) body.insert(key::cnf, std::move(*cnf));
      body.insert(key::ace_profile, cbor::value::integer(cose::ace_profile_mqtt_tls));
      body.insert(key::token_type, cbor::value::integer(token_type_pop_cbor));
      if (!record->cnonce.empty()) {
        if (auto cnonce = base64url_decode(record->cnonce)) {
          body.insert(key::cnonce, cbor::value::bytes(*cnonce));
        }
      }
      if (record->exi > 0) body.insert(key::exi, cbor::value::integer(record->exi));
    }
    response = cbor_response(200, body);
  } else {
    json::object body;
    body["active"] = active && scope.has_value();
    if (active && scope) {
      body["scope"] = record->scope;
      body["client_id"] = record->client_id;
      body["sub"] = record->client_id;
      body["aud"] = record->audience;
      body["iss"] = options_.issuer;
      body["exp"] = record->expires_at;
      body["iat"] = record->issued_at;
      body["jti"] = record->token_id;
      boost::system::error_code ec;
      auto cnf = json::parse(record->cnf, ec);
      if (!ec) body["cnf"] = std::move(cnf);
      body["ace_profile"] = profile_name;
      body["token_type"] = "PoP";
      if (!record->cnonce.empty()) body["cnonce"] = record->cnonce;
      if (record->exi > 0) body["exi"] = record->exi;
    }
    response = json_response(200, body);
  }
  no_store(response);
  return response;
}

// --- /revoke (RFC 7009) ---

http_response authorization_service::revocation_endpoint(const http_request& request) {
  if (request.method != "POST") return method_not_allowed("POST");
  const auto format = content_format_from_media_type(request.header("content-type"));
  if (!format) return unsupported_media_type(content_format::json, accepted_token_media_types);
  auto parsed = parse_token_reference_request(*format, request.body, options_.limits);
  if (!parsed) return error_response(*format, parsed.error().code, parsed.error().description);
  auto client = authenticate_client(request, parsed->client_id, parsed->client_secret);
  if (!client) return authentication_refused(*format, client.error());
  const auto& client_id = client->client.client_id;

  std::lock_guard lock(mutex_);
  const auto now = clock_.unix_seconds();
  if (auto record = find_token(*parsed)) {
    if (record->client_id != client_id) {
      // RFC 7009 2.1: the token was not issued to this client.
      return error_response(*format, oauth_error::unauthorized_client,
                            "token was not issued to this client");
    }
    if (auto revoked = store_.revoke_token(record->token_id, now); !revoked) {
      return server_error(*format);
    }
    audit(audit_kind::token_revoked, &request, client_id, record->audience, record->token_id,
          "revoked by client");
  } else {
    auto refresh = store_.find_refresh_token_by_hash(token_hash(as_bytes(parsed->token)));
    if (!refresh) return server_error(*format);
    if (refresh->has_value()) {
      if ((*refresh)->client_id != client_id) {
        return error_response(*format, oauth_error::unauthorized_client,
                              "token was not issued to this client");
      }
      if (auto revoked = store_.revoke_refresh_token((*refresh)->refresh_id, now); !revoked) {
        return server_error(*format);
      }
      // RFC 7009 2.1: revoking a refresh token also revokes the access tokens issued with it.
      auto tokens = store_.active_tokens(client_id, (*refresh)->audience, now);
      if (!tokens) return server_error(*format);
      for (const auto& token : *tokens) {
        if (token.refresh_id == (*refresh)->refresh_id)
          (void)store_.revoke_token(token.token_id, now);
      }
      audit(audit_kind::refresh_revoked, &request, client_id, (*refresh)->audience,
            (*refresh)->refresh_id, "revoked by client");
    }
    // RFC 7009 2.2: an unknown token is not an error.
  }
  http_response response;
  response.status = 200;
  no_store(response);
  return response;
}

// --- /trl ---

http_response authorization_service::revocation_list_endpoint(const http_request& request) {
  if (request.method != "GET") return method_not_allowed("GET");
  auto server = authenticate_resource_server(request);
  if (!server) return authentication_refused(content_format::json, server.error());
  std::int64_t cursor = 0;
  std::int64_t limit = static_cast<std::int64_t>(options_.max_trl_page);
  auto pairs = parse_form(split_target(request.target).second, 8);
  if (!pairs)
    return error_response(content_format::json, oauth_error::invalid_request, "bad query");
  for (const auto& [name, value] : *pairs) {
    auto number = parse_integer(value);
    if (!number || *number < 0) {
      return error_response(content_format::json, oauth_error::invalid_request,
                            "bad query parameter " + name);
    }
    if (name == "cursor") cursor = *number;
    if (name == "limit") limit = std::clamp<std::int64_t>(*number, 1, limit);
  }
  std::lock_guard lock(mutex_);
  const auto now = clock_.unix_seconds();
  auto entries = store_.revocations_since(cursor, static_cast<std::size_t>(limit) + 1, now);
  if (!entries) return server_error(content_format::json);
  const bool more = entries->size() > static_cast<std::size_t>(limit);
  if (more) entries->pop_back();
  json::array revoked;
  std::int64_t next = cursor;
  for (const auto& entry : *entries) {
    next = entry.sequence;
    if (entry.audience != server->audience) continue;
    json::object item;
    item["token_hash"] = entry.token_hash;
    item["exp"] = entry.expires_at;
    item["iat"] = entry.issued_at;
    item["revoked_at"] = entry.revoked_at;
    revoked.push_back(std::move(item));
  }
  if (!more && entries->empty()) {
    // Nothing new: move the cursor to the high-water mark so purged gaps are skipped.
    auto latest = store_.latest_revocation();
    if (latest && *latest > next) next = *latest;
  }
  json::object body;
  body["cursor"] = next;
  body["more"] = more;
  body["revoked"] = std::move(revoked);
  auto response = json_response(200, body);
  no_store(response);
  return response;
}

// --- metadata and keys ---

http_response authorization_service::metadata_endpoint() const {
  // RFC 8414 2, with the ACE additions of RFC 9200 8.16.
  json::object body;
  body["issuer"] = options_.issuer;
  body["token_endpoint"] = options_.issuer + "/token";
  body["introspection_endpoint"] = options_.issuer + "/introspect";
  body["revocation_endpoint"] = options_.issuer + "/revoke";
  body["jwks_uri"] = options_.issuer + "/jwks";
  body["acemq_revocation_list_endpoint"] = options_.issuer + "/trl";
  body["grant_types_supported"] = json::array{"client_credentials", "refresh_token"};
  body["response_types_supported"] = json::array{};
  body["token_endpoint_auth_methods_supported"] =
      json::array{"client_secret_basic", "client_secret_post", "tls_client_auth"};
  body["introspection_endpoint_auth_methods_supported"] = json::array{"client_secret_basic"};
  body["revocation_endpoint_auth_methods_supported"] =
      json::array{"client_secret_basic", "client_secret_post", "tls_client_auth"};
  body["ace_profiles_supported"] = json::array{"mqtt_tls"};
  body["token_endpoint_auth_signing_alg_values_supported"] = json::array{};
  body["introspection_encryption_alg_values_supported"] = json::array{};
  body["op_policy_uri"] = options_.issuer + "/.well-known/oauth-authorization-server";
  return json_response(200, body);
}

http_response authorization_service::jwks_endpoint() {
  std::lock_guard lock(mutex_);
  const auto now = clock_.unix_seconds();
  rotate_if_due(now);
  auto response = json_response(200, keys_.jwks(now));
  response.content_type = "application/jwk-set+json";
  // Retired keys stay published, so a short cache lifetime is safe.
  response.headers.emplace_back("cache-control", "public, max-age=60");
  return response;
}

storage_result<void> authorization_service::rotate_signing_key() {
  std::lock_guard lock(mutex_);
  return keys_.rotate(store_, clock_.unix_seconds(), options_.max_token_lifetime);
}

// --- grants: the owner decides ---

std::size_t authorization_service::revoke_uncovered_tokens(const std::string& client_id,
                                                           const std::string& audience,
                                                           std::int64_t now) {
  auto tokens = store_.active_tokens(client_id, audience, now);
  grant_query query;
  query.client_id = client_id;
  query.audience = audience;
  query.now = now;
  auto grants = store_.list_grants(query);
  if (!tokens || !grants) return 0;
  std::size_t revoked = 0;
  for (const auto& token : *tokens) {
    // Revoked when the grants no longer allow its whole scope until its exp: a grant revoked,
    // narrowed (fewer permissions) or ended earlier than the token.
    auto scope = token::scope::aif_scope::from_json(token.scope);
    if (scope && policy::covered_until(scope->grants(), *grants, now) >= token.expires_at) continue;
    if (store_.revoke_token(token.token_id, now)) {
      ++revoked;
      audit(audit_kind::token_revoked, nullptr, client_id, audience, token.token_id,
            "grant revoked, narrowed or shortened");
    }
  }
  return revoked;
}

result<grant_change_result, request_error> authorization_service::create_grant(grant_record grant) {
  const auto invalid = [](oauth_error code, std::string description) {
    return unexpected(request_error{code, std::move(description)});
  };
  if (!topic::is_valid_filter(grant.filter)) {
    return invalid(oauth_error::invalid_scope, "not a valid topic filter");
  }
  if ((grant.permissions & 0x03) == 0 || (grant.permissions & ~0x03) != 0) {
    return invalid(oauth_error::invalid_request, "permissions must be pub and/or sub");
  }
  std::lock_guard lock(mutex_);
  const auto now = clock_.unix_seconds();
  if (grant.not_after <= now) return invalid(oauth_error::invalid_request, "grant already ended");
  auto owner = store_.find_owner(grant.owner_id);
  auto client = store_.find_client(grant.client_id);
  auto server = store_.find_resource_server(grant.audience);
  if (!owner || !client || !server) return invalid(oauth_error::invalid_request, "storage error");
  if (!owner->has_value()) return invalid(oauth_error::invalid_request, "unknown owner");
  if (!client->has_value()) return invalid(oauth_error::invalid_request, "unknown client");
  if (!server->has_value()) return invalid(oauth_error::invalid_request, "unknown audience");
  auto subtrees = store_.list_owner_subtrees(grant.owner_id);
  if (!subtrees) return invalid(oauth_error::invalid_request, "storage error");
  // An owner can only hand out what they own: the filter must lie inside one of their subtrees.
  const bool owned = std::any_of(subtrees->begin(), subtrees->end(), [&](const owner_subtree& s) {
    if (s.audience != grant.audience) return false;
    const auto common = policy::intersect_filters(grant.filter, s.filter);
    return common && *common == grant.filter;
  });
  if (!owned) {
    return invalid(oauth_error::invalid_scope, "filter is outside the owner's topic subtrees");
  }
  grant.created_at = now;
  grant.revoked_at = 0;
  auto id = store_.insert_grant(grant);
  if (!id) return invalid(oauth_error::invalid_request, id.error().message);
  audit(audit_kind::grant_created, nullptr, grant.owner_id, grant.audience, std::to_string(*id),
        grant.client_id + " " + permissions_text(grant.permissions) + " " + grant.filter);
  return grant_change_result{*id, 0};
}

result<grant_change_result, request_error> authorization_service::update_grant(
    const std::string& owner_id, std::int64_t grant_id, std::uint8_t permissions,
    std::int64_t not_after) {
  if ((permissions & 0x03) == 0 || (permissions & ~0x03) != 0) {
    return unexpected(
        request_error{oauth_error::invalid_request, "permissions must be pub and/or sub"});
  }
  std::lock_guard lock(mutex_);
  const auto now = clock_.unix_seconds();
  auto found = store_.find_grant(grant_id);
  if (!found || !found->has_value() || (*found)->owner_id != owner_id ||
      (*found)->revoked_at != 0) {
    return unexpected(request_error{oauth_error::invalid_grant, "no such grant"});
  }
  auto grant = **found;
  grant.permissions = permissions;
  grant.not_after = not_after;
  if (auto updated = store_.update_grant(grant); !updated) {
    return unexpected(request_error{oauth_error::invalid_request, updated.error().message});
  }
  audit(audit_kind::grant_changed, nullptr, owner_id, grant.audience, std::to_string(grant_id),
        permissions_text(permissions) + " until " + std::to_string(not_after));
  return grant_change_result{grant_id,
                             revoke_uncovered_tokens(grant.client_id, grant.audience, now)};
}

result<grant_change_result, request_error> authorization_service::revoke_grant(
    const std::string& owner_id, std::int64_t grant_id) {
  std::lock_guard lock(mutex_);
  const auto now = clock_.unix_seconds();
  auto found = store_.find_grant(grant_id);
  if (!found || !found->has_value() || (*found)->owner_id != owner_id) {
    return unexpected(request_error{oauth_error::invalid_grant, "no such grant"});
  }
  if (auto revoked = store_.revoke_grant(grant_id, now); !revoked) {
    return unexpected(request_error{oauth_error::invalid_request, revoked.error().message});
  }
  audit(audit_kind::grant_revoked, nullptr, owner_id, (*found)->audience, std::to_string(grant_id),
        "");
  return grant_change_result{grant_id,
                             revoke_uncovered_tokens((*found)->client_id, (*found)->audience, now)};
}

// --- owner API (the HTTP side of the future owner console) ---

http_response authorization_service::owner_endpoint(const http_request& request) {
  // Bodies are JSON only: text/plain, form and multipart bodies are what a browser sends
  // cross-site without asking (no CORS preflight), so they are refused before anything else.
  if ((request.method == "POST" || request.method == "PATCH") &&
      content_format_from_media_type(request.header("content-type")) != content_format::json) {
    return unsupported_media_type(content_format::json, "application/json");
  }
  auto owner = authenticate_owner(request);
  if (!owner) return authentication_refused(content_format::json, owner.error());
  const auto path = split_target(request.target).first;
  const auto to_response = [](const result<grant_change_result, request_error>& outcome,
                              unsigned success_status) {
    if (!outcome) {
      return error_response(content_format::json, outcome.error().code, outcome.error().description,
                            outcome.error().code == oauth_error::invalid_grant ? 404 : 400);
    }
    json::object body;
    body["grant_id"] = outcome->grant_id;
    body["tokens_revoked"] = outcome->tokens_revoked;
    return json_response(success_status, body);
  };
  const auto read_body = [&](json::object& out) -> bool {
    if (request.body.size() > options_.limits.max_body) return false;
    json::parse_options parse_options;
    parse_options.max_depth = 8;
    boost::system::error_code ec;
    auto value = json::parse(request.body, ec, json::storage_ptr(), parse_options);
    if (ec || !value.is_object()) return false;
    out = std::move(value.get_object());
    return true;
  };
  const auto bad_body = [] {
    return error_response(content_format::json, oauth_error::invalid_request, "malformed body");
  };

  if (path == "/owner/grants") {
    if (request.method == "GET") {
      grant_query query;
      query.owner_id = owner->owner_id;
      std::lock_guard lock(mutex_);
      query.now = clock_.unix_seconds();
      auto grants = store_.list_grants(query);
      if (!grants) return server_error(content_format::json);
      json::array list;
      for (const auto& g : *grants) {
        if (list.size() >= options_.max_grant_listing) break;
        list.push_back(grant_to_json(g));
      }
      json::object body;
      body["grants"] = std::move(list);
      return json_response(200, body);
    }
    if (request.method == "POST") {
      json::object body;
      if (!read_body(body)) return bad_body();
      const auto* client_id = body.if_contains("client_id");
      const auto* audience = body.if_contains("audience");
      const auto* filter = body.if_contains("filter");
      const auto permissions = permissions_from_json(body.if_contains("permissions"));
      const auto* not_after = body.if_contains("not_after");
      const auto* lifetime = body.if_contains("lifetime");
      if (client_id == nullptr || !client_id->is_string() || audience == nullptr ||
          !audience->is_string() || filter == nullptr || !filter->is_string() || !permissions) {
        return bad_body();
      }
      grant_record grant;
      grant.owner_id = owner->owner_id;
      grant.client_id = std::string(client_id->get_string());
      grant.audience = std::string(audience->get_string());
      grant.filter = std::string(filter->get_string());
      grant.permissions = *permissions;
      if (not_after != nullptr && not_after->is_int64()) {
        grant.not_after = not_after->get_int64();
      } else if (lifetime != nullptr && lifetime->is_int64() && lifetime->get_int64() > 0) {
        grant.not_after = clock_.unix_seconds() + lifetime->get_int64();
      } else {
        return bad_body();
      }
      return to_response(create_grant(std::move(grant)), 201);
    }
    return method_not_allowed("GET, POST");
  }
  auto id = parse_integer(path.substr(std::string_view("/owner/grants/").size()));
  if (!id) return bad_body();
  if (request.method == "DELETE") return to_response(revoke_grant(owner->owner_id, *id), 200);
  if (request.method == "PATCH") {
    json::object body;
    if (!read_body(body)) return bad_body();
    const auto permissions = permissions_from_json(body.if_contains("permissions"));
    const auto* not_after = body.if_contains("not_after");
    if (!permissions || not_after == nullptr || !not_after->is_int64()) return bad_body();
    return to_response(update_grant(owner->owner_id, *id, *permissions, not_after->get_int64()),
                       200);
  }
  return method_not_allowed("PATCH, DELETE");
}

}  // namespace acemq::as
