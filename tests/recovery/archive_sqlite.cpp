// Archiving a SQLite store into a file log: the checks every SQL store passes
// (sql_archive_checks.hpp), then what is SQLite's own: a backup, verify and point-in-time restore
// of an archived store, the schema upgrade, and kill -9 while archiving (ANNAL_CRASH_TRIALS
// scales the trials).
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <thread>

#include <annal/file/log.hpp>
#include <annal/sqlite/backup.hpp>
#include <annal/sqlite/store.hpp>
#include <annal/store/archive.hpp>
#include <annal/store/with_archive.hpp>

#include "recovery/recovery_support.hpp"
#include "recovery/sql_archive_checks.hpp"
#include "store/crash_writer.hpp"
#include "store/store_test_support.hpp"

namespace fs = std::filesystem;
using annal::errc;
using recovery_test::all_events;
using recovery_test::crash_stream_for;
using recovery_test::error_with;

TEST_CASE("SQLite archive: round trip by position", "[recovery][archive][sqlite]") {
  annal_test_store::scratch_dir dir;
  annal::sqlite_store hot(dir.path() / "events.db");
  sql_archive_test::check_round_trip(hot, dir.path() / "archive");
}

TEST_CASE("SQLite archive: by age", "[recovery][archive][sqlite]") {
  annal_test_store::scratch_dir dir;
  annal::sqlite_store hot(dir.path() / "events.db");
  sql_archive_test::check_by_age(hot, dir.path() / "archive");
}

TEST_CASE("SQLite archive: a run stopped before deleting is finished by the next",
          "[recovery][archive][sqlite]") {
  annal_test_store::scratch_dir dir;
  annal::sqlite_store hot(dir.path() / "events.db");
  sql_archive_test::check_resume(hot, dir.path() / "archive");
}

TEST_CASE("SQLite archive: bad input", "[recovery][archive][sqlite]") {
  annal_test_store::scratch_dir dir;
  annal::sqlite_store hot(dir.path() / "events.db");
  sql_archive_test::check_bad_input(hot, dir.path());
  CHECK_THROWS_MATCHES(annal::archive(hot, hot, annal::archive_horizon::position(3)), annal::error,
                       error_with(errc::invalid_argument, {"into itself"}));
}

TEST_CASE("SQLite: a row deleted behind the store's back stops reads before it",
          "[recovery][sqlite]") {
  annal_test_store::scratch_dir dir;
  annal::sqlite_store hot(dir.path() / "events.db");
  sql_archive_test::check_gap_stops_reads(hot, [&](std::uint64_t position) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((dir.path() / "events.db").c_str(), &db) == SQLITE_OK);
    const std::string sql = "DELETE FROM annal_events WHERE position = " + std::to_string(position);
    REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  });
}

TEST_CASE("SQLite archive: appends go on while archiving", "[recovery][archive][sqlite]") {
  annal_test_store::scratch_dir dir;
  annal::sqlite_store hot(dir.path() / "events.db");
  sql_archive_test::check_concurrent_appends(hot, dir.path() / "archive");
}

// A store stays at schema version 1, readable by an annal from before archiving, until its first
// archive makes it version 2, which such an annal refuses instead of reading across the gap.
TEST_CASE("SQLite archive: the first archive makes the schema version 2",
          "[recovery][archive][sqlite]") {
  annal_test_store::scratch_dir dir;
  const fs::path file = dir.path() / "events.db";
  const auto version = [&] {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    const int v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
  };
  annal::sqlite_store hot(file);
  recovery_test::fill(hot, 20);
  CHECK(version() == 1);
  CHECK(hot.archive_horizon() == 0);
  annal::file_log archive(dir.path() / "archive", sql_archive_test::archive_log_options());
  CHECK(annal::archive(hot, archive, annal::archive_horizon::position(10)).horizon == 10);
  CHECK(version() == 2);
  CHECK(version() == annal::sqlite_schema_version);
  CHECK(hot.archive_horizon() == 10);
}

// A backup of an archived store verifies, counting the rows it holds; a restore to a point after
// the horizon keeps every stream's last event; a point at or below the horizon, or one that would
// leave a stream without its last event, is refused naming the archive.
TEST_CASE("SQLite archive: backup, verify and restore of an archived store",
          "[recovery][archive][sqlite]") {
  annal_test_store::scratch_dir dir;
  annal::sqlite_store hot(dir.path() / "events.db");
  const auto before = sql_archive_test::fill_for_archive(hot);
  const fs::path archive_dir = dir.path() / "archive";
  annal::file_log archive(archive_dir, sql_archive_test::archive_log_options());
  const std::uint64_t half = before.size() / 2;
  const annal::archive_result r =
      annal::archive(hot, archive, annal::archive_horizon::position(half));
  const std::uint64_t rows = before.size() - half + r.kept_heads;

  const fs::path copy = dir.path() / "backup.db";
  const annal::backup_result b = annal::backup(hot, copy);
  CHECK(b.last_position == before.size());
  CHECK(b.events == rows);
  const annal::verified_backup v = annal::verify_sqlite_backup(copy);
  CHECK(v.events == rows);
  CHECK(v.last_position == before.size());

  // After the horizon, at a batch's end that keeps every stream's last event: the end.
  const annal::restore_result whole =
      annal::restore_sqlite_backup(copy, dir.path() / "whole.db", annal::restore_point::latest());
  CHECK(whole.events == rows);
  {
    annal::sqlite_store restored(dir.path() / "whole.db");
    CHECK(restored.archive_horizon() == half);
    CHECK(all_events(annal::with_archive(archive, restored)) == before);
  }
  CHECK_THROWS_MATCHES(
      annal::restore_sqlite_backup(copy, dir.path() / "below.db",
                                   annal::restore_point::at_position(half)),
      annal::error,
      error_with(errc::archived, {"archive horizon", archive_dir.filename().string()}));
  CHECK_FALSE(fs::exists(dir.path() / "below.db"));
  // A stream whose events are all archived but its last, at a point before that last: refused.
  std::uint64_t head_after = 0;  // where such a stream's events after the horizon begin
  std::set<std::string> seen;
  for (const auto& e : before)
    if (e.position > half && seen.insert(e.stream_id).second && e.stream_version > 1)
      head_after = std::max(head_after, e.position);
  REQUIRE(head_after > half + 1);
  CHECK_THROWS_MATCHES(annal::restore_sqlite_backup(copy, dir.path() / "cut.db",
                                                    annal::restore_point::at_position(half + 1)),
                       annal::error, error_with(errc::archived, {"without its last event"}));
}

// A child appends with acknowledgements and archives at rising horizons, and is kill -9ed at a
// random moment. A rerun of archive finishes the job; archive and store together then hold every
// acknowledged event once, at positions 1, 2, 3...
TEST_CASE("SQLite archive: kill -9 at random moments", "[recovery][archive][sqlite][crash]") {
  const int trials = recovery_test::crash_trials();
  const unsigned seed = recovery_test::crash_seed();
  INFO("ANNAL_CRASH_SEED=" << seed << " ANNAL_CRASH_TRIALS=" << trials);
  std::mt19937 rng(seed);
  // A kill ends the process, not the machine: what SQLite has written survives it unsynced.
  annal::sqlite_options quick;
  quick.sync = annal::durability::none;
  // Some kills must come after the child's first archive: the range covers it here.
  const auto range = recovery_test::kill_delay_range(std::chrono::milliseconds(80), [&] {
    annal_test_store::scratch_dir dir;
    {
      annal::sqlite_store hot(dir.path() / "events.db", quick);
      recovery_test::fill(hot, 300);
    }
    const auto started = std::chrono::steady_clock::now();
    annal::sqlite_store hot(dir.path() / "events.db", quick);
    annal::file_log archive(dir.path() / "archive", sql_archive_test::archive_log_options());
    annal::archive(hot, archive, annal::archive_horizon::position(hot.last_position() * 3 / 4));
    return std::chrono::steady_clock::now() - started;
  });
  INFO("kills within " << range.count() << " us");
  int archived_at_kill = 0;
  for (int trial = 0; trial < trials; ++trial) {
    INFO("trial " << trial);
    annal_test_store::scratch_dir dir;
    const fs::path file = dir.path() / "events.db", archive_dir = dir.path() / "archive";
    {
      annal::sqlite_store hot(file, quick);
      recovery_test::fill(hot, 100 + static_cast<int>(rng() % 200), static_cast<unsigned>(trial));
    }
    const auto delay =
        std::chrono::microseconds(1000 + rng() % static_cast<std::uint64_t>(range.count()));
    const unsigned child_seed = static_cast<unsigned>(rng());
    const auto child = recovery_test::fork_and_kill(delay, [&](int out) {
      try {
        annal::sqlite_store hot(file, quick);
        annal::file_log archive(archive_dir, sql_archive_test::archive_log_options());
        std::thread writer([&] {
          annal_test_store::append_and_acknowledge(hot, out, 1, child_seed, "crash.test",
                                                   crash_stream_for);
        });
        for (;;)
          annal::archive(hot, archive,
                         annal::archive_horizon::position(hot.last_position() * 3 / 4));
      } catch (const std::exception& e) {
        recovery_test::child_failed(e);
      }
    });
    REQUIRE_FALSE(child.exited);
    std::set<annal::event_id> acked;
    for (const auto& [position, id] : annal_test_store::acknowledged_events(child.bytes))
      acked.insert(id);

    annal::sqlite_store hot(file, quick);
    annal::file_log archive(archive_dir, sql_archive_test::archive_log_options());
    if (hot.archive_horizon() != 0) {
      ++archived_at_kill;
      CHECK(archive.last_position() >= hot.archive_horizon());
    }
    annal::archive(hot, archive, annal::archive_horizon::position(hot.last_position() / 2));
    REQUIRE(hot.archive_horizon() > 0);
    const auto events = all_events(annal::with_archive(archive, hot));
    REQUIRE(events.size() == hot.last_position());
    std::set<annal::event_id> held;
    for (std::size_t i = 0; i < events.size(); ++i) {
      REQUIRE(events[i].position == i + 1);
      held.insert(events[i].id);
    }
    for (const auto& id : acked) REQUIRE(held.count(id) == 1);
  }
  INFO("trials where the store was archived at the kill: " << archived_at_kill);
  CHECK(archived_at_kill > 0);
}

// docs/recovery.md's code for archiving a SQL store, run with the page's claims checked.
TEST_CASE("docs/recovery.md: archive a SQLite store into a file log",
          "[recovery][archive][sqlite][docs]") {
  annal_test_store::scratch_dir dir;
  annal::sqlite_store store(dir.path() / "events.db");
  recovery_test::fill(store, 200);
  const auto before = all_events(store);
  const annal::time_point cutoff = before[before.size() / 2].recorded_at;
  std::size_t events = 0;

  // [archive-sql]
  // The archive is a file log; annal::archive syncs it once before the store deletes anything.
  annal::file_log_options no_sync;
  no_sync.sync = annal::durability::none;
  annal::file_log archive{dir.path() / "events-archive", no_sync};

  // Events recorded before the cutoff move (also: archive_horizon::position(p), ::age(d)).
  const annal::archive_result r =
      annal::archive(store, archive, annal::archive_horizon::older_than(cutoff));

  annal::with_archive both(archive, store);  // an event_store: the archive, then the store
  both.read_all(1, [&](const annal::recorded_event&) { ++events; });
  // [archive-sql]

  CHECK(r.horizon > 0);
  CHECK(before[r.horizon].recorded_at >= cutoff);
  CHECK(before[r.horizon - 1].recorded_at < cutoff);
  CHECK(store.archive_horizon() == r.horizon);
  CHECK(events == before.size());
  CHECK_THROWS_MATCHES(store.read_all(1, [](const annal::recorded_event&) {}), annal::error,
                       error_with(errc::archived, {"events-archive"}));
}
