// message_home: a message released for the last time on another thread than the one that built
// it goes back to its builder's home and is freed there, within the home's bounds.

#include "acemq/broker/message_home.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace acemq::broker {
namespace {

message_ptr& itself(message_ptr& msg) {
  return msg;
}

// A message of `home` whose payload records the thread that frees it.
message_ptr message_of(message_home* home, std::size_t payload_bytes,
                       std::thread::id* freed_on = nullptr) {
  auto content = std::make_shared<message>();
  content->topic = "sensors/kitchen/temperature/celsius";
  content->payload = std::shared_ptr<const byte_vector>(
      new byte_vector(payload_bytes, std::uint8_t{7}), [freed_on](const byte_vector* bytes) {
        if (freed_on != nullptr) *freed_on = std::this_thread::get_id();
        delete bytes;
      });
  content->home = home;
  return content;
}

// Releases `released` on a thread of its own, as a subscriber's I/O thread does after a batch.
void release_on_another_thread(std::vector<message_ptr> released) {
  std::thread subscriber([&released] {
    message_home::give_back(released, itself);
    released.clear();
  });
  subscriber.join();
}

TEST(message_home, a_message_its_subscriber_releases_last_is_freed_by_its_home) {
  message_home& home = message_home::of_this_thread();
  home.collect();
  std::thread::id freed_on;
  std::vector<message_ptr> released{message_of(&home, 16, &freed_on)};
  release_on_another_thread(std::move(released));
  EXPECT_EQ(freed_on, std::thread::id{}) << "given back, not freed by the subscriber's thread";
  EXPECT_EQ(home.waiting(), 1U);
  home.collect();
  EXPECT_EQ(freed_on, std::this_thread::get_id());
  EXPECT_EQ(home.waiting(), 0U);
}

TEST(message_home, its_thread_frees_what_waits_once_enough_does) {
  message_home& home = message_home::of_this_thread();
  home.collect();
  std::vector<message_ptr> released;
  for (std::size_t i = 0; i + 1 < message_home::collect_at; ++i) {
    released.push_back(message_of(&home, 16));
  }
  release_on_another_thread(std::move(released));
  home.collect_if_due();
  EXPECT_EQ(home.waiting(), message_home::collect_at - 1);
  std::vector<message_ptr> one_more;
  one_more.push_back(message_of(&home, 16));
  release_on_another_thread(std::move(one_more));
  home.collect_if_due();
  EXPECT_EQ(home.waiting(), 0U);
}

TEST(message_home, a_message_released_on_its_own_thread_or_still_shared_is_not_given_back) {
  message_home& home = message_home::of_this_thread();
  home.collect();
  std::vector<message_ptr> here{message_of(&home, 16)};
  message_home::give_back(here, itself);
  EXPECT_NE(here[0], nullptr) << "released where it is, its home's thread";

  message_ptr queued_elsewhere = message_of(&home, 16);
  std::vector<message_ptr> shared{queued_elsewhere};
  release_on_another_thread(std::move(shared));
  EXPECT_EQ(home.waiting(), 0U) << "another queue still holds it";

  std::vector<message_ptr> unowned{message_of(nullptr, 16)};
  release_on_another_thread(std::move(unowned));
  EXPECT_EQ(home.waiting(), 0U);
}

TEST(message_home, never_holds_a_message_over_its_size_limit_or_with_forwarded_properties) {
  message_home& home = message_home::of_this_thread();
  home.collect();
  // The topic is 35 bytes.
  const std::size_t largest = message_home::size_limit - 35;
  std::thread::id large_freed_on;
  std::vector<message_ptr> released{message_of(&home, largest + 1, &large_freed_on),
                                    message_of(&home, largest)};
  auto forwarding = std::make_shared<message>();
  forwarding->topic = "t";
  forwarding->payload = std::make_shared<const byte_vector>();
  forwarding->home = &home;
  mqtt::properties user;
  user.user_properties.emplace_back("k", "v");
  forwarding->forwarded = forwarded_from(std::move(user));
  released.push_back(std::move(forwarding));
  // A stored copy's publisher client identifier counts too: one byte over with it.
  message_ptr stored = message_of(&home, largest);
  std::const_pointer_cast<message>(stored)->publisher_client_id = "c";
  released.push_back(std::move(stored));
  release_on_another_thread(std::move(released));
  EXPECT_EQ(home.waiting(), 1U) << "only the message within the limit";
  EXPECT_NE(large_freed_on, std::thread::id{});
  EXPECT_NE(large_freed_on, std::this_thread::get_id());
  home.collect();
}

TEST(message_home, a_full_home_leaves_the_rest_to_the_thread_that_releases_them) {
  message_home& home = message_home::of_this_thread();
  home.collect();
  std::vector<message_ptr> released;
  for (std::size_t i = 0; i < message_home::capacity; ++i)
    released.push_back(message_of(&home, 1));
  std::thread::id last_freed_on;
  released.push_back(message_of(&home, 1, &last_freed_on));
  release_on_another_thread(std::move(released));
  EXPECT_EQ(home.waiting(), message_home::capacity);
  EXPECT_NE(last_freed_on, std::thread::id{}) << "over the bound: freed by the releasing thread";
  EXPECT_NE(last_freed_on, std::this_thread::get_id());
  home.collect();
}

TEST(message_home, a_home_outlives_the_thread_it_was_made_for) {
  message_home* ended = nullptr;
  message_ptr built;
  std::thread publisher([&] {
    ended = &message_home::of_this_thread();
    built = message_of(ended, 16);
  });
  publisher.join();
  std::vector<message_ptr> released{std::move(built)};
  release_on_another_thread(std::move(released));
  EXPECT_EQ(ended->waiting(), 1U) << "held by the home its ended thread left";
  ended->collect();
  EXPECT_EQ(ended->waiting(), 0U);
}

}  // namespace
}  // namespace acemq::broker
