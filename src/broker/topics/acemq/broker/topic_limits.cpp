#include "acemq/broker/topic_limits.hpp"

#include "acemq/common/topic.hpp"

namespace acemq::broker {

bool within_limits(std::string_view topic, const topic_limits& limits) noexcept {
  if (topic.size() > limits.max_length) return false;
  // Counted with an early exit so a 64 KiB topic of slashes costs no more than max_levels steps
  // past the bound.
  std::size_t levels = 1;
  for (const char c : topic) {
    if (c == '/' && ++levels > limits.max_levels) return false;
  }
  return levels <= limits.max_levels;
}

std::string_view to_string(topic_error error) noexcept {
  switch (error) {
    case topic_error::invalid_name:
      return "invalid_name";
    case topic_error::invalid_filter:
      return "invalid_filter";
    case topic_error::invalid_shared_filter:
      return "invalid_shared_filter";
    case topic_error::too_long:
      return "too_long";
    case topic_error::too_many_levels:
      return "too_many_levels";
  }
  return "unknown";
}

namespace {

result<void, topic_error> check_bounds(std::string_view topic, const topic_limits& limits) {
  if (topic.size() > limits.max_length) return unexpected{topic_error::too_long};
  if (!within_limits(topic, limits)) return unexpected{topic_error::too_many_levels};
  return {};
}

}  // namespace

result<void, topic_error> check_name(std::string_view name, const topic_limits& limits) noexcept {
  if (!topic::is_valid_name(name)) return unexpected{topic_error::invalid_name};
  return check_bounds(name, limits);
}

result<void, topic_error> check_filter(std::string_view filter,
                                       const topic_limits& limits) noexcept {
  const topic::shared_parse shared = topic::parse_shared(filter);
  if (shared.is_shared) {
    if (!shared.valid) return unexpected{topic_error::invalid_shared_filter};
  } else if (!topic::is_valid_filter(filter)) {
    return unexpected{topic_error::invalid_filter};
  }
  return check_bounds(filter, limits);
}

}  // namespace acemq::broker
