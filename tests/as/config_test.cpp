// Configuration loading: the shipped example parses to the defaults; bad values are refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "acemq/as/config.hpp"

namespace acemq::as {
namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / (name + std::to_string(::getpid()));
  std::ofstream(path) << text;
  return path.string();
}

TEST(Config, ExampleFileMatchesDefaults) {
  const auto config = load_config(ACEMQ_AS_EXAMPLE_CONFIG);
  const auto defaults = default_config();
  EXPECT_EQ(config.data_dir, defaults.data_dir);
  EXPECT_EQ(config.https.port, 8443);
  EXPECT_EQ(config.https.address, "127.0.0.1");
  EXPECT_EQ(config.service.issuer, "https://127.0.0.1:8443");
  EXPECT_EQ(config.signing_algorithm, "EdDSA");
  EXPECT_EQ(config.service.max_token_lifetime, defaults.service.max_token_lifetime);
  EXPECT_EQ(config.https.max_body, 16384u);
  EXPECT_EQ(config.https.max_connections_per_address, defaults.https.max_connections_per_address);
  EXPECT_EQ(config.https.handshake_timeout, defaults.https.handshake_timeout);
  EXPECT_EQ(config.https.workers, defaults.https.workers);
  EXPECT_EQ(config.https.max_queued, defaults.https.max_queued);
  EXPECT_TRUE(config.service.allowed_origins.empty());
  const auto& limits = config.service.authentication;
  const auto& default_limits = defaults.service.authentication;
  EXPECT_EQ(limits.per_address.burst, default_limits.per_address.burst);
  EXPECT_EQ(limits.per_address.refill_per_second, default_limits.per_address.refill_per_second);
  EXPECT_EQ(limits.per_identity.burst, default_limits.per_identity.burst);
  EXPECT_DOUBLE_EQ(limits.per_identity.refill_per_second,
                   default_limits.per_identity.refill_per_second);
  EXPECT_EQ(limits.trusted_for, default_limits.trusted_for);
  EXPECT_EQ(limits.max_trusted, default_limits.max_trusted);
}

TEST(Config, AbuseResistanceSettings) {
  const auto config = load_config(write_temp(
      "as_abuse",
      "allowed_origins = [\"https://console.example\"]\n"
      "[https]\nmax_connections_per_address = 4\nhandshake_timeout = 3\nworkers = 1\n"
      "max_queued = 0\n"
      "[authentication]\nfailures_per_address_burst = 3\nfailures_per_address_per_second = 0\n"
      "failures_per_identity_burst = 7\ntrusted_for = 60\nmax_tracked = 100\n"));
  EXPECT_EQ(config.service.allowed_origins, std::vector<std::string>{"https://console.example"});
  EXPECT_EQ(config.https.max_connections_per_address, 4u);
  EXPECT_EQ(config.https.handshake_timeout, std::chrono::seconds(3));
  EXPECT_EQ(config.https.workers, 1);
  EXPECT_EQ(config.https.max_queued, 0u);
  EXPECT_EQ(config.service.authentication.per_address.burst, 3.0);
  EXPECT_EQ(config.service.authentication.per_address.refill_per_second, 0.0);
  EXPECT_EQ(config.service.authentication.per_identity.burst, 7.0);
  EXPECT_EQ(config.service.authentication.trusted_for, std::chrono::seconds(60));
  EXPECT_EQ(config.service.authentication.max_trusted, 100u);
  for (const char* bad :
       {"allowed_origins = \"https://x\"\n", "allowed_origins = [1]\n", "[https]\nworkers = 0\n",
        "[https]\nmax_queued = -1\n", "[https]\nhandshake_timeout = 0\n",
        "[https]\nmax_connections_per_address = 0\n",
        "[authentication]\nfailures_per_identity_per_second = -1.0\n"}) {
    EXPECT_THROW(load_config(write_temp("as_abuse_bad", bad)), std::runtime_error) << bad;
  }
}

TEST(Config, OverridesAndRefusals) {
  const auto good = write_temp("as_good",
                               "issuer = \"https://as.test\"\n[https]\nport = 9443\n"
                               "[tokens]\nsigning_algorithm = \"ES256\"\n");
  const auto config = load_config(good);
  EXPECT_EQ(config.service.issuer, "https://as.test");
  EXPECT_EQ(config.https.port, 9443);
  EXPECT_EQ(config.signing_algorithm, "ES256");
  EXPECT_THROW(load_config(write_temp("as_syntax", "[https\nport=1")), std::runtime_error);
  EXPECT_THROW(load_config(write_temp("as_port", "[https]\nport = 70000\n")), std::runtime_error);
  EXPECT_THROW(load_config(write_temp("as_alg", "[tokens]\nsigning_algorithm = \"none\"\n")),
               std::runtime_error);
  EXPECT_THROW(load_config(write_temp("as_body", "[https]\nmax_body = 0\n")), std::runtime_error);
}

}  // namespace
}  // namespace acemq::as
