#pragma once
// Randomness is injected (conventions 3). Production code uses the operating system's CSPRNG
// through OpenSSL; tests may use a deterministic source.

#include <cstdint>
#include <span>

#include "acemq/common/bytes.hpp"

namespace acemq {

class random_source {
 public:
  virtual ~random_source() = default;
  /// Fills `out` with random bytes. Never fails silently: a CSPRNG failure aborts the process,
  /// because continuing with predictable nonces or keys is worse than stopping.
  virtual void fill(std::span<std::uint8_t> out) = 0;

  byte_vector bytes(std::size_t count) {
    byte_vector out(count);
    fill(out);
    return out;
  }
};

/// OpenSSL's RAND_bytes (seeded from the OS); thread-safe.
class system_random final : public random_source {
 public:
  void fill(std::span<std::uint8_t> out) override;
  static system_random& instance();
};

/// A deterministic xorshift stream for tests only: never use it for secrets.
class deterministic_random final : public random_source {
 public:
  explicit deterministic_random(std::uint64_t seed) : state_(seed ? seed : 0x9E3779B97F4A7C15ull) {}
  void fill(std::span<std::uint8_t> out) override;

 private:
  std::uint64_t state_;
};

}  // namespace acemq
