// token_validator: local verification, the AS key refresh (rate-limited), introspection with
// its cache timeout, the verification cache, and the cnf-by-kid lookup.
#include "acemq/ace/token_validator.hpp"

#include <gtest/gtest.h>

#include "fixture.hpp"

namespace acemq::ace::testing {
namespace {

struct sync_result {
  std::optional<token_validator::outcome> value;
  token_validator::completion sink() {
    return [this](token_validator::outcome o) {
      ASSERT_FALSE(value.has_value()) << "completion called twice";
      value = std::move(o);
    };
  }
};

/// A reference token in the shape acemq-as issues (ace.reference_token_length): base64url of 32
/// bytes, 43 characters, ending in `tag`.
std::string handle(std::string_view tag) {
  return std::string(43 - tag.size(), 'A') + std::string(tag);
}

std::string jwks_of(const crypto::key& k) {
  jose::jwk_set set({*k.public_key()});
  return boost::json::serialize(*jose::to_jwk_set(set, jose::jwk_content::public_only));
}

TEST(TokenValidator, NotATokenWithoutIntrospection) {
  world w;
  sync_result r;
  w.validator->validate(as_bytes("just some bytes"), r.sink());
  ASSERT_TRUE(r.value && !*r.value);
  EXPECT_EQ(r.value->error().reason, rejection::not_a_token);
}

TEST(TokenValidator, NotATokenIsNotIntrospected) {
  // RFC 9431 2.2.2: a payload that cannot be a token (not a JWT, CWT or b64token reference
  // handle) is "not a token" (0x99 on authz-info), even with an AS to introspect at.
  world w(true);
  for (const std::string_view payload :
       {std::string_view("hello, not a token"), std::string_view("=abc"),
        std::string_view("abc=def"), std::string_view("\x01\x02binary", 8)}) {
    sync_result r;
    w.validator->validate(as_bytes(payload), r.sink());
    ASSERT_TRUE(r.value && !*r.value) << payload;
    EXPECT_EQ(r.value->error().reason, rejection::not_a_token) << payload;
  }
  EXPECT_TRUE(w.as.calls.empty()) << "no introspection for junk";
  // A b64token handle is still a reference for the AS to explain.
  sync_result reference;
  w.validator->validate(as_bytes(handle("handle-_")), reference.sink());
  ASSERT_EQ(w.as.calls.size(), 1u);
  EXPECT_EQ(w.as.calls.front().what, "introspect");
}

TEST(TokenValidator, TooLargeIsRefusedBeforeParsing) {
  world w;
  sync_result r;
  w.validator->validate(byte_vector(w.settings.max_token_size + 1, 'a'), r.sink());
  ASSERT_TRUE(r.value && !*r.value);
  EXPECT_EQ(r.value->error().detail, token::failure::too_large);
}

TEST(TokenValidator, UnknownKidFetchesTheAsKeysOnceThenRateLimits) {
  world w(true);
  auto rotated = crypto::key::generate_ed25519();
  rotated.set_kid(to_bytes("as-2"));
  const std::string token = w.sign(w.claims(), &rotated);

  sync_result first;
  sync_result second;
  w.validator->validate(as_bytes(token), first.sink());
  w.validator->validate(as_bytes(token), second.sink());
  ASSERT_EQ(w.as.calls.size(), 1u) << "one fetch for both waiters";
  EXPECT_EQ(w.as.calls.front().what, "jwks");
  EXPECT_FALSE(first.value.has_value()) << "waits for the AS without blocking";
  w.as.answer(result<std::string, as_error>(jwks_of(rotated)));
  ASSERT_TRUE(first.value && *first.value);
  ASSERT_TRUE(second.value && *second.value);
  EXPECT_EQ(w.validator->jwks_fetches(), 1u);

  // Another unknown kid right away: refused without asking the AS (rate limit).
  auto forged = crypto::key::generate_ed25519();
  forged.set_kid(to_bytes("forged"));
  sync_result third;
  w.validator->validate(as_bytes(w.sign(w.claims(), &forged)), third.sink());
  EXPECT_TRUE(w.as.calls.empty());
  ASSERT_TRUE(third.value && !*third.value);
  EXPECT_EQ(third.value->error().detail, token::failure::unknown_key);

  // After the interval the AS is asked again.
  w.time.advance(w.settings.jwks_min_refresh_interval);
  sync_result fourth;
  w.validator->validate(as_bytes(w.sign(w.claims(), &forged)), fourth.sink());
  ASSERT_EQ(w.as.calls.size(), 1u);
  w.as.answer(unexpected(as_error::timeout));
  ASSERT_TRUE(fourth.value && !*fourth.value);
}

/// The world's clock, which runs `hook` once at the next read of the wall clock: it puts an
/// event between a validation's key lookup and its verification, which reads the time.
class hooked_clock final : public clock {
 public:
  explicit hooked_clock(const clock& base) : base_(base) {}
  time_point now() const override { return base_.now(); }
  std::int64_t unix_seconds() const override {
    if (hook) {
      auto run = std::move(hook);
      hook = nullptr;
      run();
    }
    return base_.unix_seconds();
  }
  mutable std::function<void()> hook;

 private:
  const clock& base_;
};

TEST(TokenValidator, AKeySetArrivingDuringTheLookupIsUsedNotRateLimited) {
  // Two connections present tokens under a rotated AS key. The first starts the key fetch; the
  // second looks the kid up in the old key set, the fetch completes before it verifies, and its
  // key is then in the new set: it must be verified against that set, not refused by the
  // rate limit on fetches (which it would be, the fetch being just done).
  world w(true);
  hooked_clock time(w.time);
  auto validator =
      std::make_shared<token_validator>(w.settings, time, &w.as, &w.revocations, &w.cnonces);
  auto rotated = crypto::key::generate_ed25519();
  rotated.set_kid(to_bytes("as-2"));
  boost::json::object second_claims = w.claims();
  second_claims["sub"] = "client-2";  // another token: not in the verification cache
  const std::string first_token = w.sign(w.claims(), &rotated);
  const std::string second_token = w.sign(second_claims, &rotated);

  sync_result first;
  validator->validate(as_bytes(first_token), first.sink());
  ASSERT_EQ(w.as.calls.size(), 1u);
  sync_result second;
  time.hook = [&] { w.as.answer(result<std::string, as_error>(jwks_of(rotated))); };
  validator->validate(as_bytes(second_token), second.sink());
  EXPECT_FALSE(time.hook) << "the fetch completed inside the second validation";
  ASSERT_TRUE(first.value && *first.value);
  ASSERT_TRUE(second.value);
  EXPECT_TRUE(*second.value) << "refused: " << static_cast<int>(second.value->error().reason);
  EXPECT_EQ(validator->jwks_fetches(), 1u);
  EXPECT_TRUE(w.as.calls.empty());
}

TEST(TokenValidator, JwksWithPrivateMembersIsRefused) {
  world w;
  jose::jwk_set set({w.as_key});
  const std::string with_private =
      boost::json::serialize(*jose::to_jwk_set(set, jose::jwk_content::with_private));
  EXPECT_FALSE(w.validator->install_jwks(with_private).has_value());
  EXPECT_FALSE(w.validator->install_jwks("{not json").has_value());
}

boost::json::object introspection_of(const boost::json::object& claims) {
  boost::json::object body = claims;
  body["active"] = true;
  body["scope"] = std::string(default_scope);
  return body;
}

TEST(TokenValidator, ReferenceTokenIsIntrospectedAndCachedForTheTtl) {
  world w(true);
  const std::string reference = handle("ref-0123456789abcdef");
  sync_result r;
  w.validator->validate(as_bytes(reference), r.sink());
  ASSERT_EQ(w.as.calls.size(), 1u);
  EXPECT_EQ(w.as.calls.front().what, "introspect");
  EXPECT_EQ(w.as.calls.front().argument, reference);
  w.as.answer(std::string(boost::json::serialize(introspection_of(w.claims()))));
  ASSERT_TRUE(r.value && *r.value) << to_string(r.value->error().reason);
  EXPECT_TRUE((**r.value)->introspected);

  sync_result cached;
  w.validator->validate(as_bytes(reference), cached.sink());
  EXPECT_TRUE(w.as.calls.empty()) << "served from the cache";
  ASSERT_TRUE(cached.value && *cached.value);

  // RFC 9431 2.4.2: after the cache timeout the AS is asked again.
  w.time.advance(w.settings.introspection_cache_ttl);
  sync_result again;
  w.validator->validate(as_bytes(reference), again.sink());
  ASSERT_EQ(w.as.calls.size(), 1u);
  w.as.answer(std::string(R"({"active":false})"));
  ASSERT_TRUE(again.value && !*again.value);
  EXPECT_EQ(again.value->error().reason, rejection::invalid_token);
}

/// {"jwk": k with its private members}: a symmetric key in the clear.
boost::json::object cleartext_cnf(const crypto::key& k) {
  boost::json::object cnf;
  cnf["jwk"] = *jose::to_jwk(k, jose::jwk_content::with_private);
  return cnf;
}

TEST(TokenValidator, IntrospectedSymmetricKeyIsThePopKey) {
  // RFC 9431 2.2.5: for a reference token the broker uses the cnf of the introspection result.
  // That response comes over the authenticated HTTPS channel to the AS (RFC 9431 2, RFC 7662
  // 2.1), so it may carry a symmetric key in the clear (RFC 7800 3.2, RFC 9200 5.9.2 Figure 10),
  // as acemq-as does for the keys it generates. Before, it was refused as in a JWT (bad_cnf).
  world w(true);
  auto c = w.claims(pop_kind::ed25519);
  c["cnf"] = cleartext_cnf(w.pop_hs256);
  sync_result r;
  w.validator->validate(as_bytes(handle("ref-symmetric")), r.sink());
  ASSERT_EQ(w.as.calls.size(), 1u);
  w.as.answer(std::string(boost::json::serialize(introspection_of(c))));
  ASSERT_TRUE(r.value && *r.value) << to_string(r.value->error().reason);
  EXPECT_TRUE((**r.value)->introspected);
  EXPECT_TRUE((**r.value)->pop_key.same_material(w.pop_hs256));
}

TEST(TokenValidator, SymmetricKeyInTheClearIsRefusedInAJwt) {
  // RFC 9431 2.1: a self-contained JWT, which its holder can read, carries a symmetric key only
  // encrypted (cnf.jwe); the introspection rule above does not apply to it.
  world w;
  auto c = w.claims(pop_kind::ed25519);
  c["cnf"] = cleartext_cnf(w.pop_hs256);
  auto outcome = w.validator->validate_local(as_bytes(w.sign(c)));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().reason, rejection::invalid_token);
  EXPECT_EQ(outcome.error().detail, token::failure::bad_cnf);
}

TEST(TokenValidator, IntrospectedPrivateAsymmetricKeyIsRefused) {
  // Only symmetric keys may be in the clear: the broker has no use for a private asymmetric key,
  // and an AS that sends one is refused as in a JWT.
  world w(true);
  auto c = w.claims(pop_kind::ed25519);
  c["cnf"] = cleartext_cnf(w.pop_ed25519);
  sync_result r;
  w.validator->validate(as_bytes(handle("ref-private")), r.sink());
  ASSERT_EQ(w.as.calls.size(), 1u);
  w.as.answer(std::string(boost::json::serialize(introspection_of(c))));
  ASSERT_TRUE(r.value && !*r.value);
  EXPECT_EQ(r.value->error().reason, rejection::invalid_token);
  EXPECT_EQ(r.value->error().detail, token::failure::bad_cnf);
}

TEST(TokenValidator, IntrospectionFailuresAreRefusals) {
  world w(true);
  for (const auto& answer : {result<std::string, as_error>(unexpected(as_error::timeout)),
                             result<std::string, as_error>(std::string("[1,2]")),
                             result<std::string, as_error>(std::string("{\"active\":\"yes\"}"))}) {
    sync_result r;
    w.validator->validate(as_bytes(handle("opaque")), r.sink());
    w.as.answer(answer);
    ASSERT_TRUE(r.value && !*r.value);
  }
  // Claims of another audience.
  auto c = w.claims();
  c["aud"] = "other";
  sync_result r;
  w.validator->validate(as_bytes(handle("opaque-2")), r.sink());
  w.as.answer(std::string(boost::json::serialize(introspection_of(c))));
  ASSERT_TRUE(r.value && !*r.value);
  EXPECT_EQ(r.value->error().detail, token::failure::wrong_audience);
}

TEST(TokenValidator, IntrospectionsInFlightAreBounded) {
  ace_settings base;
  base.max_waiting_validations = 1;
  world w(true, base);
  sync_result first;
  sync_result second;
  w.validator->validate(as_bytes(handle("opaque-a")), first.sink());
  w.validator->validate(as_bytes(handle("opaque-b")), second.sink());
  ASSERT_TRUE(second.value && !*second.value);
  EXPECT_EQ(second.value->error().reason, rejection::busy);
  w.as.answer(unexpected(as_error::unreachable));
  ASSERT_TRUE(first.value && !*first.value);
  EXPECT_EQ(first.value->error().reason, rejection::as_unavailable);
}

TEST(TokenValidator, OnlyTokensInTheShapeTheAsIssuesAreIntrospected) {
  // RFC 9431 8: a reference token the AS cannot have issued (another length, another alphabet)
  // costs no call to it.
  world w(true);
  const std::string right = handle("shape");
  for (const std::string& wrong :
       {right.substr(1), right + "A", right.substr(1) + "=", right.substr(1) + "~",
        right.substr(1) + "+", right.substr(1) + "/", right.substr(1) + ".", std::string("abc")}) {
    sync_result r;
    w.validator->validate(as_bytes(wrong), r.sink(), "192.0.2.1");
    ASSERT_TRUE(r.value && !*r.value) << wrong;
    EXPECT_EQ(r.value->error().reason, rejection::not_a_token) << wrong;
  }
  EXPECT_TRUE(w.as.calls.empty());
  sync_result r;
  w.validator->validate(as_bytes(right), r.sink(), "192.0.2.1");
  EXPECT_EQ(w.as.calls.size(), 1u);
}

TEST(TokenValidator, AnyB64tokenIsIntrospectedWhenNoLengthIsSet) {
  ace_settings base;
  base.reference_token_length = 0;
  world w(true, base);
  sync_result r;
  w.validator->validate(as_bytes("aGFuZGxl-_.~+/=="), r.sink());
  EXPECT_EQ(w.as.calls.size(), 1u);
}

TEST(TokenValidator, ATokenTheAsCalledInactiveIsRefusedFromMemoryForTheTtl) {
  world w(true);
  const std::string token = handle("inactive");
  sync_result first;
  w.validator->validate(as_bytes(token), first.sink(), "192.0.2.1");
  ASSERT_EQ(w.as.calls.size(), 1u);
  w.as.answer(std::string(R"({"active":false})"));
  ASSERT_TRUE(first.value && !*first.value);
  EXPECT_EQ(first.value->error().reason, rejection::invalid_token);
  for (int i = 0; i < 5; ++i) {
    sync_result again;
    w.validator->validate(as_bytes(token), again.sink(), "192.0.2.1");
    ASSERT_TRUE(again.value && !*again.value);
    EXPECT_EQ(again.value->error().reason, rejection::invalid_token);
  }
  EXPECT_TRUE(w.as.calls.empty()) << "refused from memory";
  EXPECT_EQ(w.validator->introspections_avoided(), 5u);
  // After the TTL the AS is asked again (it may have been issued since: it cannot, but a
  // forgotten answer costs one call, not a wrong refusal forever).
  w.time.advance(w.settings.inactive_cache_ttl);
  sync_result later;
  w.validator->validate(as_bytes(token), later.sink(), "192.0.2.1");
  EXPECT_EQ(w.as.calls.size(), 1u);
}

TEST(TokenValidator, AnAsThatCouldNotAnswerIsAskedAgain) {
  // Only an answer "inactive" is remembered: an AS that was unreachable said nothing.
  world w(true);
  const std::string token = handle("unanswered");
  sync_result first;
  w.validator->validate(as_bytes(token), first.sink());
  w.as.answer(unexpected(as_error::unreachable));
  sync_result again;
  w.validator->validate(as_bytes(token), again.sink());
  EXPECT_EQ(w.as.calls.size(), 1u);
}

TEST(TokenValidator, IntrospectionsPerHostAreRateLimited) {
  ace_settings base;
  base.introspection_address_burst = 3;
  base.introspection_address_rate = 0.5;
  world w(true, base);
  int asked = 0;
  for (int i = 0; i < 10; ++i) {
    sync_result r;
    w.validator->validate(as_bytes(handle("burst-" + std::to_string(i))), r.sink(), "192.0.2.1");
    if (!w.as.calls.empty()) {
      ++asked;
      w.as.answer(unexpected(as_error::unreachable));
      continue;
    }
    ASSERT_TRUE(r.value && !*r.value);
    EXPECT_EQ(r.value->error().reason, rejection::rate_limited);
  }
  EXPECT_EQ(asked, 3);
  EXPECT_EQ(w.validator->introspections_avoided(), 7u);
  // Another host has its own bucket; the first gets one call back after 2 s.
  sync_result other;
  w.validator->validate(as_bytes(handle("other-host")), other.sink(), "198.51.100.7");
  EXPECT_EQ(w.as.calls.size(), 1u);
  w.as.answer(unexpected(as_error::unreachable));
  w.time.advance(std::chrono::seconds(2));
  sync_result refilled;
  w.validator->validate(as_bytes(handle("refilled")), refilled.sink(), "192.0.2.1");
  EXPECT_EQ(w.as.calls.size(), 1u);
  w.as.answer(unexpected(as_error::unreachable));
  // Self-contained tokens need no call and take nothing from the budget.
  for (int i = 0; i < 5; ++i) {
    sync_result jwt;
    w.validator->validate(as_bytes(w.token()), jwt.sink(), "192.0.2.1");
    ASSERT_TRUE(jwt.value && *jwt.value);
  }
}

TEST(TokenValidator, CnfByKidNeedsAHeldKey) {
  world w;
  auto c = w.claims(pop_kind::hs256);
  c["cnf"] = jose::make_cnf_kid("pop-hs");
  const std::string by_kid = w.sign(c);
  sync_result unknown;
  w.validator->validate(as_bytes(by_kid), unknown.sink());
  ASSERT_TRUE(unknown.value && !*unknown.value);
  EXPECT_EQ(unknown.value->error().reason, rejection::unknown_pop_key);

  // Once a token with that key is stored, the kid resolves to it.
  sync_result full;
  w.validator->validate(as_bytes(w.token(pop_kind::hs256)), full.sink());
  ASSERT_TRUE(full.value && *full.value);
  w.store.put(**full.value, "client-1");
  sync_result known;
  w.validator->validate(as_bytes(by_kid), known.sink());
  ASSERT_TRUE(known.value && *known.value);
  EXPECT_TRUE((**known.value)->pop_key.same_material(w.pop_hs256));
}

TEST(TokenValidator, CacheIsBoundedAndExpiresWithTheToken) {
  ace_settings base;
  base.verified_cache_size = 2;
  world w(false, base);
  std::vector<std::string> tokens;
  for (int i = 0; i < 3; ++i) {
    auto c = w.claims();
    c["jti"] = "t" + std::to_string(i);
    tokens.push_back(w.sign(c));
    ASSERT_TRUE(w.validator->validate_local(as_bytes(tokens.back())).has_value());
  }
  EXPECT_EQ(w.validator->cache_size(), 2u);
  w.time.advance(std::chrono::seconds(3600));
  auto expired = w.validator->validate_local(as_bytes(tokens.back()));
  ASSERT_FALSE(expired.has_value());
  EXPECT_EQ(expired.error().reason, rejection::invalid_token);
}

TEST(TokenValidator, RsaPopKeyIsRefused) {
  world w;
  auto c = w.claims();
  c["cnf"] = *jose::make_cnf_jwk(*crypto::key::generate_rsa(2048).public_key());
  auto outcome = w.validator->validate_local(as_bytes(w.sign(c)));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().reason, rejection::invalid_token);
}

}  // namespace
}  // namespace acemq::ace::testing
