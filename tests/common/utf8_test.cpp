#include "acemq/common/utf8.hpp"

#include <gtest/gtest.h>

#include <string>

namespace acemq {
namespace {

TEST(Utf8, AcceptsWellFormedText) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("sensors/temperature"));
  EXPECT_TRUE(is_valid_utf8("\xC3\xA9t\xC3\xA9"));  // été
  EXPECT_TRUE(is_valid_utf8("\xE2\x82\xAC"));       // €
  EXPECT_TRUE(is_valid_utf8("\xF0\x9F\x98\x80"));   // U+1F600
  EXPECT_TRUE(is_valid_utf8("\xEF\xBB\xBF"));       // BOM is allowed [MQTT-1.5.4-3]
}

TEST(Utf8, RejectsNullUnlessAllowed) {
  const std::string with_null("a\0b", 3);
  EXPECT_FALSE(is_valid_utf8(with_null));
  EXPECT_TRUE(is_valid_utf8(with_null, true));
}

TEST(Utf8, RejectsMalformedSequences) {
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xC3"));              // truncated
  EXPECT_FALSE(is_valid_utf8("\x80"));              // lone continuation
  EXPECT_FALSE(is_valid_utf8("\xF8\x88\x80\x80\x80"));
}

// The eight-bytes-at-a-time path must find a bad byte at every offset of a word, and at the
// tail after the last whole word.
TEST(Utf8, FindsABadByteAtEveryPositionOfALongAsciiText) {
  for (std::size_t length = 1; length <= 40; ++length) {
    for (std::size_t at = 0; at < length; ++at) {
      std::string text(length, 'a');
      EXPECT_TRUE(is_valid_utf8(text));
      text[at] = '\0';
      EXPECT_FALSE(is_valid_utf8(text)) << length << " " << at;
      EXPECT_TRUE(is_valid_utf8(text, true)) << length << " " << at;
      text[at] = '\x80';
      EXPECT_FALSE(is_valid_utf8(text)) << length << " " << at;
      text[at] = '\xC3';  // a two-byte sequence cut short by the ASCII after it (or the end)
      EXPECT_FALSE(is_valid_utf8(text)) << length << " " << at;
      const std::string two = text.substr(0, at) + "\xC3\xA9" + text.substr(at + 1);
      EXPECT_TRUE(is_valid_utf8(two)) << length << " " << at;
    }
  }
}

TEST(Utf8, PlainAsciiPrefixStopsAtTheFirstExcludedNonAsciiOrNullByte) {
  EXPECT_EQ(plain_ascii_prefix(""), 0U);
  EXPECT_EQ(plain_ascii_prefix("sensors/room-1/temperature"), 26U);
  EXPECT_EQ(plain_ascii_prefix("sensors/room-1/temperature", '+', '#'), 26U);
  EXPECT_EQ(plain_ascii_prefix("sensors/room-1/#", '+', '#'), 15U);
  EXPECT_EQ(plain_ascii_prefix("sensors/+/temperature", '+', '#'), 8U);
  EXPECT_EQ(plain_ascii_prefix("sensors/caf\xC3\xA9"), 11U);
  EXPECT_EQ(plain_ascii_prefix(std::string_view("0123456789\0", 11)), 10U);
  EXPECT_EQ(plain_ascii_prefix("\x7F\x01"), 2U);
}

}  // namespace
}  // namespace acemq
