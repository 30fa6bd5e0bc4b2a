// Revocation list parsing, application and polling; cnonce registry bounds.
#include "acemq/ace/revocation.hpp"

#include <gtest/gtest.h>

#include "fixture.hpp"

namespace acemq::ace::testing {
namespace {

TEST(RevocationPage, ParsesTheAsShape) {
  auto page = parse_revocation_page(
      R"({"cursor":7,"more":true,"revoked":[{"token_hash":"abc","exp":10,"revoked_at":5}]})");
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(page->cursor, 7);
  EXPECT_TRUE(page->more);
  ASSERT_EQ(page->revoked.size(), 1u);
  EXPECT_EQ(page->revoked[0].token_hash, "abc");
  EXPECT_EQ(page->revoked[0].expires_at, 10);
}

TEST(RevocationPage, RefusesOtherShapes) {
  for (std::string_view bad :
       {"", "[]", "{}", R"({"cursor":-1,"revoked":[]})", R"({"cursor":1})",
        R"({"cursor":1,"revoked":[1]})", R"({"cursor":1,"revoked":[{"token_hash":""}]})",
        R"({"cursor":1,"more":"no","revoked":[]})", R"({"cursor":1,"revoked":[{"exp":1}]})"}) {
    EXPECT_FALSE(parse_revocation_page(bad).has_value()) << bad;
  }
  EXPECT_EQ(parse_revocation_page(R"({"cursor":1,"revoked":[{"token_hash":"a","exp":1},)"
                                  R"({"token_hash":"b","exp":1}]})",
                                  1)
                .error(),
            token::failure::too_large);
}

TEST(RevocationPage, ReadsTheOptionalIat) {
  auto page = parse_revocation_page(
      R"({"cursor":7,"revoked":[{"token_hash":"a","exp":10,"iat":4,"revoked_at":5},)"
      R"({"token_hash":"b","exp":10,"revoked_at":6},{"token_hash":"c","exp":10}]})");
  ASSERT_TRUE(page.has_value());
  ASSERT_EQ(page->revoked.size(), 3u);
  EXPECT_EQ(page->revoked[0].issued_no_later_than(), 4);
  EXPECT_EQ(page->revoked[1].issued_no_later_than(), 6) << "no iat: issued before its revocation";
  EXPECT_EQ(page->revoked[2].issued_no_later_than(), 10) << "nor revoked_at: before its exp";
  EXPECT_FALSE(
      parse_revocation_page(R"({"cursor":1,"revoked":[{"token_hash":"a","exp":1,"iat":"x"}]})"));
}

TEST(RevocationList, ForgetsExpiredEntries) {
  manual_clock time(1000);
  revocation_list list(10, time);
  revocation_page page;
  page.cursor = 3;
  page.revoked = {{"b", 1200, 990, 950}, {"c", 1300, 990, 980}, {"old", 900, 0, 800}};
  list.apply(page);
  EXPECT_EQ(list.size(), 2u);
  EXPECT_FALSE(list.is_revoked("old")) << "already expired: nothing to remember";
  EXPECT_EQ(list.cursor(), 3);
  time.advance(std::chrono::seconds(250));
  list.apply(revocation_page{});
  EXPECT_FALSE(list.is_revoked("b"));
  EXPECT_TRUE(list.is_revoked("c"));
  EXPECT_EQ(list.floor(), 0);
}

TEST(RevocationList, OverflowRaisesAFloorAndNeverForgetsARevokedToken) {
  manual_clock time(1000);
  revocation_list list(2, time);
  revocation_page page;
  page.revoked = {{"a", 1100, 990, 900}, {"b", 1200, 990, 950}, {"c", 1300, 990, 980}};
  list.apply(page);
  // Full: the entry of the oldest iat ("a") gave way to a floor at its iat, which refuses it.
  EXPECT_EQ(list.size(), 2u);
  EXPECT_EQ(list.floor(), 900);
  EXPECT_TRUE(list.below_floor(900)) << "the dropped token itself";
  EXPECT_TRUE(list.below_floor(899));
  EXPECT_FALSE(list.below_floor(901)) << "tokens issued after the floor are not affected";
  EXPECT_TRUE(list.below_floor(std::nullopt)) << "no iat: cannot show it is newer";
  EXPECT_TRUE(list.is_revoked("b"));
  EXPECT_TRUE(list.is_revoked("c"));

  // An entry without iat floors at its revocation time; the floor takes "b" (iat 950) now.
  list.apply(revocation_page{0, false, {{"d", 1400, 995}}});
  EXPECT_EQ(list.size(), 2u);
  EXPECT_EQ(list.floor(), 950);
  EXPECT_TRUE(list.is_revoked("c"));
  EXPECT_TRUE(list.is_revoked("d"));
  // An entry the floor already covers takes no room.
  list.apply(revocation_page{0, false, {{"e", 1500, 999, 940}}});
  EXPECT_EQ(list.size(), 2u);
  EXPECT_FALSE(list.is_revoked("e"));
  EXPECT_TRUE(list.below_floor(940));

  // The floor stands until the last token it dropped ("b", exp 1200) has expired.
  time.advance(std::chrono::seconds(199));
  list.apply(revocation_page{});
  EXPECT_EQ(list.floor(), 950);
  time.advance(std::chrono::seconds(1));
  list.apply(revocation_page{});
  EXPECT_EQ(list.floor(), 0);
  EXPECT_FALSE(list.below_floor(std::nullopt));
  EXPECT_TRUE(list.is_revoked("c"));
  EXPECT_TRUE(list.is_revoked("d"));
}

TEST(RevocationList, ARaisedFloorEndsLiveTokensAndRefusesOldOnes) {
  world w;
  revocation_list small(1, w.time);
  auto validator =
      std::make_shared<token_validator>(w.settings, w.time, nullptr, &small, &w.cnonces);
  const std::int64_t issued = w.time.unix_seconds();
  const std::string old_token = w.token();
  auto live = validator->validate_local(as_bytes(old_token));
  ASSERT_TRUE(live.has_value());
  std::size_t notified = 0;
  small.set_listener([&](const validated_token_ptr&) { ++notified; });
  w.time.advance(std::chrono::seconds(10));
  const std::string newer = w.token();
  revocation_page page;
  page.revoked = {{"x", issued + 3600, issued + 10, issued},
                  {"y", issued + 3600, issued + 10, issued + 5}};
  EXPECT_EQ(small.apply(page), 1u) << "the live token issued at the floor ends";
  EXPECT_EQ(notified, 1u);
  EXPECT_TRUE((*live)->revoked());
  auto again = validator->validate_local(as_bytes(old_token));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().reason, rejection::revoked);
  EXPECT_TRUE(validator->validate_local(as_bytes(newer)).has_value());
  auto without_iat = w.claims();
  without_iat.erase("iat");
  auto refused = validator->validate_local(as_bytes(w.sign(without_iat)));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().reason, rejection::revoked);
}

TEST(RevocationPoller, PollsAtTheIntervalAndFollowsMorePages) {
  world w;
  auto poller = std::make_shared<revocation_poller>(w.as, w.revocations,
                                                    std::chrono::milliseconds(1000), w.time);
  poller->tick();
  ASSERT_EQ(w.as.calls.size(), 1u);
  EXPECT_EQ(w.as.calls.front().what, "trl");
  EXPECT_EQ(w.as.calls.front().argument, "0");
  poller->tick();
  EXPECT_EQ(w.as.calls.size(), 1u) << "one fetch in flight at a time";
  const std::int64_t exp = w.time.unix_seconds() + 100;
  w.as.answer(std::string(R"({"cursor":4,"more":true,"revoked":[{"token_hash":"h1","exp":)") +
              std::to_string(exp) + "}]}");
  ASSERT_EQ(w.as.calls.size(), 1u) << "the next page at once";
  EXPECT_EQ(w.as.calls.front().argument, "4");
  w.as.answer(std::string(R"({"cursor":4,"more":false,"revoked":[]})"));
  EXPECT_TRUE(w.revocations.is_revoked("h1"));
  EXPECT_EQ(poller->pages_applied(), 2u);
  poller->tick();
  EXPECT_TRUE(w.as.calls.empty()) << "not before the interval";
  w.time.advance(std::chrono::milliseconds(1000));
  poller->tick();
  ASSERT_EQ(w.as.calls.size(), 1u);
  w.as.answer(unexpected(as_error::unreachable));
  EXPECT_EQ(poller->failures(), 1u);
}

TEST(CnonceRegistry, SingleUseExpiringAndBounded) {
  manual_clock time;
  deterministic_random random(3);
  cnonce_registry registry(2, std::chrono::seconds(10), time, random);
  const byte_vector a = registry.issue();
  EXPECT_EQ(a.size(), cnonce_size);
  EXPECT_TRUE(registry.consume(a));
  EXPECT_FALSE(registry.consume(a));
  const byte_vector b = registry.issue();
  const byte_vector c = registry.issue();
  const byte_vector d = registry.issue();
  EXPECT_EQ(registry.size(), 2u);
  EXPECT_FALSE(registry.consume(b)) << "oldest dropped when full";
  time.advance(std::chrono::seconds(10));
  EXPECT_FALSE(registry.consume(c)) << "expired";
  EXPECT_FALSE(registry.consume(byte_vector(16, 0)));
  (void)d;
}

}  // namespace
}  // namespace acemq::ace::testing
