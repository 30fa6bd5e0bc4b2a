#pragma once
// Byte buffers and views used across modules.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace acemq {

using byte_vector = std::vector<std::uint8_t>;
using byte_view = std::span<const std::uint8_t>;

inline byte_view as_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
inline std::string_view as_string_view(byte_view bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}
inline byte_vector to_bytes(std::string_view text) {
  return {text.begin(), text.end()};
}

/// Lower-case hexadecimal, for logs of non-secret identifiers and for test vectors.
std::string to_hex(byte_view bytes);
/// Parses hexadecimal (whitespace ignored); returns false on an odd length or a non-hex digit.
bool from_hex(std::string_view hex, byte_vector& out);

/// Constant-time equality for MACs and secrets: the time taken depends only on the lengths.
bool constant_time_equal(byte_view a, byte_view b) noexcept;

}  // namespace acemq
