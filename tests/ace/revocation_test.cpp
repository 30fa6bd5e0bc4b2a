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

TEST(RevocationList, BoundedAndForgetsExpiredEntries) {
  manual_clock time(1000);
  revocation_list list(2, time);
  revocation_page page;
  page.cursor = 3;
  page.revoked = {{"a", 1100, 0}, {"b", 1200, 0}, {"c", 1300, 0}, {"old", 900, 0}};
  list.apply(page);
  EXPECT_EQ(list.size(), 2u);
  EXPECT_FALSE(list.is_revoked("a")) << "the entry closest to its expiry made room";
  EXPECT_TRUE(list.is_revoked("c"));
  EXPECT_FALSE(list.is_revoked("old")) << "already expired: nothing to remember";
  EXPECT_EQ(list.cursor(), 3);
  time.advance(std::chrono::seconds(250));
  list.apply(revocation_page{});
  EXPECT_FALSE(list.is_revoked("b"));
  EXPECT_TRUE(list.is_revoked("c"));
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
