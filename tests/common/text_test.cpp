// trim_blanks and take_line (the line readers of the ACL and password files, the HTTP header
// readers) and the enum_names tables (both directions from one list).

#include "acemq/common/text.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "acemq/common/enum_names.hpp"

namespace acemq {
namespace {

TEST(trim_blanks, removes_spaces_tabs_and_carriage_returns_at_both_ends_only) {
  EXPECT_EQ(trim_blanks("  a b\t\r"), "a b");
  EXPECT_EQ(trim_blanks("\t\r x"), "x");
  EXPECT_EQ(trim_blanks("a \t b"), "a \t b");
  EXPECT_EQ(trim_blanks(" \t\r "), "");
  EXPECT_EQ(trim_blanks(""), "");
  EXPECT_EQ(trim_blanks("\na\n"), "\na\n");  // a line feed is not a blank: lines are split first
}

TEST(take_line, splits_on_line_feeds_and_keeps_a_last_line_without_one) {
  std::string_view text = "one\r\ntwo\n\nthree";
  std::vector<std::string_view> lines;
  while (!text.empty())
    lines.push_back(take_line(text));
  EXPECT_EQ(lines, (std::vector<std::string_view>{"one\r", "two", "", "three"}));
}

TEST(take_line, a_trailing_line_feed_ends_the_text) {
  std::string_view text = "only\n";
  EXPECT_EQ(take_line(text), "only");
  EXPECT_TRUE(text.empty());
}

enum class colour : std::uint8_t { red, green, blue };
constexpr enum_name<colour> colour_names[] = {{colour::red, "red"}, {colour::green, "green"}};

TEST(enum_names, one_table_names_values_and_reads_names_back) {
  EXPECT_EQ(name_in(colour_names, colour::green, "?"), "green");
  EXPECT_EQ(value_in(colour_names, "red"), colour::red);
  static_assert(name_in(colour_names, colour::red, "?") == "red");
}

TEST(enum_names, a_value_or_name_the_table_does_not_list) {
  EXPECT_EQ(name_in(colour_names, colour::blue, "unknown"), "unknown");
  EXPECT_EQ(value_in(colour_names, "blue"), std::nullopt);
  EXPECT_EQ(value_in(colour_names, "Red"), std::nullopt);  // names are case-sensitive
  EXPECT_EQ(value_in(colour_names, ""), std::nullopt);
}

}  // namespace
}  // namespace acemq
