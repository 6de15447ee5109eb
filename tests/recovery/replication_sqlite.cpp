// Log shipping between the file log and SQLite, both ways: every field at the same positions, a
// SQLite primary followed live, and a SQLite standby behind a synchronous file-log primary.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <annal/file/log.hpp>
#include <annal/sqlite/store.hpp>
#include <annal/store/replication.hpp>

#include "recovery/recovery_support.hpp"
#include "store/store_test_support.hpp"

using annal::expected_version;
using recovery_test::all_events;
using recovery_test::fill;
using recovery_test::require_same_log;

TEST_CASE("replication: file log to SQLite and SQLite to file log keep every field",
          "[recovery][replication][sqlite]") {
  annal_test_store::scratch_dir dir;
  annal::file_log primary(dir.path() / "primary");
  fill(primary, 400);
  annal::sqlite_store sqlite(dir.path() / "standby.db");
  annal::replication_options o;
  o.batch_events = 50;
  annal::replicator to_sqlite(primary, sqlite, o);
  CHECK(to_sqlite.catch_up() == primary.last_position());
  require_same_log(primary, sqlite);

  // More on the primary, then a fresh replicator: it resumes from SQLite's last position.
  const std::uint64_t held = sqlite.last_position();
  fill(primary, 40, 2);
  CHECK(annal::replicator(primary, sqlite).catch_up() == primary.last_position() - held);
  require_same_log(primary, sqlite);

  annal::file_log back(dir.path() / "back");
  annal::replicator(sqlite, back).catch_up();
  require_same_log(primary, back);
}

TEST_CASE("replication: a file-log standby follows a SQLite primary live",
          "[recovery][replication][sqlite]") {
  annal_test_store::scratch_dir dir;
  annal::sqlite_store primary(dir.path() / "primary.db");
  annal::replication_options o;
  o.poll_interval = std::chrono::milliseconds(5);
  annal::standby<annal::sqlite_store, annal::file_log> standby(primary, o, dir.path() / "standby");
  for (int i = 0; i < 30; ++i) fill(primary, 5, static_cast<unsigned>(i));
  // The follower is woken by the primary's appends; wait for it to hold them all.
  while (standby.store().last_position() < primary.last_position())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE_FALSE(standby.failure());
  CHECK(standby.lag().caught_up());
  annal::file_log& promoted = standby.promote();
  require_same_log(primary, promoted);
}

TEST_CASE("replication: a synchronous file-log primary with a SQLite standby",
          "[recovery][replication][sqlite]") {
  annal_test_store::scratch_dir dir;
  annal::file_log primary(dir.path() / "primary");
  annal::standby<annal::file_log, annal::sqlite_store> standby(primary, {},
                                                               dir.path() / "standby.db");
  annal::synchronous_primary shipped(primary, standby);
  for (int i = 0; i < 40; ++i) {
    const std::uint64_t at = fill(shipped, 1, static_cast<unsigned>(i));
    REQUIRE(standby.store().last_position() >= at);
  }
  require_same_log(primary, standby.store());
}
