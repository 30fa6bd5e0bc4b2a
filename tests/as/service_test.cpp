// The request handling core in virtual time: every grant, error statuses and bodies, scope
// intersection, revocation in introspection and /trl, refresh modes, key rotation.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "acemq/as/secret_hash.hpp"
#include "acemq/as/service.hpp"
#include "acemq/as/sqlite_storage.hpp"
#include "acemq/as/token_minter.hpp"
#include "acemq/common/base64.hpp"
#include "acemq/token/cbor/codec.hpp"
#include "acemq/token/cose/cose_key.hpp"
#include "acemq/token/cose/cwt.hpp"
#include "acemq/token/crypto/aead.hpp"
#include "acemq/token/jose/jwk.hpp"
#include "acemq/token/jose/jwt.hpp"

namespace acemq::as {
namespace {

namespace json = boost::json;
namespace cbor = token::cbor;
namespace jose = token::jose;

constexpr const char* client_secret = "client-secret";
constexpr const char* rs_secret = "rs-secret";
constexpr const char* owner_secret = "owner-secret";
// A 16-byte key shared with the broker for encrypting symmetric PoP keys (A128KW / A128GCM).
constexpr const char* rs_kek = R"({"kty":"oct","k":"AAECAwQFBgcICQoLDA0ODw"})";

std::string basic(std::string_view id, std::string_view secret) {
  return "Basic " + base64_encode(as_bytes(std::string(id) + ":" + std::string(secret)));
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(*sqlite_storage::open(":memory:"));
    const secret_hash_parameters fast{1, 64, 1};  // tests only: cheap argon2id
    client_record client;
    client.client_id = "sensor";
    client.secret_hash = hash_secret(client_secret, random_, fast);
    client.certificate_thumbprint = "cert-thumbprint";
    client.refresh = refresh_mode::rotating;
    ASSERT_TRUE(store_->insert_client(client));
    client.client_id = "device";
    client.refresh = refresh_mode::constant;
    client.certificate_thumbprint.clear();
    ASSERT_TRUE(store_->insert_client(client));
    client.client_id = "nogrant";
    client.refresh = refresh_mode::none;
    client.allow_client_credentials = false;
    ASSERT_TRUE(store_->insert_client(client));
    ASSERT_TRUE(
        store_->insert_owner({"alice", hash_secret(owner_secret, random_, fast), "Alice", 0}));
    for (auto [audience, format] :
         {std::pair{"broker", token_format::jwt}, std::pair{"broker-cwt", token_format::cwt},
          std::pair{"broker-ref", token_format::reference}}) {
      resource_server_record server;
      server.audience = audience;
      server.secret_hash = hash_secret(rs_secret, random_, fast);
      server.format = format;
      server.token_lifetime = 600;
      server.encryption_key = rs_kek;
      server.rs_cnf = R"({"kid":"broker-key"})";
      ASSERT_TRUE(store_->insert_resource_server(server));
      ASSERT_TRUE(store_->insert_owner_subtree({"alice", audience, "home/alice/#"}));
    }
    keys_.emplace(key_ring::load(*store_, token::crypto::algorithm::eddsa, clock_.unix_seconds()));
    service_options options;
    options.issuer = "https://as.example";
    options.per_client = {.burst = 100.0, .refill_per_second = 100.0};
    options.per_address = {.burst = 100.0, .refill_per_second = 100.0};
    service_.emplace(options, *store_, *keys_, clock_, random_, audit_);
    for (const char* audience : {"broker", "broker-cwt", "broker-ref"}) {
      grant(audience, "home/alice/#", 0x02);
      grant(audience, "home/alice/cmd", 0x01);
    }
  }

  std::int64_t grant(std::string audience, std::string filter, std::uint8_t permissions,
                     std::string client = "sensor") {
    grant_record g;
    g.owner_id = "alice";
    g.client_id = std::move(client);
    g.audience = std::move(audience);
    g.filter = std::move(filter);
    g.permissions = permissions;
    g.not_after = clock_.unix_seconds() + 86400;
    auto created = service_->create_grant(g);
    EXPECT_TRUE(created) << (created ? "" : created.error().description);
    return created ? created->grant_id : 0;
  }

  http_response post(std::string target, std::string content_type, std::string body,
                     std::string authorization = "", std::string address = "192.0.2.1") {
    http_request request;
    request.method = "POST";
    request.target = std::move(target);
    request.headers.emplace_back("content-type", std::move(content_type));
    if (!authorization.empty())
      request.headers.emplace_back("authorization", std::move(authorization));
    request.body = std::move(body);
    request.peer_address = std::move(address);
    return service_->handle(request);
  }

  http_response get(std::string target, std::string authorization = "") {
    http_request request;
    request.method = "GET";
    request.target = std::move(target);
    if (!authorization.empty())
      request.headers.emplace_back("authorization", std::move(authorization));
    return service_->handle(request);
  }

  http_response token_form(std::string body, std::string client = "sensor") {
    return post("/token", "application/x-www-form-urlencoded", std::move(body),
                basic(client, client_secret));
  }

  static json::object body_of(const http_response& response) {
    auto value = json::parse(response.body);
    return value.as_object();
  }

  /// POST /token (application/ace+json, client_credentials) with `req_cnf`.
  http_response token_with_req_cnf(json::object req_cnf, std::string client = "sensor",
                                   std::string audience = "broker") {
    json::object request{{"grant_type", "client_credentials"},
                         {"audience", std::move(audience)},
                         {"req_cnf", std::move(req_cnf)}};
    return post("/token", "application/ace+json", json::serialize(request),
                basic(client, client_secret));
  }

  /// POST /token (application/ace+cbor, client_credentials) with req_cnf {3: kid}.
  http_response token_with_cbor_kid(std::string_view kid, std::string client = "sensor") {
    auto map = cbor::value::map();
    map.insert(33, cbor::value::unsigned_integer(2));
    map.insert(5, cbor::value::text("broker-cwt"));
    auto req_cnf = cbor::value::map();
    req_cnf.insert(3, cbor::value::bytes(as_bytes(kid)));
    map.insert(4, req_cnf);
    auto bytes = cbor::encode(map);
    return post("/token", "application/ace+cbor", std::string(bytes.begin(), bytes.end()),
                basic(client, client_secret));
  }

  json::object introspect(const std::string& token, const std::string& audience = "broker") {
    auto response =
        post("/introspect", "application/ace+json", json::serialize(json::object{{"token", token}}),
             basic(audience, rs_secret));
    EXPECT_EQ(response.status, 200u);
    return body_of(response);
  }

  manual_clock clock_;
  deterministic_random random_{42};
  memory_audit_sink audit_;
  std::unique_ptr<sqlite_storage> store_;
  std::optional<key_ring> keys_;
  std::optional<authorization_service> service_;
};

constexpr const char* scope_alice_all =
    "%5B%5B%22home%2F%23%22%2C%5B%22pub%22%2C%22sub%22%5D%5D%5D";

TEST_F(ServiceTest, ClientCredentialsJwtVerifiesWithPublishedKeys) {
  auto response = token_form(std::string("grant_type=client_credentials&audience=broker&scope=") +
                             scope_alice_all);
  ASSERT_EQ(response.status, 200u) << response.body;
  EXPECT_EQ(response.header("cache-control"), "no-store");
  auto body = body_of(response);
  EXPECT_EQ(body["token_type"], "PoP");
  EXPECT_EQ(body["ace_profile"], "mqtt_tls");
  EXPECT_EQ(body["expires_in"], 600);
  // Intersection: home/# pub+sub ∩ {home/alice/# sub, home/alice/cmd pub}.
  EXPECT_EQ(body["scope"], R"([["home/alice/#",["sub"]],["home/alice/cmd",["pub"]]])");
  ASSERT_TRUE(body.contains("cnf"));
  EXPECT_EQ(body["cnf"].at("jwk").at("kty"), "oct");
  EXPECT_EQ(body["rs_cnf"].at("kid"), "broker-key");
  ASSERT_TRUE(body.contains("refresh_token"));

  auto jwks = get("/jwks");
  ASSERT_EQ(jwks.status, 200u);
  auto set = jose::parse_jwk_set(jwks.body);
  ASSERT_TRUE(set);
  auto verified = jose::verify_jws(std::string(body["access_token"].as_string()), *set);
  ASSERT_TRUE(verified);
  auto claims = jose::parse_claims(verified->payload);
  ASSERT_TRUE(claims);
  EXPECT_EQ((*claims)["aud"], "broker");
  EXPECT_EQ((*claims)["sub"], "sensor");
  EXPECT_EQ((*claims)["iss"], "https://as.example");
  // The symmetric PoP key is never in the clear inside the token (RFC 9431 2.1).
  EXPECT_TRUE((*claims)["cnf"].as_object().contains("jwe"));
  auto kek = jose::parse_jwk(rs_kek);
  auto cnf = jose::parse_cnf(*claims);
  ASSERT_TRUE(cnf && cnf->jwe);
  auto pop = jose::decrypt_cnf_key(*cnf->jwe, *kek);
  ASSERT_TRUE(pop);
  EXPECT_EQ(base64url_encode(pop->symmetric_bytes()), body["cnf"].at("jwk").at("k").as_string());
}

TEST_F(ServiceTest, AsymmetricReqCnfIsBoundInTheClear) {
  auto client_key = token::crypto::key::generate_ed25519();
  auto jwk = jose::to_jwk(client_key, jose::jwk_content::public_only);
  json::object request{{"grant_type", "client_credentials"},
                       {"audience", "broker"},
                       {"req_cnf", json::object{{"jwk", *jwk}}},
                       {"cnonce", "AQIDBA"}};
  auto response = post("/token", "application/ace+json", json::serialize(request),
                       basic("sensor", client_secret));
  ASSERT_EQ(response.status, 200u) << response.body;
  auto body = body_of(response);
  EXPECT_FALSE(body.contains("cnf"));  // the client already knows its key
  auto claims =
      jose::parse_claims(jose::parse_jws(std::string(body["access_token"].as_string()))->payload);
  EXPECT_EQ((*claims)["cnf"].at("jwk").at("crv"), "Ed25519");
  EXPECT_EQ((*claims)["cnonce"], "AQIDBA");
  auto info = introspect(std::string(body["access_token"].as_string()));
  EXPECT_EQ(info["active"], true);
  EXPECT_EQ(info["cnonce"], "AQIDBA");
  EXPECT_EQ(info["cnf"].at("jwk").at("crv"), "Ed25519");
}

TEST_F(ServiceTest, CborRequestGetsCborCwtResponse) {
  auto map = cbor::value::map();
  map.insert(33, cbor::value::unsigned_integer(2));
  map.insert(5, cbor::value::text("broker-cwt"));
  map.insert(38, cbor::value::null());
  auto bytes = cbor::encode(map);
  auto response = post("/token", "application/ace+cbor", std::string(bytes.begin(), bytes.end()),
                       basic("sensor", client_secret));
  ASSERT_EQ(response.status, 200u);
  EXPECT_EQ(response.content_type, "application/ace+cbor");
  auto body = cbor::decode(as_bytes(response.body));
  ASSERT_TRUE(body);
  ASSERT_NE(body->find(1), nullptr);
  EXPECT_EQ(body->find(34)->as_int64(), 2);  // PoP
  EXPECT_EQ(body->find(38)->as_int64(), 3);  // mqtt_tls
  ASSERT_NE(body->find(8), nullptr);         // AS-generated COSE_Key
  ASSERT_NE(body->find(41), nullptr);        // rs_cnf
  const auto& token = body->find(1)->byte_content();
  auto signer = keys_->current().key.public_key();
  auto verified = token::cose::verify_cwt(
      token, [&](const token::cose::message&) -> result<token::crypto::key, token::failure> {
        return *signer;
      });
  ASSERT_TRUE(verified) << static_cast<int>(verified.error());
  EXPECT_EQ(verified->claims_set.aud, std::vector<std::string>{"broker-cwt"});
  ASSERT_TRUE(verified->claims_set.cnf && verified->claims_set.cnf->encrypted_cose_key);
  // Introspection with the raw CWT bytes in CBOR.
  auto request = cbor::value::map();
  request.insert(11, cbor::value::bytes(token));
  auto encoded = cbor::encode(request);
  auto info = post("/introspect", "application/ace+cbor",
                   std::string(encoded.begin(), encoded.end()), basic("broker-cwt", rs_secret));
  ASSERT_EQ(info.status, 200u);
  auto info_body = cbor::decode(as_bytes(info.body));
  ASSERT_TRUE(info_body);
  EXPECT_EQ(info_body->find(10)->as_bool(), true);
  EXPECT_EQ(info_body->find(24)->text_content(), "sensor");
}

TEST_F(ServiceTest, ReferenceTokensResolveOnlyByIntrospection) {
  auto response = token_form("grant_type=client_credentials&audience=broker-ref");
  ASSERT_EQ(response.status, 200u);
  const std::string token(body_of(response)["access_token"].as_string());
  EXPECT_EQ(token.find('.'), std::string::npos);
  auto info = introspect(token, "broker-ref");
  EXPECT_EQ(info["active"], true);
  EXPECT_EQ(info["aud"], "broker-ref");
  EXPECT_EQ(info["cnf"].at("jwk").at("kty"), "oct");
  // Another resource server learns nothing about it.
  EXPECT_EQ(introspect(token, "broker")["active"], false);
  clock_.advance(std::chrono::seconds(600));
  EXPECT_EQ(introspect(token, "broker-ref")["active"], false);
}

TEST_F(ServiceTest, ClientAuthenticationMethods) {
  // client_secret_post
  auto post_auth = post("/token", "application/x-www-form-urlencoded",
                        "grant_type=client_credentials&audience=broker&client_id=sensor&"
                        "client_secret=client-secret");
  EXPECT_EQ(post_auth.status, 200u);
  // TLS client certificate (tls_client_auth)
  http_request request;
  request.method = "POST";
  request.target = "/token";
  request.headers.emplace_back("content-type", "application/x-www-form-urlencoded");
  request.body = "grant_type=client_credentials&audience=broker&client_id=sensor";
  request.client_certificate_thumbprint = "cert-thumbprint";
  EXPECT_EQ(service_->handle(request).status, 200u);
  request.client_certificate_thumbprint = "other";
  EXPECT_EQ(service_->handle(request).status, 401u);
  // Wrong secret, unknown client, no credentials: 401 invalid_client with WWW-Authenticate.
  for (auto auth : {basic("sensor", "wrong"), basic("ghost", client_secret), std::string()}) {
    auto refused = post("/token", "application/x-www-form-urlencoded",
                        "grant_type=client_credentials&audience=broker", auth);
    EXPECT_EQ(refused.status, 401u);
    EXPECT_EQ(body_of(refused)["error"], "invalid_client");
    EXPECT_FALSE(refused.header("www-authenticate").empty());
  }
  // Two methods at once: invalid_request (RFC 6749 2.3).
  auto both = post("/token", "application/x-www-form-urlencoded",
                   "grant_type=client_credentials&audience=broker&client_secret=client-secret",
                   basic("sensor", client_secret));
  EXPECT_EQ(both.status, 400u);
  EXPECT_EQ(body_of(both)["error"], "invalid_request");
}

void expect_error(const http_response& response, unsigned status, std::string_view error) {
  EXPECT_EQ(response.status, status) << response.body;
  auto body = json::parse(response.body).as_object();
  EXPECT_EQ(std::string_view(body["error"].as_string()), error) << response.body;
}

TEST_F(ServiceTest, Rfc6749Errors) {
  expect_error(token_form("grant_type=password&audience=broker"), 400, "unsupported_grant_type");
  expect_error(token_form("grant_type=client_credentials"), 400, "invalid_request");
  expect_error(token_form("grant_type=client_credentials&audience=nowhere"), 400,
               "invalid_request");
  expect_error(token_form("grant_type=client_credentials&audience=broker&scope=%5B%5B%22office%2F%"
                          "23%22%2C%5B%22pub%22%5D%5D%5D"),
               400, "invalid_scope");
  expect_error(token_form("grant_type=client_credentials&audience=broker&scope=garbage"), 400,
               "invalid_scope");
  expect_error(token_form("grant_type=client_credentials&audience=broker", "nogrant"), 400,
               "unauthorized_client");
  expect_error(token_form("grant_type=refresh_token&refresh_token=nope", "nogrant"), 400,
               "unauthorized_client");
  expect_error(token_form("grant_type=refresh_token&refresh_token=nope"), 400, "invalid_grant");
  expect_error(post("/token", "text/plain", "x", basic("sensor", client_secret)), 415,
               "invalid_request");
  expect_error(
      post("/token", "application/ace+json", "{\"grant_type\":", basic("sensor", client_secret)),
      400, "invalid_request");
  expect_error(
      post(
          "/token", "application/ace+json",
          R"({"grant_type":"client_credentials","audience":"broker","req_cnf":{"jwk":{"kty":"oct","k":"AAAA"}}})",
          basic("sensor", client_secret)),
      400, "unsupported_pop_key");
  std::string huge(20000, 'a');
  expect_error(token_form("grant_type=client_credentials&x=" + huge), 400, "invalid_request");
  EXPECT_EQ(get("/token").status, 405u);
  EXPECT_EQ(get("/nothing").status, 404u);
}

TEST_F(ServiceTest, CborErrorsUseAbbreviations) {
  auto response =
      post("/token", "application/ace+cbor", "\xa1\x18", basic("sensor", client_secret));
  EXPECT_EQ(response.status, 400u);
  EXPECT_EQ(response.content_type, "application/ace+cbor");
  auto body = cbor::decode(as_bytes(response.body));
  ASSERT_TRUE(body);
  EXPECT_EQ(body->find(30)->as_int64(), 1);  // invalid_request (RFC 9200 Table 3)
  auto map = cbor::value::map();
  map.insert(33, cbor::value::unsigned_integer(2));
  map.insert(5, cbor::value::text("broker"));
  auto scope = cbor::value::array();
  auto entry = cbor::value::array();
  entry.push_back(cbor::value::text("elsewhere"));
  auto perms = cbor::value::array();
  perms.push_back(cbor::value::text("pub"));
  entry.push_back(perms);
  scope.push_back(entry);
  map.insert(9, scope);
  auto bytes = cbor::encode(map);
  auto scoped = post("/token", "application/ace+cbor", std::string(bytes.begin(), bytes.end()),
                     basic("sensor", client_secret));
  EXPECT_EQ(scoped.status, 400u);
  EXPECT_EQ(cbor::decode(as_bytes(scoped.body))->find(30)->as_int64(), 6);  // invalid_scope
  auto unauthenticated = post("/token", "application/ace+cbor",
                              std::string(bytes.begin(), bytes.end()), basic("sensor", "bad"));
  EXPECT_EQ(unauthenticated.status, 401u);
  EXPECT_EQ(cbor::decode(as_bytes(unauthenticated.body))->find(30)->as_int64(), 2);
}

TEST_F(ServiceTest, RevocationShowsInIntrospectionAndTrl) {
  auto issued = body_of(token_form("grant_type=client_credentials&audience=broker"));
  const std::string token(issued["access_token"].as_string());
  EXPECT_EQ(introspect(token)["active"], true);
  auto empty = body_of(get("/trl", basic("broker", rs_secret)));
  EXPECT_TRUE(empty["revoked"].as_array().empty());
  const auto cursor = empty["cursor"].as_int64();

  auto revoke = post("/revoke", "application/x-www-form-urlencoded", "token=" + token,
                     basic("sensor", client_secret));
  EXPECT_EQ(revoke.status, 200u);
  EXPECT_EQ(introspect(token)["active"], false);
  auto trl = body_of(get("/trl?cursor=" + std::to_string(cursor), basic("broker", rs_secret)));
  ASSERT_EQ(trl["revoked"].as_array().size(), 1u);
  EXPECT_EQ(std::string(trl["revoked"].as_array()[0].at("token_hash").as_string()),
            base64url_encode(token::crypto::sha256(as_bytes(token))));
  auto after = body_of(
      get("/trl?cursor=" + std::to_string(trl["cursor"].as_int64()), basic("broker", rs_secret)));
  EXPECT_TRUE(after["revoked"].as_array().empty());
  // Unknown tokens are not an error (RFC 7009 2.2); someone else's token is.
  EXPECT_EQ(post("/revoke", "application/x-www-form-urlencoded", "token=unknown",
                 basic("sensor", client_secret))
                .status,
            200u);
  grant("broker", "home/alice/x", 0x01, "device");
  auto other = body_of(token_form("grant_type=client_credentials&audience=broker", "device"));
  expect_error(post("/revoke", "application/x-www-form-urlencoded",
                    "token=" + std::string(other["access_token"].as_string()),
                    basic("sensor", client_secret)),
               400, "unauthorized_client");
  EXPECT_EQ(get("/trl", basic("broker", "wrong")).status, 401u);
  EXPECT_EQ(
      post("/introspect", "application/ace+json", R"({"token":"x"})", basic("broker", "wrong"))
          .status,
      401u);
}

TEST_F(ServiceTest, GrantRevocationRevokesTokensAtOnce) {
  auto issued = body_of(token_form("grant_type=client_credentials&audience=broker"));
  const std::string token(issued["access_token"].as_string());
  auto grants = store_->list_grants({"alice", "sensor", "broker", false, clock_.unix_seconds()});
  ASSERT_EQ(grants->size(), 2u);
  // Narrowing an unrelated-permission grant: the token no longer fits and is revoked.
  auto changed = service_->revoke_grant("alice", (*grants)[1].grant_id);
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->tokens_revoked, 1u);
  EXPECT_EQ(introspect(token)["active"], false);
  EXPECT_EQ(body_of(get("/trl", basic("broker", rs_secret)))["revoked"].as_array().size(), 1u);
  // The next token gets the narrower scope.
  auto next = body_of(token_form("grant_type=client_credentials&audience=broker"));
  EXPECT_EQ(next["scope"], R"([["home/alice/#",["sub"]]])");
  // Only the owner can change their grants; filters outside their subtree are refused.
  EXPECT_FALSE(service_->revoke_grant("mallory", (*grants)[0].grant_id));
  grant_record outside;
  outside.owner_id = "alice";
  outside.client_id = "sensor";
  outside.audience = "broker";
  outside.filter = "home/bob/#";
  outside.permissions = 0x01;
  outside.not_after = clock_.unix_seconds() + 100;
  auto refused = service_->create_grant(outside);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, oauth_error::invalid_scope);
}

TEST_F(ServiceTest, GrantExpiryEndsIssuance) {
  grant_record g;
  g.owner_id = "alice";
  g.client_id = "device";
  g.audience = "broker";
  g.filter = "home/alice/door";
  g.permissions = 0x01;
  g.not_after = clock_.unix_seconds() + 60;
  ASSERT_TRUE(service_->create_grant(g));
  EXPECT_EQ(token_form("grant_type=client_credentials&audience=broker", "device").status, 200u);
  clock_.advance(std::chrono::seconds(60));
  expect_error(token_form("grant_type=client_credentials&audience=broker", "device"), 400,
               "invalid_scope");
}

TEST_F(ServiceTest, TokenNeverOutlivesTheGrantsItComesFrom) {
  const std::int64_t now = clock_.unix_seconds();
  grant_record g;
  g.owner_id = "alice";
  g.client_id = "device";
  g.audience = "broker";
  g.filter = "home/alice/door";
  g.permissions = 0x01;
  g.not_after = now + 60;
  ASSERT_TRUE(service_->create_grant(g));
  g.filter = "home/alice/light";
  g.permissions = 0x02;
  g.not_after = now + 300;
  ASSERT_TRUE(service_->create_grant(g));
  // The resource server's lifetime is 600 s; the door grant ends in 60.
  auto issued = body_of(token_form("grant_type=client_credentials&audience=broker", "device"));
  EXPECT_EQ(issued["expires_in"].as_int64(), 60);
  auto facts = introspect(std::string(issued["access_token"].as_string()));
  EXPECT_EQ(facts["exp"].as_int64(), now + 60);
  // Asking only for what the longer grant allows gets its end.
  auto light = body_of(
      token_form("grant_type=client_credentials&audience=broker&scope=" +
                     std::string("%5B%5B%22home%2Falice%2Flight%22%2C%5B%22sub%22%5D%5D%5D"),
                 "device"));
  EXPECT_EQ(light["expires_in"].as_int64(), 300);
  clock_.advance(std::chrono::seconds(59));
  auto last = body_of(token_form("grant_type=client_credentials&audience=broker", "device"));
  EXPECT_EQ(last["expires_in"].as_int64(), 1) << "issued a second before the grant ends";
}

TEST_F(ServiceTest, ShortenedOrNarrowedGrantRevokesTheTokensItNoLongerCovers) {
  const std::int64_t now = clock_.unix_seconds();
  auto issued = body_of(token_form("grant_type=client_credentials&audience=broker"));
  const std::string token(issued["access_token"].as_string());
  ASSERT_EQ(issued["expires_in"].as_int64(), 600);
  auto grants = store_->list_grants({"alice", "sensor", "broker", false, now});
  ASSERT_EQ(grants->size(), 2u);
  // Extending a grant leaves the token alone.
  auto extended = service_->update_grant("alice", (*grants)[0].grant_id, 0x02, now + 90000);
  ASSERT_TRUE(extended);
  EXPECT_EQ(extended->tokens_revoked, 0u);
  // Ending it before the token's exp revokes the token, and /trl names it with its iat.
  auto shortened = service_->update_grant("alice", (*grants)[0].grant_id, 0x02, now + 300);
  ASSERT_TRUE(shortened);
  EXPECT_EQ(shortened->tokens_revoked, 1u);
  EXPECT_EQ(introspect(token)["active"], false);
  auto trl = body_of(get("/trl", basic("broker", rs_secret)));
  ASSERT_EQ(trl["revoked"].as_array().size(), 1u);
  EXPECT_EQ(trl["revoked"].as_array()[0].at("iat").as_int64(), now);
  EXPECT_EQ(trl["revoked"].as_array()[0].at("exp").as_int64(), now + 600);
  // The next token ends with the grant; narrowing the other grant's permissions revokes it.
  auto next = body_of(token_form("grant_type=client_credentials&audience=broker"));
  EXPECT_EQ(next["expires_in"].as_int64(), 300);
  auto narrowed = service_->update_grant("alice", (*grants)[0].grant_id, 0x01, now + 300);
  ASSERT_TRUE(narrowed);
  EXPECT_EQ(narrowed->tokens_revoked, 1u);
  EXPECT_EQ(introspect(std::string(next["access_token"].as_string()))["active"], false);
}

TEST_F(ServiceTest, RotatingRefreshTokens) {
  auto first = body_of(token_form("grant_type=client_credentials&audience=broker"));
  const std::string refresh(first["refresh_token"].as_string());
  auto second = token_form("grant_type=refresh_token&refresh_token=" + refresh);
  ASSERT_EQ(second.status, 200u) << second.body;
  auto second_body = body_of(second);
  ASSERT_TRUE(second_body.contains("refresh_token"));
  EXPECT_NE(second_body["refresh_token"], first["refresh_token"]);
  // The old one is dead after rotation.
  expect_error(token_form("grant_type=refresh_token&refresh_token=" + refresh), 400,
               "invalid_grant");
  // The new one works.
  EXPECT_EQ(token_form("grant_type=refresh_token&refresh_token=" +
                       std::string(second_body["refresh_token"].as_string()))
                .status,
            200u);
}

TEST_F(ServiceTest, ConstantRefreshTokenSurvivesLostReplies) {
  grant("broker", "home/alice/lamp", 0x03, "device");
  auto first = body_of(token_form("grant_type=client_credentials&audience=broker", "device"));
  const std::string refresh(first["refresh_token"].as_string());
  for (int i = 0; i < 3; ++i) {
    // A device that never saw the reply simply retries with the same refresh token.
    auto again = token_form("grant_type=refresh_token&refresh_token=" + refresh, "device");
    ASSERT_EQ(again.status, 200u) << again.body;
    EXPECT_FALSE(body_of(again).contains("refresh_token"));
  }
  // Refresh cannot be used by another client.
  expect_error(token_form("grant_type=refresh_token&refresh_token=" + refresh), 400,
               "invalid_grant");
  // Revoking the refresh token ends it, and the access tokens issued with it.
  EXPECT_EQ(post("/revoke", "application/x-www-form-urlencoded", "token=" + refresh,
                 basic("device", client_secret))
                .status,
            200u);
  expect_error(token_form("grant_type=refresh_token&refresh_token=" + refresh, "device"), 400,
               "invalid_grant");
  EXPECT_EQ(introspect(std::string(first["access_token"].as_string()))["active"], false);
}

TEST_F(ServiceTest, KeyRotationKeepsOldKeysPublishedUntilTheirTokensExpire) {
  auto old_token = std::string(
      body_of(token_form("grant_type=client_credentials&audience=broker"))["access_token"]
          .as_string());
  const auto old_kid = keys_->current().record.kid;
  ASSERT_TRUE(service_->rotate_signing_key());
  EXPECT_NE(keys_->current().record.kid, old_kid);
  auto new_token = std::string(
      body_of(token_form("grant_type=client_credentials&audience=broker"))["access_token"]
          .as_string());
  auto set = jose::parse_jwk_set(get("/jwks").body);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->keys().size(), 2u);
  EXPECT_TRUE(jose::verify_jws(old_token, *set));
  EXPECT_TRUE(jose::verify_jws(new_token, *set));
  EXPECT_EQ(*jose::parse_jws(new_token)->kid, keys_->current().record.kid);
  clock_.advance(std::chrono::seconds(service_->options().max_token_lifetime));
  auto later = jose::parse_jwk_set(get("/jwks").body);
  EXPECT_EQ(later->keys().size(), 1u);
}

TEST_F(ServiceTest, RateLimitPerClient) {
  service_options options;
  options.per_client = {.burst = 2.0, .refill_per_second = 1.0};
  authorization_service limited(options, *store_, *keys_, clock_, random_, audit_);
  http_request request;
  request.method = "POST";
  request.target = "/token";
  request.headers.emplace_back("content-type", "application/x-www-form-urlencoded");
  request.headers.emplace_back("authorization", basic("sensor", client_secret));
  request.body = "grant_type=client_credentials&audience=broker";
  EXPECT_EQ(limited.handle(request).status, 200u);
  EXPECT_EQ(limited.handle(request).status, 200u);
  auto refused = limited.handle(request);
  EXPECT_EQ(refused.status, 429u);
  EXPECT_EQ(refused.header("retry-after"), "1");
  clock_.advance(std::chrono::seconds(1));
  EXPECT_EQ(limited.handle(request).status, 200u);
}

TEST_F(ServiceTest, OwnerApi) {
  const auto auth = basic("alice", owner_secret);
  auto created = post(
      "/owner/grants", "application/json",
      R"({"client_id":"device","audience":"broker","filter":"home/alice/tv","permissions":["sub"],"lifetime":3600})",
      auth);
  ASSERT_EQ(created.status, 201u) << created.body;
  const auto id = body_of(created)["grant_id"].as_int64();
  auto listing = body_of(get("/owner/grants", auth));
  EXPECT_GE(listing["grants"].as_array().size(), 1u);
  http_request patch;
  patch.method = "PATCH";
  patch.target = "/owner/grants/" + std::to_string(id);
  patch.headers.emplace_back("authorization", auth);
  patch.headers.emplace_back("content-type", "application/json");
  patch.body = R"({"permissions":["pub","sub"],"not_after":)" +
               std::to_string(clock_.unix_seconds() + 10) + "}";
  EXPECT_EQ(service_->handle(patch).status, 200u);
  http_request remove;
  remove.method = "DELETE";
  remove.target = "/owner/grants/" + std::to_string(id);
  remove.headers.emplace_back("authorization", auth);
  EXPECT_EQ(service_->handle(remove).status, 200u);
  remove.target = "/owner/grants/99999";
  EXPECT_EQ(service_->handle(remove).status, 404u);
  EXPECT_EQ(get("/owner/grants", basic("alice", "wrong")).status, 401u);
  EXPECT_EQ(
      post(
          "/owner/grants", "application/json",
          R"({"client_id":"device","audience":"broker","filter":"elsewhere/#","permissions":["sub"],"lifetime":60})",
          auth)
          .status,
      400u);
}

TEST_F(ServiceTest, MetadataAndAudit) {
  auto metadata = body_of(get("/.well-known/oauth-authorization-server"));
  EXPECT_EQ(metadata["issuer"], "https://as.example");
  EXPECT_EQ(metadata["token_endpoint"], "https://as.example/token");
  EXPECT_EQ(metadata["jwks_uri"], "https://as.example/jwks");
  (void)token_form("grant_type=client_credentials&audience=broker");
  (void)token_form("grant_type=client_credentials&audience=broker&client_secret=x");
  bool issued = false;
  bool refused = false;
  for (const auto& event : audit_.events()) {
    issued = issued || event.kind == audit_kind::token_issued;
    refused = refused || event.kind == audit_kind::token_refused;
    EXPECT_EQ(to_json_line(event).find(client_secret), std::string::npos);
  }
  EXPECT_TRUE(issued);
  EXPECT_TRUE(refused);
}

// --- req_cnf: which key a token may be bound to (RFC 9201 3.1) ---

json::object jwt_claims(const json::object& token_response) {
  const std::string token(token_response.at("access_token").as_string());
  auto claims = jose::parse_claims(jose::parse_jws(token)->payload);
  EXPECT_TRUE(claims);
  return claims ? *claims : json::object{};
}

std::string thumbprint_of(const token::crypto::key& k) {
  return *jose::thumbprint_base64url(k);
}

/// The thumbprint as a JSON value, to compare with a member of a token or a response.
json::value json_thumbprint_of(const token::crypto::key& k) {
  return json::value(thumbprint_of(k));
}

json::object public_jwk_with_kid(const token::crypto::key& k, std::string_view kid) {
  auto jwk = *jose::to_jwk(k, jose::jwk_content::public_only);
  jwk["kid"] = kid;
  return jwk;
}

TEST_F(ServiceTest, ReqCnfKeyIsNamedByItsThumbprintNotByTheClientsKid) {
  // mallory's key sent under alice's kid: the token names it by mallory's thumbprint, so the
  // broker can never take it for alice's key.
  auto mallory_key = token::crypto::key::generate_ed25519();
  auto response =
      token_with_req_cnf(json::object{{"jwk", public_jwk_with_kid(mallory_key, "alice-kid")}});
  ASSERT_EQ(response.status, 200u) << response.body;
  auto body = body_of(response);
  EXPECT_FALSE(body.contains("cnf"));
  auto claims = jwt_claims(body);
  const auto& jwk = claims["cnf"].at("jwk").as_object();
  EXPECT_EQ(jwk.at("kid"), json_thumbprint_of(mallory_key));
  EXPECT_EQ(jwk.at("x"), jose::to_jwk(mallory_key, jose::jwk_content::public_only)->at("x"));
  auto info = introspect(std::string(body["access_token"].as_string()));
  EXPECT_EQ(info["cnf"].at("jwk").at("kid"), json_thumbprint_of(mallory_key));

  // The same for a P-256 key without a kid, and for a COSE_Key (kid, label 2) in a CWT.
  auto p256 = token::crypto::key::generate_p256();
  auto p256_response = token_with_req_cnf(
      json::object{{"jwk", *jose::to_jwk(p256, jose::jwk_content::public_only)}});
  ASSERT_EQ(p256_response.status, 200u) << p256_response.body;
  EXPECT_EQ(jwt_claims(body_of(p256_response))["cnf"].at("jwk").at("kid"),
            json_thumbprint_of(p256));

  auto cose_public = *mallory_key.public_key();
  cose_public.set_kid(to_bytes("alice-kid"));
  auto map = cbor::value::map();
  map.insert(33, cbor::value::unsigned_integer(2));
  map.insert(5, cbor::value::text("broker-cwt"));
  auto req_cnf = cbor::value::map();
  req_cnf.insert(1, *token::cose::key_to_cose(cose_public));
  map.insert(4, req_cnf);
  auto bytes = cbor::encode(map);
  auto cbor_response =
      post("/token", "application/ace+cbor", std::string(bytes.begin(), bytes.end()),
           basic("sensor", client_secret));
  ASSERT_EQ(cbor_response.status, 200u);
  auto cbor_body = cbor::decode(as_bytes(cbor_response.body));
  ASSERT_TRUE(cbor_body);
  auto signer = keys_->current().key.public_key();
  auto verified = token::cose::verify_cwt(
      cbor_body->find(1)->byte_content(),
      [&](const token::cose::message&) -> result<token::crypto::key, token::failure> {
        return *signer;
      });
  ASSERT_TRUE(verified);
  ASSERT_TRUE(verified->claims_set.cnf && verified->claims_set.cnf->cose_key);
  auto bound = token::cose::key_from_cose(*verified->claims_set.cnf->cose_key);
  ASSERT_TRUE(bound && bound->kid());
  EXPECT_EQ(as_string_view(*bound->kid()), thumbprint_of(mallory_key));
}

TEST_F(ServiceTest, KidOnlyReqCnfNamesOnlyAKeyBoundToThisClient) {
  grant("broker", "home/alice/#", 0x02, "device");
  grant("broker-cwt", "home/alice/#", 0x02, "device");
  auto alice_key = token::crypto::key::generate_ed25519();
  const auto alice_kid = thumbprint_of(alice_key);

  // Before any token carries the key, not even its owner can name it.
  expect_error(token_with_req_cnf(json::object{{"kid", alice_kid}}), 400, "invalid_request");
  expect_error(token_with_req_cnf(json::object{{"kid", "anything"}}), 400, "invalid_request");

  auto first =
      token_with_req_cnf(json::object{{"jwk", public_jwk_with_kid(alice_key, "alice-kid")}});
  ASSERT_EQ(first.status, 200u) << first.body;

  // Now "sensor" may name its key by thumbprint; the token's cnf is that kid.
  auto by_kid = token_with_req_cnf(json::object{{"kid", alice_kid}});
  ASSERT_EQ(by_kid.status, 200u) << by_kid.body;
  auto claims = jwt_claims(body_of(by_kid));
  EXPECT_EQ(claims["cnf"].as_object(), (json::object{{"kid", alice_kid}}));
  EXPECT_FALSE(body_of(by_kid).contains("cnf"));
  auto cbor_by_kid = token_with_cbor_kid(alice_kid);
  EXPECT_EQ(cbor_by_kid.status, 200u);

  // The kid the client chose is not a name of the key: it was replaced by the thumbprint.
  expect_error(token_with_req_cnf(json::object{{"kid", "alice-kid"}}), 400, "invalid_request");

  // Client B ("device") can never name client A's key, in any content format.
  expect_error(token_with_req_cnf(json::object{{"kid", alice_kid}}, "device"), 400,
               "invalid_request");
  auto cbor_refused = token_with_cbor_kid(alice_kid, "device");
  EXPECT_EQ(cbor_refused.status, 400u);
  auto cbor_error = cbor::decode(as_bytes(cbor_refused.body));
  ASSERT_TRUE(cbor_error);
  EXPECT_EQ(cbor_error->find(30)->as_int64(), 1);  // invalid_request (RFC 9200 Table 3)
  // Not even after B sends the same public key under its own name: B's binding is B's.
  auto device_jwk = token_with_req_cnf(
      json::object{{"jwk", *jose::to_jwk(alice_key, jose::jwk_content::public_only)}}, "device");
  ASSERT_EQ(device_jwk.status, 200u) << device_jwk.body;
  EXPECT_EQ(token_with_req_cnf(json::object{{"kid", alice_kid}}, "device").status, 200u);
  bool refusal_audited = false;
  for (const auto& event : audit_.events()) {
    refusal_audited = refusal_audited || (event.kind == audit_kind::token_refused &&
                                          event.detail.find("req_cnf kid") != std::string::npos);
  }
  EXPECT_TRUE(refusal_audited);
}

TEST_F(ServiceTest, KidOnlyReqCnfEndsWithTheLastTokenCarryingTheKey) {
  // "nogrant" gets client_credentials and no refresh token: the key lives as long as its token.
  client_record plain = **store_->find_client("nogrant");
  plain.allow_client_credentials = true;
  ASSERT_TRUE(store_->update_client(plain));
  grant("broker", "home/alice/#", 0x02, "nogrant");
  auto key = token::crypto::key::generate_ed25519();
  const auto kid = thumbprint_of(key);
  ASSERT_EQ(
      token_with_req_cnf(json::object{{"jwk", *jose::to_jwk(key, jose::jwk_content::public_only)}},
                         "nogrant")
          .status,
      200u);
  clock_.advance(std::chrono::seconds(599));
  // A token naming the key by kid does not extend the binding: only tokens carrying the key do.
  ASSERT_EQ(token_with_req_cnf(json::object{{"kid", kid}}, "nogrant").status, 200u);
  clock_.advance(std::chrono::seconds(1));
  expect_error(token_with_req_cnf(json::object{{"kid", kid}}, "nogrant"), 400, "invalid_request");
  EXPECT_FALSE(store_->find_client_pop_key("nogrant", kid, clock_.unix_seconds())->has_value());

  // With a refresh token ("sensor", 30 days) the key stays nameable after its access token ends.
  auto sensor_key = token::crypto::key::generate_ed25519();
  ASSERT_EQ(token_with_req_cnf(
                json::object{{"jwk", *jose::to_jwk(sensor_key, jose::jwk_content::public_only)}})
                .status,
            200u);
  clock_.advance(std::chrono::seconds(3600));
  EXPECT_EQ(token_with_req_cnf(json::object{{"kid", thumbprint_of(sensor_key)}}).status, 200u);
}

TEST_F(ServiceTest, GeneratedSymmetricKeysKeepARandomKid) {
  auto body = body_of(token_form("grant_type=client_credentials&audience=broker"));
  const auto& jwk = body["cnf"].at("jwk").as_object();
  auto key = jose::parse_jwk(jwk);
  ASSERT_TRUE(key && key->kid());
  const auto kid = std::string(jwk.at("kid").as_string());
  EXPECT_EQ(kid.size(), 11u);  // base64url of 8 random bytes
  EXPECT_NE(kid, thumbprint_of(*key));
  // A secret key is not a public key bound to the client: it is not nameable by kid.
  expect_error(token_with_req_cnf(json::object{{"kid", kid}}), 400, "invalid_request");
}

TEST_F(ServiceTest, RefreshKeepsTheThumbprintAndTheKidRule) {
  auto key = token::crypto::key::generate_ed25519();
  auto first = token_with_req_cnf(json::object{{"jwk", public_jwk_with_kid(key, "chosen")}});
  ASSERT_EQ(first.status, 200u) << first.body;
  const std::string refresh(body_of(first)["refresh_token"].as_string());
  auto refreshed = token_form("grant_type=refresh_token&refresh_token=" + refresh);
  ASSERT_EQ(refreshed.status, 200u) << refreshed.body;
  EXPECT_EQ(jwt_claims(body_of(refreshed))["cnf"].at("jwk").at("kid"), json_thumbprint_of(key));

  // A refresh token stored before the rule, holding a client-chosen kid in its key: the new
  // token names the key by its thumbprint.
  const auto now = clock_.unix_seconds();
  const auto legacy_jwk = json::serialize(public_jwk_with_kid(key, "alice-kid"));
  ASSERT_TRUE(store_->insert_refresh_token({"legacy-jwk", token_hash(as_bytes("legacy-jwk-token")),
                                            "sensor", "broker", "", R"({"jwk":)" + legacy_jwk + "}",
                                            now, now + 3600, 0}));
  auto from_legacy = token_form("grant_type=refresh_token&refresh_token=legacy-jwk-token");
  ASSERT_EQ(from_legacy.status, 200u) << from_legacy.body;
  EXPECT_EQ(jwt_claims(body_of(from_legacy))["cnf"].at("jwk").at("kid"), json_thumbprint_of(key));

  // One holding a kid-only binding to a key this client was never issued: refused.
  ASSERT_TRUE(store_->insert_refresh_token({"legacy-kid", token_hash(as_bytes("legacy-kid-token")),
                                            "sensor", "broker", "", R"({"kid":"alice-kid"})", now,
                                            now + 3600, 0}));
  expect_error(token_form("grant_type=refresh_token&refresh_token=legacy-kid-token"), 400,
               "invalid_grant");
}

// --- abuse resistance: secret guessing, unknown identities, cross-site requests ---

/// GET with a peer address and extra headers.
http_response get_from(authorization_service& service, std::string target,
                       std::string authorization, std::string address,
                       std::vector<std::pair<std::string, std::string>> headers = {}) {
  http_request request;
  request.method = "GET";
  request.target = std::move(target);
  request.headers = std::move(headers);
  if (!authorization.empty()) request.headers.emplace_back("authorization", authorization);
  request.peer_address = std::move(address);
  return service.handle(request);
}

class ThrottledServiceTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    service_options options;
    options.issuer = "https://as.example:8443/";
    options.per_client = {.burst = 100.0, .refill_per_second = 100.0};
    options.per_address = {.burst = 100.0, .refill_per_second = 100.0};
    options.authentication.per_address = {.burst = 3.0, .refill_per_second = 0.1};
    options.authentication.per_identity = {.burst = 5.0, .refill_per_second = 1.0 / 60};
    options.allowed_origins = {"https://console.example"};
    service_.emplace(options, *store_, *keys_, clock_, random_, audit_);
  }
};

TEST_F(ThrottledServiceTest, GuessesFromOneHostAreRefusedBeforeHashing) {
  const auto guess = [&](std::string address) {
    return get_from(*service_, "/owner/grants", basic("alice", "wrong"), std::move(address));
  };
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(guess("198.51.100.1:1000").status, 401u);
  // The host's bucket is empty: refused with 429 and Retry-After, whatever the port.
  const auto refused = guess("198.51.100.1:2000");
  EXPECT_EQ(refused.status, 429u);
  EXPECT_EQ(refused.header("retry-after"), "10");
  expect_error(refused, 429, "invalid_request");
  // Even the right secret is not checked from that host until the bucket refills.
  EXPECT_EQ(
      get_from(*service_, "/owner/grants", basic("alice", owner_secret), "198.51.100.1:1").status,
      429u);
  clock_.advance(std::chrono::seconds(10));
  EXPECT_EQ(
      get_from(*service_, "/owner/grants", basic("alice", owner_secret), "198.51.100.1:1").status,
      200u);
}

TEST_F(ThrottledServiceTest, AGuessTheLimitsRefuseIsAnsweredWithoutTheWorkerPool) {
  http_request request;
  request.method = "GET";
  request.target = "/owner/grants";
  request.headers.emplace_back("authorization", basic("stranger", "guess"));
  request.peer_address = "198.51.100.7:1000";
  // While the host has guesses left, a guess is hashed on a worker.
  EXPECT_TRUE(service_->needs_worker(request));
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(service_->handle(request).status, 401u);
  // Then its 429 costs no hashing: answered where it arrived, not queued behind other hosts.
  EXPECT_FALSE(service_->needs_worker(request));
  EXPECT_EQ(service_->handle(request).status, 429u);
  // Another host still gets its check on a worker.
  request.peer_address = "198.51.100.8:1000";
  EXPECT_TRUE(service_->needs_worker(request));
}

TEST_F(ThrottledServiceTest, EveryEndpointThatChecksASecretIsThrottled) {
  const std::string host = "198.51.100.7:1";
  for (int i = 0; i < 3; ++i) {
    expect_error(
        post("/token", "application/x-www-form-urlencoded",
             "grant_type=client_credentials&audience=broker", basic("sensor", "wrong"), host),
        401, "invalid_client");
  }
  const auto token =
      post("/token", "application/x-www-form-urlencoded",
           "grant_type=client_credentials&audience=broker", basic("sensor", client_secret), host);
  expect_error(token, 429, "invalid_request");
  EXPECT_FALSE(token.header("retry-after").empty());
  // The same host is refused on the other endpoints too (the bucket is the host's).
  expect_error(post("/introspect", "application/ace+json", R"({"token":"x"})",
                    basic("broker", rs_secret), host),
               429, "invalid_request");
  expect_error(post("/revoke", "application/ace+json", R"({"token":"x"})",
                    basic("sensor", client_secret), host),
               429, "invalid_request");
  expect_error(get_from(*service_, "/trl", basic("broker", rs_secret), host), 429,
               "invalid_request");
  // CBOR clients get the abbreviated error (RFC 9200 5.8.3) with the same status.
  // {33 (grant_type): 2 (client_credentials), 5 (audience): "broker"}
  const auto cbor_refused = post("/token", "application/ace+cbor",
                                 std::string("\xa2\x18\x21\x02\x05\x66"
                                             "broker"),
                                 basic("sensor", client_secret), host);
  EXPECT_EQ(cbor_refused.status, 429u);
  EXPECT_EQ(cbor_refused.content_type, "application/ace+cbor");
}

TEST_F(ThrottledServiceTest, StrangersCannotLockAnIdentityOutOfItsOwnHost) {
  // The owner authenticates from its host.
  EXPECT_EQ(
      get_from(*service_, "/owner/grants", basic("alice", owner_secret), "203.0.113.1:1").status,
      200u);
  // Guesses from other hosts empty the owner's bucket (5), a few per host.
  for (int host = 0; host < 3; ++host) {
    for (int i = 0; i < 2; ++i) {
      get_from(*service_, "/owner/grants", basic("alice", "guess"),
               "198.51.100." + std::to_string(10 + host) + ":1");
    }
  }
  // A new host is refused for this owner before any hashing...
  EXPECT_EQ(
      get_from(*service_, "/owner/grants", basic("alice", owner_secret), "198.51.100.99:1").status,
      429u);
  // ...the owner's own host is not,
  EXPECT_EQ(
      get_from(*service_, "/owner/grants", basic("alice", owner_secret), "203.0.113.1:2").status,
      200u);
  // and other identities are not concerned.
  EXPECT_EQ(post("/token", "application/x-www-form-urlencoded",
                 "grant_type=client_credentials&audience=broker", basic("sensor", client_secret),
                 "198.51.100.99:1")
                .status,
            200u);
}

TEST_F(ThrottledServiceTest, UnknownIdentitiesAreChargedLikeKnownOnes) {
  // Three unknown owners, resource servers or clients empty the host's bucket like three wrong
  // secrets would: the limits do not tell which identities exist.
  const std::string host = "198.51.100.20:1";
  get_from(*service_, "/owner/grants", basic("ghost-owner", "x"), host);
  post("/introspect", "application/ace+json", R"({"token":"x"})", basic("ghost-rs", "x"), host);
  const auto unknown_client =
      post("/token", "application/x-www-form-urlencoded",
           "grant_type=client_credentials&audience=broker", basic("ghost-client", "x"), host);
  expect_error(unknown_client, 401, "invalid_client");
  expect_error(get_from(*service_, "/owner/grants", basic("alice", owner_secret), host), 429,
               "invalid_request");
}

TEST(SecretHash, DummyHashHasTheParametersOfStoredHashes) {
  // Unknown identities are checked against it: it must cost what a stored hash costs.
  const secret_hash_parameters defaults;
  const std::string expected = "$argon2id$v=19$m=" + std::to_string(defaults.memory_kib) +
                               ",t=" + std::to_string(defaults.time_cost) +
                               ",p=" + std::to_string(defaults.parallelism) + "$";
  EXPECT_TRUE(dummy_secret_hash().starts_with(expected)) << dummy_secret_hash();
  EXPECT_EQ(&dummy_secret_hash(), &dummy_secret_hash());
  EXPECT_FALSE(verify_secret("", dummy_secret_hash()));
}

TEST_F(ThrottledServiceTest, OwnerApiTakesJsonBodiesOnly) {
  const auto body =
      R"({"client_id":"device","audience":"broker","filter":"home/alice/x","permissions":["sub"],"lifetime":60})";
  for (const char* type :
       {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""}) {
    expect_error(post("/owner/grants", type, body, basic("alice", owner_secret)), 415,
                 "invalid_request");
  }
  EXPECT_EQ(
      post("/owner/grants", "application/json; charset=utf-8", body, basic("alice", owner_secret))
          .status,
      201u);
  // The OAuth endpoints answer 415 to a type they do not take, too.
  expect_error(
      post("/token", "text/plain", "grant_type=client_credentials", basic("sensor", client_secret)),
      415, "invalid_request");
}

TEST_F(ThrottledServiceTest, ForeignOriginsAreRefused) {
  const auto body =
      R"({"client_id":"device","audience":"broker","filter":"home/alice/y","permissions":["sub"],"lifetime":60})";
  const auto with_origin = [&](std::string method, std::string target, std::string origin) {
    http_request request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.headers = {{"content-type", "application/json"},
                       {"authorization", basic("alice", owner_secret)},
                       {"origin", std::move(origin)}};
    if (request.method == "POST") request.body = body;
    request.peer_address = "192.0.2.50:1";
    return service_->handle(request);
  };
  for (const char* origin : {"https://evil.example", "null", "https://as.example",
                             "http://as.example:8443", "https://as.example:8444"}) {
    expect_error(with_origin("POST", "/owner/grants", origin), 403, "invalid_request");
    EXPECT_EQ(with_origin("GET", "/owner/grants", origin).status, 403u) << origin;
    EXPECT_EQ(with_origin("POST", "/token", origin).status, 403u) << origin;
  }
  EXPECT_EQ(with_origin("GET", "/owner/grants", "https://as.example:8443").status, 200u);
  EXPECT_EQ(with_origin("GET", "/owner/grants", "HTTPS://AS.EXAMPLE:8443").status, 200u);
  EXPECT_EQ(with_origin("POST", "/owner/grants", "https://console.example").status, 201u);
  // Public documents answer any origin.
  EXPECT_EQ(with_origin("GET", "/jwks", "https://evil.example").status, 200u);
  EXPECT_EQ(with_origin("GET", "/.well-known/oauth-authorization-server", "null").status, 200u);
}

TEST_F(ServiceTest, CredentialsVerifiedRecentlySkipTheWorkerPool) {
  const auto request = [](std::string target, std::string authorization) {
    http_request r;
    r.method = "POST";
    r.target = std::move(target);
    r.headers.emplace_back("authorization", std::move(authorization));
    return r;
  };
  const auto right = basic("sensor", client_secret);
  EXPECT_TRUE(service_->needs_worker(request("/token", right)));
  ASSERT_EQ(token_form("grant_type=client_credentials&audience=broker").status, 200u);
  // Verified: the next check is a cache hit, run where the request arrived.
  EXPECT_FALSE(service_->needs_worker(request("/token", right)));
  EXPECT_FALSE(service_->needs_worker(request("/revoke", right)));
  // Another secret, another identity or another kind of identity still needs a worker.
  EXPECT_TRUE(service_->needs_worker(request("/token", basic("sensor", "guess"))));
  EXPECT_TRUE(service_->needs_worker(request("/token", basic("device", client_secret))));
  EXPECT_TRUE(service_->needs_worker(request("/owner/grants", right)));
  EXPECT_TRUE(service_->needs_worker(request("/token", "")));
  EXPECT_FALSE(service_->needs_worker(request("/jwks", "")));
  // The memory ends with verified_secret_ttl (300 s).
  clock_.advance(std::chrono::seconds(300));
  EXPECT_TRUE(service_->needs_worker(request("/token", right)));
}

TEST(AuthorizationService, OnlyPublicDocumentsSkipTheWorkerPool) {
  for (const auto& [target, slow] :
       {std::pair{"/jwks", false}, std::pair{"/.well-known/oauth-authorization-server", false},
        std::pair{"/token", true}, std::pair{"/introspect", true}, std::pair{"/revoke", true},
        std::pair{"/trl?cursor=1", true}, std::pair{"/owner/grants/1", true},
        std::pair{"/unknown", true}}) {
    http_request request;
    request.method = "GET";
    request.target = target;
    EXPECT_EQ(authorization_service::may_check_secret(request), slow) << target;
  }
}

}  // namespace
}  // namespace acemq::as
