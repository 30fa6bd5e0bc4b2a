#include "acemq/common/topic.hpp"

#include "acemq/common/utf8.hpp"

namespace acemq::topic {

bool is_valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_length) return false;
  // Plain ASCII without a wildcard (the common case) needs no other look.
  const std::size_t plain = plain_ascii_prefix(name, '+', '#');
  if (plain == name.size()) return true;
  const std::string_view rest = name.substr(plain);
  for (const char c : rest) {
    if (c == '+' || c == '#') return false;
  }
  return is_valid_utf8(rest);
}

bool is_valid_filter(std::string_view filter) noexcept {
  if (filter.empty() || filter.size() > max_length) return false;
  if (!is_valid_utf8(filter)) return false;
  for (std::size_t i = 0; i < filter.size(); ++i) {
    const char c = filter[i];
    if (c != '+' && c != '#') continue;
    const bool starts_level = i == 0 || filter[i - 1] == '/';
    const bool ends_level = i + 1 == filter.size() || filter[i + 1] == '/';
    if (!starts_level || !ends_level) return false;
    if (c == '#' && i + 1 != filter.size()) return false;
  }
  return true;
}

shared_parse parse_shared(std::string_view filter) noexcept {
  constexpr std::string_view prefix = "$share/";
  shared_parse out;
  if (filter.substr(0, prefix.size()) != prefix) return out;
  out.is_shared = true;
  const std::string_view rest = filter.substr(prefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) return out;
  out.parts.group = rest.substr(0, slash);
  out.parts.filter = rest.substr(slash + 1);
  if (out.parts.group.find_first_of("+#") != std::string_view::npos) return out;
  if (!is_valid_utf8(out.parts.group)) return out;
  out.valid = is_valid_filter(out.parts.filter);
  return out;
}

bool matches(std::string_view filter, std::string_view topic) noexcept {
  // The most common filter of an authorization list, on every PUBLISH and delivery: every topic
  // but the `$` ones [MQTT-4.7.2-1].
  if (filter == "#") return topic.empty() || topic.front() != '$';
  if (!topic.empty() && topic.front() == '$' && !filter.empty() &&
      (filter.front() == '+' || filter.front() == '#')) {
    return false;
  }
  std::size_t f = 0;
  std::size_t t = 0;
  while (true) {
    const std::size_t f_end = std::min(filter.find('/', f), filter.size());
    const std::string_view f_level = filter.substr(f, f_end - f);
    if (f_level == "#") return true;
    const bool topic_done = t > topic.size();
    if (topic_done) return false;
    const std::size_t t_end = std::min(topic.find('/', t), topic.size());
    const std::string_view t_level = topic.substr(t, t_end - t);
    if (f_level != "+" && f_level != t_level) return false;
    const bool filter_last = f_end == filter.size();
    const bool topic_last = t_end == topic.size();
    if (filter_last && topic_last) return true;
    if (filter_last) return false;
    f = f_end + 1;
    t = t_end + 1;
    if (topic_last) {
      // The topic has no more levels; only a trailing "#" can still match ("a/#" matches "a").
      return filter.substr(f) == "#";
    }
  }
}

std::size_t level_count(std::string_view topic) noexcept {
  std::size_t levels = 1;
  for (char c : topic)
    levels += c == '/' ? 1 : 0;
  return levels;
}

namespace {

/// Walks the levels of a topic or filter without allocating.
struct level_cursor {
  std::string_view text;
  std::size_t position = 0;
  bool done = false;

  std::string_view next() noexcept {
    const std::size_t end = text.find('/', position);
    if (end == std::string_view::npos) {
      done = true;
      return text.substr(position);
    }
    const std::string_view level = text.substr(position, end - position);
    position = end + 1;
    return level;
  }
};

}  // namespace

bool covers(std::string_view rule, std::string_view filter) noexcept {
  // MQTT 5.0 4.7.2: a rule starting with a wildcard does not cover a `$` topic filter.
  if (!filter.empty() && filter.front() == '$' && !rule.empty() &&
      (rule.front() == '+' || rule.front() == '#')) {
    return false;
  }
  level_cursor rule_levels{rule};
  level_cursor filter_levels{filter};
  while (true) {
    if (rule_levels.done) return filter_levels.done;  // the filter must not be deeper
    const std::string_view rule_level = rule_levels.next();
    if (rule_level == "#") return true;  // [MQTT-4.7.1-2]: the parent and every child
    if (filter_levels.done) return false;
    const std::string_view filter_level = filter_levels.next();
    if (filter_level == "#") return false;  // only a rule `#` covers a multi-level wildcard
    // `+` in the rule covers any single level, including a `+` in the filter; a literal rule
    // level covers only the same literal.
    if (rule_level != "+" && (filter_level == "+" || filter_level != rule_level)) return false;
  }
}

}  // namespace acemq::topic
