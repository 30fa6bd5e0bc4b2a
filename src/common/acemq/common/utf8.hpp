#pragma once
// UTF-8 validation for MQTT strings [MQTT-1.5.4-1..3] and JSON text.

#include <string_view>

namespace acemq {

/// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates (U+D800..U+DFFF), nothing
/// above U+10FFFF. When `allow_null` is false, U+0000 is rejected too [MQTT-1.5.4-2].
bool is_valid_utf8(std::string_view text, bool allow_null = false) noexcept;

}  // namespace acemq
