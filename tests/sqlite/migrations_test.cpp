// acemq::sqlite::migrate: steps applied once, in order, all or none; newer databases refused.

#include "acemq/sqlite/migrations.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "acemq/sqlite/statement.hpp"
#include "temporary_directory.hpp"

namespace acemq::sqlite {
namespace {

// Step 2 only succeeds after step 1 and step 3 only after step 2, so the order is checked too.
constexpr std::array<std::string_view, 3> steps = {
    "CREATE TABLE log(entry TEXT NOT NULL);",
    "ALTER TABLE log ADD COLUMN at INTEGER; INSERT INTO log VALUES ('two', 2);",
    "INSERT INTO log SELECT 'three', at + 1 FROM log WHERE entry = 'two';",
};

std::int64_t user_version(database& db) {
  statement version(db, "PRAGMA user_version");
  EXPECT_TRUE(version.step());
  return version.integer(0);
}

std::int64_t log_rows(database& db) {
  statement count(db, "SELECT count(*) FROM log");
  EXPECT_TRUE(count.step());
  return count.integer(0);
}

TEST(migrations, apply_in_order_once) {
  testing::temporary_directory dir;
  const std::string path = dir.file("m.db");
  {
    auto db = database::open(path);
    ASSERT_TRUE(db);
    auto migrated = migrate(*db, steps);
    ASSERT_TRUE(migrated) << migrated.error().message;
    EXPECT_EQ(migrated->from_version, 0);
    EXPECT_EQ(migrated->to_version, 3);
    EXPECT_EQ(user_version(*db), 3);
    statement third(*db, "SELECT at FROM log WHERE entry = 'three'");
    ASSERT_TRUE(third.step());
    EXPECT_EQ(third.integer(0), 3);
  }
  auto db = database::open(path);
  ASSERT_TRUE(db);
  auto again = migrate(*db, steps);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->from_version, 3);
  EXPECT_EQ(log_rows(*db), 2);  // no step ran twice
}

TEST(migrations, apply_only_the_missing_steps) {
  auto db = database::open(":memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE(migrate(*db, std::span(steps).first(2)));
  EXPECT_EQ(user_version(*db), 2);
  auto rest = migrate(*db, steps);
  ASSERT_TRUE(rest) << rest.error().message;
  EXPECT_EQ(rest->from_version, 2);
  EXPECT_EQ(log_rows(*db), 2);
}

TEST(migrations, a_failing_step_leaves_the_database_as_it_was) {
  auto db = database::open(":memory:");
  ASSERT_TRUE(db);
  const std::array<std::string_view, 2> broken = {steps[0], "INSERT INTO missing VALUES (1);"};
  auto migrated = migrate(*db, broken);
  ASSERT_FALSE(migrated);
  EXPECT_NE(migrated.error().message.find("version 2"), std::string::npos);
  EXPECT_EQ(user_version(*db), 0);
  statement tables(*db, "SELECT count(*) FROM sqlite_master");
  ASSERT_TRUE(tables.step());
  EXPECT_EQ(tables.integer(0), 0);  // step 1 was rolled back with step 2
}

TEST(migrations, a_newer_database_is_refused_and_left_alone) {
  testing::temporary_directory dir;
  const std::string path = dir.file("newer.db");
  {
    auto db = database::open(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE(migrate(*db, steps));
    ASSERT_TRUE(db->execute("PRAGMA user_version = 7", "written by a newer build"));
  }
  auto db = database::open(path);
  ASSERT_TRUE(db);
  auto migrated = migrate(*db, steps);
  ASSERT_FALSE(migrated);
  EXPECT_EQ(migrated.error().code, errc::schema_too_new);
  EXPECT_NE(migrated.error().message.find('7'), std::string::npos);
  EXPECT_EQ(user_version(*db), 7);
  EXPECT_EQ(log_rows(*db), 2);
}

/// A store that keeps its version in a table of its own.
class table_keeper final : public version_keeper {
 public:
  result<int> read(database& db) override {
    statement exists(db, "SELECT count(*) FROM sqlite_master WHERE name = 'versions'");
    if (!exists.step()) return unexpected(exists.failure("versions"));
    if (exists.integer(0) == 0) return 0;
    statement version(db, "SELECT coalesce(max(version), 0) FROM versions");
    if (!version.step()) return unexpected(version.failure("versions"));
    return static_cast<int>(version.integer(0));
  }
  result<void> write(database& db, int version) override {
    if (auto made = db.execute("CREATE TABLE IF NOT EXISTS versions(version INTEGER)", "versions");
        !made) {
      return made;
    }
    statement insert(db, "INSERT INTO versions VALUES (?1)");
    insert.bind(1, std::int64_t{version});
    ++writes;
    return insert.run("versions");
  }
  int writes = 0;
};

TEST(migrations, a_store_may_keep_its_version_elsewhere) {
  auto db = database::open(":memory:");
  ASSERT_TRUE(db);
  table_keeper keeper;
  ASSERT_TRUE(migrate(*db, steps, keeper));
  EXPECT_EQ(keeper.writes, 3);
  EXPECT_EQ(user_version(*db), 0);
  auto again = migrate(*db, steps, keeper);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->from_version, 3);
  EXPECT_EQ(keeper.writes, 3);
}

// The layout the broker's store, the authorization server and the device registry use: the table
// is created by the store's first step, one row per step applied.
constexpr std::array<std::string_view, 2> table_steps = {
    "CREATE TABLE schema_version(version INTEGER NOT NULL, applied_at INTEGER NOT NULL);"
    "CREATE TABLE log(entry TEXT NOT NULL);",
    "INSERT INTO log VALUES ('two');",
};

std::vector<std::pair<std::int64_t, std::int64_t>> version_rows(database& db) {
  statement rows(db, "SELECT version, applied_at FROM schema_version ORDER BY version");
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  while (rows.step())
    out.emplace_back(rows.integer(0), rows.integer(1));
  EXPECT_TRUE(rows.ok());
  return out;
}

TEST(schema_version_table, records_one_row_per_step_with_the_time_applied) {
  testing::temporary_directory dir;
  const std::string path = dir.file("table.db");
  {
    auto db = database::open(path);
    ASSERT_TRUE(db);
    schema_version_table keeper(std::int64_t{1'700'000'000});
    auto first = migrate(*db, std::span(table_steps).first(1), keeper);
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(first->from_version, 0);
  }
  auto db = database::open(path);
  ASSERT_TRUE(db);
  schema_version_table later(std::int64_t{1'700'000'100});
  auto rest = migrate(*db, table_steps, later);
  ASSERT_TRUE(rest) << rest.error().message;
  EXPECT_EQ(rest->from_version, 1);
  EXPECT_EQ(rest->to_version, 2);
  EXPECT_EQ(version_rows(*db), (std::vector<std::pair<std::int64_t, std::int64_t>>{
                                   {1, 1'700'000'000}, {2, 1'700'000'100}}));
  EXPECT_EQ(user_version(*db), 0);  // the header is not used
}

TEST(schema_version_table, without_a_time_writes_only_the_version) {
  auto db = database::open(":memory:");
  ASSERT_TRUE(db);
  const std::array<std::string_view, 1> version_only = {
      "CREATE TABLE schema_version(version INTEGER NOT NULL);"};
  schema_version_table keeper;
  ASSERT_TRUE(migrate(*db, version_only, keeper));
  statement rows(*db, "SELECT count(*), max(version) FROM schema_version");
  ASSERT_TRUE(rows.step());
  EXPECT_EQ(rows.integer(0), 1);
  EXPECT_EQ(rows.integer(1), 1);
}

TEST(schema_version_table, an_empty_table_reads_as_version_zero) {
  // A table created before the first step committed (an older store created it on its own).
  auto db = database::open(":memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->execute("CREATE TABLE schema_version(version INTEGER NOT NULL)", "schema"));
  schema_version_table keeper;
  auto version = keeper.read(*db);
  ASSERT_TRUE(version) << version.error().message;
  EXPECT_EQ(*version, 0);
  auto none = database::open(":memory:");
  ASSERT_TRUE(none);
  auto absent = keeper.read(*none);
  ASSERT_TRUE(absent) << absent.error().message;
  EXPECT_EQ(*absent, 0);
}

TEST(schema_version_table, a_newer_version_in_the_table_is_refused_and_left_alone) {
  auto db = database::open(":memory:");
  ASSERT_TRUE(db);
  schema_version_table keeper(std::int64_t{5});
  ASSERT_TRUE(migrate(*db, table_steps, keeper));
  ASSERT_TRUE(db->execute("INSERT INTO schema_version VALUES (9, 6)", "a newer build"));
  auto migrated = migrate(*db, table_steps, keeper);
  ASSERT_FALSE(migrated);
  EXPECT_EQ(migrated.error().code, errc::schema_too_new);
  EXPECT_NE(migrated.error().message.find('9'), std::string::npos);
  EXPECT_EQ(version_rows(*db).size(), 3u);
}

}  // namespace
}  // namespace acemq::sqlite
