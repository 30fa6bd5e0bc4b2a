#include "histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace acemq::bench {

namespace {
// 2^11 exact values, then buckets of 1024 sub-buckets per power of two.
constexpr unsigned exact_bits = 11;
constexpr std::uint64_t exact_limit = std::uint64_t{1} << exact_bits;  // 2048
constexpr std::uint64_t sub_buckets = exact_limit / 2;                 // 1024
constexpr unsigned max_bits = 40;
constexpr std::size_t bucket_count = exact_limit + (max_bits - exact_bits) * sub_buckets;
}  // namespace

latency_histogram::latency_histogram() : counts_(bucket_count, 0) {}

std::size_t latency_histogram::index_of(std::uint64_t value) noexcept {
  value = std::min(value, max_trackable);
  if (value < exact_limit) return static_cast<std::size_t>(value);
  const unsigned shift = static_cast<unsigned>(std::bit_width(value)) - exact_bits;  // >= 1
  const std::uint64_t top = value >> shift;  // in [1024, 2048)
  return static_cast<std::size_t>(exact_limit + (shift - 1) * sub_buckets + (top - sub_buckets));
}

std::uint64_t latency_histogram::highest_value_of(std::size_t index) noexcept {
  if (index < exact_limit) return index;
  const std::size_t above = index - exact_limit;
  const unsigned shift = static_cast<unsigned>(above / sub_buckets) + 1;
  const std::uint64_t top = sub_buckets + above % sub_buckets;
  return ((top + 1) << shift) - 1;
}

void latency_histogram::record(std::uint64_t value) noexcept {
  value = std::min(value, max_trackable);
  ++counts_[index_of(value)];
  ++total_;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<long double>(value);
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
  for (std::size_t i = 0; i < counts_.size(); ++i)
    counts_[i] += other.counts_[i];
  total_ += other.total_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void latency_histogram::clear() noexcept {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
  min_ = ~std::uint64_t{0};
  max_ = 0;
  sum_ = 0;
}

double latency_histogram::mean() const noexcept {
  return total_ == 0 ? 0.0 : static_cast<double>(sum_ / static_cast<long double>(total_));
}

std::uint64_t latency_histogram::value_at_percentile(double percentile) const noexcept {
  if (total_ == 0) return 0;
  percentile = std::clamp(percentile, 0.0, 100.0);
  // The tolerance keeps 99.9% of 1000 at 999 although 99.9 / 100 * 1000 is 999.0000000000001.
  const double exact = percentile / 100.0 * static_cast<double>(total_);
  const auto wanted =
      std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(exact * (1 - 1e-12))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= wanted) return std::min(highest_value_of(i), max_);
  }
  return max_;
}

}  // namespace acemq::bench
