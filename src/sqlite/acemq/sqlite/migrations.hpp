#pragma once
// Versioned schema migrations: a list of SQL steps, step i taking the database from version i to
// version i + 1, applied in one transaction. Never edit a released step; append a new one.
//
// Where the version is kept is the store's choice: PRAGMA user_version by default, or a
// schema_version table (the broker's store, the authorization server and the device registry
// have kept one since their first release, so their existing files keep opening).

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "acemq/sqlite/database.hpp"

namespace acemq::sqlite {

/// Reads and records a database's schema version (0: a new, empty database).
class version_keeper {
 public:
  virtual ~version_keeper() = default;
  virtual result<int> read(database& db) = 0;
  /// Called inside the migration transaction after the step that reached `version`.
  virtual result<void> write(database& db, int version) = 0;
};

/// Keeps the version in PRAGMA user_version (the database header, sqlite.org/pragma.html).
class user_version_keeper final : public version_keeper {
 public:
  result<int> read(database& db) override;
  result<void> write(database& db, int version) override;
};

/// Keeps the version in a table `schema_version(version INTEGER NOT NULL, ...)` holding one row
/// per step applied; the version is the largest. The table belongs to the store's schema: its
/// first step creates it, and until then the version is 0.
class schema_version_table final : public version_keeper {
 public:
  /// With `applied_at`, each row also records that time (seconds since the epoch) in an
  /// `applied_at` column; without it only `version` is written (the table has no such column, or
  /// gives it a default).
  explicit schema_version_table(std::optional<std::int64_t> applied_at = std::nullopt) noexcept
      : applied_at_(applied_at) {}

  result<int> read(database& db) override;
  result<void> write(database& db, int version) override;

 private:
  std::optional<std::int64_t> applied_at_;
};

/// What migrate() did.
struct migration_outcome {
  int from_version = 0;
  int to_version = 0;
};

/// Brings the database to version steps.size(): applies the missing steps in order, in one
/// transaction (all or none). A database of a newer version is refused (errc::schema_too_new)
/// and left untouched.
result<migration_outcome> migrate(database& db, std::span<const std::string_view> steps,
                                  version_keeper& keeper);
/// The same, with the version kept in PRAGMA user_version.
result<migration_outcome> migrate(database& db, std::span<const std::string_view> steps);

}  // namespace acemq::sqlite
