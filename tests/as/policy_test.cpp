// Scope intersection: what the client asked ∩ what the owners' grants allow.
#include <gtest/gtest.h>

#include "acemq/as/policy.hpp"

namespace acemq::as::policy {
namespace {

using token::scope::grant;

grant_record make_grant(std::string filter, std::uint8_t permissions, std::int64_t not_after = 1000,
                        std::int64_t revoked_at = 0) {
  grant_record g;
  g.owner_id = "alice";
  g.client_id = "c";
  g.audience = "broker";
  g.filter = std::move(filter);
  g.permissions = permissions;
  g.not_after = not_after;
  g.revoked_at = revoked_at;
  return g;
}

TEST(IntersectFilters, Basics) {
  EXPECT_EQ(intersect_filters("a/b", "a/b"), "a/b");
  EXPECT_EQ(intersect_filters("a/+", "a/b"), "a/b");
  EXPECT_EQ(intersect_filters("a/b", "a/+"), "a/b");
  EXPECT_EQ(intersect_filters("a/#", "a/b/c"), "a/b/c");
  EXPECT_EQ(intersect_filters("a/+/c", "a/b/#"), "a/b/c");
  EXPECT_EQ(intersect_filters("#", "x/+"), "x/+");
  EXPECT_EQ(intersect_filters("a/#", "a"), "a");  // [MQTT-4.7.1-2]
  EXPECT_EQ(intersect_filters("a/#", "+/#"), "a/#");
  EXPECT_EQ(intersect_filters("+/+", "+/+"), "+/+");
  EXPECT_EQ(intersect_filters("a/b", "a/c"), std::nullopt);
  EXPECT_EQ(intersect_filters("a/b", "a/b/c"), std::nullopt);
  EXPECT_EQ(intersect_filters("a/+", "a"), std::nullopt);
  EXPECT_EQ(intersect_filters("#", "$SYS/x"), std::nullopt);  // [MQTT-4.7.2-1]
  EXPECT_EQ(intersect_filters("+/x", "$SYS/x"), std::nullopt);
  EXPECT_EQ(intersect_filters("$SYS/#", "$SYS/x"), "$SYS/x");
  EXPECT_EQ(intersect_filters("a/#/b", "a/b"), std::nullopt);  // invalid filter
}

TEST(Intersect, NarrowsToWhatGrantsAllow) {
  const std::vector<grant_record> grants{make_grant("home/alice/#", 0x02),
                                         make_grant("home/alice/cmd", 0x01)};
  std::vector<grant> asked{{"home/#", true, true}};
  auto got = intersect(asked, grants, 10);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].filter, "home/alice/#");
  EXPECT_TRUE(got[0].subscribe);
  EXPECT_FALSE(got[0].publish);
  EXPECT_EQ(got[1].filter, "home/alice/cmd");
  EXPECT_TRUE(got[1].publish);
  EXPECT_FALSE(got[1].subscribe);
}

TEST(Intersect, NothingAllowedIsEmpty) {
  const std::vector<grant_record> grants{make_grant("home/alice/#", 0x02)};
  std::vector<grant> asked{{"home/alice/x", true, false}};  // pub asked, only sub granted
  EXPECT_TRUE(intersect(asked, grants, 10).empty());
  std::vector<grant> elsewhere{{"office/#", true, true}};
  EXPECT_TRUE(intersect(elsewhere, grants, 10).empty());
}

TEST(Intersect, ExpiredAndRevokedGrantsDoNotCount) {
  const std::vector<grant_record> grants{make_grant("a/#", 0x03, 100),
                                         make_grant("b/#", 0x03, 1000, 50)};
  std::vector<grant> asked{{"a/x", true, true}, {"b/x", true, true}};
  EXPECT_EQ(intersect(asked, grants, 99).size(), 1u);
  EXPECT_TRUE(intersect(asked, grants, 100).empty());
}

TEST(Intersect, DefaultScopeIsEveryActiveGrantWithoutRedundancy) {
  const std::vector<grant_record> grants{make_grant("a/#", 0x03), make_grant("a/b", 0x01),
                                         make_grant("c", 0x02)};
  auto got = intersect(std::nullopt, grants, 10);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].filter, "a/#");
  EXPECT_EQ(got[1].filter, "c");
}

TEST(Intersect, MergesPermissionsFromSeveralGrants) {
  const std::vector<grant_record> grants{make_grant("t", 0x01), make_grant("t", 0x02)};
  std::vector<grant> asked{{"t", true, true}};
  auto got = intersect(asked, grants, 10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].publish);
  EXPECT_TRUE(got[0].subscribe);
}

TEST(CoveredUntil, IsTheEndOfTheGrantsAndZeroOnceNarrowed) {
  std::vector<grant> issued{{"home/alice/+", true, true}};
  std::vector<grant_record> grants{make_grant("home/alice/#", 0x03)};
  EXPECT_EQ(covered_until(issued, grants, 10), 1000);
  grants[0].permissions = 0x02;
  EXPECT_EQ(covered_until(issued, grants, 10), 0);
  grants[0].permissions = 0x03;
  grants[0].revoked_at = 5;
  EXPECT_EQ(covered_until(issued, grants, 10), 0);
  grants[0].revoked_at = 0;
  EXPECT_EQ(covered_until(issued, grants, 1000), 0) << "the grant has ended";
  // Two grants give one permission each: the earlier end bounds the entry.
  std::vector<grant_record> split{make_grant("home/alice/+", 0x01, 300), make_grant("#", 0x02)};
  EXPECT_EQ(covered_until(issued, split, 10), 300);
  // Of two grants covering the same permission, the later end counts.
  split.push_back(make_grant("home/#", 0x01, 700));
  EXPECT_EQ(covered_until(issued, split, 10), 700);
  // Several entries: the earliest of their ends.
  std::vector<grant> two{{"home/alice/+", false, true}, {"home/alice/door", true, false}};
  std::vector<grant_record> per_entry{make_grant("home/alice/#", 0x02, 900),
                                      make_grant("home/alice/door", 0x01, 200)};
  EXPECT_EQ(covered_until(two, per_entry, 10), 200);
}

}  // namespace
}  // namespace acemq::as::policy
