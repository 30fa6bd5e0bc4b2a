// Published vectors for the symmetric primitives: FIPS 180-2 SHA-256, RFC 4231 HMAC-SHA256,
// RFC 5869 HKDF, RFC 3394 key wrap, the GCM specification's test cases, RFC 3610 CCM.

#include "acemq/token/crypto/aead.hpp"

#include <gtest/gtest.h>

#include "acemq/common/base64.hpp"
#include "test_hex.hpp"

namespace acemq::token::crypto {
namespace {

using test::hex;

TEST(sha256, abc) {
  EXPECT_EQ(to_hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

struct hmac_vector {
  const char* key_hex;
  std::string data;
  const char* mac_hex;
};

TEST(hmac_sha256, rfc4231_vectors) {
  const std::string large_key(131 * 2, 'a');
  const hmac_vector vectors[] = {
      // Test Case 1
      {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      // Test Case 2: key "Jefe"
      {"4a656665", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      // Test Case 3
      {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      // Test Case 4
      {"0102030405060708090a0b0c0d0e0f10111213141516171819", std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      // Test Case 6: key larger than the block size
      {large_key.c_str(), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      // Test Case 7
      {large_key.c_str(),
       "This is a test using a larger than block-size key and a larger than block-size data. "
       "The key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const auto& v : vectors) {
    EXPECT_EQ(to_hex(hmac_sha256(hex(v.key_hex), as_bytes(v.data))), v.mac_hex) << v.data;
  }
}

TEST(hkdf_sha256, rfc5869_test_case_1) {
  auto okm = hkdf_sha256(hex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"),
                         hex("000102030405060708090a0b0c"), hex("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm);
  EXPECT_EQ(to_hex(*okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865");
}

TEST(hkdf_sha256, rejects_oversized_output) {
  auto okm = hkdf_sha256(hex("0b0b"), {}, {}, 255 * 32 + 1);
  ASSERT_FALSE(okm);
  EXPECT_EQ(okm.error(), failure::bad_key);
}

TEST(aes_key_wrap, rfc3394_4_1_128_bit_kek) {
  const auto kek = hex("000102030405060708090A0B0C0D0E0F");
  const auto data = hex("00112233445566778899AABBCCDDEEFF");
  auto wrapped = aes_key_wrap(kek, data);
  ASSERT_TRUE(wrapped);
  EXPECT_EQ(to_hex(*wrapped), "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5");
  auto unwrapped = aes_key_unwrap(kek, *wrapped);
  ASSERT_TRUE(unwrapped);
  EXPECT_EQ(*unwrapped, data);
}

TEST(aes_key_wrap, rfc3394_4_6_256_bit_kek_256_bit_key) {
  const auto kek = hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
  const auto data = hex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F");
  auto wrapped = aes_key_wrap(kek, data);
  ASSERT_TRUE(wrapped);
  EXPECT_EQ(to_hex(*wrapped),
            "28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21");
  auto unwrapped = aes_key_unwrap(kek, *wrapped);
  ASSERT_TRUE(unwrapped);
  EXPECT_EQ(*unwrapped, data);
}

TEST(aes_key_wrap, tampered_or_malformed_input_fails_to_unwrap) {
  const auto kek = hex("000102030405060708090A0B0C0D0E0F");
  auto wrapped = hex("1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5");
  wrapped[5] ^= 0x01;
  auto result = aes_key_unwrap(kek, wrapped);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error(), failure::decryption_failed);
  wrapped.pop_back();  // not a multiple of 8
  EXPECT_EQ(aes_key_unwrap(kek, wrapped).error(), failure::decryption_failed);
  EXPECT_EQ(aes_key_unwrap(kek, hex("0102030405060708")).error(), failure::decryption_failed);
  EXPECT_EQ(aes_key_unwrap(hex("0001"), wrapped).error(), failure::bad_key);
  EXPECT_EQ(aes_key_wrap(kek, hex("0011223344556677")).error(), failure::bad_key);
}

TEST(aes_gcm, gcm_spec_test_case_2) {
  const auto key = hex("00000000000000000000000000000000");
  const auto iv = hex("000000000000000000000000");
  auto sealed = aes_gcm_encrypt(key, iv, {}, hex("00000000000000000000000000000000"));
  ASSERT_TRUE(sealed);
  EXPECT_EQ(to_hex(*sealed), "0388dace60b6a392f328c2b971b2fe78ab6e47d42cec13bdf53a67b21257bddf");
}

TEST(aes_gcm, gcm_spec_test_case_3) {
  const auto key = hex("feffe9928665731c6d6a8f9467308308");
  const auto iv = hex("cafebabefacedbaddecaf888");
  const auto plaintext =
      hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255");
  auto sealed = aes_gcm_encrypt(key, iv, {}, plaintext);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(to_hex(*sealed),
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
            "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985"
            "4d5c2af327cd64a62cf35abd2ba6fab4");
  auto opened = aes_gcm_decrypt(key, iv, {}, *sealed);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, plaintext);
}

TEST(aes_gcm, gcm_spec_test_case_4_with_aad) {
  const auto key = hex("feffe9928665731c6d6a8f9467308308");
  const auto iv = hex("cafebabefacedbaddecaf888");
  const auto aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  const auto plaintext =
      hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
          "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  auto sealed = aes_gcm_encrypt(key, iv, aad, plaintext);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(to_hex(*sealed),
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
            "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
            "5bc94fbc3221a5db94fae95ae7121a47");
  auto opened = aes_gcm_decrypt(key, iv, aad, *sealed);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, plaintext);

  // Any change to the ciphertext, tag, AAD or IV is detected.
  for (std::size_t i = 0; i < sealed->size(); i += 7) {
    auto tampered = *sealed;
    tampered[i] ^= 0x80;
    EXPECT_EQ(aes_gcm_decrypt(key, iv, aad, tampered).error(), failure::decryption_failed) << i;
  }
  auto other_aad = aad;
  other_aad[0] ^= 1;
  EXPECT_EQ(aes_gcm_decrypt(key, iv, other_aad, *sealed).error(), failure::decryption_failed);
  auto other_iv = iv;
  other_iv[11] ^= 1;
  EXPECT_EQ(aes_gcm_decrypt(key, other_iv, aad, *sealed).error(), failure::decryption_failed);
  // A truncated tag is never accepted.
  auto truncated = *sealed;
  truncated.resize(truncated.size() - 4);
  EXPECT_EQ(aes_gcm_decrypt(key, iv, aad, truncated).error(), failure::decryption_failed);
  EXPECT_EQ(aes_gcm_decrypt(key, iv, aad, hex("0011")).error(), failure::decryption_failed);
}

TEST(aes_gcm, aes_256_round_trip_and_wrong_sizes) {
  deterministic_random random(7);
  const auto key = random.bytes(32);
  const auto iv = random.bytes(12);
  auto sealed = aes_gcm_encrypt(key, iv, as_bytes("aad"), {});
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->size(), gcm_tag_size);
  auto opened = aes_gcm_decrypt(key, iv, as_bytes("aad"), *sealed);
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->empty());
  EXPECT_EQ(aes_gcm_encrypt(random.bytes(24), iv, {}, {}).error(), failure::bad_key);
  EXPECT_EQ(aes_gcm_encrypt(key, random.bytes(16), {}, {}).error(), failure::bad_key);
}

TEST(aes_ccm_16_64_128, rfc3610_packet_vector_1) {
  // RFC 3610 8: M = 8 (tag), L = 2 (13-byte nonce): exactly AES-CCM-16-64-128.
  const auto key = hex("C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF");
  const auto nonce = hex("00000003020100A0A1A2A3A4A5");
  const auto aad = hex("0001020304050607");
  const auto plaintext = hex("08090A0B0C0D0E0F101112131415161718191A1B1C1D1E");
  auto sealed = aes_ccm_16_64_128_encrypt(key, nonce, aad, plaintext);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(to_hex(*sealed), "588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0");
  auto opened = aes_ccm_16_64_128_decrypt(key, nonce, aad, *sealed);
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, plaintext);
}

TEST(aes_ccm_16_64_128, tamper_and_size_checks) {
  deterministic_random random(11);
  const auto key = random.bytes(16);
  const auto nonce = random.bytes(13);
  const auto plaintext = to_bytes("the CWT claims set");
  auto sealed = aes_ccm_16_64_128_encrypt(key, nonce, as_bytes("Encrypt0"), plaintext);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->size(), plaintext.size() + ccm_16_64_128_tag_size);
  for (std::size_t i = 0; i < sealed->size(); ++i) {
    auto tampered = *sealed;
    tampered[i] ^= 0x01;
    EXPECT_EQ(aes_ccm_16_64_128_decrypt(key, nonce, as_bytes("Encrypt0"), tampered).error(),
              failure::decryption_failed)
        << i;
  }
  EXPECT_EQ(aes_ccm_16_64_128_decrypt(key, nonce, as_bytes("other"), *sealed).error(),
            failure::decryption_failed);
  auto truncated = *sealed;
  truncated.pop_back();
  EXPECT_EQ(aes_ccm_16_64_128_decrypt(key, nonce, as_bytes("Encrypt0"), truncated).error(),
            failure::decryption_failed);
  EXPECT_EQ(aes_ccm_16_64_128_decrypt(key, nonce, {}, hex("01020304")).error(),
            failure::decryption_failed);
  EXPECT_EQ(aes_ccm_16_64_128_encrypt(random.bytes(32), nonce, {}, plaintext).error(),
            failure::bad_key);
  EXPECT_EQ(aes_ccm_16_64_128_encrypt(key, random.bytes(12), {}, plaintext).error(),
            failure::bad_key);
  auto empty = aes_ccm_16_64_128_encrypt(key, nonce, as_bytes("a"), {});
  ASSERT_TRUE(empty);
  auto empty_opened = aes_ccm_16_64_128_decrypt(key, nonce, as_bytes("a"), *empty);
  ASSERT_TRUE(empty_opened);
  EXPECT_TRUE(empty_opened->empty());
}

TEST(ecdh, both_sides_agree_and_concat_kdf_is_deterministic) {
  const auto alice = key::generate_p256();
  const auto bob = key::generate_p256();
  auto z1 = ecdh_shared_secret(alice, *bob.public_key());
  auto z2 = ecdh_shared_secret(bob, *alice.public_key());
  ASSERT_TRUE(z1);
  ASSERT_TRUE(z2);
  EXPECT_EQ(z1->size(), 32u);
  EXPECT_EQ(*z1, *z2);
  const auto k1 = concat_kdf_sha256(*z1, 16, "A128GCM", as_bytes("Alice"), as_bytes("Bob"));
  const auto k2 = concat_kdf_sha256(*z2, 16, "A128GCM", as_bytes("Alice"), as_bytes("Bob"));
  EXPECT_EQ(k1.size(), 16u);
  EXPECT_EQ(k1, k2);
  EXPECT_NE(k1, concat_kdf_sha256(*z1, 16, "A256GCM", as_bytes("Alice"), as_bytes("Bob")));
  EXPECT_EQ(concat_kdf_sha256(*z1, 48, "x", {}, {}).size(), 48u);
  EXPECT_EQ(ecdh_shared_secret(*alice.public_key(), bob).error(), failure::bad_key);
  EXPECT_EQ(ecdh_shared_secret(alice, key::generate_ed25519()).error(), failure::bad_key);
}

TEST(concat_kdf, rfc7518_appendix_c) {
  // RFC 7518 Appendix C: ECDH-ES with A128GCM, apu "Alice", apv "Bob".
  const auto z = hex("9e56d91d817135d372834283bf84269cfb316ea3da806a48f6daa7798cfe90c4");
  const auto derived = concat_kdf_sha256(z, 16, "A128GCM", as_bytes("Alice"), as_bytes("Bob"));
  EXPECT_EQ(base64url_encode(derived), "VqqN6vgjbSBcIijNcacQGg");
}

}  // namespace
}  // namespace acemq::token::crypto
