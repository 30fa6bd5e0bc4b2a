// The authorization checks run on every PUBLISH, SUBSCRIBE and delivery: they must not allocate.
// This binary counts every global operator new and asserts that the checks make none.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "acemq/token/scope/aif.hpp"

namespace {
std::atomic<std::size_t> allocation_count{0};
}  // namespace

void* operator new(std::size_t size) {
  allocation_count.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  allocation_count.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
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

namespace acemq::token::scope {
namespace {

TEST(AifAllocation, CountingHookSeesAllocations) {
  const std::size_t before = allocation_count.load();
  // A direct call: a new-expression whose result is unused may be elided by an optimizing build.
  void* probe = ::operator new(sizeof(int));
  ::operator delete(probe);
  EXPECT_GT(allocation_count.load(), before);
}

TEST(AifAllocation, ChecksDoNotAllocate) {
  auto parsed = aif_scope::from_json(
      R"([["sensors/+/temperature",["pub"]],["sensors/#",["sub"]],["$SYS/broker/+",["sub"]],)"
      R"(["a/b/c/d/e/f/g/h",["pub","sub"]],["+/+/alarm",["sub","pub"]]])");
  ASSERT_TRUE(parsed.has_value());
  const aif_scope& scope = *parsed;
  // Long inputs defeat the small-string buffer, so a hidden std::string copy would show.
  constexpr std::string_view long_name =
      "sensors/a-very-long-device-identifier-that-does-not-fit-any-small-buffer/temperature";
  constexpr std::string_view long_filter =
      "sensors/a-very-long-device-identifier-that-does-not-fit-any-small-buffer/#";
  constexpr std::string_view shared = "$share/a-long-group-name-for-the-consumers/sensors/+/x";

  const std::size_t before = allocation_count.load();
  int allowed = 0;
  for (int i = 0; i < 100; ++i) {
    allowed += scope.allows_publish(long_name) ? 1 : 0;
    allowed += scope.allows_publish("a/b/c/d/e/f/g/h") ? 1 : 0;
    allowed += scope.allows_publish("not/allowed/anywhere/at/all") ? 1 : 0;
    allowed += scope.allows_subscribe(long_filter) ? 1 : 0;
    allowed += scope.allows_subscribe(shared) ? 1 : 0;
    allowed += scope.allows_subscribe("$SYS/broker/load") ? 1 : 0;
    allowed += scope.allows_subscribe("#") ? 1 : 0;
    allowed += scope.allows_delivery(long_name) ? 1 : 0;
    allowed += scope.allows_delivery("x/y/alarm") ? 1 : 0;
  }
  const std::size_t after = allocation_count.load();
  EXPECT_EQ(after, before);
  // publish long_name, publish a/b/..., subscribe long_filter, shared, $SYS, delivery x2.
  EXPECT_EQ(allowed, 100 * 7);
}

}  // namespace
}  // namespace acemq::token::scope
