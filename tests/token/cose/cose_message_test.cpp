// COSE_Sign1 / COSE_Mac0 / COSE_Encrypt0 (RFC 9052): round trips with every supported algorithm
// and the refusals: wrong key, the key deciding the algorithm, crit, header placement, tampering.

#include "acemq/token/cose/cose_message.hpp"

#include <gtest/gtest.h>

#include "acemq/token/cose/cose_key.hpp"
#include "acemq/token/crypto/sign.hpp"

namespace acemq::token::cose {
namespace {

const byte_vector payload = to_bytes("This is the content.");

crypto::key symmetric(std::size_t size, std::uint8_t fill) {
  return *crypto::key::symmetric_from_bytes(byte_vector(size, fill));
}

// Builds a tagged Sign1/Mac0 from explicit buckets, to test what a hostile sender could send.
byte_vector build(message_type type, const cbor::value& protected_map,
                  const cbor::value& unprotected_map, byte_view content, byte_view tag) {
  cbor::value structure = cbor::value::array();
  structure.push_back(cbor::value::bytes(
      protected_map.entries().empty() ? byte_vector{} : cbor::encode(protected_map)));
  structure.push_back(unprotected_map);
  structure.push_back(cbor::value::bytes(content));
  if (type != message_type::encrypt0) structure.push_back(cbor::value::bytes(tag));
  return cbor::encode(cbor::value::tag(static_cast<std::uint64_t>(type), structure));
}

// A correctly MACed Mac0 with the given protected bucket (so that only the header is at fault).
byte_vector mac0_with_protected(const crypto::key& key, const cbor::value& protected_map,
                                const cbor::value& unprotected_map = cbor::value::map()) {
  const byte_vector protected_bytes = cbor::encode(protected_map);
  auto tag =
      crypto::sign(crypto::algorithm::hs256, key, mac_structure(protected_bytes, {}, payload));
  EXPECT_TRUE(tag.has_value());
  return build(message_type::mac0, protected_map, unprotected_map, payload, *tag);
}

result<byte_vector, failure> parse_and_open(byte_view bytes, const crypto::key& key,
                                            byte_view aad = {}) {
  auto msg = parse(bytes);
  if (!msg) return unexpected{msg.error()};
  return open(*msg, key, aad);
}

TEST(CoseSign1, Ed25519AndEs256RoundTrip) {
  for (auto [alg, key] : {std::pair{crypto::algorithm::eddsa, crypto::key::generate_ed25519()},
                          std::pair{crypto::algorithm::es256, crypto::key::generate_p256()}}) {
    key.set_kid(to_bytes("signer"));
    auto signed_message = sign1(alg, key, payload);
    ASSERT_TRUE(signed_message.has_value());
    auto msg = parse(*signed_message);
    ASSERT_TRUE(msg.has_value());
    EXPECT_EQ(msg->type, message_type::sign1);
    EXPECT_TRUE(msg->tagged);
    EXPECT_EQ(msg->header.kid, to_bytes("signer"));
    EXPECT_EQ(msg->header.alg, crypto::cose_id(alg));
    EXPECT_EQ(msg->signature_or_tag.size(), 64u);
    auto opened = verify(*msg, *key.public_key());
    ASSERT_TRUE(opened.has_value());
    EXPECT_EQ(*opened, payload);
  }
}

TEST(CoseSign1, UntaggedNeedsTheCallerToSayWhatItIs) {
  crypto::key key = crypto::key::generate_ed25519();
  protect_options options;
  options.tagged = false;
  auto untagged = sign1(crypto::algorithm::eddsa, key, payload, options);
  ASSERT_TRUE(untagged.has_value());
  EXPECT_EQ((*untagged)[0], 0x84);
  EXPECT_EQ(parse(*untagged).error(), failure::bad_encoding);
  auto msg = parse(*untagged, message_type::sign1);
  ASSERT_TRUE(msg.has_value());
  EXPECT_FALSE(msg->tagged);
  EXPECT_TRUE(verify(*msg, key).has_value());
  // A tagged message of another type is not what the caller asked for.
  auto maced = mac0(crypto::algorithm::hs256, symmetric(32, 1), payload);
  EXPECT_EQ(parse(*maced, message_type::sign1).error(), failure::bad_encoding);
}

TEST(CoseSign1, ExternalAadIsCovered) {
  crypto::key key = crypto::key::generate_ed25519();
  const byte_vector context = to_bytes("context");
  protect_options options;
  options.external_aad = context;
  auto signed_message = sign1(crypto::algorithm::eddsa, key, payload, options);
  ASSERT_TRUE(signed_message.has_value());
  EXPECT_TRUE(parse_and_open(*signed_message, key, to_bytes("context")).has_value());
  EXPECT_EQ(parse_and_open(*signed_message, key).error(), failure::bad_signature);
  EXPECT_EQ(parse_and_open(*signed_message, key, to_bytes("other")).error(),
            failure::bad_signature);
}

TEST(CoseSign1, WrongKeyAndBitFlips) {
  crypto::key key = crypto::key::generate_ed25519();
  auto signed_message = sign1(crypto::algorithm::eddsa, key, payload);
  ASSERT_TRUE(signed_message.has_value());
  EXPECT_EQ(parse_and_open(*signed_message, crypto::key::generate_ed25519()).error(),
            failure::bad_signature);
  // Every single-bit flip anywhere in the message is refused (or the message fails to parse).
  for (std::size_t index = 0; index < signed_message->size(); ++index) {
    byte_vector tampered = *signed_message;
    tampered[index] ^= 0x04;
    EXPECT_FALSE(parse_and_open(tampered, key).has_value()) << index;
  }
}

TEST(CoseSign1, TheKeyDecidesTheAlgorithm) {
  // An HMAC key cannot make or check a Sign1, an Ed25519 key cannot claim ES256.
  EXPECT_EQ(sign1(crypto::algorithm::hs256, symmetric(32, 1), payload).error(),
            failure::algorithm_not_allowed);
  crypto::key ed = crypto::key::generate_ed25519();
  EXPECT_EQ(sign1(crypto::algorithm::es256, ed, payload).error(), failure::algorithm_not_allowed);

  // A Sign1 whose header says ES256 but is checked with an Ed25519 key.
  crypto::key p256 = crypto::key::generate_p256();
  auto es256 = sign1(crypto::algorithm::es256, p256, payload);
  ASSERT_TRUE(es256.has_value());
  EXPECT_EQ(parse_and_open(*es256, ed).error(), failure::algorithm_not_allowed);

  // A Sign1 whose header names an HMAC algorithm, checked with the HMAC key.
  crypto::key hmac_key = symmetric(32, 7);
  const cbor::value hs256_header = cbor::value::map().insert(1, cbor::value::integer(5));
  const byte_vector protected_bytes = cbor::encode(hs256_header);
  auto tag =
      crypto::sign(crypto::algorithm::hs256, hmac_key, sig_structure(protected_bytes, {}, payload));
  byte_vector forged = build(message_type::sign1, hs256_header, cbor::value::map(), payload, *tag);
  EXPECT_EQ(parse_and_open(forged, hmac_key).error(), failure::algorithm_not_allowed);

  // A key bound to EdDSA refuses nothing else, and an unbound key follows the header.
  crypto::key bound = crypto::key::generate_ed25519();
  bound.bind_algorithm(crypto::algorithm::eddsa);
  EXPECT_TRUE(parse_and_open(*sign1(crypto::algorithm::eddsa, bound, payload), bound).has_value());
}

TEST(CoseMac0, Hmac256And256Over64RoundTrip) {
  crypto::key key = symmetric(32, 9);
  for (auto [alg, size] : {std::pair{crypto::algorithm::hs256, std::size_t{32}},
                           std::pair{crypto::algorithm::hmac_256_64, std::size_t{8}}}) {
    auto maced = mac0(alg, key, payload);
    ASSERT_TRUE(maced.has_value());
    auto msg = parse(*maced);
    ASSERT_TRUE(msg.has_value());
    EXPECT_EQ(msg->type, message_type::mac0);
    EXPECT_EQ(msg->signature_or_tag.size(), size);
    EXPECT_EQ(*verify(*msg, key), payload);
    EXPECT_EQ(verify(*msg, symmetric(32, 8)).error(), failure::bad_signature);
  }
  // Ed25519 keys cannot MAC.
  EXPECT_EQ(mac0(crypto::algorithm::hs256, crypto::key::generate_ed25519(), payload).error(),
            failure::algorithm_not_allowed);
}

TEST(CoseMac0, TruncatedTagIsRefused) {
  crypto::key key = symmetric(32, 9);
  auto msg = *parse(*mac0(crypto::algorithm::hs256, key, payload));
  for (std::size_t keep : {std::size_t{0}, std::size_t{8}, std::size_t{31}}) {
    message truncated = msg;
    truncated.signature_or_tag.resize(keep);
    EXPECT_EQ(verify(truncated, key).error(), failure::bad_signature) << keep;
  }
}

TEST(CoseHeaders, AlgMustBeProtectedForSign1AndMac0) {
  crypto::key key = symmetric(32, 3);
  const byte_vector protected_bytes;  // empty protected bucket
  auto tag =
      crypto::sign(crypto::algorithm::hs256, key, mac_structure(protected_bytes, {}, payload));
  byte_vector unprotected_alg =
      build(message_type::mac0, cbor::value::map(),
            cbor::value::map().insert(1, cbor::value::integer(5)), payload, *tag);
  EXPECT_EQ(parse_and_open(unprotected_alg, key).error(), failure::algorithm_not_allowed);
  // No alg at all.
  byte_vector no_alg =
      build(message_type::mac0, cbor::value::map(), cbor::value::map(), payload, *tag);
  EXPECT_EQ(parse_and_open(no_alg, key).error(), failure::bad_encoding);
}

TEST(CoseHeaders, AlgInBothBucketsIsMalformed) {
  crypto::key key = symmetric(32, 3);
  byte_vector both = mac0_with_protected(key, cbor::value::map().insert(1, cbor::value::integer(5)),
                                         cbor::value::map().insert(1, cbor::value::integer(5)));
  EXPECT_EQ(parse(both).error(), failure::bad_encoding);
}

TEST(CoseHeaders, UnknownAlgorithms) {
  crypto::key key = symmetric(32, 3);
  byte_vector unknown =
      mac0_with_protected(key, cbor::value::map().insert(1, cbor::value::integer(-65000)));
  EXPECT_EQ(parse_and_open(unknown, key).error(), failure::unsupported_algorithm);
  byte_vector text =
      mac0_with_protected(key, cbor::value::map().insert(1, cbor::value::text("HS256")));
  EXPECT_EQ(parse(text).error(), failure::unsupported_algorithm);
}

TEST(CoseHeaders, CriticalHeaders) {
  crypto::key key = symmetric(32, 3);
  auto with_crit = [&](cbor::value crit, std::int64_t extra_label) {
    cbor::value header =
        cbor::value::map().insert(1, cbor::value::integer(5)).insert(2, std::move(crit));
    if (extra_label != 0) header.insert(extra_label, cbor::value::integer(1));
    return mac0_with_protected(key, header);
  };
  // A critical label we do not understand.
  EXPECT_EQ(parse(with_crit(cbor::value::array({cbor::value::integer(99)}), 99)).error(),
            failure::unknown_critical_header);
  EXPECT_EQ(parse(with_crit(cbor::value::array({cbor::value::text("x-ext")}), 0)).error(),
            failure::unknown_critical_header);
  // A critical label we do understand is fine.
  auto understood = with_crit(cbor::value::array({cbor::value::integer(3)}), 0);
  EXPECT_TRUE(parse_and_open(understood, key).has_value());
  // crit must be a non-empty array, in the protected bucket.
  EXPECT_EQ(parse(with_crit(cbor::value::array(), 0)).error(), failure::bad_encoding);
  EXPECT_EQ(parse(with_crit(cbor::value::integer(99), 0)).error(), failure::bad_encoding);
  byte_vector unprotected_crit = mac0_with_protected(
      key, cbor::value::map().insert(1, cbor::value::integer(5)),
      cbor::value::map().insert(2, cbor::value::array({cbor::value::integer(99)})));
  EXPECT_EQ(parse(unprotected_crit).error(), failure::bad_encoding);
}

TEST(CoseHeaders, ParameterTypes) {
  crypto::key key = symmetric(32, 3);
  const cbor::value alg = cbor::value::map().insert(1, cbor::value::integer(5));
  for (auto [label, item] :
       {std::pair{4, cbor::value::text("kid")}, std::pair{5, cbor::value::integer(1)},
        std::pair{6, cbor::value::text("p")}, std::pair{3, cbor::value::integer(-1)}}) {
    byte_vector bad = mac0_with_protected(key, alg, cbor::value::map().insert(label, item));
    EXPECT_EQ(parse(bad).error(), failure::bad_encoding) << label;
  }
  byte_vector iv_and_partial =
      mac0_with_protected(key, alg,
                          cbor::value::map()
                              .insert(5, cbor::value::bytes(byte_vector(12, 0)))
                              .insert(6, cbor::value::bytes(byte_vector{1})));
  EXPECT_EQ(parse(iv_and_partial).error(), failure::bad_encoding);
}

TEST(CoseStructure, Malformed) {
  for (const char* encoded :
       {"d28340a040", "d2844040404040", "d284a0a04040", "d28440a0f640", "d28440804040",
        "d1834040a040", "d0844040a04040", "d9ffff8440a04040", "18"}) {
    byte_vector bytes;
    ASSERT_TRUE(from_hex(encoded, bytes));
    auto parsed = parse(bytes);
    ASSERT_FALSE(parsed.has_value()) << encoded;
    EXPECT_EQ(parsed.error(), failure::bad_encoding) << encoded;
  }
  // A protected bucket that is not a map, or not CBOR at all.
  byte_vector not_map;
  ASSERT_TRUE(from_hex("d2844101a0404040", not_map));
  EXPECT_EQ(parse(not_map).error(), failure::bad_encoding);
  byte_vector not_cbor;
  ASSERT_TRUE(from_hex("d2844118a0404040", not_cbor));
  EXPECT_EQ(parse(not_cbor).error(), failure::bad_encoding);
}

TEST(CoseStructure, DeepNestingIsRefused) {
  byte_vector deep(100, 0x81);
  deep.push_back(0x00);
  EXPECT_EQ(parse(deep).error(), failure::too_deep);
}

TEST(CoseEncrypt0, AllAlgorithmsRoundTrip) {
  deterministic_random random(42);
  for (auto [alg, size] : {std::pair{crypto::algorithm::a128gcm, std::size_t{16}},
                           std::pair{crypto::algorithm::a256gcm, std::size_t{32}},
                           std::pair{crypto::algorithm::aes_ccm_16_64_128, std::size_t{16}}}) {
    crypto::key key = crypto::key::generate_symmetric(size, random);
    const byte_vector aad = to_bytes("aad");
    protect_options options;
    options.external_aad = aad;
    auto encrypted = encrypt0(alg, key, payload, random, options);
    ASSERT_TRUE(encrypted.has_value());
    auto msg = parse(*encrypted);
    ASSERT_TRUE(msg.has_value());
    EXPECT_EQ(msg->type, message_type::encrypt0);
    ASSERT_TRUE(msg->header.iv.has_value());
    EXPECT_EQ(*decrypt(*msg, key, to_bytes("aad")), payload);
    EXPECT_EQ(decrypt(*msg, key).error(), failure::decryption_failed);
    EXPECT_EQ(decrypt(*msg, crypto::key::generate_symmetric(size, random), to_bytes("aad")).error(),
              failure::decryption_failed);
    message tampered = *msg;
    tampered.content.back() ^= 0x01;
    EXPECT_EQ(decrypt(tampered, key, to_bytes("aad")).error(), failure::decryption_failed);
    message short_iv = *msg;
    short_iv.header.iv->pop_back();
    EXPECT_EQ(decrypt(short_iv, key, to_bytes("aad")).error(), failure::bad_encoding);
  }
  // An AES-128 key cannot be used for A256GCM, nor an Ed25519 key for anything here.
  EXPECT_EQ(encrypt0(crypto::algorithm::a256gcm, crypto::key::generate_symmetric(16, random),
                     payload, random)
                .error(),
            failure::algorithm_not_allowed);
  EXPECT_EQ(encrypt0(crypto::algorithm::a128gcm, crypto::key::generate_ed25519(), payload, random)
                .error(),
            failure::algorithm_not_allowed);
}

TEST(CoseStructures, ExactlyAsRfc9052) {
  const byte_vector protected_bytes = {0xa1, 0x01, 0x26};
  EXPECT_EQ(to_hex(sig_structure(protected_bytes, {}, to_bytes("hi"))),
            "846a5369676e61747572653143a10126404268"
            "69");
  EXPECT_EQ(to_hex(mac_structure(protected_bytes, byte_vector{0x01}, to_bytes("hi"))),
            "84644d41433043a101264101426869");
  EXPECT_EQ(to_hex(enc_structure(protected_bytes, {})), "8368456e63727970743043a1012640");
}

}  // namespace
}  // namespace acemq::token::cose
