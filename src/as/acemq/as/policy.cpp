#include "acemq/as/policy.hpp"

#include <algorithm>
#include <limits>

#include "acemq/common/topic.hpp"

namespace acemq::as::policy {
namespace {

std::vector<std::string_view> split_levels(std::string_view filter) {
  std::vector<std::string_view> levels;
  std::size_t start = 0;
  while (true) {
    const auto slash = filter.find('/', start);
    if (slash == std::string_view::npos) {
      levels.push_back(filter.substr(start));
      return levels;
    }
    levels.push_back(filter.substr(start, slash - start));
    start = slash + 1;
  }
}

std::string join(const std::vector<std::string_view>& levels) {
  std::string out;
  for (std::size_t i = 0; i < levels.size(); ++i) {
    if (i != 0) out += '/';
    out += levels[i];
  }
  return out;
}

bool is_wildcard(std::string_view level) {
  return level == "+" || level == "#";
}

constexpr std::uint8_t publish_bit = static_cast<std::uint8_t>(permission_bits::publish);
constexpr std::uint8_t subscribe_bit = static_cast<std::uint8_t>(permission_bits::subscribe);

/// Adds (filter, publish, subscribe) to `out`, merging with an entry of the same filter.
void add_entry(std::vector<token::scope::grant>& out, std::string filter, bool publish,
               bool subscribe) {
  for (auto& entry : out) {
    if (entry.filter == filter) {
      entry.publish = entry.publish || publish;
      entry.subscribe = entry.subscribe || subscribe;
      return;
    }
  }
  if (out.size() < max_scope_entries) out.push_back({std::move(filter), publish, subscribe});
}

}  // namespace

std::optional<std::string> intersect_filters(std::string_view a, std::string_view b) {
  if (!topic::is_valid_filter(a) || !topic::is_valid_filter(b)) return std::nullopt;
  const auto left = split_levels(a);
  const auto right = split_levels(b);
  std::vector<std::string_view> out;
  for (std::size_t i = 0;; ++i) {
    const bool left_done = i >= left.size();
    const bool right_done = i >= right.size();
    if (left_done && right_done) return join(out);
    const std::string_view l = left_done ? std::string_view() : left[i];
    const std::string_view r = right_done ? std::string_view() : right[i];
    // [MQTT-4.7.2-1]: a wildcard in the first level does not match a topic starting with '$'.
    if (i == 0 && ((is_wildcard(l) && !r.empty() && r.front() == '$') ||
                   (is_wildcard(r) && !l.empty() && l.front() == '$'))) {
      return std::nullopt;
    }
    if (!left_done && l == "#") {
      // Everything from here that the other side matches; "a/#" ∩ "a" = "a" [MQTT-4.7.1-2].
      for (std::size_t j = i; j < right.size(); ++j)
        out.push_back(right[j]);
      return join(out);
    }
    if (!right_done && r == "#") {
      for (std::size_t j = i; j < left.size(); ++j)
        out.push_back(left[j]);
      return join(out);
    }
    if (left_done || right_done) return std::nullopt;
    if (l == "+") {
      out.push_back(r);
    } else if (r == "+" || l == r) {
      out.push_back(l);
    } else {
      return std::nullopt;
    }
  }
}

std::vector<token::scope::grant> intersect(
    const std::optional<std::vector<token::scope::grant>>& requested,
    const std::vector<grant_record>& grants, std::int64_t now) {
  std::vector<token::scope::grant> out;
  for (const auto& grant : grants) {
    if (!grant.active_at(now)) continue;
    const bool grant_publish = (grant.permissions & publish_bit) != 0;
    const bool grant_subscribe = (grant.permissions & subscribe_bit) != 0;
    if (!requested) {
      add_entry(out, grant.filter, grant_publish, grant_subscribe);
      continue;
    }
    for (const auto& asked : *requested) {
      const bool publish = asked.publish && grant_publish;
      const bool subscribe = asked.subscribe && grant_subscribe;
      if (!publish && !subscribe) continue;
      auto common = intersect_filters(asked.filter, grant.filter);
      if (common) add_entry(out, std::move(*common), publish, subscribe);
    }
  }
  // Drop entries another entry already covers with at least the same permissions, so the token
  // carries no redundant filters.
  std::vector<token::scope::grant> minimal;
  for (std::size_t i = 0; i < out.size(); ++i) {
    bool redundant = false;
    for (std::size_t j = 0; j < out.size() && !redundant; ++j) {
      if (i == j) continue;
      const bool perms_cover =
          (!out[i].publish || out[j].publish) && (!out[i].subscribe || out[j].subscribe);
      if (!perms_cover) continue;
      const auto common = intersect_filters(out[i].filter, out[j].filter);
      // out[i] ⊆ out[j] exactly when their intersection is out[i] itself; ties keep the first.
      if (common && *common == out[i].filter && (out[i].filter != out[j].filter || j < i)) {
        redundant = true;
      }
    }
    if (!redundant) minimal.push_back(out[i]);
  }
  return minimal;
}

std::int64_t covered_until(const std::vector<token::scope::grant>& granted,
                           const std::vector<grant_record>& grants, std::int64_t now) {
  constexpr auto forever = std::numeric_limits<std::int64_t>::max();
  std::int64_t until = forever;
  for (const auto& entry : granted) {
    std::int64_t publish_until = entry.publish ? 0 : forever;
    std::int64_t subscribe_until = entry.subscribe ? 0 : forever;
    for (const auto& grant : grants) {
      if (!grant.active_at(now)) continue;
      const auto common = intersect_filters(entry.filter, grant.filter);
      if (!common || *common != entry.filter) continue;
      if (entry.publish && (grant.permissions & publish_bit) != 0) {
        publish_until = std::max(publish_until, grant.not_after);
      }
      if (entry.subscribe && (grant.permissions & subscribe_bit) != 0) {
        subscribe_until = std::max(subscribe_until, grant.not_after);
      }
    }
    until = std::min({until, publish_until, subscribe_until});
  }
  return until;
}

}  // namespace acemq::as::policy
