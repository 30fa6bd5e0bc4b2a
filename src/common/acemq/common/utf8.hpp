#pragma once
// UTF-8 validation for MQTT strings [MQTT-1.5.4-1..3] and JSON text.

#include <cstddef>
#include <string_view>

namespace acemq {

/// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates (U+D800..U+DFFF), nothing
/// above U+10FFFF. When `allow_null` is false, U+0000 is rejected too [MQTT-1.5.4-2].
bool is_valid_utf8(std::string_view text, bool allow_null = false) noexcept;

/// The length of the longest prefix of `text` whose bytes are all ASCII (0x01-0x7F) and none of
/// them `excluded_a` or `excluded_b`. Read eight bytes at a time: the common case (an ASCII topic
/// or identifier) costs a few instructions per eight bytes, not several per byte.
std::size_t plain_ascii_prefix(std::string_view text, char excluded_a = '\0',
                               char excluded_b = '\0') noexcept;

}  // namespace acemq
