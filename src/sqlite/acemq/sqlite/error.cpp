// Classification of SQLite result codes into the layer's error kinds.
#include "acemq/sqlite/error.hpp"

#include <sqlite3.h>

namespace acemq::sqlite {

errc classify(int sqlite_code) noexcept {
  // Extended codes keep the primary code in their low byte (sqlite.org/rescode.html).
  switch (sqlite_code & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return errc::corrupt;
    case SQLITE_CONSTRAINT:
      return errc::constraint;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return errc::busy;
    default:
      return errc::io;
  }
}

error make_error(int sqlite_code, std::string_view what, std::string_view detail) {
  std::string message(what);
  if (!detail.empty()) {
    message += ": ";
    message += detail;
  }
  return {classify(sqlite_code), sqlite_code, std::move(message)};
}

}  // namespace acemq::sqlite
