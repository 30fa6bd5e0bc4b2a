#include "acemq/token/scope/aif.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "acemq/common/base64.hpp"
#include "acemq/common/topic.hpp"
#include "acemq/token/cbor/codec.hpp"

namespace acemq::token::scope {
namespace {

aif_scope parse(std::string_view json) {
  auto parsed = aif_scope::from_json(json);
  EXPECT_TRUE(parsed.has_value()) << json;
  return parsed ? std::move(parsed).value() : aif_scope{};
}

aif_scope subscribe_only(std::string_view filter) {
  return parse(std::string(R"([[")") + std::string(filter) + R"(",["sub"]]])");
}

struct subset_case {
  const char* candidate;
  const char* granted;
  bool expected;
};

// RFC 9431 2.3: a filter is allowed when it equals, or is a subset of, a granted filter.
const std::vector<subset_case> subset_table = {
    // Equal filters.
    {"a", "a", true},
    {"a/b", "a/b", true},
    {"a/+", "a/+", true},
    {"a/#", "a/#", true},
    {"#", "#", true},
    {"+", "+", true},
    {"+/+", "+/+", true},
    {"/", "/", true},
    {"a//b", "a//b", true},
    // Literals inside wildcards.
    {"a/b", "a/+", true},
    {"a/b", "a/#", true},
    {"a/b/c", "a/#", true},
    {"a", "a/#", true},  // '#' includes the parent level [MQTT-4.7.1-2]
    {"a", "#", true},
    {"a/b", "+/b", true},
    {"a/b", "+/+", true},
    {"a/b/c", "+/+/+", true},
    {"/a", "+/a", true},
    {"/", "+/+", true},
    {"a/b", "#", true},
    // Wildcards inside wider wildcards.
    {"a/+/c", "a/#", true},
    {"a/+", "a/#", true},
    {"a/+/#", "a/#", true},
    {"a/b/#", "a/#", true},
    {"a/+", "+/+", true},
    {"+/b", "+/+", true},
    {"+", "#", true},
    {"+/#", "#", true},
    {"a/+", "a/+/#", true},  // a/+/# matches a/x through its parent rule
    {"a/b/c/#", "a/+/c/#", true},
    {"+/+/#", "+/#", true},
    // Not subsets.
    {"a/#", "a/+", false},
    {"+/b", "a/+", false},
    {"a", "a/+", false},
    {"a/b/c", "a/+", false},
    {"a/b", "a", false},
    {"a/b", "a/c", false},
    {"a/+", "a/b", false},
    {"#", "a/#", false},
    {"#", "+", false},
    {"#", "+/#", true},       // every topic has a first level, and '+/#' covers "a" via its parent
    {"a/#", "a/+/#", false},  // below the top, '#' includes its parent: a/# has "a", a/+/# not
    {"a/#", "a/b/#", false},
    {"+", "a", false},
    {"+/+", "a/+", false},
    {"A/b", "a/b", false},  // case-sensitive [MQTT-4.7.3-4]
    {"a/b ", "a/b", false},
    {"a/b", "a//b", false},
    // '$' topics [MQTT-4.7.2-1]: a leading wildcard does not match them.
    {"$SYS/x", "#", false},
    {"$SYS/x", "+/x", false},
    {"$SYS/#", "#", false},
    {"$SYS", "+", false},
    {"$SYS/x", "$SYS/#", true},
    {"$SYS/x", "$SYS/+", true},
    {"$SYS/#", "$SYS/#", true},
    {"$other/x", "$SYS/#", false},
    {"+/x", "#", true},     // '+' at the top never matches '$' topics, so it stays within '#'
    {"a/$b", "a/+", true},  // only the first level is special
};

TEST(AifSubset, Table) {
  for (const auto& c : subset_table) {
    const aif_scope scope = subscribe_only(c.granted);
    EXPECT_EQ(scope.allows_subscribe(c.candidate), c.expected)
        << c.candidate << (c.expected ? " should be within " : " should not be within ")
        << c.granted;
  }
}

// Topic-name matching must agree with the shared reference, acemq::topic::matches.
TEST(AifMatch, AgreesWithReferenceMatcher) {
  const std::vector<std::string> filters = {"#",
                                            "+",
                                            "a",
                                            "a/#",
                                            "a/+",
                                            "+/+",
                                            "+/b",
                                            "a/+/c",
                                            "a/b/#",
                                            "/",
                                            "/+",
                                            "+/#",
                                            "$SYS/#",
                                            "$SYS/+",
                                            "a//b",
                                            "a/+/#",
                                            "sport/tennis/player1/#"};
  const std::vector<std::string> names = {"a",
                                          "a/b",
                                          "a/b/c",
                                          "b",
                                          "/",
                                          "/a",
                                          "a/",
                                          "a//b",
                                          "$SYS",
                                          "$SYS/x",
                                          "$SYS/x/y",
                                          "sport/tennis/player1",
                                          "sport/tennis/player1/ranking",
                                          "x/b",
                                          "a/c/c",
                                          "//"};
  for (const auto& filter : filters) {
    const aif_scope scope = parse(R"([[")" + filter + R"(",["pub","sub"]]])");
    for (const auto& name : names) {
      const bool reference = topic::matches(filter, name);
      EXPECT_EQ(scope.allows_publish(name), reference) << filter << " vs " << name;
      EXPECT_EQ(scope.allows_delivery(name), reference) << filter << " vs " << name;
      // A topic name as a subscription filter covers exactly that topic.
      EXPECT_EQ(scope.allows_subscribe(name), reference) << filter << " vs " << name;
    }
  }
}

TEST(AifDecisions, PermissionsAreSeparate) {
  const aif_scope scope = parse(R"([["p/#",["pub"]],["s/#",["sub"]],["b/+",["sub","pub"]]])");
  EXPECT_TRUE(scope.allows_publish("p/x"));
  EXPECT_FALSE(scope.allows_delivery("p/x"));
  EXPECT_FALSE(scope.allows_subscribe("p/x"));
  EXPECT_FALSE(scope.allows_publish("s/x"));
  EXPECT_TRUE(scope.allows_subscribe("s/x/#"));
  EXPECT_TRUE(scope.allows_delivery("s/x"));
  EXPECT_TRUE(scope.allows_publish("b/1"));
  EXPECT_TRUE(scope.allows_subscribe("b/+"));
  EXPECT_FALSE(scope.allows_publish("b/1/2"));
  EXPECT_FALSE(scope.allows_subscribe("other"));
}

TEST(AifDecisions, InvalidInputsAreRefused) {
  const aif_scope scope = parse(R"([["#",["pub","sub"]]])");
  EXPECT_FALSE(scope.allows_publish(""));
  EXPECT_FALSE(scope.allows_publish("a/+"));  // a wildcard is not a topic name [MQTT-3.3.2-2]
  EXPECT_FALSE(scope.allows_publish(std::string("a\0b", 3)));
  EXPECT_FALSE(scope.allows_subscribe(""));
  EXPECT_FALSE(scope.allows_subscribe("a/#/b"));
  EXPECT_FALSE(scope.allows_subscribe("a+"));
  EXPECT_FALSE(scope.allows_delivery(""));
}

TEST(AifDecisions, SharedSubscriptionsCheckTheInnerFilter) {
  const aif_scope scope = subscribe_only("a/+");
  EXPECT_TRUE(scope.allows_subscribe("$share/group/a/b"));
  EXPECT_TRUE(scope.allows_subscribe("$share/group/a/+"));
  EXPECT_FALSE(scope.allows_subscribe("$share/group/a/#"));
  EXPECT_FALSE(scope.allows_subscribe("$share/group/b"));
  EXPECT_FALSE(scope.allows_subscribe("$share/group"));
  EXPECT_FALSE(scope.allows_subscribe("$share/g+/a/b"));
  const aif_scope everything = subscribe_only("#");
  // The inner filter is an ordinary filter: "#" covers it even though the whole starts with '$'.
  EXPECT_TRUE(everything.allows_subscribe("$share/g/x"));
  EXPECT_FALSE(everything.allows_subscribe("$share/g/$SYS/x"));
}

TEST(AifDecisions, EmptyScopeGrantsNothing) {
  const aif_scope scope = parse("[]");
  EXPECT_TRUE(scope.empty());
  EXPECT_FALSE(scope.allows_publish("a"));
  EXPECT_FALSE(scope.allows_subscribe("a"));
  EXPECT_FALSE(scope.allows_delivery("a"));
  EXPECT_FALSE(aif_scope{}.allows_publish("a"));
}

TEST(AifParse, JsonRoundTrip) {
  const std::string json =
      R"([["topic1",["pub","sub"]],["topic2/#",["pub"]],["+/topic3",["sub"]]])";
  const aif_scope scope = parse(json);
  EXPECT_EQ(scope.size(), 3u);
  EXPECT_EQ(scope.to_json(), json);
  const auto grants = scope.grants();
  ASSERT_EQ(grants.size(), 3u);
  EXPECT_EQ(grants[0].filter, "topic1");
  EXPECT_TRUE(grants[0].publish && grants[0].subscribe);
  EXPECT_TRUE(grants[1].publish && !grants[1].subscribe);
  EXPECT_TRUE(!grants[2].publish && grants[2].subscribe);
  auto again = aif_scope::from_grants(grants);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->to_json(), json);
}

TEST(AifParse, PermissionOrderDoesNotMatter) {
  const aif_scope scope = parse(R"([["a",["sub","pub"]]])");
  EXPECT_TRUE(scope.allows_publish("a"));
  EXPECT_TRUE(scope.allows_subscribe("a"));
  EXPECT_EQ(scope.to_json(), R"([["a",["pub","sub"]]])");
}

TEST(AifParse, DuplicateFiltersMerge) {
  const aif_scope scope = parse(R"([["a",["pub"]],["a",["sub"]]])");
  EXPECT_EQ(scope.size(), 1u);
  EXPECT_TRUE(scope.allows_publish("a"));
  EXPECT_TRUE(scope.allows_subscribe("a"));
}

TEST(AifParse, EscapedJsonAndUnicode) {
  const aif_scope scope = parse(R"([["caf\u00e9/\u002B",["sub"]]])");
  EXPECT_TRUE(scope.allows_subscribe("caf\xc3\xa9/x"));
}

TEST(AifParse, JwtForms) {
  const std::string json = R"([["a/+",["pub"]]])";
  const std::string encoded = base64url_encode(as_bytes(json));
  auto from_string = aif_scope::from_jwt_claim(boost::json::value(encoded));
  ASSERT_TRUE(from_string.has_value());
  EXPECT_TRUE(from_string->allows_publish("a/b"));
  EXPECT_EQ(from_string->to_jwt_text(), encoded);
  auto from_array = aif_scope::from_jwt_claim(boost::json::parse(json));
  ASSERT_TRUE(from_array.has_value());
  EXPECT_TRUE(from_array->allows_publish("a/b"));
  auto from_text_array = aif_scope::from_jwt_text(json);
  ASSERT_TRUE(from_text_array.has_value());
  EXPECT_TRUE(from_text_array->allows_publish("a/x"));
}

TEST(AifParse, EntryBound) {
  std::string json = "[";
  for (int i = 0; i < 4; ++i)
    json += (i ? "," : "") + std::string(R"([")") + "t" + std::to_string(i) + R"(",["pub"]])";
  json += "]";
  parse_options small;
  small.max_entries = 3;
  auto refused = aif_scope::from_json(json, small);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), failure::bad_scope);
  small.max_entries = 4;
  EXPECT_TRUE(aif_scope::from_json(json, small).has_value());

  std::string big = "[";
  for (int i = 0; i < 257; ++i)
    big += (i ? "," : "") + std::string(R"([")") + "t" + std::to_string(i) + R"(",["pub"]])";
  big += "]";
  auto default_refused = aif_scope::from_json(big);
  ASSERT_FALSE(default_refused.has_value());
  EXPECT_EQ(default_refused.error(), failure::bad_scope);

  std::vector<grant> grants(4, grant{"x", true, false});
  small.max_entries = 3;
  EXPECT_FALSE(aif_scope::from_grants(grants, small).has_value());
}

TEST(AifParse, LongestFilter) {
  const std::string longest(65535, 'x');
  EXPECT_TRUE(aif_scope::from_json(R"([[")" + longest + R"(",["sub"]]])").has_value());
  const std::string too_long(65536, 'x');
  auto refused = aif_scope::from_json(R"([[")" + too_long + R"(",["sub"]]])");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), failure::bad_scope);
}

TEST(AifParse, EveryMalformedScopeIsBadScope) {
  const std::vector<std::string> bad = {
      "",
      "null",
      "{}",
      R"("a")",
      "[",
      "[1]",
      "[[]]",
      R"([["a"]])",
      R"([["a",["pub"],1]])",
      R"([[1,["pub"]]])",
      R"([["a","pub"]])",
      R"([["a",[]]])",
      R"([["a",["publish"]]])",
      R"([["a",["PUB"]]])",
      R"([["a",["pub","pub"]]])",
      R"([["a",["pub","sub","pub"]]])",
      R"([["a",[1]]])",
      R"([["a",[["pub"]]]])",
      R"([["",["pub"]]])",
      R"([["a/#/b",["pub"]]])",
      R"([["a+",["pub"]]])",
      R"([["a/b#",["sub"]]])",
      R"([["a\u0000b",["sub"]]])",
      R"([["\ud800",["sub"]]])",
      "[[\"\xff\",[\"sub\"]]]",
      R"([["a",["pub"]]] trailing)",
      R"([[[[[["a"]]]]]])",
      R"({"a":["pub"]})",
  };
  for (const auto& text : bad) {
    auto parsed = aif_scope::from_json(text);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error(), failure::bad_scope) << text;
  }
  for (const char* jwt : {"", "!!!", "e30", "W10=", "%5B%5D"}) {
    auto parsed = aif_scope::from_jwt_text(jwt);
    ASSERT_FALSE(parsed.has_value()) << jwt;
    EXPECT_EQ(parsed.error(), failure::bad_scope) << jwt;
  }
  for (const auto& claim : {boost::json::value(1), boost::json::value(nullptr),
                            boost::json::value(boost::json::object{})}) {
    auto parsed = aif_scope::from_jwt_claim(claim);
    ASSERT_FALSE(parsed.has_value());
    EXPECT_EQ(parsed.error(), failure::bad_scope);
  }
  EXPECT_FALSE(aif_scope::from_grants({grant{"a", false, false}}).has_value());
  EXPECT_FALSE(aif_scope::from_grants({grant{"a/#/b", true, false}}).has_value());
}

TEST(AifCbor, RoundTripAndExactBytes) {
  const aif_scope scope = parse(R"([["a/+",["pub","sub"]],["b",["sub"]]])");
  const byte_vector encoded = scope.to_cbor();
  // 82                      array(2)
  //   82 63 612F2B 82 63 707562 63 737562     ["a/+", ["pub", "sub"]]
  //   82 61 62 81 63 737562                   ["b", ["sub"]]
  byte_vector expected;
  ASSERT_TRUE(from_hex("82 82 63612f2b 82 63707562 63737562 82 6162 81 63737562", expected));
  EXPECT_EQ(encoded, expected);
  auto decoded = aif_scope::from_cbor(encoded);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->to_json(), scope.to_json());
  EXPECT_TRUE(decoded->allows_publish("a/x"));
  EXPECT_TRUE(decoded->allows_subscribe("b"));
  EXPECT_FALSE(decoded->allows_publish("b"));
}

TEST(AifCbor, CwtClaimForms) {
  const aif_scope scope = parse(R"([["s/#",["sub"]]])");
  for (const cbor::value& claim :
       {scope.to_cbor_value(), cbor::value::bytes(scope.to_cbor()),
        cbor::value::text(scope.to_json()), cbor::value::text(scope.to_jwt_text())}) {
    auto parsed = aif_scope::from_cwt_claim(claim);
    ASSERT_TRUE(parsed.has_value());
    EXPECT_TRUE(parsed->allows_subscribe("s/1/2"));
  }
  for (const cbor::value& claim : {cbor::value::integer(1), cbor::value::null(), cbor::value::map(),
                                   cbor::value::bytes(byte_vector{0xff})}) {
    auto parsed = aif_scope::from_cwt_claim(claim);
    ASSERT_FALSE(parsed.has_value());
    EXPECT_EQ(parsed.error(), failure::bad_scope);
  }
}

TEST(AifCbor, EveryMalformedScopeIsBadScope) {
  const std::vector<std::string> bad_hex = {
      "",                                  // nothing
      "a0",                                // a map
      "80ff",                              // trailing byte
      "81",                                // truncated
      "8180",                              // [[]]
      "818161 61",                         // [["a"]]
      "818301 81 63707562 00",             // three members
      "8182 01 8163707562",                // integer filter
      "8182 6161 63707562",                // permissions not an array
      "8182 6161 80",                      // no permissions
      "8182 6161 8164 70756221",           // "pub!"
      "8182 6161 8243707562 63737562",     // byte-string permission
      "8182 6161 8263707562 63707562",     // duplicate permission
      "8182 60 8163707562",                // empty filter
      "8182 6561 2f 23 2f 62 8163707562",  // a/#/b
      "8182 6261 2b 8163707562",           // a+
      "8182 6261 00 8163707562",           // U+0000
      "8182 62 ff fe 8163707562",          // not UTF-8
      "9f 82 6161 8163707562 ff",          // indefinite length
      "81 81 81 81 81 81 81 81 80",        // too deep
  };
  for (const auto& hex : bad_hex) {
    byte_vector bytes;
    ASSERT_TRUE(from_hex(hex, bytes)) << hex;
    auto parsed = aif_scope::from_cbor(bytes);
    ASSERT_FALSE(parsed.has_value()) << hex;
    EXPECT_EQ(parsed.error(), failure::bad_scope) << hex;
  }
  std::vector<cbor::value> many;
  for (int i = 0; i < 257; ++i) {
    many.push_back(cbor::value::array({cbor::value::text("t" + std::to_string(i)),
                                       cbor::value::array({cbor::value::text("pub")})}));
  }
  auto refused = aif_scope::from_cbor_value(cbor::value::array(std::move(many)));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error(), failure::bad_scope);
}

}  // namespace
}  // namespace acemq::token::scope
