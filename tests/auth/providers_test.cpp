// Assembling the providers from settings, the `auth.*` keys, and reloading on SIGHUP.

#include <gtest/gtest.h>

#include <fstream>

#include "acemq/auth/providers.hpp"
#include "fakes.hpp"

namespace acemq::auth {
namespace {

using testing::run_step;

void write_text(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path);
  out << text;
}

TEST(apply_setting, known_keys_values_and_relative_paths) {
  provider_settings settings;
  EXPECT_TRUE(*apply_setting(settings, "auth.acl_file", "etc/acl", "/srv/acemq"));
  EXPECT_EQ(settings.acl_file, "/srv/acemq/etc/acl");
  EXPECT_TRUE(*apply_setting(settings, "auth.password_file", "/abs/passwd", "/srv"));
  EXPECT_EQ(settings.password_file, "/abs/passwd");
  EXPECT_TRUE(*apply_setting(settings, "auth.certificates", "true"));
  EXPECT_TRUE(settings.certificates);
  EXPECT_TRUE(*apply_setting(settings, "auth.certificate.identity", "san_uri"));
  EXPECT_EQ(settings.certificate.identity, certificate_identity_source::san_uri);
  EXPECT_TRUE(*apply_setting(settings, "auth.certificate.require_tls13", "true"));
  EXPECT_TRUE(*apply_setting(settings, "auth.device_jwt.audience", "mqtts://b"));
  EXPECT_EQ(settings.device_jwt.audience, "mqtts://b");
  EXPECT_TRUE(*apply_setting(settings, "auth.device_jwt.clock_skew", "30"));
  EXPECT_EQ(settings.device_jwt.clock_skew.count(), 30);
  EXPECT_TRUE(*apply_setting(settings, "auth.password.user_refill_per_second", "0.5"));
  EXPECT_DOUBLE_EQ(settings.password.per_user.refill_per_second, 0.5);
  // Keys owned elsewhere are not claimed.
  EXPECT_FALSE(*apply_setting(settings, "auth.allow_anonymous", "true"));
  // Bad values are errors naming the key.
  auto bad = apply_setting(settings, "auth.certificates", "yes");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("auth.certificates"), std::string::npos);
  EXPECT_FALSE(apply_setting(settings, "auth.certificate.identity", "serial"));
  EXPECT_FALSE(apply_setting(settings, "auth.device_jwt.clock_skew", "-1"));
  EXPECT_FALSE(apply_setting(settings, "auth.device_jwt.max_lifetime", "1y"));
  EXPECT_FALSE(apply_setting(settings, "auth.password.user_burst", "0"));
}

TEST(make_providers, builds_the_chain_in_order_and_reloads) {
  const auto dir = testing::scratch_directory("providers");
  deterministic_random random(5);
  auto hashed = hash_password("pw", random, {.time_cost = 1, .memory_kib = 64, .parallelism = 1});
  ASSERT_TRUE(hashed);
  write_text(dir / "passwd", "alice:" + *hashed + "\n");
  write_text(dir / "acl", "user alice\ntopic readwrite a/#\n");
  provider_settings settings;
  settings.password_file = (dir / "passwd").string();
  settings.acl_file = (dir / "acl").string();
  settings.certificates = true;
  settings.device_registry = (dir / "devices.db").string();
  settings.device_jwt.audience = "broker";
  manual_clock time;
  auto built = make_providers(settings, time, random);
  ASSERT_TRUE(built) << built.error();
  ASSERT_EQ(built->providers.size(), 3u);
  EXPECT_EQ(built->providers[0]->name(), "device_jwt");
  EXPECT_EQ(built->providers[1]->name(), "certificate");
  EXPECT_EQ(built->providers[2]->name(), "password");

  broker::authentication_request request;
  request.client_id = "c";
  request.username = "alice";
  request.password = to_bytes("pw");
  auto step = run_step([&](auto done) { built->password->start(request, done); });
  ASSERT_EQ(step.what, broker::auth_step::kind::success);
  EXPECT_EQ(step.who->may_publish("a/b"), mqtt::reason_code::success);
  EXPECT_EQ(step.who->may_publish("b/c"), mqtt::reason_code::not_authorized);

  // SIGHUP: new ACL and password file; the connected principal follows the ACL at once.
  write_text(dir / "acl", "user alice\ntopic readwrite b/#\n");
  write_text(dir / "passwd", "");
  EXPECT_TRUE(built->reload().empty());
  EXPECT_EQ(step.who->may_publish("b/c"), mqtt::reason_code::success);
  EXPECT_EQ(run_step([&](auto done) { built->password->start(request, done); }).what,
            broker::auth_step::kind::failure);
  // A broken ACL is reported and the previous one stays.
  write_text(dir / "acl", "allow all\n");
  EXPECT_EQ(built->reload().size(), 1u);
  EXPECT_EQ(step.who->may_publish("b/c"), mqtt::reason_code::success);
}

TEST(make_providers, configuration_errors_are_messages) {
  const auto dir = testing::scratch_directory("providers");
  manual_clock time;
  deterministic_random random(5);
  provider_settings settings;
  settings.acl_file = (dir / "missing").string();
  EXPECT_FALSE(make_providers(settings, time, random));
  settings = {};
  settings.device_registry = (dir / "devices.db").string();
  auto no_audience = make_providers(settings, time, random);
  ASSERT_FALSE(no_audience);
  EXPECT_NE(no_audience.error().find("audience"), std::string::npos);
  settings = {};
  settings.password_file = (dir / "missing").string();
  EXPECT_FALSE(make_providers(settings, time, random));
  settings = {};
  settings.certificates = true;
  settings.certificate.crl_file = (dir / "missing").string();
  EXPECT_FALSE(make_providers(settings, time, random));
  settings = {};
  auto nothing = make_providers(settings, time, random);
  ASSERT_TRUE(nothing);
  EXPECT_TRUE(nothing->providers.empty());
  EXPECT_TRUE(nothing->acl->current()->rules.grants_everything());
}

}  // namespace
}  // namespace acemq::auth
