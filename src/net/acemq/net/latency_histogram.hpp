#pragma once
// A fixed-bucket latency histogram for /metrics (Prometheus histogram semantics: cumulative
// buckets with upper bounds in seconds, a count and a sum). Lock-free, bounded, any thread.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace acemq::net {

class latency_histogram {
 public:
  /// Upper bounds of the buckets, in seconds (the +Inf bucket is implicit).
  static constexpr std::array<double, 14> bounds_seconds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0};

  /// Records one observation.
  void observe(std::chrono::nanoseconds elapsed) noexcept {
    const double seconds = std::chrono::duration<double>(elapsed).count();
    std::size_t index = 0;
    while (index < bounds_seconds.size() && seconds > bounds_seconds[index])
      ++index;
    buckets_[index].fetch_add(1, std::memory_order_relaxed);
    const auto nanoseconds = elapsed.count() < 0 ? 0 : elapsed.count();
    sum_nanoseconds_.fetch_add(static_cast<std::uint64_t>(nanoseconds), std::memory_order_relaxed);
  }

  /// Observations per bucket, not cumulative; the last one is above every bound.
  struct snapshot {
    std::array<std::uint64_t, bounds_seconds.size() + 1> buckets{};
    std::uint64_t count = 0;
    double sum_seconds = 0;
  };

  snapshot read() const noexcept {
    snapshot out;
    for (std::size_t i = 0; i < buckets_.size(); ++i) {
      out.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
      out.count += out.buckets[i];
    }
    out.sum_seconds =
        static_cast<double>(sum_nanoseconds_.load(std::memory_order_relaxed)) / 1'000'000'000.0;
    return out;
  }

 private:
  std::array<std::atomic<std::uint64_t>, bounds_seconds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_nanoseconds_{0};
};

}  // namespace acemq::net
