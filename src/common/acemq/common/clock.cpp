#include "acemq/common/clock.hpp"

namespace acemq {

std::int64_t system_clock::unix_seconds() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

system_clock& system_clock::instance() {
  static system_clock clock;
  return clock;
}

}  // namespace acemq
