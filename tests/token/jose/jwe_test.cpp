// JWE: round trips for every key management / content encryption pair, and a negative test for
// every failure decrypt_jwe returns.

#include "acemq/token/jose/jwe.hpp"

#include <gtest/gtest.h>

#include "acemq/common/base64.hpp"

namespace acemq::token::jose {
namespace {

using crypto::algorithm;
using crypto::key;

std::vector<std::string> split(const std::string& token) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (auto dot = token.find('.'); dot != std::string::npos; dot = token.find('.', start)) {
    out.push_back(token.substr(start, dot - start));
    start = dot + 1;
  }
  out.push_back(token.substr(start));
  return out;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i)
    out += (i ? "." : "") + parts[i];
  return out;
}

class jwe_test : public ::testing::Test {
 protected:
  deterministic_random random{99};
  key k16 = key::generate_symmetric(16, random);
  key k32 = key::generate_symmetric(32, random);
  key ec = key::generate_p256();
  const byte_vector plaintext = to_bytes("The true sign of intelligence is not knowledge");
};

TEST_F(jwe_test, round_trips) {
  struct case_t {
    const key* recipient;
    algorithm alg;
    algorithm enc;
  };
  const key ec_public = *ec.public_key();
  const case_t cases[] = {
      {&k16, algorithm::dir, algorithm::a128gcm},
      {&k32, algorithm::dir, algorithm::a256gcm},
      {&k16, algorithm::a128kw, algorithm::a128gcm},
      {&k16, algorithm::a128kw, algorithm::a256gcm},
      {&k32, algorithm::a256kw, algorithm::a128gcm},
      {&k32, algorithm::a256kw, algorithm::a256gcm},
      {&ec_public, algorithm::ecdh_es, algorithm::a128gcm},
      {&ec_public, algorithm::ecdh_es, algorithm::a256gcm},
  };
  for (const auto& c : cases) {
    jwe_encrypt_options options{.key_management = c.alg, .content = c.enc, .kid = "r1"};
    if (c.alg == algorithm::ecdh_es) {
      options.apu = to_bytes("Alice");
      options.apv = to_bytes("Bob");
    }
    auto token = encrypt_jwe(plaintext, *c.recipient, options, random);
    ASSERT_TRUE(token) << crypto::jose_name(c.alg);
    const key& decryptor = c.alg == algorithm::ecdh_es ? ec : *c.recipient;
    auto opened = decrypt_jwe(*token, decryptor);
    ASSERT_TRUE(opened) << crypto::jose_name(c.alg) << " " << crypto::jose_name(c.enc);
    EXPECT_EQ(opened->plaintext, plaintext);
    EXPECT_EQ(opened->key_management, c.alg);
    EXPECT_EQ(opened->content, c.enc);
    EXPECT_EQ(opened->kid, "r1");
    EXPECT_EQ(*peek_kid(*token), "r1");
  }
}

TEST_F(jwe_test, every_segment_is_authenticated) {
  for (auto alg : {algorithm::a128kw, algorithm::dir}) {
    auto token = *encrypt_jwe(plaintext, k16, {.key_management = alg}, random);
    auto parts = split(token);
    for (std::size_t segment = 0; segment < parts.size(); ++segment) {
      auto bytes = *base64url_decode(parts[segment]);
      if (bytes.empty()) continue;
      auto changed = parts;
      bytes[bytes.size() / 2] ^= 0x01;
      changed[segment] = base64url_encode(bytes);
      auto result = decrypt_jwe(join(changed), k16);
      ASSERT_FALSE(result) << segment;
      // A changed header may stop being JSON; everything else fails authentication.
      if (segment != 0) {
        EXPECT_EQ(result.error(), failure::decryption_failed) << segment;
      }
    }
  }
}

TEST_F(jwe_test, wrong_keys_and_sizes) {
  auto token = *encrypt_jwe(plaintext, k16, {.key_management = algorithm::a128kw}, random);
  auto other = key::generate_symmetric(16, random);
  EXPECT_EQ(decrypt_jwe(token, other).error(), failure::decryption_failed);
  // The key decides: a 32-byte key cannot be an A128KW key, an EC key cannot unwrap.
  EXPECT_EQ(decrypt_jwe(token, k32).error(), failure::algorithm_not_allowed);
  EXPECT_EQ(decrypt_jwe(token, ec).error(), failure::algorithm_not_allowed);
  // dir with a key whose size does not match "enc".
  EXPECT_EQ(encrypt_jwe(plaintext, k32, {.key_management = algorithm::dir}, random).error(),
            failure::algorithm_not_allowed);
  auto dir256 = *encrypt_jwe(
      plaintext, k32, {.key_management = algorithm::dir, .content = algorithm::a256gcm}, random);
  auto parts = split(dir256);
  auto header = R"({"alg":"dir","enc":"A128GCM"})";
  parts[0] = base64url_encode(as_bytes(header));
  EXPECT_EQ(decrypt_jwe(join(parts), k32).error(), failure::algorithm_not_allowed);
  EXPECT_EQ(encrypt_jwe(plaintext, k16, {.key_management = algorithm::ecdh_es}, random).error(),
            failure::algorithm_not_allowed);
  EXPECT_EQ(encrypt_jwe(plaintext, k16, {.key_management = algorithm::hs256}, random).error(),
            failure::unsupported_algorithm);
  EXPECT_EQ(encrypt_jwe(plaintext, k16,
                        {.key_management = algorithm::dir, .content = algorithm::aes_ccm_16_64_128},
                        random)
                .error(),
            failure::unsupported_algorithm);
}

TEST_F(jwe_test, ecdh_es_rejects_bad_ephemeral_keys) {
  auto token =
      *encrypt_jwe(plaintext, *ec.public_key(), {.key_management = algorithm::ecdh_es}, random);
  auto parts = split(token);
  auto header = *parse_object(as_string_view(*base64url_decode(parts[0])));
  // A point off the curve (invalid-curve attack).
  auto epk = header["epk"].as_object();
  auto y = *base64url_decode(epk["y"].as_string());
  y[31] ^= 1;
  epk["y"] = base64url_encode(y);
  header["epk"] = epk;
  parts[0] = base64url_encode(as_bytes(serialize(header)));
  EXPECT_EQ(decrypt_jwe(join(parts), ec).error(), failure::bad_key);
  // A private ephemeral key or a missing one.
  header["epk"] = *to_jwk(key::generate_p256(), jwk_content::with_private);
  parts[0] = base64url_encode(as_bytes(serialize(header)));
  EXPECT_EQ(decrypt_jwe(join(parts), ec).error(), failure::bad_key);
  header.erase("epk");
  parts[0] = base64url_encode(as_bytes(serialize(header)));
  EXPECT_EQ(decrypt_jwe(join(parts), ec).error(), failure::bad_encoding);
  // Only the private key can decrypt.
  EXPECT_EQ(decrypt_jwe(token, *ec.public_key()).error(), failure::bad_key);
  EXPECT_EQ(decrypt_jwe(token, key::generate_p256()).error(), failure::decryption_failed);
}

TEST_F(jwe_test, header_rules) {
  auto token = *encrypt_jwe(plaintext, k16, {.key_management = algorithm::a128kw}, random);
  auto parts = split(token);
  auto with_header = [&](std::string_view json) {
    auto changed = parts;
    changed[0] = base64url_encode(as_bytes(json));
    return join(changed);
  };
  EXPECT_EQ(
      decrypt_jwe(with_header(R"({"alg":"A128KW","enc":"A128GCM","zip":"DEF"})"), k16).error(),
      failure::unsupported_algorithm);
  EXPECT_EQ(decrypt_jwe(with_header(R"({"alg":"RSA-OAEP","enc":"A128GCM"})"), k16).error(),
            failure::unsupported_algorithm);
  EXPECT_EQ(decrypt_jwe(with_header(R"({"alg":"A128KW","enc":"A128CBC-HS256"})"), k16).error(),
            failure::unsupported_algorithm);
  EXPECT_EQ(decrypt_jwe(with_header(R"({"alg":"none","enc":"A128GCM"})"), k16).error(),
            failure::alg_none);
  EXPECT_EQ(decrypt_jwe(with_header(R"({"alg":"A128KW","enc":"A128GCM","crit":["x"],"x":1})"), k16)
                .error(),
            failure::unknown_critical_header);
  EXPECT_EQ(decrypt_jwe(with_header(R"({"alg":"A128KW"})"), k16).error(), failure::bad_encoding);
  const std::string deep =
      R"({"alg":"A128KW","enc":"A128GCM","x":)" + std::string(33, '[') + std::string(33, ']') + "}";
  EXPECT_EQ(decrypt_jwe(with_header(deep), k16).error(), failure::too_deep);
  EXPECT_EQ(decrypt_jwe(std::string(1024 * 1024, 'A'), k16).error(), failure::too_large);
  EXPECT_EQ(decrypt_jwe(parts[0] + "." + parts[1], k16).error(), failure::bad_encoding);
}

TEST_F(jwe_test, segment_sizes) {
  auto token = *encrypt_jwe(plaintext, k16, {.key_management = algorithm::dir}, random);
  auto parts = split(token);
  auto changed = parts;
  changed[4] = base64url_encode(byte_view(*base64url_decode(parts[4])).first(8));
  EXPECT_EQ(decrypt_jwe(join(changed), k16).error(), failure::decryption_failed);
  changed = parts;
  changed[2] = base64url_encode(byte_vector(16));
  EXPECT_EQ(decrypt_jwe(join(changed), k16).error(), failure::bad_encoding);
  changed = parts;
  changed[1] = base64url_encode(byte_vector(24));  // dir carries no encrypted key
  EXPECT_EQ(decrypt_jwe(join(changed), k16).error(), failure::bad_encoding);
}

TEST_F(jwe_test, peek_kid_reads_only_the_header) {
  auto token = *encrypt_jwe(plaintext, k16, {.key_management = algorithm::dir, .kid = "x"}, random);
  EXPECT_EQ(*peek_kid(token), "x");
  auto anonymous =
      *encrypt_jwe(plaintext, k16, {.key_management = algorithm::dir, .kid = ""}, random);
  EXPECT_FALSE(*peek_kid(anonymous));
  EXPECT_EQ(peek_kid("no-dots").error(), failure::bad_encoding);
  EXPECT_EQ(peek_kid(base64url_encode(as_bytes(R"({"kid":1})")) + ".x").error(),
            failure::bad_encoding);
  EXPECT_EQ(peek_kid(std::string(70 * 1024, 'A')).error(), failure::too_large);
}

TEST_F(jwe_test, key_set_selection) {
  auto a = k16;
  a.set_kid(to_bytes("a"));
  auto b = k32;
  b.set_kid(to_bytes("b"));
  const key keys[] = {a, b};
  auto to_b = *encrypt_jwe(plaintext, b, {.key_management = algorithm::a256kw}, random);
  EXPECT_EQ(decrypt_jwe(to_b, keys)->plaintext, plaintext);
  auto unknown =
      *encrypt_jwe(plaintext, b, {.key_management = algorithm::a256kw, .kid = "c"}, random);
  EXPECT_EQ(decrypt_jwe(unknown, keys).error(), failure::unknown_key);
  auto anonymous =
      *encrypt_jwe(plaintext, a, {.key_management = algorithm::a128kw, .kid = ""}, random);
  EXPECT_EQ(decrypt_jwe(anonymous, keys)->plaintext, plaintext);
}

}  // namespace
}  // namespace acemq::token::jose
