// AS hints from a refusing CONNACK (RFC 9431 2.4.1).
#include <gtest/gtest.h>

#include "acemq/ace_client/as_hint.hpp"

namespace acemq::ace_client {
namespace {

TEST(parse_as_hint, full_hint_from_properties) {
  mqtt::properties properties;
  properties.user_properties.emplace_back("other", "x");
  properties.user_properties.emplace_back(
      "ace_as_hint",
      R"({"AS":"https://as.example:8443","audience":"acemq-broker","scope":[["demo/#",["sub"]]],"cnonce":"q83v"})");
  auto hint = parse_as_hint(properties);
  ASSERT_TRUE(hint);
  EXPECT_EQ(hint->as_url, "https://as.example:8443");
  EXPECT_EQ(hint->audience, "acemq-broker");
  EXPECT_EQ(hint->scope, R"([["demo/#",["sub"]]])");
  EXPECT_EQ(hint->cnonce, "q83v");
}

TEST(parse_as_hint, absent_malformed_and_insecure) {
  EXPECT_EQ(parse_as_hint(mqtt::properties{}).error(), hint_error::absent);
  for (const char* text :
       {"", "[]", "{}", R"({"AS":""})", R"({"AS":1})", R"({"AS":"https://a","audience":1})",
        R"({"AS":"https://a","scope":2})"}) {
    EXPECT_EQ(parse_as_hint(std::string_view(text)).error(), hint_error::malformed) << text;
  }
  EXPECT_EQ(parse_as_hint(std::string_view(R"({"AS":"http://as"})")).error(),
            hint_error::not_https);
  const std::string huge = R"({"AS":"https://a","audience":")" + std::string(5000, 'a') + "\"}";
  EXPECT_EQ(parse_as_hint(std::string_view(huge)).error(), hint_error::malformed);
}

}  // namespace
}  // namespace acemq::ace_client
