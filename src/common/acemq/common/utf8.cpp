#include "acemq/common/utf8.hpp"

#include <cstdint>

namespace acemq {

bool is_valid_utf8(std::string_view text, bool allow_null) noexcept {
  const auto* p = reinterpret_cast<const std::uint8_t*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
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
