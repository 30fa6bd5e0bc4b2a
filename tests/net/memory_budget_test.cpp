// The per-connection memory budget of the network layer (docs/memory.md): the size of each
// transport's connection object, which an idle connection holds on the heap for its whole life.
// A change that grows one fails here; docs/memory.md says what each byte is for, and a new
// figure there (with a measurement of the idle connection) comes with a new budget here.

#include <gtest/gtest.h>

#include <iostream>

#include "acemq/net/connection_base.hpp"

namespace acemq::net::detail {
namespace {

TEST(memory_budget, the_transport_independent_part_of_a_connection) {
  EXPECT_LE(sizeof(connection_base), 144U) << "docs/memory.md";
}

TEST(memory_budget, each_transports_connection_object) {
  std::cout << "connection_base " << sizeof(connection_base) << ", tcp " << tcp_connection_size()
            << ", tls " << tls_connection_size() << ", ws " << websocket_connection_size(false)
            << ", wss " << websocket_connection_size(true) << " bytes\n";
  EXPECT_LE(tcp_connection_size(), 184U) << "docs/memory.md";
  EXPECT_LE(tls_connection_size(), 288U) << "docs/memory.md";
  EXPECT_LE(websocket_connection_size(false), 528U) << "docs/memory.md";
  EXPECT_LE(websocket_connection_size(true), 528U) << "docs/memory.md";
}

}  // namespace
}  // namespace acemq::net::detail
