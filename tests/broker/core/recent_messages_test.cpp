// recent_messages: an I/O thread holds its last small messages so that they are freed where they
// were allocated, within a bound of messages and payload bytes.

#include "acemq/broker/recent_messages.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

namespace acemq::broker {
namespace {

// A message whose payload records the thread that frees it.
message_ptr message_of(std::size_t payload_bytes, std::thread::id* freed_on = nullptr) {
  auto content = std::make_shared<message>();
  content->topic = "sensors/kitchen/temperature/celsius";
  content->payload = std::shared_ptr<const byte_vector>(
      new byte_vector(payload_bytes, std::uint8_t{7}), [freed_on](const byte_vector* bytes) {
        if (freed_on != nullptr) *freed_on = std::this_thread::get_id();
        delete bytes;
      });
  return content;
}

TEST(recent_messages, holds_the_last_messages_and_releases_the_oldest) {
  recent_messages recent(3, 16);
  std::vector<std::weak_ptr<const message>> kept;
  for (int i = 0; i < 4; ++i) {
    message_ptr content = message_of(16);
    kept.push_back(content);
    recent.keep(std::move(content));
  }
  EXPECT_TRUE(kept[0].expired()) << "the fourth message takes the oldest one's place";
  EXPECT_FALSE(kept[1].expired());
  EXPECT_FALSE(kept[3].expired());
  EXPECT_EQ(recent.held(), 3U);
}

TEST(recent_messages, never_holds_a_payload_over_its_limit) {
  recent_messages recent(3, 16);
  message_ptr content = message_of(17);
  const std::weak_ptr<const message> large = content;
  recent.keep(std::move(content));
  EXPECT_TRUE(large.expired());
  EXPECT_EQ(recent.held(), 0U);
}

TEST(recent_messages, a_message_its_subscriber_let_go_first_is_freed_on_the_publishers_thread) {
  std::thread::id freed_on;
  const std::thread::id publisher = std::this_thread::get_id();
  recent_messages recent(2, 64);
  message_ptr content = message_of(16, &freed_on);
  message_ptr delivered = content;  // the subscriber's queue entry
  recent.keep(std::move(content));
  std::thread subscriber([taken = std::move(delivered)]() mutable { taken.reset(); });
  subscriber.join();
  EXPECT_EQ(freed_on, std::thread::id{}) << "still held by the publisher's thread";
  recent.keep(message_of(16));
  recent.keep(message_of(16));
  EXPECT_EQ(freed_on, publisher);
}

}  // namespace
}  // namespace acemq::broker
