#pragma once
// Time is injected (conventions 3): production code reads a clock interface, tests drive a
// manual clock in virtual time.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace acemq {

/// Monotonic time for timers, and wall-clock time (seconds since the epoch) for token claims.
class clock {
 public:
  using duration = std::chrono::steady_clock::duration;
  using time_point = std::chrono::steady_clock::time_point;

  virtual ~clock() = default;
  virtual time_point now() const = 0;
  /// Seconds since 1970-01-01T00:00:00Z (JWT/CWT NumericDate).
  virtual std::int64_t unix_seconds() const = 0;
};

/// The real clocks of the machine.
class system_clock final : public clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  std::int64_t unix_seconds() const override;
  static system_clock& instance();
};

/// A clock that only moves when told to; for tests in virtual time.
class manual_clock final : public clock {
 public:
  explicit manual_clock(std::int64_t unix_seconds_at_start = 1'700'000'000)
      : unix_start_(unix_seconds_at_start) {}
  time_point now() const override { return time_point(duration(ticks_.load())); }
  std::int64_t unix_seconds() const override {
    return unix_start_ +
           std::chrono::duration_cast<std::chrono::seconds>(duration(ticks_.load())).count();
  }
  void advance(duration by) { ticks_ += by.count(); }

 private:
  std::int64_t unix_start_;
  std::atomic<duration::rep> ticks_{0};
};

}  // namespace acemq
