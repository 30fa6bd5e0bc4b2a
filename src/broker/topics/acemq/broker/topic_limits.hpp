#pragma once
// Broker-side bounds on topic names and filters, on top of the syntax rules in
// acemq/common/topic.hpp. The MQTT length limit (65535 bytes, MQTT 5.0 1.5.4) still allows 32768
// levels; the broker refuses deeper topics so that tries, recursion and per-level work stay
// bounded.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "acemq/common/result.hpp"

namespace acemq::broker {

/// Upper bounds the broker applies to every topic name and topic filter it accepts.
struct topic_limits {
  std::size_t max_length = 65535;
  std::size_t max_levels = 128;
};

/// Whether `topic` (a name or a filter, including any `$share/{group}/` prefix) is at most
/// `limits.max_length` bytes and at most `limits.max_levels` levels.
bool within_limits(std::string_view topic, const topic_limits& limits) noexcept;

/// Why a topic name or filter is refused. Not a wire enum: the broker maps these to reason codes
/// (0x8F Topic Filter invalid, 0x90 Topic Name invalid, 0x9E Shared Subscriptions not supported).
enum class topic_error : std::uint8_t {
  invalid_name = 0x01,           // [MQTT-4.7.3-1], [MQTT-3.3.2-2]
  invalid_filter = 0x02,         // [MQTT-4.7.1-1], [MQTT-4.7.1-2]
  invalid_shared_filter = 0x03,  // [MQTT-4.8.2-1], [MQTT-4.8.2-2]
  too_long = 0x04,
  too_many_levels = 0x05,
};

/// A stable name for logs and tests.
std::string_view to_string(topic_error error) noexcept;

/// Checks a PUBLISH topic name: the MQTT syntax rules, then `limits`.
result<void, topic_error> check_name(std::string_view name, const topic_limits& limits) noexcept;

/// Checks a SUBSCRIBE/UNSUBSCRIBE topic filter, which may be a shared subscription
/// `$share/{group}/{filter}`: the MQTT syntax rules, then `limits` on the whole string.
result<void, topic_error> check_filter(std::string_view filter,
                                       const topic_limits& limits) noexcept;

}  // namespace acemq::broker
