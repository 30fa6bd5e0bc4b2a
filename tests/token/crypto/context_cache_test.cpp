// The per-thread context caches behind sign()/verify(): a cached context gives the same result as
// a fresh computation, keys never share one (not even a new key at a freed key's address), the
// cache stays bounded and lets go of dead keys, and threads each use their own. Also the
// allocation-free ECDSA raw <-> DER conversion, checked against OpenSSL's own encoder.

#include "acemq/token/crypto/context_cache.hpp"

#include <gtest/gtest.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "acemq/token/crypto/sign.hpp"
#include "test_hex.hpp"

namespace acemq::token::crypto {
namespace {

using detail::context_cache;
using test::hex;

// The reference: OpenSSL's one-shot HMAC with no state kept between calls.
byte_vector one_shot_hmac(const EVP_MD* md, byte_view secret, byte_view data) {
  byte_vector tag(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  static constexpr std::uint8_t empty = 0;
  HMAC(md, secret.data(), static_cast<int>(secret.size()), data.empty() ? &empty : data.data(),
       data.size(), tag.data(), &length);
  tag.resize(length);
  return tag;
}

byte_vector secret_of(std::uint8_t fill, std::size_t size = 32) {
  return byte_vector(size, fill);
}

class context_cache_test : public ::testing::Test {
 protected:
  void SetUp() override { context_cache::this_thread().clear(); }
  void TearDown() override { context_cache::this_thread().clear(); }
};

TEST_F(context_cache_test, rfc4231_test_case_6_on_first_and_cached_use) {
  // RFC 4231 4.7: a 131-byte key (longer than the SHA-256 block, so it is hashed first).
  const std::string data = "Test Using Larger Than Block-Size Key - Hash Key First";
  auto k = key::symmetric_from_bytes(secret_of(0xaa, 131));
  ASSERT_TRUE(k);
  const auto expected = hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  for (int round = 0; round < 3; ++round) {  // the first use fills the cache, then it is reused
    auto tag = sign(algorithm::hs256, *k, as_bytes(data));
    ASSERT_TRUE(tag);
    EXPECT_EQ(to_hex(*tag), to_hex(expected)) << round;
    EXPECT_TRUE(verify(algorithm::hs256, *k, as_bytes(data), expected));
  }
  EXPECT_EQ(context_cache::this_thread().size(), 1u);  // sign and verify share the MAC context
}

TEST_F(context_cache_test, every_hmac_algorithm_matches_the_one_shot_reference) {
  // Key sizes around both block sizes (64 for SHA-256, 128 for SHA-384/512): shorter keys are
  // zero-padded, longer ones hashed first (RFC 2104 2).
  const std::size_t key_sizes[] = {64, 65, 127, 128, 129, 200, 512};
  const byte_vector messages[] = {
      {}, byte_vector(1, 0x01), byte_vector(64, 0x42), byte_vector(1000, 0x99)};
  struct case_t {
    algorithm alg;
    const EVP_MD* md;
    std::size_t size;
  };
  const case_t cases[] = {{algorithm::hs256, EVP_sha256(), 32},
                          {algorithm::hs384, EVP_sha384(), 48},
                          {algorithm::hs512, EVP_sha512(), 64},
                          {algorithm::hmac_256_64, EVP_sha256(), 8}};
  for (const std::size_t key_size : key_sizes) {
    const auto secret = secret_of(static_cast<std::uint8_t>(key_size), key_size);
    auto k = key::symmetric_from_bytes(secret);
    ASSERT_TRUE(k);
    for (int round = 0; round < 2; ++round) {
      for (const auto& c : cases) {
        for (const auto& m : messages) {
          auto tag = sign(c.alg, *k, m);
          ASSERT_TRUE(tag);
          auto expected = one_shot_hmac(c.md, secret, m);
          expected.resize(c.size);
          EXPECT_EQ(*tag, expected) << key_size << " " << int(c.alg) << " " << m.size();
          EXPECT_TRUE(verify(c.alg, *k, m, expected));
        }
      }
    }
  }
  // One context per key and algorithm, not per message; the dead keys' contexts were released.
  EXPECT_EQ(context_cache::this_thread().size(), 4u);
}

TEST_F(context_cache_test, different_keys_never_share_a_context) {
  auto a = key::symmetric_from_bytes(secret_of(0x01));
  auto b = key::symmetric_from_bytes(secret_of(0x02));
  ASSERT_TRUE(a && b);
  const auto data = hex("00112233");
  for (int round = 0; round < 3; ++round) {
    auto tag_a = sign(algorithm::hs256, *a, data);
    auto tag_b = sign(algorithm::hs256, *b, data);
    ASSERT_TRUE(tag_a && tag_b);
    EXPECT_EQ(*tag_a, one_shot_hmac(EVP_sha256(), secret_of(0x01), data));
    EXPECT_EQ(*tag_b, one_shot_hmac(EVP_sha256(), secret_of(0x02), data));
    EXPECT_EQ(verify(algorithm::hs256, *a, data, *tag_b).error(), failure::bad_signature);
    EXPECT_EQ(verify(algorithm::hs256, *b, data, *tag_a).error(), failure::bad_signature);
  }
  EXPECT_EQ(context_cache::this_thread().size(), 2u);
}

TEST_F(context_cache_test, copies_share_the_context_of_their_material) {
  auto k = key::symmetric_from_bytes(secret_of(0x07));
  ASSERT_TRUE(k);
  key copy = *k;
  copy.set_kid(hex("01"));
  const auto data = hex("abcdef");
  auto first = sign(algorithm::hs256, *k, data);
  auto second = sign(algorithm::hs256, copy, data);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(context_cache::this_thread().size(), 1u);
}

TEST_F(context_cache_test, a_new_key_in_a_dead_keys_place_gets_its_own_context) {
  // Keys made and dropped one after another tend to reuse the same heap addresses; the cache
  // must follow the material, not the address.
  const auto data = hex("0102030405");
  for (std::uint8_t fill = 1; fill <= 40; ++fill) {
    auto k = key::symmetric_from_bytes(secret_of(fill));
    ASSERT_TRUE(k);
    auto tag = sign(algorithm::hs256, *k, data);
    ASSERT_TRUE(tag);
    EXPECT_EQ(*tag, one_shot_hmac(EVP_sha256(), secret_of(fill), data)) << int{fill};
  }
  EXPECT_LE(context_cache::this_thread().size(), context_cache::capacity);
}

TEST_F(context_cache_test, dead_keys_are_released_at_the_next_miss) {
  {
    auto gone = key::symmetric_from_bytes(secret_of(0x33));
    ASSERT_TRUE(gone);
    ASSERT_TRUE(sign(algorithm::hs256, *gone, hex("00")));
    EXPECT_EQ(context_cache::this_thread().size(), 1u);
  }
  auto next = key::symmetric_from_bytes(secret_of(0x34));
  ASSERT_TRUE(next);
  ASSERT_TRUE(sign(algorithm::hs256, *next, hex("00")));
  EXPECT_EQ(context_cache::this_thread().size(), 1u);  // the dead key's context was freed
}

TEST_F(context_cache_test, stays_bounded_and_evicts_the_least_recently_used) {
  std::vector<key> keys;
  for (std::size_t i = 0; i < context_cache::capacity + 8; ++i) {
    auto k = key::symmetric_from_bytes(secret_of(static_cast<std::uint8_t>(i + 1)));
    ASSERT_TRUE(k);
    keys.push_back(*k);
  }
  const auto data = hex("55");
  // Touch every key twice, interleaved with the first key, which must then stay cached.
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      ASSERT_TRUE(sign(algorithm::hs256, keys[0], data));
      auto tag = sign(algorithm::hs256, keys[i], data);
      ASSERT_TRUE(tag);
      EXPECT_EQ(*tag,
                one_shot_hmac(EVP_sha256(), secret_of(static_cast<std::uint8_t>(i + 1)), data));
      EXPECT_LE(context_cache::this_thread().size(), context_cache::capacity);
    }
  }
  EXPECT_EQ(context_cache::this_thread().size(), context_cache::capacity);
  EXPECT_NE(context_cache::this_thread().find_mac(keys[0], algorithm::hs256), nullptr);
  EXPECT_EQ(context_cache::this_thread().find_mac(keys[1], algorithm::hs256), nullptr);
}

TEST_F(context_cache_test, asymmetric_contexts_are_per_key_algorithm_and_direction) {
  const key ed = key::generate_ed25519();
  const key ec = key::generate_p256();
  const key other_ec = key::generate_p256();
  const auto data = hex("68656c6c6f");
  for (int round = 0; round < 3; ++round) {
    auto ed_signature = sign(algorithm::eddsa, ed, data);
    auto ec_signature = sign(algorithm::es256, ec, data);
    ASSERT_TRUE(ed_signature && ec_signature);
    EXPECT_TRUE(verify(algorithm::eddsa, *ed.public_key(), data, *ed_signature));
    EXPECT_TRUE(verify(algorithm::es256, *ec.public_key(), data, *ec_signature));
    // The same verifying key, a second key of the same type: never confused.
    EXPECT_EQ(verify(algorithm::es256, other_ec, data, *ec_signature).error(),
              failure::bad_signature);
    EXPECT_TRUE(verify(algorithm::es256, ec, data, *ec_signature));
  }
  auto& cache = context_cache::this_thread();
  EXPECT_NE(cache.find_digest_signature(ed, algorithm::eddsa, detail::purpose::sign), nullptr);
  EXPECT_EQ(cache.find_digest_signature(ed, algorithm::eddsa, detail::purpose::verify), nullptr);
  EXPECT_NE(cache.find_pkey(ec, algorithm::es256, detail::purpose::sign), nullptr);
  EXPECT_NE(cache.find_pkey(ec, algorithm::es256, detail::purpose::verify), nullptr);
  EXPECT_NE(cache.find_pkey(other_ec, algorithm::es256, detail::purpose::verify), nullptr);
  EXPECT_EQ(cache.find_pkey(other_ec, algorithm::es256, detail::purpose::sign), nullptr);
}

TEST_F(context_cache_test, rsa_pkcs1_and_pss_contexts_stay_apart) {
  const key k = key::generate_rsa(2048);
  const key pub = *k.public_key();
  const auto data = hex("6d657373616765");
  for (int round = 0; round < 2; ++round) {
    auto pkcs1 = sign(algorithm::rs256, k, data);
    auto pss = sign(algorithm::ps256, k, data);
    ASSERT_TRUE(pkcs1 && pss);
    EXPECT_TRUE(verify(algorithm::rs256, pub, data, *pkcs1));
    EXPECT_TRUE(verify(algorithm::ps256, pub, data, *pss));
    EXPECT_EQ(verify(algorithm::rs256, pub, data, *pss).error(), failure::bad_signature);
    EXPECT_EQ(verify(algorithm::ps256, pub, data, *pkcs1).error(), failure::bad_signature);
  }
  // PKCS#1 v1.5 is deterministic: the cached context signs exactly as a fresh one.
  auto again = sign(algorithm::rs256, k, data);
  context_cache::this_thread().clear();
  auto fresh = sign(algorithm::rs256, k, data);
  ASSERT_TRUE(again && fresh);
  EXPECT_EQ(*again, *fresh);
}

TEST_F(context_cache_test, threads_use_their_own_contexts_for_shared_keys) {
  constexpr int thread_count = 4;
  constexpr int rounds = 200;
  std::vector<key> secrets;
  for (std::uint8_t i = 1; i <= 3; ++i)
    secrets.push_back(*key::symmetric_from_bytes(secret_of(i)));
  const key ed = key::generate_ed25519();
  const key ed_public = *ed.public_key();
  const key ec = key::generate_p256();
  const key ec_public = *ec.public_key();
  std::atomic<int> failures{0};
  std::atomic<std::size_t> largest_cache{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < thread_count; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        const byte_vector data{static_cast<std::uint8_t>(t), static_cast<std::uint8_t>(r)};
        const std::size_t i = static_cast<std::size_t>(r) % secrets.size();
        auto tag = sign(algorithm::hs256, secrets[i], data);
        if (!tag ||
            *tag !=
                one_shot_hmac(EVP_sha256(), secret_of(static_cast<std::uint8_t>(i + 1)), data) ||
            !verify(algorithm::hs256, secrets[i], data, *tag)) {
          ++failures;
        }
        auto ed_signature = sign(algorithm::eddsa, ed, data);
        if (!ed_signature || !verify(algorithm::eddsa, ed_public, data, *ed_signature)) ++failures;
        if (r % 20 == 0) {
          auto ec_signature = sign(algorithm::es256, ec, data);
          if (!ec_signature || !verify(algorithm::es256, ec_public, data, *ec_signature)) {
            ++failures;
          }
        }
      }
      std::size_t mine = context_cache::this_thread().size();
      std::size_t seen = largest_cache.load();
      while (mine > seen && !largest_cache.compare_exchange_weak(seen, mine)) {
      }
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(failures.load(), 0);
  // Each thread filled its own cache: 3 MAC, 2 EdDSA and 2 ECDSA contexts.
  EXPECT_EQ(largest_cache.load(), 7u);
  EXPECT_EQ(context_cache::this_thread().size(), 0u);  // none of it landed on this thread
}

// --- ECDSA raw r||s <-> DER ---------------------------------------------------------------------

// OpenSSL's encoder as the reference for the allocation-free one.
byte_vector openssl_der(byte_view raw) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(raw.data(), 32, nullptr);
  BIGNUM* s = BN_bin2bn(raw.data() + 32, 32, nullptr);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig, &der);
  byte_vector out(der, der + length);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

TEST(es256_der, encodes_exactly_as_openssl_and_round_trips) {
  std::vector<byte_vector> samples;
  byte_vector all_zero(64, 0x00);
  samples.push_back(all_zero);
  samples.push_back(byte_vector(64, 0xff));  // top bit set: a 0x00 pad on both
  samples.push_back(byte_vector(64, 0x7f));
  byte_vector leading_zeros(64, 0x00);
  leading_zeros[31] = 0x01;  // r = 1
  leading_zeros[40] = 0x80;  // s with 8 leading zero bytes, then a set top bit
  samples.push_back(leading_zeros);
  deterministic_random random(7);
  for (int i = 0; i < 500; ++i) {
    byte_vector raw = random.bytes(64);
    raw[0] &= static_cast<std::uint8_t>(0xff >> (i % 9));  // vary the leading bits and bytes
    if (i % 5 == 0) raw[32] = 0;
    samples.push_back(raw);
  }
  for (const auto& raw : samples) {
    auto der = detail::es256_raw_to_der(raw);
    ASSERT_TRUE(der);
    const auto expected = openssl_der(raw);
    EXPECT_EQ(to_hex(der->view()), to_hex(expected));
    auto back = detail::es256_der_to_raw(expected);
    ASSERT_TRUE(back) << to_hex(expected);
    EXPECT_EQ(to_hex(byte_view(back->data(), back->size())), to_hex(raw));
  }
}

TEST(es256_der, raw_must_be_64_bytes) {
  EXPECT_FALSE(detail::es256_raw_to_der(byte_vector(63, 1)));
  EXPECT_FALSE(detail::es256_raw_to_der(byte_vector(65, 1)));
  EXPECT_FALSE(detail::es256_raw_to_der({}));
}

TEST(es256_der, decoding_is_strict) {
  const char* refused[] = {
      "",                      // empty
      "30",                    // no length
      "3008020101020101",      // SEQUENCE length beyond the input
      "3006020101020101ff",    // a byte beyond the declared length
      "3106020101020101",      // not a SEQUENCE
      "3006030101020101",      // not an INTEGER
      "3006020181020101",      // negative r (top bit set)
      "300702020001020101",    // non-minimal r (0x00 before a clear top bit)
      "3003020101",            // s missing
      "30080201010201010500",  // something after s
      "3006020001020101",      // zero-length INTEGER
  };
  for (const char* text : refused) {
    EXPECT_FALSE(detail::es256_der_to_raw(hex(text))) << text;
  }
  // The well-formed neighbour of those: r = 1, s = 1.
  auto ones = detail::es256_der_to_raw(hex("3006020101020101"));
  ASSERT_TRUE(ones);
  EXPECT_EQ((*ones)[31], 0x01);
  EXPECT_EQ((*ones)[63], 0x01);
  // 33 value bytes without a pad byte: too large for P-256.
  byte_vector too_long = hex("3026022101");
  too_long.resize(too_long.size() + 32, 0x00);
  const auto s_part = hex("020101");
  too_long.insert(too_long.end(), s_part.begin(), s_part.end());
  EXPECT_FALSE(detail::es256_der_to_raw(too_long));
  // Zero is a valid minimal INTEGER (OpenSSL's verifier then refuses the signature).
  auto zero = detail::es256_der_to_raw(hex("3006020100020100"));
  ASSERT_TRUE(zero);
  EXPECT_EQ(*zero, (std::array<std::uint8_t, 64>{}));
}

TEST(es256_der, signatures_from_the_cached_signer_verify_with_openssl_directly) {
  // Our r||s from the cached context, re-encoded by OpenSSL and checked by ECDSA_do_verify's
  // EVP equivalent: an independent path through OpenSSL.
  const key k = key::generate_p256();
  const auto data = hex("74657374");
  for (int i = 0; i < 20; ++i) {
    auto signature = sign(algorithm::es256, k, data);
    ASSERT_TRUE(signature);
    const auto der = openssl_der(*signature);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, k.native_handle()), 1);
    EXPECT_EQ(EVP_DigestVerify(ctx, der.data(), der.size(), data.data(), data.size()), 1);
    EVP_MD_CTX_free(ctx);
  }
}

}  // namespace
}  // namespace acemq::token::crypto
