#include "acemq/common/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace acemq {

namespace {

constexpr std::uint64_t low_bits = 0x0101010101010101ULL;
constexpr std::uint64_t high_bits = 0x8080808080808080ULL;

// Non-zero when a byte of `word` is 0 (exact as to whether there is one; the classic
// "has zero byte" test, for words whose bytes are all below 0x80).
constexpr std::uint64_t zero_byte_in(std::uint64_t word) noexcept {
  return (word - low_bits) & ~word & high_bits;
}

}  // namespace

std::size_t plain_ascii_prefix(std::string_view text, char excluded_a, char excluded_b) noexcept {
  const std::uint64_t a = low_bits * static_cast<std::uint8_t>(excluded_a);
  const std::uint64_t b = low_bits * static_cast<std::uint8_t>(excluded_b);
  // Non-zero when a byte of the word at `at` is not plain.
  const auto not_plain = [&](std::size_t at) {
    std::uint64_t word = 0;
    std::memcpy(&word, text.data() + at, sizeof word);
    return (word & high_bits) | zero_byte_in(word) | zero_byte_in(word ^ a) |
           zero_byte_in(word ^ b);
  };
  std::size_t at = 0;
  if (text.size() >= 8) {
    while (at + 8 <= text.size() && not_plain(at) == 0)
      at += 8;
    // The last, partial word is read as the whole word ending with the text.
    if (at + 8 > text.size() && not_plain(text.size() - 8) == 0) return text.size();
  }
  for (; at < text.size(); ++at) {
    const char c = text[at];
    if (static_cast<std::uint8_t>(c) >= 0x80 || c == '\0' || c == excluded_a || c == excluded_b) {
      break;
    }
  }
  return at;
}

bool is_valid_utf8(std::string_view text, bool allow_null) noexcept {
  const auto* p = reinterpret_cast<const std::uint8_t*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    // Runs of plain ASCII (the common case) are skipped eight bytes at a time.
    p += plain_ascii_prefix(
        std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(end - p)));
    if (p == end) break;
    const std::uint8_t c = *p;
    if (c < 0x80) {
      if (c == 0 && !allow_null) return false;
      ++p;
      continue;
    }
    std::uint32_t code = 0;
    int extra = 0;
    std::uint32_t minimum = 0;
    if ((c & 0xE0) == 0xC0) {
      code = c & 0x1F;
      extra = 1;
      minimum = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      code = c & 0x0F;
      extra = 2;
      minimum = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      code = c & 0x07;
      extra = 3;
      minimum = 0x10000;
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      code = (code << 6) | (p[i] & 0x3F);
    }
    if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    p += extra + 1;
  }
  return true;
}

}  // namespace acemq
