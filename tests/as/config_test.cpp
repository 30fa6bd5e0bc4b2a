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
