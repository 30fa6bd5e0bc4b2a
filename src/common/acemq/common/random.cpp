#include "acemq/common/random.hpp"

#include <openssl/rand.h>

#include <climits>
#include <cstdio>
#include <cstdlib>

namespace acemq {

void system_random::fill(std::span<std::uint8_t> out) {
  std::size_t offset = 0;
  while (offset < out.size()) {
    const std::size_t chunk = std::min<std::size_t>(out.size() - offset, INT_MAX);
    if (RAND_bytes(out.data() + offset, static_cast<int>(chunk)) != 1) {
      std::fputs("acemq: the CSPRNG failed; stopping rather than using weak randomness\n", stderr);
      std::abort();
    }
    offset += chunk;
  }
}

system_random& system_random::instance() {
  static system_random source;
  return source;
}

void deterministic_random::fill(std::span<std::uint8_t> out) {
  for (auto& byte : out) {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    byte = static_cast<std::uint8_t>(state_ >> 24);
  }
}

}  // namespace acemq
