// The rules the broker's and the client's protocol machines share: packet identifiers, the
// Receive Maximum default, the Keep Alive a Server Keep Alive replaces and the server's bound.

#include <acemq/mqtt/connection_rules.hpp>

#include <gtest/gtest.h>

namespace acemq::mqtt {
namespace {

TEST(connection_rules, packet_identifiers_wrap_to_one_never_zero) {
  // [MQTT-2.2.1-3]
  EXPECT_EQ(next_packet_id(1), 2);
  EXPECT_EQ(next_packet_id(65534), 65535);
  EXPECT_EQ(next_packet_id(65535), 1);
  EXPECT_EQ(next_packet_id(0), 1);
  // A smaller range (the client grows its table as it needs more identifiers).
  EXPECT_EQ(next_packet_id(254, 255), 255);
  EXPECT_EQ(next_packet_id(255, 255), 1);
  EXPECT_EQ(packet_ids_available, 65535u);
}

TEST(connection_rules, an_absent_receive_maximum_is_65535) {
  // MQTT 5.0 3.1.2.11.3 / 3.2.2.3.3
  EXPECT_EQ(receive_maximum_or_default(std::nullopt), 65535);
  EXPECT_EQ(receive_maximum_or_default(std::uint16_t{10}), 10);
}

TEST(connection_rules, the_server_keep_alive_replaces_the_requested_one) {
  // [MQTT-3.2.2-21]
  EXPECT_EQ(effective_keep_alive(60, std::nullopt), 60);
  EXPECT_EQ(effective_keep_alive(60, std::uint16_t{20}), 20);
  EXPECT_EQ(effective_keep_alive(60, std::uint16_t{0}), 0);
}

TEST(connection_rules, the_server_waits_one_and_a_half_keep_alive_periods) {
  // [MQTT-3.1.2-22]
  EXPECT_EQ(server_silence_bound(10), std::chrono::milliseconds(15000));
  EXPECT_EQ(server_silence_bound(1), std::chrono::milliseconds(1500));
  EXPECT_EQ(server_silence_bound(65535), std::chrono::milliseconds(98302500));
  EXPECT_EQ(server_silence_bound(0), std::chrono::milliseconds(0));
}

}  // namespace
}  // namespace acemq::mqtt
