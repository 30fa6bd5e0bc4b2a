// Randomised round trips: thousands of valid packets of every type, built from a deterministic
// random stream, must encode to encoded_size() bytes and decode back to an equal packet. This
// covers the encoder the way the fuzz target covers the decoder.

#include <acemq/common/random.hpp>
#include <acemq/mqtt/decode.hpp>
#include <acemq/mqtt/encode.hpp>

#include "test_util.hpp"

#include <array>

namespace acemq::mqtt {
namespace {

class packet_generator {
 public:
  explicit packet_generator(std::uint64_t seed) : random_(seed) {}

  std::uint32_t below(std::uint32_t bound) {
    std::array<std::uint8_t, 4> raw{};
    random_.fill(raw);
    const std::uint32_t value = (std::uint32_t{raw[0]} << 24) | (std::uint32_t{raw[1]} << 16) |
                                (std::uint32_t{raw[2]} << 8) | raw[3];
    return value % bound;
  }
  bool coin() { return below(2) == 1; }
  std::uint8_t qos() { return static_cast<std::uint8_t>(below(3)); }
  std::uint16_t nonzero_u16() { return static_cast<std::uint16_t>(1 + below(65535)); }
  std::uint16_t any_u16() { return static_cast<std::uint16_t>(below(65536)); }
  std::uint32_t any_u32() { return below(0xFFFFFFFFU); }

  // Non-empty, no wildcards and no U+0000: valid as topic name, filter and string.
  std::string text(std::uint32_t max_length = 12) {
    static constexpr std::string_view alphabet = "abcXYZ019/-_$ \xC3\xA9";
    std::string out;
    const std::uint32_t length = 1 + below(max_length);
    while (out.size() < length) {
      const char c = alphabet[below(static_cast<std::uint32_t>(alphabet.size()) - 2)];
      out.push_back(c);
    }
    if (coin()) out += "\xC3\xA9";  // a two-byte UTF-8 character
    return out;
  }
  byte_vector binary(std::uint32_t max_length = 20) { return random_.bytes(below(max_length + 1)); }

  template <std::size_t N>
  reason_code pick(const std::array<std::uint8_t, N>& codes) {
    return static_cast<reason_code>(codes[below(N)]);
  }

  void user_properties(properties& p) {
    const std::uint32_t count = below(3);
    for (std::uint32_t i = 0; i < count; ++i)
      p.user_properties.emplace_back(text(), text());
  }
  void reason_string(properties& p) {
    if (coin()) p.reason_string = text(30);
    user_properties(p);
  }
  void message_properties(properties& p) {
    if (coin()) p.payload_format_indicator = static_cast<std::uint8_t>(below(2));
    if (coin()) p.message_expiry_interval = any_u32();
    if (coin()) p.content_type = text();
    if (coin()) p.response_topic = text();
    if (coin()) p.correlation_data = binary();
    user_properties(p);
  }

  connect make_connect(protocol_version version) {
    connect c;
    c.protocol_version = version;
    c.clean_start = coin();
    c.keep_alive = any_u16();
    c.client_id = coin() ? text(23) : "";
    if (coin()) {
      will_message will{text(), binary(), qos(), coin(), {}};
      if (version == protocol_version::v5) {
        message_properties(will.properties);
        if (coin()) will.properties.will_delay_interval = any_u32();
      }
      c.will = std::move(will);
    }
    if (coin()) c.username = text();
    // MQTT 3.1.1 needs a user name for a password [MQTT-3.1.2-22].
    if (coin() && (c.username || version == protocol_version::v5)) c.password = binary();
    if (version == protocol_version::v5) {
      properties& p = c.properties;
      if (coin()) p.session_expiry_interval = any_u32();
      if (coin()) {
        p.authentication_method = "ace";
        if (coin()) p.authentication_data = binary(64);
      }
      if (coin()) p.request_problem_information = static_cast<std::uint8_t>(below(2));
      if (coin()) p.request_response_information = static_cast<std::uint8_t>(below(2));
      if (coin()) p.receive_maximum = nonzero_u16();
      if (coin()) p.topic_alias_maximum = any_u16();
      if (coin()) p.maximum_packet_size = 1 + below(0xFFFFFFFEU);
      user_properties(p);
    }
    return c;
  }

  packet make(protocol_version version) {
    const bool is_v5 = version == protocol_version::v5;
    static constexpr std::array<std::uint8_t, 22> connack_codes{
        0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
        0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F};
    static constexpr std::array<std::uint8_t, 6> connack_v311_codes{0x00, 0x84, 0x85,
                                                                    0x88, 0x86, 0x87};
    static constexpr std::array<std::uint8_t, 9> puback_codes{0x00, 0x10, 0x80, 0x83, 0x87,
                                                              0x90, 0x91, 0x97, 0x99};
    static constexpr std::array<std::uint8_t, 2> pubrel_codes{0x00, 0x92};
    static constexpr std::array<std::uint8_t, 12> suback_codes{0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                                                               0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
    static constexpr std::array<std::uint8_t, 4> suback_v311_codes{0x00, 0x01, 0x02, 0x80};
    static constexpr std::array<std::uint8_t, 7> unsuback_codes{0x00, 0x11, 0x80, 0x83,
                                                                0x87, 0x8F, 0x91};
    static constexpr std::array<std::uint8_t, 8> disconnect_codes{0x00, 0x04, 0x80, 0x81,
                                                                  0x8E, 0x9C, 0xA0, 0xA2};
    static constexpr std::array<std::uint8_t, 3> auth_codes{0x00, 0x18, 0x19};

    const std::uint32_t kind = below(is_v5 ? 15 : 14);
    switch (kind) {
      case 0:
        return make_connect(version);
      case 1: {
        connack c{coin(), is_v5 ? pick(connack_codes) : pick(connack_v311_codes), {}};
        if (is_v5) {
          properties& p = c.properties;
          if (coin()) p.session_expiry_interval = any_u32();
          if (coin()) p.assigned_client_identifier = text(23);
          if (coin()) p.server_keep_alive = any_u16();
          if (coin()) p.response_information = text();
          if (coin()) p.server_reference = text();
          if (coin()) p.receive_maximum = nonzero_u16();
          if (coin()) p.topic_alias_maximum = any_u16();
          if (coin()) p.maximum_qos = static_cast<std::uint8_t>(below(2));
          if (coin()) p.retain_available = static_cast<std::uint8_t>(below(2));
          if (coin()) p.maximum_packet_size = 1 + below(1'000'000);
          if (coin()) p.wildcard_subscription_available = static_cast<std::uint8_t>(below(2));
          if (coin()) p.subscription_identifier_available = static_cast<std::uint8_t>(below(2));
          if (coin()) p.shared_subscription_available = static_cast<std::uint8_t>(below(2));
          reason_string(p);
        }
        return c;
      }
      case 2: {
        publish p;
        p.qos = qos();
        p.dup = p.qos > 0 && coin();
        p.retain = coin();
        p.topic = text(40);
        p.packet_id = p.qos > 0 ? nonzero_u16() : 0;
        if (is_v5) {
          message_properties(p.properties);
          if (coin()) {
            p.properties.topic_alias = nonzero_u16();
            if (coin()) p.topic.clear();
          }
          const std::uint32_t identifiers = below(3);
          for (std::uint32_t i = 0; i < identifiers; ++i) {
            p.properties.subscription_identifiers.push_back(1 + below(max_subscription_identifier));
          }
        }
        p.payload = std::make_shared<const byte_vector>(binary(coin() ? 300 : 10));
        return p;
      }
      case 3:
        return make_ack<puback>(is_v5, puback_codes);
      case 4:
        return make_ack<pubrec>(is_v5, puback_codes);
      case 5:
        return make_ack<pubrel>(is_v5, pubrel_codes);
      case 6:
        return make_ack<pubcomp>(is_v5, pubrel_codes);
      case 7: {
        subscribe s{nonzero_u16(), {}, {}};
        const std::uint32_t count = 1 + below(4);
        for (std::uint32_t i = 0; i < count; ++i) {
          subscription_options options;
          options.maximum_qos = qos();
          if (is_v5) {
            options.no_local = coin();
            options.retain_as_published = coin();
            options.retain_handling = static_cast<retain_handling>(below(3));
          }
          s.subscriptions.push_back({text(), options});
        }
        if (is_v5) {
          if (coin())
            s.properties.subscription_identifiers = {1 + below(max_subscription_identifier)};
          user_properties(s.properties);
        }
        return s;
      }
      case 8: {
        suback s{nonzero_u16(), {}, {}};
        const std::uint32_t count = 1 + below(4);
        for (std::uint32_t i = 0; i < count; ++i) {
          s.reason_codes.push_back(is_v5 ? pick(suback_codes) : pick(suback_v311_codes));
        }
        if (is_v5) reason_string(s.properties);
        return s;
      }
      case 9: {
        unsubscribe u{nonzero_u16(), {}, {}};
        const std::uint32_t count = 1 + below(4);
        for (std::uint32_t i = 0; i < count; ++i)
          u.filters.push_back(text());
        if (is_v5) user_properties(u.properties);
        return u;
      }
      case 10: {
        unsuback u{nonzero_u16(), {}, {}};
        if (is_v5) {
          const std::uint32_t count = 1 + below(4);
          for (std::uint32_t i = 0; i < count; ++i)
            u.reason_codes.push_back(pick(unsuback_codes));
          reason_string(u.properties);
        }
        return u;
      }
      case 11:
        return pingreq{};
      case 12:
        return pingresp{};
      case 13: {
        disconnect d;
        if (is_v5) {
          d.reason_code = pick(disconnect_codes);
          if (coin()) d.properties.session_expiry_interval = any_u32();
          if (coin()) d.properties.server_reference = text();
          reason_string(d.properties);
        }
        return d;
      }
      default: {
        auth a{pick(auth_codes), {}};
        if (coin()) {
          a.properties.authentication_method = "ace";
          if (coin()) a.properties.authentication_data = binary(64);
        }
        reason_string(a.properties);
        return a;
      }
    }
  }

 private:
  template <typename Ack, std::size_t N>
  Ack make_ack(bool is_v5, const std::array<std::uint8_t, N>& codes) {
    Ack a{nonzero_u16(), reason_code::success, {}};
    if (is_v5) {
      if (coin()) a.reason_code = pick(codes);
      reason_string(a.properties);
    }
    return a;
  }

  deterministic_random random_;
};

class random_round_trip_test : public ::testing::TestWithParam<protocol_version> {};

INSTANTIATE_TEST_SUITE_P(both_versions, random_round_trip_test,
                         ::testing::Values(protocol_version::v311, protocol_version::v5));

TEST_P(random_round_trip_test, three_thousand_packets) {
  packet_generator generator(GetParam() == protocol_version::v5 ? 0x5EED5 : 0x5EED4);
  byte_vector wire;
  std::array<int, 16> seen{};
  for (int i = 0; i < 3000; ++i) {
    const packet original = generator.make(GetParam());
    ++seen[static_cast<std::size_t>(type_of(original))];
    wire.clear();
    encode(original, GetParam(), wire);
    ASSERT_EQ(wire.size(), encoded_size(original, GetParam())) << "packet " << i;
    auto decoded = decode(wire, GetParam());
    ASSERT_TRUE(decoded) << "packet " << i << " type " << to_string(type_of(original)) << ": "
                         << to_string(decoded.error()) << " wire " << to_hex(wire);
    ASSERT_TRUE(*decoded == original) << "packet " << i << " wire " << to_hex(wire);
  }
  // Every packet type of the version was generated.
  const int types = GetParam() == protocol_version::v5 ? 15 : 14;
  for (int type = 1; type <= types; ++type)
    EXPECT_GT(seen[static_cast<std::size_t>(type)], 0);
}

}  // namespace
}  // namespace acemq::mqtt
