#pragma once
// Hex helpers for test vectors.

#include <stdexcept>
#include <string_view>

#include "acemq/common/bytes.hpp"

namespace acemq::token::test {

inline byte_vector hex(std::string_view text) {
  byte_vector out;
  if (!from_hex(text, out)) throw std::invalid_argument("bad hex in a test vector");
  return out;
}

}  // namespace acemq::token::test
