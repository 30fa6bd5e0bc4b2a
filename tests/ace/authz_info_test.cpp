// authz-info (RFC 9431 2.2.2): verdicts per QoS, the one-token-per-key store, its bounds and the
// per-address flood limit.
#include "acemq/ace/authz_info.hpp"

#include <gtest/gtest.h>

#include "fixture.hpp"

namespace acemq::ace::testing {
namespace {

using mqtt::reason_code;

authz_info_verdict upload(world&, authz_info_handler& handler, std::string_view payload,
                          std::uint8_t qos, std::string_view address = "198.51.100.7:4000",
                          mqtt::protocol_version version = mqtt::protocol_version::v5) {
  authz_info_upload u;
  u.payload = as_bytes(payload);
  u.qos = qos;
  u.version = version;
  u.remote_address = address;
  u.client_id = "uploader";
  std::optional<authz_info_verdict> verdict;
  handler.on_publish(u, [&](authz_info_verdict v) { verdict = v; });
  EXPECT_TRUE(verdict.has_value());
  return verdict.value_or(authz_info_verdict{});
}

TEST(AuthzInfo, ValidTokenIsStoredAndAcknowledged) {
  world w;
  authz_info_handler handler(*w.validator, w.store);
  for (int qos = 0; qos <= 2; ++qos) {
    const auto v = upload(w, handler, w.token(), static_cast<std::uint8_t>(qos));
    EXPECT_EQ(v.reason, reason_code::success);
    EXPECT_FALSE(v.disconnect);
    EXPECT_FALSE(v.why.has_value());
  }
  EXPECT_NE(w.store.find_for_client("uploader"), nullptr);
  EXPECT_NE(w.store.find_for_client("client-1"), nullptr) << "indexed by sub too";
}

TEST(AuthzInfo, AnotherClientsTokenIsNeitherDisplacedNorRepointed) {
  world w;
  authz_info_handler handler(*w.validator, w.store);
  // client-1's token, uploaded from a connection named "uploader".
  ASSERT_EQ(upload(w, handler, w.token(), 1).reason, reason_code::success);
  const auto held = w.store.find_for_client("uploader");
  ASSERT_NE(held, nullptr);

  // mallory's token for the same PoP key (the public key is no secret): refused, nothing changes.
  auto same_key = w.claims();
  same_key["sub"] = "mallory";
  const auto refused = upload(w, handler, w.sign(same_key), 1, "198.51.100.8:4000");
  EXPECT_EQ(refused.reason, reason_code::not_authorized);
  EXPECT_EQ(refused.why, rejection::key_held_by_another);
  EXPECT_EQ(w.store.find_for_client("uploader"), held);
  EXPECT_EQ(w.store.find_for_client("client-1"), held);
  EXPECT_EQ(w.store.find_for_client("mallory"), nullptr);

  // mallory's token for her own key, uploaded from a connection named "uploader": stored under
  // her own name only; "uploader" and "client-1" still denote client-1's token.
  auto own_key = w.claims(pop_kind::p256);
  own_key["sub"] = "mallory";
  EXPECT_EQ(upload(w, handler, w.sign(own_key), 1, "198.51.100.9:4000").reason,
            reason_code::success);
  EXPECT_NE(w.store.find_for_client("mallory"), nullptr);
  EXPECT_EQ(w.store.find_for_client("uploader"), held);
  EXPECT_EQ(w.store.find_for_client("client-1"), held);

  // client-1 itself replaces its token (RFC 9431 2.2.2: one token per key).
  ASSERT_EQ(upload(w, handler, w.token(pop_kind::ed25519, R"([["x",["pub"]]])"), 1).reason,
            reason_code::success);
  EXPECT_NE(w.store.find_for_client("uploader"), held);
}

TEST(AuthzInfo, InvalidTokenIs0x87AndDisconnectAtQos0) {
  world w;
  authz_info_handler handler(*w.validator, w.store);
  auto c = w.claims();
  c["aud"] = "another";
  const std::string foreign = w.sign(c);
  auto v = upload(w, handler, foreign, 1);
  EXPECT_EQ(v.reason, reason_code::not_authorized);
  EXPECT_FALSE(v.disconnect);
  v = upload(w, handler, foreign, 0);
  EXPECT_EQ(v.reason, reason_code::not_authorized);
  EXPECT_TRUE(v.disconnect);
  EXPECT_EQ(w.store.size(), 0u) << "RFC 9431 2.2.2: an invalid token is discarded";
}

TEST(AuthzInfo, NotATokenIs0x99) {
  world w;
  authz_info_handler handler(*w.validator, w.store);
  for (std::string_view payload : {"hello", "{\"json\":1}", "a.b.c", ""}) {
    auto v = upload(w, handler, payload, 2);
    EXPECT_EQ(v.reason, reason_code::payload_format_invalid) << payload;
    v = upload(w, handler, payload, 0);
    EXPECT_EQ(v.reason, reason_code::payload_format_invalid);
    EXPECT_TRUE(v.disconnect);
  }
}

TEST(AuthzInfo, Mqtt311GetsNoReasonCode) {
  world w;
  authz_info_handler handler(*w.validator, w.store);
  const auto v = upload(w, handler, "garbage", 0, "198.51.100.8:1", mqtt::protocol_version::v311);
  EXPECT_EQ(v.reason, reason_code::success);
  EXPECT_FALSE(v.disconnect);
  ASSERT_TRUE(v.why.has_value());
  EXPECT_EQ(*v.why, rejection::not_a_token);
}

TEST(AuthzInfo, NewerTokenForTheSameKeyReplacesTheOlder) {
  world w;
  authz_info_handler handler(*w.validator, w.store);
  ASSERT_EQ(upload(w, handler, w.token(pop_kind::ed25519, R"([["a",["pub"]]])"), 1).reason,
            reason_code::success);
  w.time.advance(std::chrono::seconds(1));
  ASSERT_EQ(upload(w, handler, w.token(pop_kind::ed25519, R"([["b",["pub"]]])"), 1).reason,
            reason_code::success);
  EXPECT_EQ(w.store.size(), 1u);
  EXPECT_EQ(w.store.replacements(), 1u);
  const auto held = w.store.find_for_client("uploader");
  ASSERT_NE(held, nullptr);
  EXPECT_TRUE(held->claims.scope.allows_publish("b"));
  EXPECT_FALSE(held->claims.scope.allows_publish("a"));
  // Another key is another entry.
  ASSERT_EQ(upload(w, handler, w.token(pop_kind::p256), 1).reason, reason_code::success);
  EXPECT_EQ(w.store.size(), 2u);
}

TEST(AuthzInfo, FloodFromOneAddressIsRateLimited) {
  ace_settings base;
  base.store.uploads_burst = 3;
  base.store.uploads_per_second = 1;
  world w(false, base);
  authz_info_handler handler(*w.validator, w.store);
  const std::string token = w.token();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(upload(w, handler, token, 1, "203.0.113.5:" + std::to_string(1000 + i)).reason,
              reason_code::success);
  }
  // Another source port of the same host is the same host.
  auto v = upload(w, handler, token, 1, "203.0.113.5:2000");
  EXPECT_EQ(v.reason, reason_code::quota_exceeded);
  v = upload(w, handler, token, 0, "203.0.113.5:2001");
  EXPECT_EQ(v.reason, reason_code::message_rate_too_high);
  EXPECT_TRUE(v.disconnect);
  // Other hosts are not affected; the bucket refills with time.
  EXPECT_EQ(upload(w, handler, token, 1, "203.0.113.6:1").reason, reason_code::success);
  w.time.advance(std::chrono::seconds(1));
  EXPECT_EQ(upload(w, handler, token, 1, "203.0.113.5:3000").reason, reason_code::success);
}

TEST(AuthzInfo, FloodFromOneIpv6Slash64IsRateLimited) {
  // One subscriber holds the whole /64 and picks a new source address per upload: the /64 is
  // the address (per_address_key).
  ace_settings base;
  base.store.uploads_burst = 3;
  base.store.uploads_per_second = 1;
  world w(false, base);
  authz_info_handler handler(*w.validator, w.store);
  const std::string token = w.token();
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(upload(w, handler, token, 1, "[2001:db8:1:2::" + std::to_string(i) + "]:1000").reason,
              reason_code::success);
  }
  EXPECT_EQ(upload(w, handler, token, 1, "[2001:db8:1:2:ffff::9]:1000").reason,
            reason_code::quota_exceeded);
  // The neighbouring /64 is someone else.
  EXPECT_EQ(upload(w, handler, token, 1, "[2001:db8:1:3::1]:1000").reason, reason_code::success);
}

TEST(AuthzInfo, StoreIsBoundedExpiredFirstThenLeastRecentlyUsed) {
  ace_settings base;
  base.store.max_tokens = 2;
  base.store.uploads_burst = 100;
  world w(false, base);
  authz_info_handler handler(*w.validator, w.store);
  auto short_lived = w.claims(pop_kind::ed25519);
  short_lived["exp"] = w.time.unix_seconds() + 10;
  ASSERT_EQ(upload(w, handler, w.sign(short_lived), 1).reason, reason_code::success);
  ASSERT_EQ(upload(w, handler, w.token(pop_kind::p256), 1).reason, reason_code::success);
  w.time.advance(std::chrono::seconds(11));
  ASSERT_EQ(upload(w, handler, w.token(pop_kind::hs256), 1).reason, reason_code::success);
  EXPECT_EQ(w.store.size(), 2u);
  EXPECT_EQ(w.store.evictions(), 1u);
  // Full of live tokens: the least recently used goes.
  const auto fourth = crypto::key::generate_ed25519();
  auto c = w.claims();
  c["cnf"] = *jose::make_cnf_jwk(*fourth.public_key());
  ASSERT_EQ(upload(w, handler, w.sign(c), 1).reason, reason_code::success);
  EXPECT_EQ(w.store.size(), 2u);
  EXPECT_EQ(w.store.evictions(), 2u);
}

TEST(AuthzInfo, SubscriptionToAuthzInfoIsRefused) {
  EXPECT_TRUE(authz_info_handler::refuses_subscription("authz-info"));
  EXPECT_FALSE(authz_info_handler::refuses_subscription("#"));
  EXPECT_TRUE(authz_info_handler::is_authz_info("authz-info"));
  EXPECT_FALSE(authz_info_handler::is_authz_info("authz-info/x"));
}

TEST(AuthzInfo, UploadedTokenThenTokenlessConnect) {
  // RFC 9431 2.2.4.2.2: the broker uses the stored token for a CONNECT without one.
  world w;
  authz_info_handler handler(*w.validator, w.store);
  ASSERT_EQ(upload(w, handler, w.token(pop_kind::hs256), 1).reason, reason_code::success);
  fake_tls tls(50);
  std::optional<broker::auth_step> step;
  w.provider->start(connect_request(&tls, std::nullopt, "uploader"),
                    [&](broker::auth_step s) { step = std::move(s); });
  ASSERT_TRUE(step && step->what == broker::auth_step::kind::continue_with);
  std::optional<broker::auth_step> done;
  w.provider->continue_auth(
      connect_request(&tls, challenge_answer(*step->data, w.pop_hs256), "uploader"),
      [&](broker::auth_step s) { done = std::move(s); });
  ASSERT_TRUE(done);
  EXPECT_EQ(done->what, broker::auth_step::kind::success);
}

}  // namespace
}  // namespace acemq::ace::testing
