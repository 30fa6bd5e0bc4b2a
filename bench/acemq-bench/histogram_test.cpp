// latency_histogram: exact small values, bounded relative error, percentiles, merge, clamping.

#include "histogram.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace acemq::bench {
namespace {

TEST(latency_histogram, values_below_2048_are_exact) {
  for (std::uint64_t v = 0; v < 2048; ++v) {
    EXPECT_EQ(latency_histogram::highest_value_of(latency_histogram::index_of(v)), v);
  }
}

TEST(latency_histogram, larger_values_keep_three_significant_digits) {
  for (std::uint64_t v = 2048; v < latency_histogram::max_trackable; v = v * 3 + 7) {
    const std::uint64_t high = latency_histogram::highest_value_of(latency_histogram::index_of(v));
    EXPECT_GE(high, v);
    EXPECT_LE(static_cast<double>(high - v), static_cast<double>(v) / 1000.0) << v;
  }
}

TEST(latency_histogram, indices_are_monotonic_and_bucket_bounds_are_consistent) {
  std::size_t previous = 0;
  for (std::uint64_t v = 1; v < (std::uint64_t{1} << 24); v += 97) {
    const std::size_t index = latency_histogram::index_of(v);
    EXPECT_GE(index, previous);
    previous = index;
    EXPECT_EQ(latency_histogram::index_of(latency_histogram::highest_value_of(index)), index);
  }
}

TEST(latency_histogram, percentiles_of_a_uniform_distribution) {
  latency_histogram h;
  for (std::uint64_t v = 1; v <= 100'000; ++v)
    h.record(v * 1000);  // 1 us .. 100 ms
  EXPECT_EQ(h.count(), 100'000U);
  EXPECT_EQ(h.min(), 1000U);
  EXPECT_EQ(h.max(), 100'000'000U);
  EXPECT_NEAR(static_cast<double>(h.value_at_percentile(50)), 50e6, 50e6 * 0.001);
  EXPECT_NEAR(static_cast<double>(h.value_at_percentile(99)), 99e6, 99e6 * 0.001);
  EXPECT_NEAR(static_cast<double>(h.value_at_percentile(99.9)), 99.9e6, 99.9e6 * 0.001);
  EXPECT_EQ(h.value_at_percentile(100), h.max());
  EXPECT_NEAR(h.mean(), 50'000'500.0, 1.0);
}

TEST(latency_histogram, a_single_outlier_shows_only_at_the_top) {
  latency_histogram h;
  for (int i = 0; i < 999; ++i)
    h.record(100);
  h.record(1'000'000);
  EXPECT_EQ(h.value_at_percentile(99.9), 100U);
  EXPECT_GE(h.value_at_percentile(99.95), 999'000U);
}

TEST(latency_histogram, merge_adds_counts) {
  latency_histogram a;
  latency_histogram b;
  a.record(10);
  b.record(20);
  b.record(30);
  a.merge(b);
  EXPECT_EQ(a.count(), 3U);
  EXPECT_EQ(a.min(), 10U);
  EXPECT_EQ(a.max(), 30U);
  EXPECT_EQ(a.value_at_percentile(50), 20U);
}

TEST(latency_histogram, empty_and_out_of_range) {
  latency_histogram h;
  EXPECT_EQ(h.value_at_percentile(99), 0U);
  EXPECT_EQ(h.min(), 0U);
  h.record(~std::uint64_t{0});
  EXPECT_EQ(h.max(), latency_histogram::max_trackable);
  h.clear();
  EXPECT_EQ(h.count(), 0U);
}

}  // namespace
}  // namespace acemq::bench
