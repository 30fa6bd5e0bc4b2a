#include "acemq/common/log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <memory>
#include <sstream>
#include <string>

namespace acemq {
namespace {

TEST(log_escape, control_characters_become_hex_escapes) {
  EXPECT_EQ(log::escape_control("sensor-1/temp"), "sensor-1/temp");
  EXPECT_EQ(log::escape_control("a\nb\rc"), "a\\x0ab\\x0dc");
  EXPECT_EQ(log::escape_control(std::string("nul\0", 4)), "nul\\x00");
  EXPECT_EQ(log::escape_control("\x1b[31mred\x7f"), "\\x1b[31mred\\x7f");
  // C1 controls in UTF-8 (U+009B is an 8-bit CSI for some terminals); other text stays.
  EXPECT_EQ(log::escape_control("\xc2\x9b"
                                "2J"),
            "\\xc2\\x9b2J");
  EXPECT_EQ(log::escape_control("\xc3\xa9t\xc3\xa9"), "\xc3\xa9t\xc3\xa9");
  // A lone lead byte at the end is not a C1 character.
  EXPECT_EQ(log::escape_control("\xc2"), "\xc2");
  EXPECT_FALSE(log::has_control("plain \xc3\xa9"));
  EXPECT_TRUE(log::has_control("tab\there"));
}

TEST(log_escape, the_text_format_escapes_what_a_call_site_formatted) {
  std::ostringstream written;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(written);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("escape-test", sink));
  log::use_escaping_text_format();
  spdlog::info("client '{}' connected", "evil\nacemq-broker: listening forged");
  spdlog::set_default_logger(previous);
  const std::string line = written.str();
  // One line: the forged second line stays inside the first, escaped.
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_NE(line.find("client 'evil\\x0aacemq-broker: listening forged' connected"),
            std::string::npos)
      << line;
}

}  // namespace
}  // namespace acemq
