#pragma once
// What a failed SQLite call reports: a small closed set of kinds the stores map to their own
// error types, the SQLite result code, and a message for the operator.

#include <cstdint>
#include <string>
#include <string_view>

#include "acemq/common/result.hpp"

namespace acemq::sqlite {

/// The kinds of failure the stores tell apart.
enum class errc : std::uint8_t {
  io = 0x00,              // anything else: disk full, I/O error, misuse, out of memory
  corrupt = 0x01,         // SQLITE_CORRUPT, SQLITE_NOTADB or a failed integrity check
  constraint = 0x02,      // SQLITE_CONSTRAINT: a unique or foreign key was violated
  busy = 0x03,            // SQLITE_BUSY / SQLITE_LOCKED after the busy timeout
  schema_too_new = 0x04,  // the file was written by a newer build (see migrations.hpp)
};

/// A failure: its kind, the SQLite (extended) result code when there is one, and a message.
struct error {
  errc code = errc::io;
  int sqlite_code = 0;
  std::string message;
};

template <typename T>
using result = acemq::result<T, error>;

/// The kind of an SQLite result code (primary or extended).
errc classify(int sqlite_code) noexcept;

/// An error for `sqlite_code` whose message is "`what`: `detail`" (detail omitted when empty).
error make_error(int sqlite_code, std::string_view what, std::string_view detail);

}  // namespace acemq::sqlite
