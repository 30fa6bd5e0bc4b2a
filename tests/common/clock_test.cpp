// system_clock: the wall-clock seconds token claims are checked against.

#include "acemq/common/clock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

namespace acemq {
namespace {

std::int64_t precise_unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// unix_seconds() reads the kernel's coarse wall clock (one tick behind at most): the second it
// gives is the precise clock's, or the one before it when the read falls just after a change.
TEST(system_clock, unix_seconds_is_the_wall_clock_second) {
  for (int i = 0; i < 1000; ++i) {
    const std::int64_t before = precise_unix_seconds();
    const std::int64_t coarse = system_clock::instance().unix_seconds();
    const std::int64_t after = precise_unix_seconds();
    ASSERT_GE(coarse, before - 1);
    ASSERT_LE(coarse, after);
  }
}

}  // namespace
}  // namespace acemq
