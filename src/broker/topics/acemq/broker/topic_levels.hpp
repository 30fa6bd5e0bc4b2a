#pragma once
// Walking a topic name or filter level by level, and the trie step both topic trees share (the
// subscription tree and the retained store): the child of a node for one level.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace acemq::broker {

/// The level of `text` starting at `position`, and the start of the next one (text.size() + 1
/// once the last level has been taken).
constexpr std::pair<std::string_view, std::size_t> level_at(std::string_view text,
                                                            std::size_t position) noexcept {
  const std::size_t slash = text.find('/', position);
  const std::size_t end = slash == std::string_view::npos ? text.size() : slash;
  return {text.substr(position, end - position), end + 1};
}

/// The child of `at` for the literal `level`, created when missing (`nodes` counts the tree's
/// nodes). Node has `children`: a map from std::string, with transparent lookup, to
/// std::unique_ptr<Node>.
template <typename Node>
Node& child_for(Node& at, std::string_view level, std::size_t& nodes) {
  auto child = at.children.find(level);
  if (child == at.children.end()) {
    child = at.children.emplace(std::string(level), std::make_unique<Node>()).first;
    ++nodes;
  }
  return *child->second;
}

}  // namespace acemq::broker
