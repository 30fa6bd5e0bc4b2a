// The authentication chain of the broker program assembled from configuration: provider order,
// per-listener chains, the ACE provider's PSK lookup and authz-info interceptor, and the
// configuration errors an operator sees.

#include "acemq/app/auth_setup.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace acemq::app {
namespace {

/// A JWK Set with one symmetric AS key, written to the scratch directory under the running
/// test's name: the tests run as parallel processes, and one must not read a file another is
/// rewriting.
std::string write_key_set() {
  const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const auto path = std::filesystem::path(ACEMQ_TEST_SCRATCH_DIR) / ("as-keys-" + test + ".jwks");
  std::ofstream(path) << R"({"keys":[{"kty":"oct","kid":"as-1",)"
                      << R"("k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg"}]})";
  return path.string();
}

app_config ace_config() {
  app_config config = default_config();
  config.allow_anonymous = false;
  config.ace.enabled = true;
  config.ace.settings.audience = "mqtts://broker.example";
  config.ace.keys_file = write_key_set();
  return config;
}

TEST(authentication, default_chain_order_with_ace) {
  app_config config = ace_config();
  config.allow_anonymous = true;
  auto built =
      authentication::assemble(config, system_clock::instance(), system_random::instance());
  ASSERT_TRUE(built) << built.error();
  EXPECT_EQ((*built)->provider_names(),
            (std::vector<std::string>{"ace", "anonymous", "public_topics_only", "deny_all"}));
  EXPECT_EQ((*built)->default_chain()->size(), 4u);
  EXPECT_TRUE((*built)->psk());
  listener_config tcp;
  EXPECT_EQ((*built)->chain_for(tcp), nullptr);  // no list: the default chain
  EXPECT_NE((*built)->interceptor_for(tcp), nullptr);
}

TEST(authentication, listener_subsets_and_interceptors) {
  app_config config = ace_config();
  listener_config open;
  open.name = "open";
  open.auth = {"anonymous"};
  listener_config ace_only;
  ace_only.name = "ace-only";
  ace_only.auth = {"ace"};
  config.server.listeners = {open, ace_only};
  auto built =
      authentication::assemble(config, system_clock::instance(), system_random::instance());
  ASSERT_TRUE(built) << built.error();
  // "anonymous" listed by a listener is built, but stays out of the default chain.
  EXPECT_EQ((*built)->default_chain()->size(), 3u);  // ace, public_topics_only, deny_all
  ASSERT_NE((*built)->chain_for(open), nullptr);
  EXPECT_EQ((*built)->chain_for(open)->size(), 2u);  // anonymous, deny_all
  EXPECT_EQ((*built)->interceptor_for(open), nullptr);
  EXPECT_NE((*built)->interceptor_for(ace_only), nullptr);
  listener_config uploads_only;
  uploads_only.auth = {"public_topics_only"};
  EXPECT_NE((*built)->interceptor_for(uploads_only), nullptr);
}

TEST(authentication, psk_lookup_refuses_identities_that_are_not_tokens) {
  auto built =
      authentication::assemble(ace_config(), system_clock::instance(), system_random::instance());
  ASSERT_TRUE(built) << built.error();
  const auto lookup = (*built)->psk();
  ASSERT_TRUE(lookup);
  EXPECT_EQ(lookup("not a token"), std::nullopt);
  EXPECT_EQ(lookup(R"({"cnf":{"kid":"unknown"}})"), std::nullopt);

  app_config without_psk = ace_config();
  without_psk.ace.settings.allow_psk_identity = false;
  auto other =
      authentication::assemble(without_psk, system_clock::instance(), system_random::instance());
  ASSERT_TRUE(other);
  EXPECT_FALSE((*other)->psk());
}

TEST(authentication, configuration_errors_are_messages) {
  app_config no_keys = ace_config();
  no_keys.ace.keys_file.clear();
  auto missing =
      authentication::assemble(no_keys, system_clock::instance(), system_random::instance());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("no AS verification keys"), std::string::npos);

  app_config unreadable = ace_config();
  unreadable.ace.keys_file = "no/such/keys.jwks";
  auto unread =
      authentication::assemble(unreadable, system_clock::instance(), system_random::instance());
  ASSERT_FALSE(unread);
  EXPECT_NE(unread.error().find("ace.keys_file: no/such/keys.jwks"), std::string::npos);

  app_config unconfigured = default_config();
  listener_config wants_password;
  wants_password.name = "p";
  wants_password.auth = {"password"};
  unconfigured.server.listeners = {wants_password};
  auto refused =
      authentication::assemble(unconfigured, system_clock::instance(), system_random::instance());
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().find("\"password\" is not configured"), std::string::npos);
}

TEST(authentication, without_ace_or_files_the_chain_is_anonymous_then_deny) {
  auto built = authentication::assemble(default_config(), system_clock::instance(),
                                        system_random::instance());
  ASSERT_TRUE(built) << built.error();
  EXPECT_EQ((*built)->provider_names(), (std::vector<std::string>{"anonymous", "deny_all"}));
  EXPECT_FALSE((*built)->psk());
  EXPECT_EQ((*built)->interceptor_for(listener_config{}), nullptr);
  EXPECT_TRUE((*built)->reload().empty());
  (*built)->tick();  // no AS: nothing to poll
}

}  // namespace
}  // namespace acemq::app
