#pragma once
// Internal to acemq_as (not installed): what the files of sqlite_storage share — the mapping of
// the SQLite layer's errors to storage errors, and the running of statements.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acemq/as/storage.hpp"
#include "acemq/sqlite/database.hpp"
#include "acemq/sqlite/rows.hpp"
#include "acemq/sqlite/statement.hpp"

namespace acemq::as::detail {

using sqlite::statement;

/// The storage error for a failure of the SQLite layer.
inline storage_error to_storage_error(sqlite::error failure) {
  storage_errc code = storage_errc::io;
  if (failure.code == sqlite::errc::constraint) code = storage_errc::conflict;
  if (failure.code == sqlite::errc::corrupt) code = storage_errc::corrupt;
  if (failure.code == sqlite::errc::schema_too_new) code = storage_errc::schema_too_new;
  return {code, std::move(failure.message)};
}

/// An I/O storage error (beginning or committing a transaction), whatever SQLite reported.
inline storage_error io_error(sqlite::error failure, std::string_view what) {
  return {storage_errc::io, std::string(what) + ": " + failure.message};
}

/// Binds `values` to the parameters 1, 2, ... of `stmt` in order: the order of the columns or
/// placeholders the SQL lists, without a hand-kept index for each.
template <typename... Values>
statement& bind_all(statement& stmt, const Values&... values) {
  int index = 0;
  (stmt.bind(++index, values), ...);
  return stmt;
}

/// A boolean column (SQLite has no boolean type).
inline std::int64_t flag(bool value) {
  return value ? 1 : 0;
}

/// Runs a statement that returns no rows.
inline storage_result<void> run(statement& stmt, std::string_view what) {
  if (auto done = stmt.run(what); !done) return unexpected(to_storage_error(done.error()));
  return {};
}

/// Runs an UPDATE that must touch exactly one row.
inline storage_result<void> run_one(sqlite::database& db, statement& stmt, std::string_view what) {
  auto outcome = run(stmt, what);
  if (!outcome) return outcome;
  if (db.changes() == 0)
    return unexpected(storage_error{storage_errc::not_found, std::string(what)});
  return {};
}

inline token_format format_from_int(std::int64_t value) {
  if (value == 2) return token_format::cwt;
  if (value == 3) return token_format::reference;
  return token_format::jwt;
}

inline std::string select_from(const char* columns, const char* table, const char* rest) {
  std::string sql = "SELECT ";
  sql += columns;
  sql += " FROM ";
  sql += table;
  sql += ' ';
  sql += rest;
  return sql;
}

}  // namespace acemq::as::detail
