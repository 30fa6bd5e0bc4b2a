#include "acemq/common/base64.hpp"

#include <gtest/gtest.h>

namespace acemq {
namespace {

// RFC 4648 section 10 test vectors.
TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(as_bytes("")), "");
  EXPECT_EQ(base64_encode(as_bytes("f")), "Zg==");
  EXPECT_EQ(base64_encode(as_bytes("fo")), "Zm8=");
  EXPECT_EQ(base64_encode(as_bytes("foo")), "Zm9v");
  EXPECT_EQ(base64_encode(as_bytes("foobar")), "Zm9vYmFy");
  EXPECT_EQ(*base64_decode("Zm9vYg=="), to_bytes("foob"));
  EXPECT_EQ(*base64_decode("Zm9vYg"), to_bytes("foob"));
}

TEST(Base64Url, RoundTripsEveryLength) {
  byte_vector data;
  for (int i = 0; i < 64; ++i) {
    data.push_back(static_cast<std::uint8_t>(i * 37 + 250));
    const auto encoded = base64url_encode(data);
    EXPECT_EQ(encoded.find('='), std::string::npos);
    EXPECT_EQ(*base64url_decode(encoded), data);
  }
}

TEST(Base64Url, RejectsPaddingForeignCharactersAndNonCanonicalBits) {
  EXPECT_FALSE(base64url_decode("Zg=="));
  EXPECT_FALSE(base64url_decode("Zm9v+w"));
  EXPECT_FALSE(base64url_decode("Zm9v w"));
  EXPECT_FALSE(base64url_decode("Z"));
  EXPECT_TRUE(base64url_decode("Zg"));
  EXPECT_FALSE(base64url_decode("Zh"));  // low bits set: not the canonical form of "f"
}

}  // namespace
}  // namespace acemq
