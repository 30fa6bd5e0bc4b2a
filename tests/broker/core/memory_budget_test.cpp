// The per-connection memory budget of the broker core (docs/memory.md): the protocol machine and
// the session an idle connection holds. A change that grows one fails here; docs/memory.md says
// what each byte is for, and a new figure there comes with a new budget here.

#include <gtest/gtest.h>

#include <iostream>

#include "acemq/broker/connection.hpp"
#include "acemq/broker/message.hpp"
#include "acemq/broker/session.hpp"

namespace acemq::broker {
namespace {

TEST(memory_budget, the_protocol_machine_of_an_idle_connection) {
  std::cout << "connection " << sizeof(connection) << ", session " << sizeof(session) << " bytes\n";
  EXPECT_LE(sizeof(connection), 160U) << "docs/memory.md";
}

TEST(memory_budget, a_session) {
  EXPECT_LE(sizeof(session), 128U) << "docs/memory.md";
}

TEST(memory_budget, a_message_and_a_queued_delivery) {
  // Every queued, in-flight and retained message is one of these (plus its topic and payload):
  // the forwarded properties (472 bytes) are held apart, only by the messages that have them.
  EXPECT_LE(sizeof(message), 160U) << "docs/memory.md";
  EXPECT_LE(sizeof(delivery), 64U) << "docs/memory.md";
}

}  // namespace
}  // namespace acemq::broker
