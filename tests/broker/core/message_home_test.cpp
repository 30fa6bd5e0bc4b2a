// message_home: a message released for the last time on another thread than the one that built
// it goes back to its builder's home and is freed or built again there, within the home's bounds.

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

// This thread's home, holding nothing: what earlier tests left in it is freed.
message_home& emptied_home() {
  message_home& home = message_home::of_this_thread();
  home.collect();
  while (home.spare() > 0)
    home.make();
  return home;
}

// Releases `released` on a thread of its own, as a subscriber's I/O thread does after a batch.
void release_on_another_thread(std::vector<message_ptr> released) {
  std::thread subscriber([&released] {
    message_home::give_back(released, itself);
    released.clear();
  });
  subscriber.join();
}

TEST(message_home, a_message_its_subscriber_releases_last_goes_back_to_its_home) {
  message_home& home = emptied_home();
  std::thread::id freed_on;
  std::vector<message_ptr> released{message_of(&home, 16, &freed_on)};
  release_on_another_thread(std::move(released));
  EXPECT_EQ(freed_on, std::thread::id{}) << "given back, not freed by the subscriber's thread";
  EXPECT_EQ(home.waiting(), 1U);
  home.collect();
  EXPECT_EQ(home.waiting(), 0U);
  EXPECT_EQ(home.spare(), 1U) << "kept to be built again";
  home.make();  // built again: what it held is freed here
  EXPECT_EQ(freed_on, std::this_thread::get_id());
}

TEST(message_home, a_kept_message_is_built_again_with_its_topic_capacity_and_payload_buffer) {
  message_home& home = emptied_home();
  std::shared_ptr<message> built = home.make();
  EXPECT_EQ(built->home, &home);
  built->topic = "sensors/kitchen/temperature/celsius";
  built->payload = std::make_shared<byte_vector>(16, std::uint8_t{7});
  built->qos = 1;
  built->retain = true;
  built->publisher_session = 9;
  built->expires_at = clock::time_point{};
  const message* const object = built.get();
  const byte_vector* const buffer = built->payload.get();
  const std::size_t topic_capacity = built->topic.capacity();
  std::vector<message_ptr> released{std::move(built)};
  release_on_another_thread(std::move(released));
  home.collect();
  ASSERT_EQ(home.spare(), 1U);

  const std::shared_ptr<byte_vector> refill = home.spare_payload();
  EXPECT_EQ(refill.get(), buffer) << "the decoder refills the kept payload buffer";
  EXPECT_EQ(refill.use_count(), 1);
  const std::shared_ptr<message> again = home.make();
  EXPECT_EQ(again.get(), object);
  EXPECT_TRUE(again->topic.empty());
  EXPECT_GE(again->topic.capacity(), topic_capacity);
  EXPECT_EQ(again->payload, nullptr);
  EXPECT_EQ(again->qos, 0);
  EXPECT_FALSE(again->retain);
  EXPECT_EQ(again->publisher_session, 0U);
  EXPECT_FALSE(again->expires_at.has_value());
  EXPECT_EQ(again->home, &home);
  EXPECT_EQ(home.spare(), 0U);
  EXPECT_EQ(home.spare_payload(), nullptr) << "nothing kept";
}

TEST(message_home, a_payload_a_write_still_holds_is_not_refilled) {
  message_home& home = emptied_home();
  std::shared_ptr<message> built = home.make();
  built->topic = "t";
  built->payload = std::make_shared<byte_vector>(byte_vector{'a', 'b', 'c'});
  // A subscriber's gathered write still holds the payload after its queue released the message.
  const std::shared_ptr<const byte_vector> in_flight = built->payload;
  std::vector<message_ptr> released{std::move(built)};
  release_on_another_thread(std::move(released));
  home.collect();
  ASSERT_EQ(home.spare(), 1U);
  EXPECT_EQ(home.spare_payload(), nullptr);
  EXPECT_EQ(home.make()->payload, nullptr);
  EXPECT_EQ(*in_flight, (byte_vector{'a', 'b', 'c'}));
  EXPECT_EQ(in_flight.use_count(), 1);
}

TEST(message_home, keeps_at_most_its_spare_capacity_and_frees_the_rest) {
  message_home& home = emptied_home();
  std::vector<message_ptr> released;
  for (std::size_t i = 0; i < message_home::spare_capacity; ++i)
    released.push_back(message_of(&home, 1));
  std::thread::id beyond_freed_on;
  released.push_back(message_of(&home, 1, &beyond_freed_on));
  release_on_another_thread(std::move(released));
  home.collect();
  EXPECT_EQ(home.spare(), message_home::spare_capacity);
  EXPECT_EQ(beyond_freed_on, std::this_thread::get_id()) << "freed by its home's thread";
  emptied_home();
}

TEST(message_home, its_thread_collects_what_waits_once_enough_does) {
  message_home& home = emptied_home();
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

TEST(message_home, a_message_released_on_its_own_thread_is_kept_at_once_a_shared_one_not_at_all) {
  message_home& home = emptied_home();
  std::vector<message_ptr> here{message_of(&home, 16)};
  message_home::give_back(here, itself);
  EXPECT_EQ(here[0], nullptr);
  EXPECT_EQ(home.waiting(), 0U) << "no lock taken: its home is this thread's";
  EXPECT_EQ(home.spare(), 1U);

  message_ptr queued_elsewhere = message_of(&home, 16);
  std::vector<message_ptr> shared{queued_elsewhere};
  release_on_another_thread(std::move(shared));
  EXPECT_EQ(home.waiting(), 0U) << "another queue still holds it";

  std::vector<message_ptr> unowned{message_of(nullptr, 16)};
  release_on_another_thread(std::move(unowned));
  EXPECT_EQ(home.waiting(), 0U);
}

TEST(message_home, never_holds_a_message_over_its_size_limit_or_with_forwarded_properties) {
  message_home& home = emptied_home();
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
  // A short topic in a string that holds more: counted by what it holds (a kept message's topic
  // string has been the thread's PUBLISH topic, as long as the longest it decoded).
  message_ptr roomy = message_of(&home, 1);
  std::const_pointer_cast<message>(roomy)->topic.reserve(message_home::size_limit);
  released.push_back(std::move(roomy));
  release_on_another_thread(std::move(released));
  EXPECT_EQ(home.waiting(), 1U) << "only the message within the limit";
  EXPECT_NE(large_freed_on, std::thread::id{});
  EXPECT_NE(large_freed_on, std::this_thread::get_id());
  home.collect();
}

TEST(message_home, a_full_home_leaves_the_rest_to_the_thread_that_releases_them) {
  message_home& home = emptied_home();
  std::vector<message_ptr> released;
  for (std::size_t i = 0; i < message_home::capacity; ++i)
    released.push_back(message_of(&home, 1));
  std::thread::id last_freed_on;
  released.push_back(message_of(&home, 1, &last_freed_on));
  release_on_another_thread(std::move(released));
  EXPECT_EQ(home.waiting(), message_home::capacity);
  EXPECT_NE(last_freed_on, std::thread::id{}) << "over the bound: freed by the releasing thread";
  EXPECT_NE(last_freed_on, std::this_thread::get_id());
  emptied_home();
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
