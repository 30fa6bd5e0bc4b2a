#include "acemq/common/clock.hpp"

#include <time.h>

namespace acemq {

std::int64_t system_clock::unix_seconds() const {
  // Whole seconds only (token claims are NumericDate): the coarse clock, which the kernel keeps
  // at its tick (a few milliseconds) and the vDSO reads without the time-stamp counter. An ACE
  // principal reads it on every PUBLISH and every delivery (RFC 9431 4).
  // It cannot fail: the clock exists on every Linux this builds for and `now` is valid.
  timespec now{};
  clock_gettime(CLOCK_REALTIME_COARSE, &now);
  return static_cast<std::int64_t>(now.tv_sec);
}

system_clock& system_clock::instance() {
  static system_clock clock;
  return clock;
}

}  // namespace acemq
