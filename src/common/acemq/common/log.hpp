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

}  // namespace acemq::log
