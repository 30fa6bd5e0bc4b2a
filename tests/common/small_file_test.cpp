#include "acemq/common/small_file.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace acemq {
namespace {

class small_file : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("acemq-small-file-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(directory_);
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::string write(const std::string& name, const std::string& content) {
    const auto path = (directory_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  std::filesystem::path directory_;
};

TEST_F(small_file, reads_a_file_up_to_its_limit_byte_for_byte) {
  const std::string content("key\0with a NUL\n", 15);
  const auto path = write("exact", content);
  const auto read = read_small_file(path, content.size());
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(*read, content);
}

TEST_F(small_file, refuses_one_byte_over_the_limit) {
  const auto path = write("over", std::string(20'000, 'x'));
  const auto read = read_small_file(path, 19'999);
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error(), small_file_error::too_large);
}

TEST_F(small_file, an_endless_device_stops_at_the_limit) {
  const auto read = read_small_file("/dev/zero", 64 * 1024);
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error(), small_file_error::too_large);
}

TEST_F(small_file, a_missing_file_or_a_directory_cannot_be_opened) {
  const auto missing = read_small_file((directory_ / "absent").string(), 100);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error(), small_file_error::cannot_open);
  const auto folder = read_small_file(directory_.string(), 100);
  ASSERT_FALSE(folder.has_value());
  EXPECT_EQ(folder.error(), small_file_error::cannot_open);
}

TEST_F(small_file, an_empty_file_is_empty_text) {
  const auto read = read_small_file(write("empty", ""), 100);
  ASSERT_TRUE(read.has_value());
  EXPECT_TRUE(read->empty());
}

TEST(small_stream, reads_the_rest_of_a_stream_within_the_limit) {
  std::istringstream in("-----BEGIN PUBLIC KEY-----\n");
  const auto read = read_small_stream(in, 100);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(*read, "-----BEGIN PUBLIC KEY-----\n");
  std::istringstream big(std::string(101, 'k'));
  EXPECT_EQ(read_small_stream(big, 100).error(), small_file_error::too_large);
}

}  // namespace
}  // namespace acemq
