#pragma once
// Logging through spdlog. Secrets (keys, tokens, passwords, PoP values) are never logged; log a
// fingerprint (see redact()) when an operator needs to correlate.

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "acemq/common/bytes.hpp"

namespace acemq::log {

/// Sets the global level from a name ("trace", "debug", "info", "warn", "error", "off").
/// Returns false for an unknown name.
bool set_level(std::string_view level_name);

/// A short, non-reversible fingerprint of a secret (first 8 hex digits of its SHA-256), so logs
/// can say "token 3fa9c1d2" without revealing the token.
std::string redact(byte_view secret);

/// `text` with every control character written as `\xNN`: C0 (U+0000-U+001F), DEL and C1
/// (U+0080-U+009F, whose UTF-8 form a terminal may read as an escape sequence). Client
/// identifiers, user names and topics come from the network; raw, a newline in one forges a log
/// line and an escape sequence rewrites the operator's terminal.
std::string escape_control(std::string_view text);

/// Whether escape_control() would change `text`.
bool has_control(std::string_view text) noexcept;

/// Makes the default logger write text lines (spdlog's "%+" pattern) whose message has its
/// control characters escaped (escape_control), whatever a call site formatted into it.
void use_escaping_text_format();

}  // namespace acemq::log
