// Applying schema steps in one transaction and recording the version reached.
#include "acemq/sqlite/migrations.hpp"

#include <sqlite3.h>

#include <string>

#include "acemq/sqlite/statement.hpp"
#include "acemq/sqlite/transaction.hpp"

namespace acemq::sqlite {

result<int> user_version_keeper::read(database& db) {
  statement version(db, "PRAGMA user_version");
  if (!version.step()) return unexpected(version.failure("read user_version"));
  return static_cast<int>(version.integer(0));
}

result<void> user_version_keeper::write(database& db, int version) {
  // PRAGMA takes no bound parameters; the number is formatted, never user text.
  return db.execute("PRAGMA user_version = " + std::to_string(version), "write user_version");
}

result<int> schema_version_table::read(database& db) {
  statement exists(db,
                   "SELECT count(*) FROM sqlite_master "
                   "WHERE type = 'table' AND name = 'schema_version'");
  if (!exists.prepared() || !exists.step()) return unexpected(exists.failure("schema version"));
  if (exists.integer(0) == 0) return 0;
  // max() of an empty table is NULL, read as 0: a table created before its first step committed.
  statement version(db, "SELECT max(version) FROM schema_version");
  if (!version.prepared() || !version.step()) return unexpected(version.failure("schema version"));
  return static_cast<int>(version.integer(0));
}

result<void> schema_version_table::write(database& db, int version) {
  if (applied_at_) {
    statement mark(db, "INSERT INTO schema_version(version, applied_at) VALUES (?1, ?2)");
    mark.bind(1, std::int64_t{version}).bind(2, *applied_at_);
    return mark.run("schema_version");
  }
  statement mark(db, "INSERT INTO schema_version(version) VALUES (?1)");
  mark.bind(1, std::int64_t{version});
  return mark.run("schema_version");
}

result<migration_outcome> migrate(database& db, std::span<const std::string_view> steps,
                                  version_keeper& keeper) {
  auto current = keeper.read(db);
  if (!current) return unexpected(current.error());
  const int target = static_cast<int>(steps.size());
  if (*current > target) {
    return unexpected(error{errc::schema_too_new, 0,
                            "database schema version " + std::to_string(*current) +
                                " is newer than this build understands (" + std::to_string(target) +
                                ")"});
  }
  if (*current < 0) {
    return unexpected(error{errc::corrupt, SQLITE_CORRUPT,
                            "negative schema version " + std::to_string(*current)});
  }
  const migration_outcome outcome{*current, target};
  if (*current == target) return outcome;
  auto tx = transaction::begin(db);
  if (!tx) return unexpected(tx.error());
  for (int version = *current; version < target; ++version) {
    const std::string what = "migration to schema version " + std::to_string(version + 1);
    if (auto applied = db.execute(steps[static_cast<std::size_t>(version)], what); !applied) {
      return unexpected(applied.error());
    }
    if (auto written = keeper.write(db, version + 1); !written) return unexpected(written.error());
  }
  if (auto committed = tx->commit(); !committed) return unexpected(committed.error());
  return outcome;
}

result<migration_outcome> migrate(database& db, std::span<const std::string_view> steps) {
  user_version_keeper keeper;
  return migrate(db, steps, keeper);
}

}  // namespace acemq::sqlite
