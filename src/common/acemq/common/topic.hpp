#pragma once
// MQTT topic name and topic filter rules (MQTT 5.0 section 4.7, 3.1.1 section 4.7), shared by the
// codec (PUBLISH/SUBSCRIBE validation), the broker (matching) and the token library (AIF scopes).

#include <cstddef>
#include <optional>
#include <string_view>

namespace acemq::topic {

inline constexpr std::size_t max_length = 65535;

/// A topic name for PUBLISH: non-empty [MQTT-4.7.3-1], valid UTF-8 without U+0000, no wildcard
/// characters [MQTT-3.3.2-2].
bool is_valid_name(std::string_view name) noexcept;

/// A topic filter for SUBSCRIBE/UNSUBSCRIBE: non-empty, valid UTF-8 without U+0000, `#` only as the
/// whole last level [MQTT-4.7.1-1], `+` only as a whole level [MQTT-4.7.1-2]. A `$share/...`
/// filter is validated as a whole by parse_shared().
bool is_valid_filter(std::string_view filter) noexcept;

/// `$share/{ShareName}/{filter}` [MQTT-4.8.2-1, MQTT-4.8.2-2].
struct shared_filter {
  std::string_view group;
  std::string_view filter;
};

/// Returns the parts of a shared subscription filter; nullopt when `filter` does not start with
/// `$share/`. `valid` is false when it starts with `$share/` but the share name or the inner
/// filter is invalid.
struct shared_parse {
  bool is_shared = false;
  bool valid = false;
  shared_filter parts;
};
shared_parse parse_shared(std::string_view filter) noexcept;

/// Whether `filter` matches `topic` (both assumed valid). A filter starting with a wildcard does
/// not match a topic starting with `$` [MQTT-4.7.2-1]; `a/#` matches `a` [MQTT-4.7.1-2].
bool matches(std::string_view filter, std::string_view topic) noexcept;

/// Whether every topic matched by `filter` is also matched by `rule` (both valid filters), so a
/// SUBSCRIBE to `filter` cannot receive anything `rule` does not grant. A rule starting with a
/// wildcard does not cover a `$` filter (MQTT 5.0 4.7.2).
bool covers(std::string_view rule, std::string_view filter) noexcept;

/// Number of levels: count of '/' plus one.
std::size_t level_count(std::string_view topic) noexcept;

}  // namespace acemq::topic
