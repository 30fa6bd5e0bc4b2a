// Password file, argon2id hashing, the password provider with its rate limiting, and the passwd
// command.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "acemq/auth/commands.hpp"
#include "acemq/auth/password_file.hpp"
#include "acemq/auth/password_provider.hpp"
#include "acemq/common/clock.hpp"
#include "acemq/common/random.hpp"
#include "fakes.hpp"

namespace acemq::auth {
namespace {

using namespace std::chrono_literals;
using testing::run_step;

// Cheap parameters so the tests run quickly under the sanitizers; the defaults are checked once.
const argon2_parameters cheap{.time_cost = 1, .memory_kib = 64, .parallelism = 1};

std::string hash(std::string_view password) {
  deterministic_random random(7);
  auto hashed = hash_password(password, random, cheap);
  EXPECT_TRUE(hashed);
  return hashed ? *hashed : std::string{};
}

TEST(argon2, hashes_and_verifies) {
  const std::string encoded = hash("correct horse");
  EXPECT_EQ(encoded.rfind("$argon2id$v=19$m=64,t=1,p=1$", 0), 0u) << encoded;
  EXPECT_EQ(verify_password(encoded, "correct horse"), password_check::match);
  EXPECT_EQ(verify_password(encoded, "correct horsf"), password_check::mismatch);
  EXPECT_EQ(verify_password(encoded, ""), password_check::mismatch);
}

TEST(argon2, default_parameters_are_argon2id_19_mib_2_passes) {
  deterministic_random random(1);
  auto encoded = hash_password("pw", random);
  ASSERT_TRUE(encoded);
  EXPECT_EQ(encoded->rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u);
  EXPECT_EQ(verify_password(*encoded, "pw"), password_check::match);
}

TEST(argon2, salts_differ) {
  deterministic_random random(3);
  auto a = hash_password("same", random, cheap);
  auto b = hash_password("same", random, cheap);
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
}

TEST(argon2, refuses_hashes_beyond_the_bounds_and_other_schemes) {
  EXPECT_EQ(verify_password("$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA", "pw"),
            password_check::bad_hash);
  EXPECT_EQ(verify_password("$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA", "pw"),
            password_check::bad_hash);
  EXPECT_EQ(verify_password("$argon2id$v=19$m=64,t=1,p=1$c2FsdA$", "pw"), password_check::bad_hash);
  EXPECT_EQ(verify_password("plain", "plain"), password_check::bad_hash);
  EXPECT_EQ(verify_password("$argon2id$v=19$m=64,t=99999999999,p=1$a$b", "x"),
            password_check::bad_hash);
}

TEST(password_file, parses_serialises_and_refuses_malformed_lines) {
  const std::string line = "alice:" + hash("a") + "\n";
  auto file = password_file::parse("# users\n\n" + line);
  ASSERT_TRUE(file);
  ASSERT_NE(file->find("alice"), nullptr);
  EXPECT_EQ(file->find("bob"), nullptr);
  EXPECT_EQ(file->serialize(), line);

  EXPECT_EQ(password_file::parse("alice\n").error().line, 1u);
  EXPECT_EQ(password_file::parse("\nalice:plaintext\n").error().line, 2u);
  EXPECT_EQ(password_file::parse(line + line).error().line, 2u);  // duplicate
  EXPECT_FALSE(password_file::parse(":" + hash("x")));
  password_file_limits bounds;
  bounds.max_users = 1;
  EXPECT_FALSE(password_file::parse(line + "bob:" + hash("b"), bounds));
}

TEST(password_file, user_names) {
  EXPECT_TRUE(valid_user_name("alice"));
  EXPECT_TRUE(valid_user_name("émile"));
  EXPECT_FALSE(valid_user_name(""));
  EXPECT_FALSE(valid_user_name("a:b"));
  EXPECT_FALSE(valid_user_name("a\nb"));
  EXPECT_FALSE(valid_user_name(std::string(257, 'a')));
  EXPECT_FALSE(valid_user_name("\xff"));
}

TEST(password_file, save_is_private_and_round_trips) {
  const auto dir = testing::scratch_directory("password");
  password_file file;
  ASSERT_TRUE(file.set("alice", hash("a")));
  const std::string path = (dir / "passwd").string();
  ASSERT_TRUE(file.save(path));
  const auto permissions = std::filesystem::status(path).permissions();
  EXPECT_EQ(permissions & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
  auto loaded = password_file::load(path);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->serialize(), file.serialize());
  EXPECT_FALSE(password_file::load((dir / "missing").string()));
}

class password_provider_test : public ::testing::Test {
 protected:
  password_provider_test() {
    auto file = std::make_shared<password_file>();
    EXPECT_TRUE(file->set("alice", hash("wonderland")));
    users = file;
    acl = std::make_shared<acl_store>(*acl::parse("user alice\ntopic readwrite alice/#\n"));
  }

  password_provider make(password_provider_settings settings = {}) {
    return password_provider(users, acl, time, settings);
  }

  broker::authentication_request request(std::string user, std::string password,
                                         std::string client = "c1",
                                         std::string address = "192.0.2.1:1000") {
    broker::authentication_request r;
    r.client_id = std::move(client);
    r.username = std::move(user);
    r.password = to_bytes(password);
    r.remote_address = std::move(address);
    return r;
  }

  manual_clock time;
  std::shared_ptr<const password_file> users;
  std::shared_ptr<acl_store> acl;
};

TEST_F(password_provider_test, right_password_gives_an_acl_principal) {
  auto provider = make();
  auto step = run_step([&](auto done) { provider.start(request("alice", "wonderland"), done); });
  ASSERT_EQ(step.what, broker::auth_step::kind::success);
  EXPECT_EQ(step.who->name(), "alice");
  EXPECT_EQ(step.who->may_publish("alice/x"), mqtt::reason_code::success);
  EXPECT_EQ(step.who->may_publish("bob/x"), mqtt::reason_code::not_authorized);
  EXPECT_EQ(step.who->expires_at_unix(), std::nullopt);
}

TEST_F(password_provider_test, wrong_password_is_0x86) {
  auto provider = make();
  auto step = run_step([&](auto done) { provider.start(request("alice", "wonderlan"), done); });
  EXPECT_EQ(step.what, broker::auth_step::kind::failure);
  EXPECT_EQ(step.reason, mqtt::reason_code::bad_user_name_or_password);
}

TEST_F(password_provider_test, unknown_user_is_refused_like_a_wrong_password_or_passed_on) {
  auto provider = make();
  auto step = run_step([&](auto done) { provider.start(request("mallory", "x"), done); });
  EXPECT_EQ(step.what, broker::auth_step::kind::failure);
  EXPECT_EQ(step.reason, mqtt::reason_code::bad_user_name_or_password);
  password_provider_settings settings;
  settings.pass_unknown_users = true;
  auto passing = make(settings);
  step = run_step([&](auto done) { passing.start(request("mallory", "x"), done); });
  EXPECT_EQ(step.what, broker::auth_step::kind::next_provider);
}

TEST_F(password_provider_test, requests_it_does_not_own_are_passed_on) {
  auto provider = make();
  auto no_user = request("alice", "wonderland");
  no_user.username.reset();
  EXPECT_EQ(run_step([&](auto done) { provider.start(no_user, done); }).what,
            broker::auth_step::kind::next_provider);
  auto no_password = request("alice", "wonderland");
  no_password.password.reset();
  EXPECT_EQ(run_step([&](auto done) { provider.start(no_password, done); }).what,
            broker::auth_step::kind::next_provider);
  auto enhanced = request("alice", "wonderland");
  enhanced.method = "SCRAM-SHA-256";
  EXPECT_EQ(run_step([&](auto done) { provider.start(enhanced, done); }).what,
            broker::auth_step::kind::next_provider);
  EXPECT_EQ(run_step([&](auto done) { provider.continue_auth(enhanced, done); }).reason,
            mqtt::reason_code::protocol_error);
  EXPECT_EQ(run_step([&](auto done) { provider.reauthenticate(enhanced, done); }).reason,
            mqtt::reason_code::bad_authentication_method);
}

TEST_F(password_provider_test, a_stranger_cannot_lock_a_device_out_with_its_client_id) {
  // Before, failures were counted per client identifier, which the guesser chooses: five wrong
  // passwords under alice's client id locked alice out.
  auto provider = make();
  for (int i = 0; i < 10; ++i) {
    (void)run_step([&](auto done) {
      provider.start(request("alice", "guess", "alice-dev", "203.0.113.66:4000"), done);
    });
  }
  auto guesser = run_step([&](auto done) {
    provider.start(request("alice", "wonderland", "alice-dev", "203.0.113.66:4001"), done);
  });
  EXPECT_EQ(guesser.reason, mqtt::reason_code::connection_rate_exceeded);
  auto device = run_step([&](auto done) {
    provider.start(request("alice", "wonderland", "alice-dev", "192.0.2.1:1000"), done);
  });
  EXPECT_EQ(device.what, broker::auth_step::kind::success);
}

TEST_F(password_provider_test, failures_are_rate_limited_per_user_name_except_from_trusted_hosts) {
  password_provider_settings settings;
  settings.per_user = {.burst = 3, .refill_per_second = 0.1, .max_entries = 100};
  settings.per_address = {.burst = 100, .refill_per_second = 1, .max_entries = 100};
  auto provider = make(settings);
  // alice logs in from her usual host once: it is trusted for her from now on.
  ASSERT_EQ(run_step([&](auto done) {
              provider.start(request("alice", "wonderland", "c1", "192.0.2.1:1000"), done);
            }).what,
            broker::auth_step::kind::success);
  // Guesses for alice from three other hosts empty her per-user bucket.
  for (int i = 0; i < 3; ++i) {
    const std::string address = "198.51.100." + std::to_string(i + 1) + ":4000";
    EXPECT_EQ(run_step([&](auto done) {
                provider.start(request("alice", "guess", "x", address), done);
              }).reason,
              mqtt::reason_code::bad_user_name_or_password);
  }
  // A new host is refused before any hashing, even with the right password ...
  auto fresh = run_step([&](auto done) {
    provider.start(request("alice", "wonderland", "c1", "198.51.100.9:4000"), done);
  });
  EXPECT_EQ(fresh.reason, mqtt::reason_code::connection_rate_exceeded);
  // ... alice's own host is not.
  auto home = run_step([&](auto done) {
    provider.start(request("alice", "wonderland", "c1", "192.0.2.1:1001"), done);
  });
  EXPECT_EQ(home.what, broker::auth_step::kind::success);
  time.advance(10s);  // one token back
  auto later = run_step([&](auto done) {
    provider.start(request("alice", "wonderland", "c1", "198.51.100.9:4000"), done);
  });
  EXPECT_EQ(later.what, broker::auth_step::kind::success);
}

TEST_F(password_provider_test, trust_in_a_host_ends) {
  password_provider_settings settings;
  settings.per_user = {.burst = 1, .refill_per_second = 0.0001, .max_entries = 100};
  settings.trusted_for = std::chrono::seconds(60);
  auto provider = make(settings);
  ASSERT_EQ(run_step([&](auto done) { provider.start(request("alice", "wonderland"), done); }).what,
            broker::auth_step::kind::success);
  (void)run_step([&](auto done) {
    provider.start(request("alice", "guess", "x", "198.51.100.1:4000"), done);
  });
  time.advance(61s);
  EXPECT_EQ(
      run_step([&](auto done) { provider.start(request("alice", "wonderland"), done); }).reason,
      mqtt::reason_code::connection_rate_exceeded);
}

TEST_F(password_provider_test, failures_are_rate_limited_per_address) {
  password_provider_settings settings;
  settings.per_user = {.burst = 100, .refill_per_second = 1, .max_entries = 100};
  settings.per_address = {.burst = 2, .refill_per_second = 0.01, .max_entries = 100};
  auto provider = make(settings);
  for (int i = 0; i < 2; ++i) {
    const std::string client = "c" + std::to_string(i);
    (void)run_step([&](auto done) {
      provider.start(request("alice", "x", client, "198.51.100.7:" + std::to_string(4000 + i)),
                     done);
    });
  }
  auto limited = run_step([&](auto done) {
    provider.start(request("alice", "wonderland", "c9", "198.51.100.7:4999"), done);
  });
  EXPECT_EQ(limited.reason, mqtt::reason_code::connection_rate_exceeded);
  auto elsewhere = run_step([&](auto done) {
    provider.start(request("alice", "wonderland", "c9", "203.0.113.1:4999"), done);
  });
  EXPECT_EQ(elsewhere.what, broker::auth_step::kind::success);
}

TEST_F(password_provider_test, offloads_the_hash_check_and_completes_later) {
  std::vector<std::function<void()>> queued;
  password_provider provider(users, acl, time, {},
                             [&queued](std::function<void()> job) { queued.push_back(job); });
  std::optional<broker::auth_step> step;
  provider.start(request("alice", "wonderland"), [&](broker::auth_step s) { step = s; });
  EXPECT_FALSE(step);
  ASSERT_EQ(queued.size(), 1u);
  queued.front()();
  ASSERT_TRUE(step);
  EXPECT_EQ(step->what, broker::auth_step::kind::success);
}

TEST_F(password_provider_test, replaced_users_take_effect) {
  auto provider = make();
  auto file = std::make_shared<password_file>();
  ASSERT_TRUE(file->set("alice", hash("new")));
  provider.replace_users(file);
  EXPECT_EQ(
      run_step([&](auto done) { provider.start(request("alice", "wonderland"), done); }).reason,
      mqtt::reason_code::bad_user_name_or_password);
  EXPECT_EQ(run_step([&](auto done) { provider.start(request("alice", "new"), done); }).what,
            broker::auth_step::kind::success);
}

TEST(passwd_command, add_verify_delete_without_echoing_the_secret) {
  const auto dir = testing::scratch_directory("passwd");
  const std::string path = (dir / "passwd").string();
  deterministic_random random(11);
  std::ostringstream out, err;
  {
    std::istringstream in("s3cret-pass\n");
    EXPECT_EQ(run_passwd_command({path, "add", "alice"}, in, out, err, random, cheap), 0)
        << err.str();
  }
  {
    std::istringstream in("s3cret-pass\n");
    EXPECT_EQ(run_passwd_command({path, "verify", "alice"}, in, out, err, random, cheap), 0);
  }
  {
    std::istringstream in("wrong\n");
    EXPECT_EQ(run_passwd_command({path, "verify", "alice"}, in, out, err, random, cheap), 1);
  }
  {
    std::istringstream in("s3cret-pass\n");
    EXPECT_EQ(run_passwd_command({path, "verify", "nobody"}, in, out, err, random, cheap), 1);
  }
  std::istringstream none;
  EXPECT_EQ(run_passwd_command({path, "delete", "alice"}, none, out, err, random, cheap), 0);
  EXPECT_EQ(run_passwd_command({path, "delete", "alice"}, none, out, err, random, cheap), 1);
  EXPECT_EQ(out.str().find("s3cret"), std::string::npos);
  EXPECT_EQ(err.str().find("s3cret"), std::string::npos);
  std::ifstream stored(path);
  std::string text((std::istreambuf_iterator<char>(stored)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("s3cret"), std::string::npos);
}

TEST(passwd_command, usage_errors) {
  deterministic_random random(1);
  std::ostringstream out, err;
  std::istringstream in;
  EXPECT_EQ(run_passwd_command({"x"}, in, out, err, random), 2);
  EXPECT_EQ(run_passwd_command({"x", "frobnicate", "alice"}, in, out, err, random), 2);
  EXPECT_EQ(run_passwd_command({"x", "add", "a:b"}, in, out, err, random), 2);
  const auto dir = testing::scratch_directory("passwd");
  EXPECT_EQ(run_passwd_command({(dir / "p").string(), "add", "alice"}, in, out, err, random), 2);
}

}  // namespace
}  // namespace acemq::auth
