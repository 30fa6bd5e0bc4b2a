// CBOR decoding limits and deterministic encoding: RFC 8949 appendix A and the hostile inputs
// a token parser meets.

#include "acemq/token/cbor/codec.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace acemq::token::cbor {
namespace {

byte_vector hex(std::string_view text) {
  byte_vector out;
  EXPECT_TRUE(from_hex(text, out)) << text;
  return out;
}

struct vector_case {
  const char* encoded;
  value expected;
};

// RFC 8949 appendix A, the examples whose preferred encoding is also the deterministic one.
std::vector<vector_case> appendix_a_round_trip() {
  return {
      {"00", value::unsigned_integer(0)},
      {"01", value::unsigned_integer(1)},
      {"0a", value::unsigned_integer(10)},
      {"17", value::unsigned_integer(23)},
      {"1818", value::unsigned_integer(24)},
      {"1819", value::unsigned_integer(25)},
      {"1864", value::unsigned_integer(100)},
      {"1903e8", value::unsigned_integer(1000)},
      {"1a000f4240", value::unsigned_integer(1000000)},
      {"1b000000e8d4a51000", value::unsigned_integer(1000000000000)},
      {"1bffffffffffffffff", value::unsigned_integer(18446744073709551615ull)},
      {"3bffffffffffffffff", value::negative_integer(18446744073709551615ull)},
      {"20", value::integer(-1)},
      {"29", value::integer(-10)},
      {"3863", value::integer(-100)},
      {"3903e7", value::integer(-1000)},
      {"f90000", value::floating(0.0)},
      {"f98000", value::floating(-0.0)},
      {"f93c00", value::floating(1.0)},
      {"fb3ff199999999999a", value::floating(1.1)},
      {"f93e00", value::floating(1.5)},
      {"f97bff", value::floating(65504.0)},
      {"fa47c35000", value::floating(100000.0)},
      {"fa7f7fffff", value::floating(3.4028234663852886e+38)},
      {"fb7e37e43c8800759c", value::floating(1.0e+300)},
      {"f90001", value::floating(5.960464477539063e-8)},
      {"f90400", value::floating(0.00006103515625)},
      {"f9c400", value::floating(-4.0)},
      {"fbc010666666666666", value::floating(-4.1)},
      {"f97c00", value::floating(std::numeric_limits<double>::infinity())},
      {"f9fc00", value::floating(-std::numeric_limits<double>::infinity())},
      {"f4", value::boolean(false)},
      {"f5", value::boolean(true)},
      {"f6", value::null()},
      {"f7", value::undefined()},
      {"f0", value::simple(16)},
      {"f8ff", value::simple(255)},
      {"c074323031332d30332d32315432303a30343a30305a",
       value::tag(0, value::text("2013-03-21T20:04:00Z"))},
      {"c11a514b67b0", value::tag(1, value::unsigned_integer(1363896240))},
      {"c1fb41d452d9ec200000", value::tag(1, value::floating(1363896240.5))},
      {"d74401020304", value::tag(23, value::bytes(hex("01020304")))},
      {"d818456449455446", value::tag(24, value::bytes(hex("6449455446")))},
      {"d82076687474703a2f2f7777772e6578616d706c652e636f6d",
       value::tag(32, value::text("http://www.example.com"))},
      {"40", value::bytes(byte_vector{})},
      {"4401020304", value::bytes(hex("01020304"))},
      {"60", value::text("")},
      {"6161", value::text("a")},
      {"6449455446", value::text("IETF")},
      {"62225c", value::text("\"\\")},
      {"62c3bc", value::text("\xc3\xbc")},
      {"63e6b0b4", value::text("\xe6\xb0\xb4")},
      {"64f0908591", value::text("\xf0\x90\x85\x91")},
      {"80", value::array()},
      {"83010203", value::array({value::integer(1), value::integer(2), value::integer(3)})},
      {"8301820203820405",
       value::array({value::integer(1), value::array({value::integer(2), value::integer(3)}),
                     value::array({value::integer(4), value::integer(5)})})},
      {"a0", value::map()},
      {"a201020304", value::map().insert(1, value::integer(2)).insert(3, value::integer(4))},
      {"a26161016162820203",
       value::map()
           .insert("a", value::integer(1))
           .insert("b", value::array({value::integer(2), value::integer(3)}))},
      {"826161a161626163",
       value::array({value::text("a"), value::map().insert("b", value::text("c"))})},
      {"a56161614161626142616361436164614461656145", value::map()
                                                         .insert("a", value::text("A"))
                                                         .insert("b", value::text("B"))
                                                         .insert("c", value::text("C"))
                                                         .insert("d", value::text("D"))
                                                         .insert("e", value::text("E"))},
  };
}

TEST(CborAppendixA, DecodesEveryExample) {
  for (const auto& example : appendix_a_round_trip()) {
    auto decoded = decode(hex(example.encoded));
    ASSERT_TRUE(decoded.has_value()) << example.encoded;
    EXPECT_EQ(*decoded, example.expected) << example.encoded;
  }
}

TEST(CborAppendixA, EncodesEveryExampleDeterministically) {
  for (const auto& example : appendix_a_round_trip()) {
    EXPECT_EQ(to_hex(encode(example.expected)), example.encoded);
  }
}

TEST(CborAppendixA, EveryOneByteTagNumber) {
  // libcbor 0.8 refuses heads 0xc6..0xd4; COSE needs 16, 17 and 18 among them.
  for (std::uint8_t number = 0; number < 24; ++number) {
    const byte_vector encoded = {static_cast<std::uint8_t>(0xc0 | number), 0x00};
    auto decoded = decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << int{number};
    EXPECT_EQ(*decoded, value::tag(number, value::integer(0)));
  }
}

TEST(CborAppendixA, TwentyFiveItemArrayUsesOneByteCount) {
  std::vector<value> items;
  for (std::int64_t i = 1; i <= 25; ++i)
    items.push_back(value::integer(i));
  const char* expected = "98190102030405060708090a0b0c0d0e0f101112131415161718181819";
  EXPECT_EQ(to_hex(encode(value::array(items))), expected);
  auto decoded = decode(hex(expected));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->items().size(), 25u);
}

TEST(CborAppendixA, NonPreferredFloatsDecodeToTheSameValue) {
  auto inf = decode(hex("fa7f800000"));
  ASSERT_TRUE(inf.has_value());
  EXPECT_TRUE(std::isinf(*inf->as_double()));
  auto negative_inf = decode(hex("fbfff0000000000000"));
  ASSERT_TRUE(negative_inf.has_value());
  EXPECT_EQ(*negative_inf->as_double(), -std::numeric_limits<double>::infinity());
  for (const char* nan : {"f97e00", "fa7fc00000", "fb7ff8000000000000"}) {
    auto decoded = decode(hex(nan));
    ASSERT_TRUE(decoded.has_value()) << nan;
    EXPECT_TRUE(std::isnan(*decoded->as_double())) << nan;
    // RFC 8949 4.2.2: every NaN re-encodes as the half-precision quiet NaN.
    EXPECT_EQ(to_hex(encode(*decoded)), "f97e00");
  }
  // A double that is exactly a half re-encodes in two bytes.
  auto widened = decode(hex("fb3ff8000000000000"));
  ASSERT_TRUE(widened.has_value());
  EXPECT_EQ(to_hex(encode(*widened)), "f93e00");
}

TEST(CborDeterministic, SortsMapKeysByEncodedBytes) {
  // RFC 8949 4.2.1: 10, 100, -1, "z", "aa", [100], [-1], false in that order.
  value map = value::map()
                  .insert(value::boolean(false), value::integer(8))
                  .insert(value::array({value::integer(-1)}), value::integer(7))
                  .insert(value::array({value::integer(100)}), value::integer(6))
                  .insert("aa", value::integer(5))
                  .insert("z", value::integer(4))
                  .insert(-1, value::integer(3))
                  .insert(100, value::integer(2))
                  .insert(10, value::integer(1));
  EXPECT_EQ(to_hex(encode(map)), "a80a011864022003617a046261610581186406812007f408");
}

TEST(CborDeterministic, ShortestIntegerArguments) {
  EXPECT_EQ(to_hex(encode(value::integer(std::numeric_limits<std::int64_t>::min()))),
            "3b7fffffffffffffff");
  EXPECT_EQ(to_hex(encode(value::integer(65535))), "19ffff");
  EXPECT_EQ(to_hex(encode(value::integer(65536))), "1a00010000");
  EXPECT_EQ(to_hex(encode(value::bytes(byte_vector(24, 0xab)))).substr(0, 4), "5818");
}

TEST(CborIndefinite, RejectedWhenStrict) {
  for (const char* encoded :
       {"5f42010243030405ff", "7f657374726561646d696e67ff", "9fff", "9f018202039f0405ffff",
        "83018202039f0405ff", "bf61610161629f0203ffff", "826161bf61626163ff"}) {
    auto decoded = decode(hex(encoded));
    ASSERT_FALSE(decoded.has_value()) << encoded;
    EXPECT_EQ(decoded.error(), failure::bad_encoding) << encoded;
  }
}

TEST(CborIndefinite, AcceptedWhenNotStrict) {
  decode_limits lenient;
  lenient.strict = false;
  auto bytes = decode(hex("5f42010243030405ff"), lenient);
  ASSERT_TRUE(bytes.has_value());
  EXPECT_EQ(*bytes, value::bytes(hex("0102030405")));
  auto text = decode(hex("7f657374726561646d696e67ff"), lenient);
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(*text, value::text("streaming"));
  auto nested = decode(hex("9f018202039f0405ffff"), lenient);
  ASSERT_TRUE(nested.has_value());
  EXPECT_EQ(to_hex(encode(*nested)), "8301820203820405");
  auto map = decode(hex("bf6346756ef563416d7421ff"), lenient);
  ASSERT_TRUE(map.has_value());
  EXPECT_EQ(*map,
            value::map().insert("Fun", value::boolean(true)).insert("Amt", value::integer(-2)));
  // A chunk of the wrong type, a nested indefinite chunk and an odd map stay malformed.
  for (const char* encoded : {"5f6161ff", "5f5f4101ffff", "bf01ff", "9f01"}) {
    auto decoded = decode(hex(encoded), lenient);
    ASSERT_FALSE(decoded.has_value()) << encoded;
    EXPECT_EQ(decoded.error(), failure::bad_encoding) << encoded;
  }
}

byte_vector nested_arrays(std::size_t depth) {
  byte_vector out(depth, 0x81);
  out.push_back(0x00);
  return out;
}

TEST(CborLimits, DepthBound) {
  EXPECT_TRUE(decode(nested_arrays(16)).has_value());
  auto too_deep = decode(nested_arrays(17));
  ASSERT_FALSE(too_deep.has_value());
  EXPECT_EQ(too_deep.error(), failure::too_deep);
  // A very deep input is refused by the pre-scan without recursion.
  decode_limits big;
  big.max_size = 2 * 1024 * 1024;
  auto deep = decode(nested_arrays(1'000'000), big);
  ASSERT_FALSE(deep.has_value());
  EXPECT_EQ(deep.error(), failure::too_deep);
  // Nested tags and nested maps count too.
  byte_vector tags(17, 0xc1);
  tags.push_back(0x00);
  EXPECT_EQ(decode(tags).error(), failure::too_deep);
  byte_vector maps;
  for (int i = 0; i < 17; ++i)
    maps.insert(maps.end(), {0xa1, 0x00});
  maps.push_back(0x00);
  EXPECT_EQ(decode(maps).error(), failure::too_deep);
}

TEST(CborLimits, SizeBound) {
  byte_vector large = {0x5a, 0x00, 0x01, 0x00, 0x00};
  large.resize(large.size() + 0x10000, 0x00);
  auto decoded = decode(large);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error(), failure::too_large);
  byte_vector megabyte(1024 * 1024, 0x00);
  EXPECT_EQ(decode(megabyte).error(), failure::too_large);
  decode_limits small;
  small.max_size = 4;
  EXPECT_EQ(decode(hex("4401020304"), small).error(), failure::too_large);
  EXPECT_TRUE(decode(hex("43010203"), small).has_value());
}

TEST(CborLimits, ItemCountBound) {
  byte_vector many = {0x99, 0x13, 0x88};  // array(5000)
  many.resize(many.size() + 5000, 0x00);
  EXPECT_EQ(decode(many).error(), failure::too_large);
  decode_limits generous;
  generous.max_items = 5001;
  EXPECT_TRUE(decode(many, generous).has_value());
}

TEST(CborMalformed, DeclaredLengthsBeyondTheInput) {
  for (const char* encoded :
       {"5bffffffffffffffff", "7bffffffffffffffff00", "9bffffffffffffffff", "9b00000000ffffffff00",
        "bbffffffffffffffff", "a2010203", "5a0000000200", "1b0000"}) {
    auto decoded = decode(hex(encoded));
    ASSERT_FALSE(decoded.has_value()) << encoded;
    EXPECT_EQ(decoded.error(), failure::bad_encoding) << encoded;
  }
}

TEST(CborMalformed, NotWellFormed) {
  for (const char* encoded : {"", "1c", "1d", "1e", "3c", "5c", "7c", "9c", "bc", "dc", "fc", "ff",
                              "f818", "f800", "f81f", "8101ff", "c0"}) {
    auto decoded = decode(hex(encoded));
    ASSERT_FALSE(decoded.has_value()) << encoded;
    EXPECT_EQ(decoded.error(), failure::bad_encoding) << encoded;
  }
}

TEST(CborMalformed, TrailingBytes) {
  for (const char* encoded : {"0101", "8001", "a000", "f6f6", "4101ff"}) {
    auto decoded = decode(hex(encoded));
    ASSERT_FALSE(decoded.has_value()) << encoded;
    EXPECT_EQ(decoded.error(), failure::bad_encoding) << encoded;
  }
}

TEST(CborMalformed, DuplicateMapKeys) {
  // The second form repeats the key 1 in a non-shortest encoding: still the same key.
  for (const char* encoded : {"a201020103", "a20102180103", "a2616101616102", "a2f601f602"}) {
    auto decoded = decode(hex(encoded));
    ASSERT_FALSE(decoded.has_value()) << encoded;
    EXPECT_EQ(decoded.error(), failure::bad_encoding) << encoded;
  }
  EXPECT_TRUE(decode(hex("a201022003")).has_value());
}

TEST(CborMalformed, TextMustBeUtf8) {
  for (const char* encoded : {"62c328", "61ff", "63eda080", "62c0af", "64f4908080"}) {
    auto decoded = decode(hex(encoded));
    ASSERT_FALSE(decoded.has_value()) << encoded;
    EXPECT_EQ(decoded.error(), failure::bad_encoding) << encoded;
  }
  auto with_nul = decode(hex("6100"));
  ASSERT_TRUE(with_nul.has_value());
  EXPECT_EQ(with_nul->text_content(), std::string(1, '\0'));
}

TEST(CborMalformed, EveryTruncationFailsCleanly) {
  const byte_vector valid =
      hex("d83dd18443a10104a1044c53796d6d65747269633235365850a70175636f61703a2f2f61732e6578616d70"
          "6c652e636f6d02656572696b77037818636f61703a2f2f6c696768742e6578616d706c652e636f6d041a56"
          "12aeb0051a5610d9f0061a5610d9f007420b7148093101ef6d789200");
  ASSERT_TRUE(decode(valid).has_value());
  for (std::size_t length = 0; length < valid.size(); ++length) {
    auto decoded = decode(byte_view(valid).first(length));
    ASSERT_FALSE(decoded.has_value()) << length;
    EXPECT_EQ(decoded.error(), failure::bad_encoding) << length;
  }
}

TEST(CborValue, MapLookupsByIntegerAndText) {
  value map = value::map()
                  .insert(1, value::text("coap://as.example.com"))
                  .insert(-2, value::bytes(hex("0102")))
                  .insert("scope", value::text("read"));
  ASSERT_NE(map.find(1), nullptr);
  EXPECT_EQ(map.find(1)->text_content(), "coap://as.example.com");
  ASSERT_NE(map.find(-2), nullptr);
  EXPECT_EQ(map.find(-2)->byte_content(), hex("0102"));
  ASSERT_NE(map.find("scope"), nullptr);
  EXPECT_EQ(map.find(2), nullptr);
  EXPECT_EQ(map.find("iss"), nullptr);
  EXPECT_EQ(value::integer(5).find(1), nullptr);
  auto round_trip = decode(encode(map));
  ASSERT_TRUE(round_trip.has_value());
  EXPECT_EQ(round_trip->find(-2)->byte_content(), hex("0102"));
}

TEST(CborValue, IntegerAccessors) {
  EXPECT_EQ(value::integer(-1).as_int64(), -1);
  EXPECT_EQ(value::integer(std::numeric_limits<std::int64_t>::min()).as_int64(),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_FALSE(value::unsigned_integer(1ull << 63).as_int64().has_value());
  EXPECT_FALSE(value::negative_integer(1ull << 63).as_int64().has_value());
  EXPECT_EQ(value::unsigned_integer(1ull << 63).as_uint64(), 1ull << 63);
  EXPECT_FALSE(value::integer(-3).as_uint64().has_value());
  EXPECT_FALSE(value::text("1").as_int64().has_value());
  EXPECT_EQ(value::boolean(true).as_bool(), true);
  EXPECT_FALSE(value::null().as_bool().has_value());
  EXPECT_TRUE(value::null().is_null());
}

}  // namespace
}  // namespace acemq::token::cbor
