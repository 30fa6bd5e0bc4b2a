// match() on the publish path must not allocate. This binary replaces the global allocation
// functions with counting ones (forwarding to malloc/free), so it is kept apart from the other
// tests.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "acemq/broker/subscription_tree.hpp"

namespace {
std::atomic<std::size_t> allocations{0};

void* counted_allocation(std::size_t size) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size == 0 ? 1 : size);
}
}  // namespace

void* operator new(std::size_t size) {
  if (void* p = counted_allocation(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = counted_allocation(size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return counted_allocation(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return counted_allocation(size);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace acemq::broker {
namespace {

TEST(SubscriptionTreeAllocation, MatchDoesNotAllocate) {
  subscription_tree tree;
  for (subscriber_id id = 0; id < 200; ++id) {
    const std::string n = std::to_string(id);
    tree.subscribe("site/" + n + "/device/+/telemetry", id, {});
    tree.subscribe("site/" + n + "/#", id, {});
    tree.subscribe("$share/workers/site/" + n + "/cmd", id, {});
  }
  tree.subscribe("#", 1000, {});
  tree.subscribe("+/+/device/#", 1001, {});
  const std::string topics[] = {"site/17/device/a/telemetry", "site/17/cmd", "other//x", "$SYS/y"};

  std::size_t visited = 0;
  const std::size_t before = allocations.load();
  for (int round = 0; round < 100; ++round) {
    for (const std::string& topic : topics) {
      tree.match(topic, [&](subscriber_id, const subscription_options&, bool) { ++visited; });
      tree.match_with_filter(
          topic, [&](subscriber_id, const subscription_options&, bool) { ++visited; },
          [](subscriber_id id) { return id % 2 == 0; });
      tree.match_with_fallback(
          topic, [&](subscriber_id, const subscription_options&, bool) { ++visited; },
          [](subscriber_id) { return false; },
          [&](subscriber_id, const subscription_options&) { ++visited; });
    }
  }
  const std::size_t during = allocations.load() - before;
  EXPECT_EQ(during, 0u);
  EXPECT_GT(visited, 1000u);

  // The counter works: a subscribe does allocate.
  tree.subscribe("new/filter", 1, {});
  EXPECT_GT(allocations.load() - before, 0u);
}

}  // namespace
}  // namespace acemq::broker
