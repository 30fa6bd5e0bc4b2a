#pragma once
// A log-linear latency histogram in the style of HdrHistogram: values below 2048 are exact, larger
// ones fall into buckets whose width is 1/1024 of their magnitude, so every recorded value is kept
// to three significant digits with a fixed, bounded amount of memory (about 250 KiB) and
// recording is a couple of shifts and one increment.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace acemq::bench {

/// Counts of non-negative integer values (nanoseconds, for latencies) up to max_trackable.
class latency_histogram {
 public:
  /// Values above this (about 18 minutes in nanoseconds) are counted as max_trackable.
  static constexpr std::uint64_t max_trackable = (std::uint64_t{1} << 40) - 1;

  latency_histogram();

  void record(std::uint64_t value) noexcept;
  /// Adds the counts of `other` (same layout).
  void merge(const latency_histogram& other) noexcept;
  void clear() noexcept;

  std::uint64_t count() const noexcept { return total_; }
  std::uint64_t min() const noexcept { return total_ == 0 ? 0 : min_; }
  std::uint64_t max() const noexcept { return max_; }
  double mean() const noexcept;

  /// The smallest value v such that at least `percentile`% of the recorded values are <= v, to
  /// the resolution of the buckets (the highest value the bucket holds, capped at max()). 0 when
  /// empty. `percentile` in [0, 100].
  std::uint64_t value_at_percentile(double percentile) const noexcept;

  /// Bucket index of a value and the highest value of a bucket (exposed for tests).
  static std::size_t index_of(std::uint64_t value) noexcept;
  static std::uint64_t highest_value_of(std::size_t index) noexcept;

 private:
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  std::uint64_t min_ = ~std::uint64_t{0};
  std::uint64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace acemq::bench
