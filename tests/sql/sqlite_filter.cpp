// The SQLite store's own filtered reads: the (type, position) index, also on files made before it,
// the plans that use it, and type names and prefixes matched byte for byte, never as patterns.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <annal/file/log.hpp>
#include <annal/sqlite/store.hpp>
#include <annal/store/archive.hpp>
#include <annal/store/filter.hpp>

#include "sql/sql_test_support.hpp"
#include "store/filter_laws.hpp"

using namespace annal;
using annal_conformance::expected_matches;
using annal_conformance::positions_of;
using annal_conformance::read_in_steps;
using annal_test::make_event;

namespace {
// A plain connection to the store's file, for what the store does not show: schema and plans.
class raw_db {
 public:
  explicit raw_db(const std::filesystem::path& file) {
    REQUIRE(sqlite3_open(file.string().c_str(), &db_) == SQLITE_OK);
  }
  raw_db(const raw_db&) = delete;
  raw_db& operator=(const raw_db&) = delete;
  ~raw_db() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* msg = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
    INFO(sql << ": " << (msg ? msg : ""));
    sqlite3_free(msg);
    REQUIRE(rc == SQLITE_OK);
  }
  // Every row's columns joined by '|', rows by '\n'.
  std::string rows(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    std::string out;
    while (sqlite3_step(s) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(s); ++c) {
        const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
        out += (c ? "|" : "") + std::string(t ? t : "");
      }
      out += '\n';
    }
    sqlite3_finalize(s);
    return out;
  }
  bool has_type_index() {
    return !rows(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND "
                "name = 'annal_events_type_position'")
                .empty();
  }

 private:
  sqlite3* db_ = nullptr;
};

void append_one(sqlite_store& s, const std::string& stream, const std::string& type) {
  s.append(stream, expected_version::any(), std::vector{make_event(type, "{}")});
}
}  // namespace

TEST_CASE("sqlite store answers filtered reads itself", "[store][sqlite][filter]") {
  STATIC_REQUIRE(filtering_store<sqlite_store>);
}

TEST_CASE("sqlite store creates its type index, also in a file made before it existed",
          "[store][sqlite][filter]") {
  annal_test::temp_dir dir;
  const auto file = dir.path() / "events.db";
  {
    // The layout of schema version 1 as earlier annals made it, with events of two types.
    raw_db old(file);
    old.exec(
        "PRAGMA journal_mode=WAL; CREATE TABLE annal_events (position INTEGER PRIMARY KEY,"
        " stream_id TEXT NOT NULL, stream_version INTEGER NOT NULL, event_id BLOB NOT NULL UNIQUE,"
        " type TEXT NOT NULL, schema_version INTEGER NOT NULL, payload BLOB NOT NULL,"
        " correlation_id BLOB NOT NULL, causation_id BLOB NOT NULL, metadata TEXT NOT NULL,"
        " recorded_at INTEGER NOT NULL, UNIQUE (stream_id, stream_version));"
        " PRAGMA user_version = 1;");
    for (int i = 1; i <= 40; ++i)
      old.exec("INSERT INTO annal_events VALUES (" + std::to_string(i) + ", 'old-" +
               std::to_string(i % 4) + "', " + std::to_string((i - 1) / 4 + 1) +
               ", randomblob(16), '" + (i % 5 == 0 ? "rare" : "common") +
               "', 1, x'7b7d', zeroblob(16), zeroblob(16), '{}', " + std::to_string(i) + ")");
    CHECK_FALSE(old.has_type_index());
  }
  sqlite_store store(file);
  CHECK(raw_db(file).has_type_index());
  CHECK(raw_db(file).rows("PRAGMA user_version") == "1\n");  // an index needs no new version
  append_one(store, "new-1", "rare");
  const event_filter rare{{"rare"}, {}};
  const auto got = read_in_steps(store, rare, 3);
  CHECK(got.size() == 9);
  CHECK(positions_of(got) == positions_of(expected_matches(store, rare)));
  CHECK(got.back().stream_id == "new-1");
}

TEST_CASE("sqlite store's filtered reads walk the type index", "[store][sqlite][filter]") {
  annal_test::temp_dir dir;
  const auto file = dir.path() / "events.db";
  sqlite_store store(file);
  append_one(store, "order-1", "a");
  raw_db db(file);
  const auto plan = [&](const std::string& sql) { return db.rows("EXPLAIN QUERY PLAN " + sql); };
  for (std::size_t prefixes : {0, 2}) {
    INFO(prefixes << " prefixes");
    // Each type's range, stepped beside the others' by the store: the index, in position order.
    const std::string one = plan(detail::sql::sqlite_filtered_type_sql(prefixes, 3));
    INFO(one);
    CHECK_THAT(one,
               Catch::Contains("USING INDEX annal_events_type_position (type=? AND position>?)"));
    CHECK_THAT(one, !Catch::Contains("TEMP B-TREE"));  // nothing read ahead to be sorted
  }
  // Beyond the merged types, and with prefixes only, the primary key in position order.
  for (std::size_t types : {std::size_t{0}, detail::sql::sqlite_merged_types + 1}) {
    const std::string scan = plan(detail::sql::sqlite_filtered_scan_sql(types, 1));
    INFO(scan);
    CHECK_THAT(scan, Catch::Contains("USING INTEGER PRIMARY KEY (rowid>?)"));
    CHECK_THAT(scan, !Catch::Contains("TEMP B-TREE"));
  }
}

TEST_CASE("sqlite store's filtered read of many types", "[store][sqlite][filter]") {
  annal_test::temp_dir dir;
  sqlite_store store(dir.path() / "events.db");
  for (int i = 0; i < 300; ++i)
    append_one(store, "s-" + std::to_string(i % 9), "t" + std::to_string(i % 100));
  for (std::size_t n : {std::size_t{2}, std::size_t{64}, std::size_t{65}, std::size_t{90}}) {
    INFO(n << " types");
    event_filter f;
    for (std::size_t k = 0; k < n; ++k) f.types.push_back("t" + std::to_string(k * 7 % 100));
    CHECK(positions_of(read_in_steps(store, f, 11)) == positions_of(expected_matches(store, f)));
  }
}

TEST_CASE("sqlite store's filtered read from below the archive horizon stops as read_all does",
          "[store][sqlite][filter]") {
  annal_test::temp_dir dir;
  sqlite_store hot(dir.path() / "events.db");
  for (int i = 0; i < 30; ++i)
    append_one(hot, "s-" + std::to_string(i % 4), i % 3 == 0 ? "wanted" : "other");
  file_log_options o;
  o.sync = durability::none;
  file_log archive(dir.path() / "archive", o);
  annal::archive(hot, archive, archive_horizon::position(12));
  const event_filter wanted{{"wanted"}, {}};
  std::vector<std::uint64_t> seen;
  try {
    read_filtered(hot, 1, wanted, [&](const recorded_event& e) { seen.push_back(e.position); });
    FAIL("a filtered read across archived events did not stop");
  } catch (const error& e) {
    CHECK(e.code() == make_error_code(errc::archived));
  }
  for (std::uint64_t p : seen) CHECK(p < 12);
  // Above the horizon the index answers, as before.
  CHECK(positions_of(read_in_steps(hot, wanted, 2, 13)) ==
        positions_of(expected_matches(hot, wanted, 13)));
}
