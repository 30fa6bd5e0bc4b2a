// The ACL file: grammar, substitution that must not widen access, subscription coverage, reload.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "acemq/auth/acl.hpp"

namespace acemq::auth {
namespace {

std::shared_ptr<acl_store> store_of(std::string_view text) {
  auto parsed = acl::parse(text);
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message);
  return std::make_shared<acl_store>(parsed ? std::move(*parsed) : acl{});
}

constexpr std::string_view example_acl =
    "# everyone\n"
    "topic read public/#\n"
    "\n"
    "user alice\n"
    "topic read sensors/#\n"
    "topic write sensors/%c/#\n"
    "topic readwrite alice/+/inbox\n"
    "user bob\n"
    "topic write bob/out\n"
    "pattern readwrite devices/%u/#\n";

TEST(acl_parse, accepts_the_documented_grammar) {
  auto parsed = acl::parse(example_acl);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->rule_count(), 6u);
}

TEST(acl_parse, access_defaults_to_readwrite) {
  auto store = store_of("topic a/b\n");
  acl_principal who("test", "x", "c1", std::nullopt, store);
  EXPECT_EQ(who.may_publish("a/b"), mqtt::reason_code::success);
  EXPECT_TRUE(who.may_receive("a/b"));
}

TEST(acl_parse, errors_name_the_line) {
  struct bad_case {
    std::string_view text;
    std::size_t line;
  };
  const bad_case cases[] = {
      {"topic read a/#\nallow everything\n", 2},
      {"user\n", 1},
      {"topic\n", 1},
      {"topic read a/#/b\n", 1},
      {"topic read a+/b\n", 1},
      {"\n\npattern read devices/%x\n", 3},
      {"pattern read devices/%\n", 1},
  };
  for (const auto& c : cases) {
    auto parsed = acl::parse(c.text);
    ASSERT_FALSE(parsed) << c.text;
    EXPECT_EQ(parsed.error().line, c.line) << c.text;
  }
}

TEST(acl_parse, enforces_bounds) {
  acl_limits bounds;
  bounds.max_rules = 2;
  EXPECT_FALSE(acl::parse("topic a\ntopic b\ntopic c\n", bounds));
  bounds = {};
  bounds.max_line = 10;
  EXPECT_FALSE(acl::parse("topic read a/very/long/filter\n", bounds));
  bounds = {};
  bounds.max_size = 4;
  EXPECT_FALSE(acl::parse("topic a/b\n", bounds));
  EXPECT_FALSE(acl::parse(std::string_view("topic \xff\n")));
}

TEST(acl_principal, user_rules_apply_only_to_that_user) {
  auto store = store_of(example_acl);
  acl_principal alice("test", "alice", "a-1", std::string("alice"), store);
  acl_principal bob("test", "bob", "b-1", std::string("bob"), store);
  EXPECT_EQ(alice.may_subscribe("sensors/#"), mqtt::reason_code::success);
  EXPECT_EQ(bob.may_subscribe("sensors/#"), mqtt::reason_code::not_authorized);
  EXPECT_EQ(bob.may_publish("bob/out"), mqtt::reason_code::success);
  EXPECT_EQ(alice.may_publish("bob/out"), mqtt::reason_code::not_authorized);
  // Global topic rules apply to everyone.
  EXPECT_TRUE(alice.may_receive("public/news"));
  EXPECT_TRUE(bob.may_receive("public/news"));
  EXPECT_EQ(bob.may_publish("public/news"), mqtt::reason_code::not_authorized);
}

TEST(acl_principal, client_id_and_user_substitution) {
  auto store = store_of(example_acl);
  acl_principal alice("test", "alice", "a-1", std::string("alice"), store);
  EXPECT_EQ(alice.may_publish("sensors/a-1/temp"), mqtt::reason_code::success);
  EXPECT_EQ(alice.may_publish("sensors/a-2/temp"), mqtt::reason_code::not_authorized);
  EXPECT_EQ(alice.may_publish("devices/alice/x"), mqtt::reason_code::success);
  EXPECT_EQ(alice.may_publish("devices/bob/x"), mqtt::reason_code::not_authorized);
  EXPECT_TRUE(alice.may_receive("devices/alice/cmd"));
  EXPECT_FALSE(alice.may_receive("devices/bob/cmd"));
}

TEST(acl_principal, substituted_wildcards_and_separators_do_not_widen_access) {
  auto store = store_of("pattern readwrite devices/%c/#\npattern readwrite users/%u/#\n");
  for (std::string_view hostile : {"+", "#", "a/b", "x+", "#y"}) {
    acl_principal who("test", "mallory", std::string(hostile), std::string(hostile), store);
    EXPECT_EQ(who.may_publish("devices/other/x"), mqtt::reason_code::not_authorized) << hostile;
    EXPECT_EQ(who.may_subscribe("devices/+/x"), mqtt::reason_code::not_authorized) << hostile;
    EXPECT_EQ(who.may_subscribe("devices/#"), mqtt::reason_code::not_authorized) << hostile;
    EXPECT_FALSE(who.may_receive("users/other/x")) << hostile;
    EXPECT_FALSE(who.may_receive("devices/a/b/x")) << hostile;
  }
  // An empty client id cannot stand for a level either.
  acl_principal empty("test", "e", "", std::nullopt, store);
  EXPECT_FALSE(empty.may_receive("devices//x"));
  // Without a user name, %u rules grant nothing.
  acl_principal anonymous("test", "anon", "c1", std::nullopt, store);
  EXPECT_EQ(anonymous.may_publish("users/c1/x"), mqtt::reason_code::not_authorized);
  EXPECT_EQ(anonymous.may_publish("devices/c1/x"), mqtt::reason_code::success);
}

TEST(acl_principal, subscription_must_be_covered_by_a_read_rule) {
  auto store = store_of("topic read a/+/c\ntopic read b/#\ntopic write w/#\n");
  acl_principal who("test", "x", "c", std::nullopt, store);
  EXPECT_EQ(who.may_subscribe("a/b/c"), mqtt::reason_code::success);
  EXPECT_EQ(who.may_subscribe("a/+/c"), mqtt::reason_code::success);
  EXPECT_EQ(who.may_subscribe("a/#"), mqtt::reason_code::not_authorized);
  EXPECT_EQ(who.may_subscribe("a/b/+"), mqtt::reason_code::not_authorized);
  EXPECT_EQ(who.may_subscribe("b"), mqtt::reason_code::success);
  EXPECT_EQ(who.may_subscribe("b/#"), mqtt::reason_code::success);
  EXPECT_EQ(who.may_subscribe("b/+/+"), mqtt::reason_code::success);
  EXPECT_EQ(who.may_subscribe("w/x"), mqtt::reason_code::not_authorized);  // write only
  EXPECT_EQ(who.may_subscribe("$share/g/b/x"), mqtt::reason_code::success);
  EXPECT_EQ(who.may_subscribe("$share/g/a/#"), mqtt::reason_code::not_authorized);
}

TEST(acl_principal, default_deny_and_allow_all) {
  auto empty = store_of("");
  acl_principal nobody("test", "n", "c", std::string("n"), empty);
  EXPECT_EQ(nobody.may_publish("a"), mqtt::reason_code::not_authorized);
  EXPECT_EQ(nobody.may_subscribe("a"), mqtt::reason_code::not_authorized);
  EXPECT_FALSE(nobody.may_receive("a"));
  auto open = std::make_shared<acl_store>(acl::allow_all());
  acl_principal anyone("test", "n", "c", std::nullopt, open);
  EXPECT_EQ(anyone.may_publish("a"), mqtt::reason_code::success);
  EXPECT_EQ(anyone.may_subscribe("#"), mqtt::reason_code::success);
  EXPECT_TRUE(anyone.may_receive("a"));
}

TEST(acl_store, replace_applies_to_connected_principals) {
  auto store = store_of("topic read a\n");
  acl_principal who("test", "x", "c", std::nullopt, store);
  EXPECT_TRUE(who.may_receive("a"));
  EXPECT_FALSE(who.may_receive("b"));
  const auto before = store->current()->generation;
  store->replace(*acl::parse("topic read b\n"));
  EXPECT_GT(store->current()->generation, before);
  EXPECT_FALSE(who.may_receive("a"));
  EXPECT_TRUE(who.may_receive("b"));
}

// Each I/O thread keeps the rules of the principals it checked last, in 64 slots: principals
// that share a slot, and one that takes the place (and maybe the address) of one that ended,
// each get their own rules.
TEST(acl_principal, principals_sharing_a_cached_slot_keep_their_own_rules) {
  auto store = store_of("pattern read users/%u/#\n");
  std::vector<std::unique_ptr<acl_principal>> principals;
  for (int i = 0; i < 130; ++i) {
    const std::string user = "u" + std::to_string(i);
    principals.push_back(std::make_unique<acl_principal>("test", user, "c", user, store));
  }
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 130; ++i) {
      const acl_principal& who = *principals[static_cast<std::size_t>(i)];
      EXPECT_TRUE(who.may_receive("users/u" + std::to_string(i) + "/x")) << i;
      EXPECT_FALSE(who.may_receive("users/u" + std::to_string((i + 64) % 130) + "/x")) << i;
    }
  }
  for (int i = 0; i < 10; ++i) {
    auto first = std::make_unique<acl_principal>("test", "a", "c", std::string("a"), store);
    EXPECT_TRUE(first->may_receive("users/a/x"));
    first.reset();
    auto second = std::make_unique<acl_principal>("test", "b", "c", std::string("b"), store);
    EXPECT_FALSE(second->may_receive("users/a/x"));
    EXPECT_TRUE(second->may_receive("users/b/x"));
  }
}

// A reload reaches every thread's cached rules at its next check, while other threads check.
TEST(acl_store, replace_reaches_checks_on_every_thread) {
  auto store = store_of("topic read a\n");
  const auto who = std::make_shared<acl_principal>("test", "x", "c", std::nullopt, store);
  std::atomic<bool> final_installed{false};
  std::atomic<int> checks{0};
  std::vector<std::thread> checkers;
  for (int t = 0; t < 2; ++t) {
    checkers.emplace_back([&] {
      // Checks while the ACL changes under them (their cached rules go stale again and again)...
      while (!final_installed.load()) {
        if (who->may_receive("a") || who->may_receive("b")) ++checks;
      }
      // ...then the ACL installed last, on the same threads and caches.
      EXPECT_FALSE(who->may_receive("a"));
      EXPECT_TRUE(who->may_receive("b"));
    });
  }
  while (checks.load() < 100)
    std::this_thread::yield();
  for (int i = 0; i < 200; ++i)
    store->replace(*acl::parse(i % 2 == 0 ? "topic read b\n" : "topic read a\n"));
  store->replace(*acl::parse("topic read b\n"));
  final_installed = true;
  for (auto& each : checkers)
    each.join();
  EXPECT_GT(checks.load(), 0);
  EXPECT_FALSE(who->may_receive("a"));
  EXPECT_TRUE(who->may_receive("b"));
}

TEST(acl_store, reload_without_a_file_keeps_the_acl) {
  auto store = store_of("topic read a\n");
  EXPECT_FALSE(store->reload());
  acl_principal who("test", "x", "c", std::nullopt, store);
  EXPECT_TRUE(who.may_receive("a"));
}

TEST(acl_principal, reports_its_expiry) {
  auto store = store_of("");
  acl_principal who("test", "x", "c", std::nullopt, store, 1234);
  EXPECT_EQ(who.expires_at_unix(), 1234);
  EXPECT_EQ(who.name(), "x");
}

}  // namespace
}  // namespace acemq::auth
