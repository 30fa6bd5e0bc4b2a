// form_encode: RFC 3986 unreserved characters stay, every other byte is %XX (upper-case hex);
// basic_authorization: the HTTP Basic client credentials built from it (RFC 6749 2.3.1).

#include "acemq/common/form.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <string_view>

#include "acemq/common/base64.hpp"
#include "acemq/common/bytes.hpp"

namespace acemq {
namespace {

TEST(form_encode, keeps_the_unreserved_characters) {
  const std::string unreserved =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
  EXPECT_EQ(form_encode(unreserved), unreserved);
  EXPECT_EQ(form_encode(""), "");
}

TEST(form_encode, percent_encodes_everything_else) {
  EXPECT_EQ(form_encode(" "), "%20");  // not '+': both decode to a space
  EXPECT_EQ(form_encode("a+b"), "a%2Bb");
  EXPECT_EQ(form_encode("a&b=c"), "a%26b%3Dc");
  EXPECT_EQ(form_encode("100%"), "100%25");
  EXPECT_EQ(form_encode("*"), "%2A");
  EXPECT_EQ(form_encode("home/+/#"), "home%2F%2B%2F%23");
  EXPECT_EQ(form_encode("{\"kid\":\"k\"}"), "%7B%22kid%22%3A%22k%22%7D");
}

TEST(form_encode, encodes_every_byte_of_utf8_and_binary_text) {
  EXPECT_EQ(form_encode("caf\xC3\xA9"), "caf%C3%A9");
  EXPECT_EQ(form_encode(std::string("\x00\x7F\xFF", 3)), "%00%7F%FF");
}

TEST(form_encode, each_of_the_256_bytes_is_itself_or_percent_and_two_upper_case_hex_digits) {
  constexpr std::string_view hex = "0123456789ABCDEF";
  for (int byte = 0; byte < 256; ++byte) {
    const std::string one(1, static_cast<char>(byte));
    const std::string encoded = form_encode(one);
    const bool unreserved =
        std::isalnum(byte) != 0 || one == "-" || one == "." || one == "_" || one == "~";
    if (unreserved) {
      EXPECT_EQ(encoded, one);
      continue;
    }
    const std::string expected{'%', hex[static_cast<std::size_t>(byte >> 4)],
                               hex[static_cast<std::size_t>(byte & 0x0F)]};
    EXPECT_EQ(encoded, expected) << byte;
  }
}

TEST(basic_authorization, form_encodes_the_id_and_the_secret_before_base64) {
  // RFC 6749 2.3.1: base64(form_encode(id) ":" form_encode(secret)).
  EXPECT_EQ(basic_authorization("broker", "p%41ss+w:rd 100%"),
            "Basic " + base64_encode(as_bytes("broker:p%2541ss%2Bw%3Ard%20100%25")));
  EXPECT_EQ(basic_authorization("a:b c", ""), "Basic " + base64_encode(as_bytes("a%3Ab%20c:")));
  EXPECT_EQ(basic_authorization("demo", "secret"), "Basic ZGVtbzpzZWNyZXQ=");
}

}  // namespace
}  // namespace acemq
