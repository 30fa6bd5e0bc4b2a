// Malformed and illegal input after CONNECT: the connection answers with the precise reason code
// (v5 DISCONNECT) or closes (3.1.1), never crashes and never buffers beyond the bound.

#include "harness.hpp"

namespace acemq::broker::testing {
namespace {

using mqtt::protocol_version;
using mqtt::reason_code;

class malformed_test : public broker_test {
 protected:
  reason_code disconnect_reason_after(const byte_vector& bytes) {
    client& c = connected("m" + std::to_string(++count_));
    c.send_bytes(bytes);
    settle();
    EXPECT_TRUE(c.transport_closed());
    const auto notices = c.received_of<mqtt::disconnect>();
    return notices.empty() ? reason_code::success : notices.back().reason_code;
  }
  int count_ = 0;
};

TEST_F(malformed_test, publish_with_qos_3) {
  EXPECT_EQ(disconnect_reason_after({0x36, 0x05, 0x00, 0x01, 't', 0x00, 0x01}),
            reason_code::malformed_packet);
}

TEST_F(malformed_test, qos1_publish_with_packet_id_0) {
  EXPECT_EQ(disconnect_reason_after({0x32, 0x06, 0x00, 0x01, 't', 0x00, 0x00, 0x00}),
            reason_code::malformed_packet);
}

TEST_F(malformed_test, remaining_length_longer_than_four_bytes) {
  EXPECT_EQ(disconnect_reason_after({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}),
            reason_code::malformed_packet);
}

TEST_F(malformed_test, subscribe_with_wrong_fixed_header_flags) {
  // [MQTT-3.8.1-1]: SUBSCRIBE flags must be 0b0010.
  EXPECT_EQ(disconnect_reason_after({0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x01, 'a'}),
            reason_code::malformed_packet);
}

TEST_F(malformed_test, packet_type_zero) {
  EXPECT_EQ(disconnect_reason_after({0x00, 0x00}), reason_code::malformed_packet);
}

TEST_F(malformed_test, string_running_past_the_packet) {
  EXPECT_EQ(disconnect_reason_after({0x30, 0x04, 0x00, 0x09, 't', 't'}),
            reason_code::malformed_packet);
}

TEST_F(malformed_test, v311_auth_packet_closes) {
  client& c = connected("old", protocol_version::v311);
  c.send_bytes(byte_vector{0xF0, 0x00});
  settle();
  EXPECT_TRUE(c.transport_closed());
  EXPECT_TRUE(c.received().empty());
}

TEST_F(malformed_test, garbage_before_connect_closes_without_reply) {
  client& c = make_client();
  c.send_bytes(byte_vector{0xFF, 0xFF, 0xFF, 0xFF, 0xFF});
  settle();
  EXPECT_TRUE(c.transport_closed());
  EXPECT_TRUE(c.io().wire.empty());
}

TEST_F(malformed_test, oversized_connect_is_refused_before_its_body) {
  settings.maximum_packet_size = 256;
  client& c = make_client();
  // The fixed header announces 1000 bytes: refused at once.
  c.send_bytes(byte_vector{0x10, 0xE8, 0x07});
  settle();
  EXPECT_TRUE(c.transport_closed());
}

TEST_F(malformed_test, flood_during_authentication_is_bounded) {
  settings.maximum_packet_size = 256;
  // An authenticator that never answers keeps the connection authenticating.
  class silent final : public authenticator {
   public:
    std::string_view name() const override { return "silent"; }
    void start(const authentication_request&, completion done) override { held = std::move(done); }
    void continue_auth(const authentication_request&, completion) override {}
    void reauthenticate(const authentication_request&, completion) override {}
    completion held;
  };
  auto waiting = std::make_shared<silent>();
  providers = {waiting};
  client& c = make_client();
  c.send(connect_packet("flood"));
  const byte_vector ping{0xC0, 0x00};
  for (int i = 0; i < 200 && !c.io().close_requested; ++i)
    c.send_bytes(ping);
  EXPECT_TRUE(c.io().close_requested);  // more than one maximum packet size held back
  waiting->held = nullptr;
}

}  // namespace
}  // namespace acemq::broker::testing
