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

}  // namespace
}  // namespace acemq
