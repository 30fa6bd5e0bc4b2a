#pragma once
// An enumeration's names as one table that serves both directions: the name of a value (to_string,
// for logs, audit lines, stored columns and settings) and the value of a name (parsing a setting or
// a stored column). A table lists each value once; a value it does not list gets the caller's
// fallback name, a name it does not list gets no value.

#include <cstddef>
#include <optional>
#include <string_view>

namespace acemq {

template <typename Enum>
struct enum_name {
  Enum value;
  std::string_view name;
};

/// The name of `value` in `names`, or `otherwise` when the table does not list it.
template <typename Enum, std::size_t N>
constexpr std::string_view name_in(const enum_name<Enum> (&names)[N], Enum value,
                                   std::string_view otherwise) noexcept {
  for (const enum_name<Enum>& entry : names) {
    if (entry.value == value) return entry.name;
  }
  return otherwise;
}

/// The value named `name` in `names` (exact, case-sensitive), if any.
template <typename Enum, std::size_t N>
constexpr std::optional<Enum> value_in(const enum_name<Enum> (&names)[N],
                                       std::string_view name) noexcept {
  for (const enum_name<Enum>& entry : names) {
    if (entry.name == name) return entry.value;
  }
  return std::nullopt;
}

}  // namespace acemq
