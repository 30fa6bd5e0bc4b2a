#pragma once
// Reading a query's rows: the first one, or all of them, each made by the caller's `read()` from
// the statement's current row. A store passes `fail`, which words the layer's error as its own
// (the AS's storage_error, the device registry's registry_error).

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "acemq/common/result.hpp"
#include "acemq/sqlite/error.hpp"
#include "acemq/sqlite/statement.hpp"

namespace acemq::sqlite {

/// The first row as `read()` makes it, or none when the query has no row. A failure to prepare
/// or step is `fail(stmt.failure(what))`.
template <typename Read, typename Fail>
auto find_one(statement& stmt, std::string_view what, Read read, Fail fail)
    -> acemq::result<std::optional<decltype(read())>, decltype(fail(std::declval<error>()))> {
  if (!stmt.prepared()) return unexpected(fail(stmt.failure(what)));
  if (stmt.step()) return std::optional<decltype(read())>(read());
  if (!stmt.ok()) return unexpected(fail(stmt.failure(what)));
  return std::optional<decltype(read())>();
}

/// Every row as `read()` makes it, in the query's order.
template <typename Read, typename Fail>
auto find_all(statement& stmt, std::string_view what, Read read, Fail fail)
    -> acemq::result<std::vector<decltype(read())>, decltype(fail(std::declval<error>()))> {
  if (!stmt.prepared()) return unexpected(fail(stmt.failure(what)));
  std::vector<decltype(read())> rows;
  while (stmt.step())
    rows.push_back(read());
  if (!stmt.ok()) return unexpected(fail(stmt.failure(what)));
  return rows;
}

}  // namespace acemq::sqlite
