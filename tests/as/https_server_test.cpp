// The HTTPS front's pure helpers: the key under which connection slots are counted per address.

#include <gtest/gtest.h>

#include "acemq/as/https_server.hpp"

namespace acemq::as {
namespace {

TEST(ConnectionSlotKey, Ipv4AddressIsItsOwnKey) {
  EXPECT_EQ(connection_slot_key("192.0.2.7"), "192.0.2.7");
  EXPECT_NE(connection_slot_key("192.0.2.7"), connection_slot_key("192.0.2.8"));
}

TEST(ConnectionSlotKey, Ipv6AddressesOfOneSlash64ShareAKey) {
  // An attacker holding 2001:db8:1:2::/64 picks a new source address per connection.
  const auto key = connection_slot_key("2001:db8:1:2::1");
  EXPECT_EQ(key, "2001:db8:1:2::/64");
  EXPECT_EQ(connection_slot_key("2001:db8:1:2:ffff:ffff:ffff:ffff"), key);
  EXPECT_EQ(connection_slot_key("2001:db8:1:2:a:b:c:d"), key);
}

TEST(ConnectionSlotKey, NeighbouringSlash64sAreCountedApart) {
  EXPECT_NE(connection_slot_key("2001:db8:1:2::1"), connection_slot_key("2001:db8:1:3::1"));
  EXPECT_NE(connection_slot_key("2001:db8:1:2::1"), connection_slot_key("2001:db9:1:2::1"));
}

TEST(ConnectionSlotKey, Ipv4MappedIpv6IsCountedAsIpv4) {
  // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d: one key per IPv4 address, the
  // same as on an IPv4 listener, not one /64 (::ffff:0:0/96) for every IPv4 host.
  EXPECT_EQ(connection_slot_key("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_NE(connection_slot_key("::ffff:192.0.2.7"), connection_slot_key("::ffff:192.0.2.8"));
}

TEST(ConnectionSlotKey, LoopbackAndScopedAddresses) {
  EXPECT_EQ(connection_slot_key("::1"), "::/64");
  // A link-local address's scope names an interface, not a host: the prefix is the key.
  EXPECT_EQ(connection_slot_key("fe80::1%1"), "fe80::/64");
}

TEST(ConnectionSlotKey, TextThatIsNoAddressIsItsOwnKey) {
  EXPECT_EQ(connection_slot_key("not an address"), "not an address");
  EXPECT_EQ(connection_slot_key(""), "");
}

}  // namespace
}  // namespace acemq::as
