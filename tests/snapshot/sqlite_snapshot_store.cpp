// Tests for snapshot/sqlite_snapshot_store.hpp: the snapshot store laws, reopening, a repository on
// it.
#include <annal/snapshot/snapshotter.hpp>
#include <annal/sqlite/snapshot_store.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/repository.hpp>

#include <catch2/catch.hpp>

#include <sqlite3.h>

#include "common/invalid_option.hpp"
#include "snapshot/laws.hpp"
#include "snapshot/ledger.hpp"
#include "snapshot/scenarios.hpp"
#include "snapshot/temp_dir.hpp"

TEST_CASE("SQLite snapshot store obeys the snapshot store laws", "[snapshot][store][sqlite]") {
  test::temp_dir dir;
  annal::sqlite_snapshot_store store{(dir.path() / "snapshots.db").string()};
  test::check_snapshot_store_laws(store);
  annal::sqlite_snapshot_store small{(dir.path() / "small.db").string(), {3}};
  test::check_retention(small);
}

TEST_CASE("SQLite snapshot store serves a repository across a reopen",
          "[snapshot][store][sqlite]") {
  test::temp_dir dir;
  const std::string path = (dir.path() / "snapshots.db").string();
  annal::memory_store store;
  {
    annal::sqlite_snapshot_store snapshots{path};
    annal::snapshotter snap{snapshots, annal::snapshot_every{5}};
    auto repo = annal::make_repository<ledger::account>(store, snap);
    REQUIRE(repo.handle("acc-1", bank::open{"acc-1"}).accepted());
    for (int i = 1; i <= 11; ++i) REQUIRE(repo.handle("acc-1", bank::deposit{i}).accepted());
  }
  annal::sqlite_snapshot_store snapshots{path};
  annal::snapshotter snap{snapshots, annal::snapshot_never{}};
  auto repo = annal::make_repository<ledger::account>(store, snap);
  const auto loaded = repo.load("acc-1");
  CHECK(loaded.snapshot_version == 10);
  CHECK(loaded.events_replayed == 2);
  CHECK(loaded.state.balance == 66);
  CHECK(repo.load("acc-1", annal::at_version{7}).snapshot_version == 5);
}

TEST_CASE("SQLite snapshot store: two aggregates on one stream keep their own snapshots",
          "[snapshot][store][sqlite][identity]") {
  test::temp_dir dir;
  annal::memory_store store;
  annal::sqlite_snapshot_store snapshots{(dir.path() / "snapshots.db").string()};
  test::check_two_aggregates_keep_their_own_snapshots(store, snapshots);
}

TEST_CASE("SQLite snapshot store upgrades a table from before aggregate names",
          "[snapshot][store][sqlite][identity][migrate]") {
  test::temp_dir dir;
  const std::string path = (dir.path() / "snapshots.db").string();
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    // The table as annal wrote it before snapshots named their aggregate, with one row.
    const char* old_schema =
        "CREATE TABLE annal_snapshots ("
        " stream_id TEXT NOT NULL, version INTEGER NOT NULL, event_time INTEGER NOT NULL,"
        " fingerprint INTEGER NOT NULL, revision INTEGER NOT NULL, state BLOB NOT NULL,"
        " PRIMARY KEY (stream_id, version)) WITHOUT ROWID;"
        "INSERT INTO annal_snapshots VALUES ('acc-1', 10, 0, 7, 0, x'00');";
    CHECK(sqlite3_exec(db, old_schema, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  test::captured_log log;
  {
    annal::sqlite_snapshot_store store{path};
    CHECK_FALSE(store.load(test::account_name, "acc-1", {}).has_value());
    REQUIRE(log.infos().size() == 1);
    CHECK_THAT(log.infos()[0], Catch::Contains("dropped 1 snapshots"));
    test::check_snapshot_store_laws(store);
  }
  annal::sqlite_snapshot_store reopened{path};  // already upgraded: nothing more dropped
  CHECK(log.infos().size() == 1);
  CHECK(reopened.load(test::account_name, "s-1", {})->version == 70);
}

TEST_CASE("SQLite snapshot store refuses to keep zero snapshots, naming the option",
          "[snapshot][store][sqlite][options]") {
  test::temp_dir dir;
  CHECK_THROWS_MATCHES(annal::sqlite_snapshot_store((dir.path() / "snapshots.db").string(), {0}),
                       annal::error,
                       annal_test::names_invalid_option("snapshot_retention::keep", "0"));
}
