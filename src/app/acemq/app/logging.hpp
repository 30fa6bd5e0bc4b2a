#pragma once
// Log output of the broker program: spdlog with a level and a format ("text" for people, "json"
// for log collectors: one object per line with time, level, thread and message). Secrets are
// never logged (acemq::log::redact), in either format.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "acemq/app/app_config.hpp"

namespace acemq::app {

/// Applies the level and format to the default logger; false for an unknown level name.
bool configure_logging(std::string_view level, log_format format);

/// One log record as a JSON object line (exposed for tests): RFC 3339 UTC time with
/// milliseconds, the level name, the thread id and the message, escaped per RFC 8259 7.
std::string format_json_record(std::int64_t unix_milliseconds, std::string_view level,
                               std::size_t thread, std::string_view message);

}  // namespace acemq::app
