// Tests for snapshot/sqlite_snapshot_store.hpp: the snapshot store laws, reopening, a repository on it.
#include <annal/snapshot/snapshotter.hpp>
#include <annal/snapshot/sqlite_snapshot_store.hpp>
#include <annal/store/memory.hpp>

#include <catch2/catch.hpp>

#include "snapshot/laws.hpp"
#include "snapshot/ledger.hpp"
#include "snapshot/temp_dir.hpp"

TEST_CASE("SQLite snapshot store obeys the snapshot store laws", "[snapshot][store][sqlite]") {
  test::temp_dir dir;
  annal::sqlite_snapshot_store store{(dir.path() / "snapshots.db").string()};
  test::check_snapshot_store_laws(store);
  annal::sqlite_snapshot_store small{(dir.path() / "small.db").string(), {3}};
  test::check_retention(small);
}

TEST_CASE("SQLite snapshot store serves a repository across a reopen", "[snapshot][store][sqlite]") {
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
