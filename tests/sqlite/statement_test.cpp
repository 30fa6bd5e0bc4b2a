// acemq::sqlite::statement and database: values survive a bind/step/column round trip, errors
// stick and come back as values, and files that are not databases are refused untouched.

#include "acemq/sqlite/statement.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "acemq/sqlite/database.hpp"
#include "acemq/sqlite/rows.hpp"
#include "temporary_directory.hpp"

namespace acemq::sqlite {
namespace {

database open_memory() {
  auto db = database::open(":memory:");
  EXPECT_TRUE(db.has_value()) << (db ? "" : db.error().message);
  return std::move(*db);
}

TEST(statement, values_round_trip_through_bind_step_and_column) {
  database db = open_memory();
  ASSERT_TRUE(
      db.execute("CREATE TABLE t(name TEXT, data BLOB, number INTEGER, maybe INTEGER)", "schema"));
  const std::string name("caf\xC3\xA9 with \0 inside", 19);
  const byte_vector data{0x00, 0xFF, 0x10};
  statement insert(db, "INSERT INTO t VALUES (?1, ?2, ?3, ?4)");
  ASSERT_TRUE(insert.prepared());
  insert.bind(1, name)
      .bind_blob(2, data)
      .bind(3, std::int64_t{-9'007'199'254'740'993})
      .bind(4, std::optional<std::int64_t>{});
  ASSERT_TRUE(insert.run("insert"));
  EXPECT_EQ(db.changes(), 1);
  EXPECT_EQ(db.last_insert_rowid(), 1);

  statement select(db, "SELECT name, data, number, maybe FROM t");
  ASSERT_TRUE(select.step());
  EXPECT_EQ(select.text(0), name);
  EXPECT_EQ(select.blob(1), data);
  EXPECT_EQ(select.integer(2), -9'007'199'254'740'993);
  EXPECT_TRUE(select.is_null(3));
  EXPECT_FALSE(select.is_null(2));
  EXPECT_FALSE(select.step());
  EXPECT_TRUE(select.ok());
}

TEST(statement, an_empty_blob_is_stored_as_a_blob_not_null) {
  database db = open_memory();
  ASSERT_TRUE(db.execute("CREATE TABLE t(data BLOB NOT NULL)", "schema"));
  statement insert(db, "INSERT INTO t VALUES (?1)");
  insert.bind_blob(1, byte_view{});
  ASSERT_TRUE(insert.run("insert"));
  statement select(db, "SELECT typeof(data), length(data) FROM t");
  ASSERT_TRUE(select.step());
  EXPECT_EQ(select.text(0), "blob");
  EXPECT_EQ(select.integer(1), 0);
}

TEST(statement, binds_by_name) {
  database db = open_memory();
  statement select(db, "SELECT :first || '-' || :second");
  ASSERT_EQ(select.parameter(":first"), 1);
  ASSERT_EQ(select.parameter(":second"), 2);
  select.bind(select.parameter(":second"), "b").bind(select.parameter(":first"), "a");
  ASSERT_TRUE(select.step());
  EXPECT_EQ(select.text(0), "a-b");
}

TEST(statement, an_unknown_parameter_name_is_an_error_value) {
  database db = open_memory();
  statement select(db, "SELECT :known");
  EXPECT_EQ(select.parameter(":unknown"), 0);
  select.bind(select.parameter(":unknown"), std::int64_t{1});
  EXPECT_FALSE(select.ok());
  EXPECT_FALSE(select.step());  // the failure sticks
  EXPECT_EQ(select.failure("select").sqlite_code & 0xff, 25 /* SQLITE_RANGE */);
}

TEST(statement, is_reused_after_reset) {
  database db = open_memory();
  ASSERT_TRUE(db.execute("CREATE TABLE t(n INTEGER)", "schema"));
  statement insert(db, "INSERT INTO t VALUES (?1)", lifetime::persistent);
  for (std::int64_t n = 1; n <= 3; ++n) {
    insert.bind(1, n);
    ASSERT_TRUE(insert.run("insert"));
  }
  statement sum(db, "SELECT sum(n) FROM t");
  ASSERT_TRUE(sum.step());
  EXPECT_EQ(sum.integer(0), 6);
}

TEST(statement, a_constraint_violation_is_an_error_value_and_the_statement_stays_usable) {
  database db = open_memory();
  ASSERT_TRUE(db.execute("CREATE TABLE t(k TEXT PRIMARY KEY)", "schema"));
  statement insert(db, "INSERT INTO t VALUES (?1)", lifetime::persistent);
  insert.bind(1, "one");
  ASSERT_TRUE(insert.run("insert"));
  insert.bind(1, "one");
  auto again = insert.run("insert again");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, errc::constraint);
  EXPECT_NE(again.error().message.find("insert again"), std::string::npos);
}

TEST(statement, invalid_sql_is_an_error_value) {
  database db = open_memory();
  statement broken(db, "SELEKT 1");
  EXPECT_FALSE(broken.prepared());
  EXPECT_FALSE(broken.step());
  auto ran = broken.run("broken");
  ASSERT_FALSE(ran);
  EXPECT_NE(ran.error().message.find("syntax error"), std::string::npos);
}

TEST(database, a_file_that_is_not_a_database_is_an_error_value_and_left_untouched) {
  testing::temporary_directory dir;
  const std::string path = dir.file("junk.db");
  const std::string junk(8192, 'x');
  {
    std::ofstream out(path, std::ios::binary);
    out << junk;
  }
  auto db = database::open(path);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, errc::corrupt);
  std::ifstream in(path, std::ios::binary);
  const std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(after, junk);
}

TEST(database, a_damaged_header_is_an_error_value) {
  testing::temporary_directory dir;
  const std::string path = dir.file("damaged.db");
  {
    auto db = database::open(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->execute("CREATE TABLE t(x); INSERT INTO t VALUES (1);", "seed"));
  }
  {
    // Overwrite the page size and what follows in the 100-byte header (sqlite.org/fileformat.html
    // 1.3) with nonsense.
    std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(16);
    const std::string nonsense(40, '\x7f');
    file.write(nonsense.data(), static_cast<std::streamsize>(nonsense.size()));
  }
  auto db = database::open(path);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, errc::corrupt);
}

TEST(database, a_directory_cannot_be_opened) {
  testing::temporary_directory dir;
  auto db = database::open(dir.file(""));
  ASSERT_FALSE(db);
}

TEST(database, write_ahead_log_is_persistent_in_the_file) {
  testing::temporary_directory dir;
  const std::string path = dir.file("wal.db");
  {
    auto db = database::open(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->use_write_ahead_log());
  }
  auto db = database::open(path);
  ASSERT_TRUE(db);
  statement mode(*db, "PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.text(0), "wal");
}

TEST(database, options_set_the_connection_pragmas) {
  auto db = database::open(":memory:", {sync_mode::normal, true, std::chrono::milliseconds(250)});
  ASSERT_TRUE(db);
  statement keys(*db, "PRAGMA foreign_keys");
  ASSERT_TRUE(keys.step());
  EXPECT_EQ(keys.integer(0), 1);
  statement synchronous(*db, "PRAGMA synchronous");
  ASSERT_TRUE(synchronous.step());
  EXPECT_EQ(synchronous.integer(0), 1);  // NORMAL
}

/// A store's own error, as find_one / find_all word a failure for it.
struct store_error {
  std::string message;
};

store_error as_store_error(error failure) {
  return store_error{"store: " + failure.message};
}

TEST(rows, find_one_and_find_all_read_rows_and_word_failures_for_the_store) {
  database db = open_memory();
  ASSERT_TRUE(
      db.execute("CREATE TABLE t(n INTEGER); INSERT INTO t VALUES (3), (1), (2)", "schema"));
  statement first(db, "SELECT n FROM t WHERE n > ?1 ORDER BY n");
  first.bind(1, std::int64_t{1});
  auto one = find_one(
      first, "first", [&] { return first.integer(0); }, as_store_error);
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(*one, std::optional<std::int64_t>(2));

  statement none(db, "SELECT n FROM t WHERE n > 9");
  auto nothing = find_one(
      none, "none", [&] { return none.integer(0); }, as_store_error);
  ASSERT_TRUE(nothing.has_value());
  EXPECT_FALSE(nothing->has_value());

  statement all(db, "SELECT n FROM t ORDER BY n DESC");
  auto rows = find_all(
      all, "all", [&] { return all.integer(0); }, as_store_error);
  ASSERT_TRUE(rows.has_value());
  EXPECT_EQ(*rows, (std::vector<std::int64_t>{3, 2, 1}));

  statement broken(db, "SELECT n FROM no_such_table");
  auto failed = find_all(
      broken, "list", [&] { return broken.integer(0); }, as_store_error);
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().message.rfind("store: list: ", 0), 0u) << failed.error().message;
}

}  // namespace
}  // namespace acemq::sqlite
