// The completion relay (completion_relay.hpp) that carries an authentication step or an
// interceptor's verdict back to the connection's thread: delivered once, on the connection's
// thread, never after the connection ended, and never for a call a newer one replaced.

#include "acemq/broker/completion_relay.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness.hpp"

namespace acemq::broker::testing {
namespace {

using relay = completion_relay<std::string>;

class completion_relay_test : public ::testing::Test {
 protected:
  /// Runs what was posted to the connection's thread, as the transport would.
  void run_posted() {
    while (!io.tasks.empty()) {
      auto task = std::move(io.tasks.front());
      io.tasks.pop_front();
      task();
    }
  }

  /// Starts a call that keeps its completion for later (an asynchronous provider).
  void start_call() {
    subject->run([this](relay::completion done) { held.push_back(std::move(done)); },
                 [this](std::string result) {
                   received.push_back(std::move(result));
                   threads.push_back(std::this_thread::get_id());
                 });
  }

  fake_io io;
  std::shared_ptr<relay> subject = std::make_shared<relay>(&io);
  std::vector<relay::completion> held;
  std::vector<std::string> received;
  std::vector<std::thread::id> threads;
};

TEST_F(completion_relay_test, completion_inside_the_call_is_delivered_after_it_without_a_post) {
  bool returned = false;
  subject->run(
      [&](relay::completion done) {
        done("at once");
        // Not delivered while the provider is still on the stack.
        EXPECT_TRUE(received.empty());
        returned = true;
      },
      [&](std::string result) {
        EXPECT_TRUE(returned);
        received.push_back(std::move(result));
      });
  EXPECT_EQ(received, std::vector<std::string>{"at once"});
  EXPECT_TRUE(io.tasks.empty());
}

TEST_F(completion_relay_test, later_completion_is_posted_and_delivered_on_the_connection_thread) {
  start_call();
  ASSERT_EQ(held.size(), 1u);
  std::thread provider([this] { held[0]("later"); });
  provider.join();
  EXPECT_TRUE(received.empty());  // only posted so far
  ASSERT_EQ(io.tasks.size(), 1u);
  run_posted();
  EXPECT_EQ(received, std::vector<std::string>{"later"});
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads[0], std::this_thread::get_id());
}

TEST_F(completion_relay_test, completion_after_the_connection_ended_is_not_delivered) {
  start_call();
  subject->detach();
  held[0]("too late");
  run_posted();
  EXPECT_TRUE(received.empty());
  EXPECT_TRUE(io.tasks.empty());  // nothing even posted
}

TEST_F(completion_relay_test, completion_posted_before_the_connection_ended_is_not_delivered) {
  start_call();
  held[0]("in the queue");
  ASSERT_EQ(io.tasks.size(), 1u);
  subject->detach();  // the connection ends before its thread runs the posted task
  run_posted();
  EXPECT_TRUE(received.empty());
}

TEST_F(completion_relay_test, completion_outlives_the_relay_owner) {
  start_call();
  subject->detach();
  subject.reset();  // the connection and its reference are gone; the provider still holds one
  held[0]("orphan");
  run_posted();
  EXPECT_TRUE(received.empty());
}

TEST_F(completion_relay_test, completion_after_the_transport_closed_is_not_posted) {
  start_call();
  subject->transport_closed();
  held[0]("no transport");
  EXPECT_TRUE(io.tasks.empty());
  EXPECT_TRUE(received.empty());
}

TEST_F(completion_relay_test, repeated_completion_is_delivered_once) {
  start_call();
  held[0]("first");
  held[0]("second");
  run_posted();
  held[0]("third");
  run_posted();
  EXPECT_EQ(received, std::vector<std::string>{"first"});
}

TEST_F(completion_relay_test, repeated_completion_inside_the_call_is_delivered_once) {
  subject->run(
      [](relay::completion done) {
        done("first");
        done("second");
      },
      [&](std::string result) { received.push_back(std::move(result)); });
  run_posted();
  EXPECT_EQ(received, std::vector<std::string>{"first"});
}

TEST_F(completion_relay_test, completion_of_a_replaced_call_is_dropped) {
  start_call();
  held[0]("first call");
  start_call();  // e.g. the next step of an exchange, before the first task ran
  run_posted();
  held[0]("first call again");
  held[1]("second call");
  run_posted();
  EXPECT_EQ(received, std::vector<std::string>{"second call"});
}

TEST_F(completion_relay_test, each_call_gets_its_own_completion) {
  start_call();
  held[0]("one");
  run_posted();
  start_call();
  held[1]("two");
  run_posted();
  EXPECT_EQ(received, (std::vector<std::string>{"one", "two"}));
}

}  // namespace
}  // namespace acemq::broker::testing
