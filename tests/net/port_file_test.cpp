// write_port_file: one line per listener, an existing file replaced whole, and a path that
// cannot be written reported as such (nothing left behind).

#include "acemq/app/port_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace acemq::app {
namespace {

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class port_file_test : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ =
        std::filesystem::temp_directory_path() /
        ("acemq-port-file-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }
  std::filesystem::path directory_;
};

TEST_F(port_file_test, writes_one_line_per_listener_and_replaces_an_older_file) {
  const std::string path = (directory_ / "ports").string();
  {
    std::ofstream older(path);
    older << "stale 1\nstale 2\nstale 3\n";
  }
  ASSERT_TRUE(write_port_file(path, {{"tcp", net::transport::tcp, "127.0.0.1", 1883},
                                     {"tls", net::transport::tls, "127.0.0.1", 8883}}));
  EXPECT_EQ(read_all(path), "tcp 1883\ntls 8883\n");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_F(port_file_test, a_path_in_a_missing_directory_is_reported_and_leaves_nothing) {
  const auto path = directory_ / "missing" / "ports";
  EXPECT_FALSE(write_port_file(path.string(), {{"tcp", net::transport::tcp, "127.0.0.1", 1883}}));
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(directory_ / "missing"));
}

}  // namespace
}  // namespace acemq::app
