// outbound_queue: batching, payload references versus copies, and the two alternating batches.

#include <acemq/client/outbound_queue.hpp>

#include <gtest/gtest.h>

#include <memory>

namespace acemq::client {
namespace {

std::shared_ptr<const byte_vector> payload_of(std::size_t size, std::uint8_t fill) {
  return std::make_shared<const byte_vector>(size, fill);
}

byte_vector concatenate(std::span<const byte_view> views) {
  byte_vector out;
  for (const byte_view v : views)
    out.insert(out.end(), v.begin(), v.end());
  return out;
}

TEST(outbound_queue, small_payloads_are_copied_into_one_contiguous_buffer) {
  outbound_queue queue(16);
  queue.bytes().push_back(0xA1);
  queue.append_payload(payload_of(4, 0x11));
  queue.bytes().push_back(0xA2);
  queue.append_payload(payload_of(16, 0x22));
  EXPECT_EQ(queue.pending_bytes(), 22U);
  const auto views = queue.begin_write();
  ASSERT_EQ(views.size(), 1U);
  EXPECT_EQ(views[0].size(), 22U);
  EXPECT_EQ(views[0][0], 0xA1);
  EXPECT_EQ(views[0][1], 0x11);
  EXPECT_EQ(views[0][5], 0xA2);
}

TEST(outbound_queue, large_payloads_are_referenced_not_copied) {
  outbound_queue queue(16);
  const auto big = payload_of(1000, 0x33);
  queue.bytes().push_back(0x01);
  queue.append_payload(big);
  queue.bytes().push_back(0x02);
  queue.append_payload(big);
  const auto views = queue.begin_write();
  ASSERT_EQ(views.size(), 4U);
  EXPECT_EQ(views[1].data(), big->data());  // the same bytes, not a copy
  EXPECT_EQ(views[3].data(), big->data());
  EXPECT_EQ(views[0].size(), 1U);
  EXPECT_EQ(views[2].size(), 1U);
  EXPECT_EQ(concatenate(views).size(), 2002U);
}

TEST(outbound_queue, empty_and_null_payloads_add_nothing) {
  outbound_queue queue(0);
  queue.append_payload(nullptr);
  queue.append_payload(payload_of(0, 0));
  EXPECT_FALSE(queue.has_pending());
}

TEST(outbound_queue, appends_during_a_write_go_to_the_next_batch) {
  outbound_queue queue(16);
  queue.bytes().push_back(0x01);
  const auto first = queue.begin_write();
  ASSERT_EQ(first.size(), 1U);
  EXPECT_TRUE(queue.writing());
  EXPECT_FALSE(queue.has_pending());
  queue.bytes().push_back(0x02);
  queue.bytes().push_back(0x03);
  EXPECT_EQ(queue.pending_bytes(), 2U);
  EXPECT_EQ(first[0][0], 0x01);  // the batch being written is untouched
  queue.end_write();
  EXPECT_FALSE(queue.writing());
  const auto second = queue.begin_write();
  EXPECT_EQ(concatenate(second), (byte_vector{0x02, 0x03}));
  queue.end_write();
  EXPECT_FALSE(queue.has_pending());
}

TEST(outbound_queue, written_payload_references_are_released) {
  outbound_queue queue(0);
  auto payload = payload_of(10, 0x44);
  queue.append_payload(payload);
  EXPECT_EQ(payload.use_count(), 2);
  (void)queue.begin_write();
  queue.end_write();
  EXPECT_EQ(payload.use_count(), 1);
}

TEST(outbound_queue, clear_drops_everything) {
  outbound_queue queue(0);
  queue.bytes().push_back(1);
  (void)queue.begin_write();
  queue.bytes().push_back(2);
  queue.clear();
  EXPECT_FALSE(queue.writing());
  EXPECT_FALSE(queue.has_pending());
}

}  // namespace
}  // namespace acemq::client
