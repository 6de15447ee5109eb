// SQLite backups and restores: the online backup API under appends, verification of annal's
// invariants, point-in-time restore, bad input, and kill -9 during both.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <annal/runtime/new_event_id.hpp>
#include <annal/sqlite/backup.hpp>
#include <annal/sqlite/store.hpp>

#include "common/invalid_option.hpp"
#include "recovery/recovery_support.hpp"
#include "store/store_test_support.hpp"

namespace fs = std::filesystem;
using annal_test_store::scratch_dir;

namespace {

using recovery_test::all_events;
using recovery_test::error_with;
using recovery_test::fill;
using recovery_test::same_events;

// Runs SQL on a file outside annal, as a person with the sqlite3 shell would.
void tamper(const fs::path& file, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  char* msg = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
  INFO((msg ? msg : ""));
  sqlite3_free(msg);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

}  // namespace

TEST_CASE("sqlite backup: an online backup opens as the same store", "[recovery][sqlite]") {
  scratch_dir dir;
  annal::sqlite_store store(dir.path() / "events.db");
  fill(store, 300);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (unsigned i = 0; !stop; ++i) fill(store, 1, 1000 + i);
  });
  std::vector<annal::backup_progress> reports;
  annal::backup_options options;
  options.pages_per_step = 4;  // many steps while the writer goes on
  options.progress_interval = std::chrono::milliseconds(0);
  options.on_progress = [&](const annal::backup_progress& p) { reports.push_back(p); };
  const annal::backup_result r = annal::backup(store, dir.path() / "backup.db", options);
  stop = true;
  writer.join();
  CHECK(r.last_position >= 300);
  CHECK(r.events == r.last_position);
  CHECK(r.bytes > 0);
  REQUIRE(reports.size() > 2);
  CHECK(reports.back().done);
  CHECK(reports.back().bytes == reports.back().target_bytes);
  CHECK(reports.back().events == r.events);

  const annal::verified_backup v = annal::verify_sqlite_backup(dir.path() / "backup.db");
  CHECK(v.last_position == r.last_position);
  CHECK(v.streams == 5);
  CHECK_FALSE(fs::exists(dir.path() / "backup.db-wal"));  // verifying wrote nothing beside it

  auto source = all_events(store);
  source.resize(r.last_position);
  annal::sqlite_store copy(dir.path() / "backup.db");
  CHECK(same_events(all_events(copy), source));

  SECTION("a second backup of the same store replaces the first") {
    fill(store, 10, 5);
    CHECK(annal::backup(store, dir.path() / "again.db").last_position == store.last_position());
    CHECK(annal::backup(store, dir.path() / "again.db").last_position == store.last_position());
  }
}

TEST_CASE("sqlite backup: bad input is refused, naming what is wrong", "[recovery][sqlite]") {
  scratch_dir dir;
  annal::sqlite_store store(dir.path() / "events.db");
  const std::uint64_t last = fill(store, 100);
  const fs::path dest = dir.path() / "backup.db";

  SECTION("an invalid option") {
    annal::backup_options o;
    o.pages_per_step = 0;
    CHECK_THROWS_MATCHES(annal::backup(store, dest, o), annal::error,
                         annal_test::names_invalid_option("backup_options::pages_per_step", "0"));
  }
  SECTION("a destination that is something else") {
    std::ofstream(dest) << "mine";
    CHECK_THROWS_MATCHES(annal::backup(store, dest), annal::error,
                         error_with(annal::errc::invalid_argument, {dest.string(), "no annal"}));
  }
  SECTION("a backup of another store") {
    annal::sqlite_store other(dir.path() / "other.db");
    fill(other, 50, 3);
    const annal::backup_result theirs = annal::backup(other, dest);
    CHECK_THROWS_MATCHES(
        annal::backup(store, dest), annal::error,
        error_with(
            annal::errc::invalid_argument,
            {dest.string(), "position " + std::to_string(theirs.last_position), "another store"}));
  }
  SECTION("a path that does not exist, or a directory") {
    CHECK_THROWS_MATCHES(annal::verify_sqlite_backup(dest), annal::error,
                         error_with(annal::errc::corrupt_log, {dest.string(), "does not exist"}));
    fs::create_directories(dest);  // a file log's backup is a directory
    CHECK_THROWS_MATCHES(
        annal::verify_sqlite_backup(dest), annal::error,
        error_with(annal::errc::corrupt_log, {dest.string(), "is a directory", "verify_backup"}));
    CHECK_THROWS_MATCHES(
        annal::restore_sqlite_backup(dest, dir.path() / "r.db", annal::restore_point::latest()),
        annal::error, error_with(annal::errc::corrupt_log, {dest.string(), "is a directory"}));
    CHECK_FALSE(fs::exists(dir.path() / "r.db"));
  }
  SECTION("a tampered backup: a gap in the positions") {
    annal::backup(store, dest);
    tamper(dest, "DELETE FROM annal_events WHERE position = 42");
    CHECK_THROWS_MATCHES(annal::verify_sqlite_backup(dest), annal::error,
                         error_with(annal::errc::corrupt_log, {dest.string(), "position 42"}));
  }
  SECTION("a tampered backup: a stream version out of order") {
    annal::backup(store, dest);
    tamper(dest,
           "UPDATE annal_events SET stream_version = stream_version + 1000 WHERE position = 30");
    CHECK_THROWS_MATCHES(annal::verify_sqlite_backup(dest), annal::error,
                         error_with(annal::errc::corrupt_log, {dest.string(), "versions"}));
  }
  SECTION("a damaged page") {
    annal::backup(store, dest);
    std::fstream f(dest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(dest) / 2));
    f.write(std::string(4096, '\x5a').data(), 4096);
    f.close();
    CHECK_THROWS_MATCHES(annal::verify_sqlite_backup(dest), annal::error,
                         error_with(annal::errc::corrupt_log, {dest.string()}));
  }
  SECTION("restores: beyond the end, inside a batch, onto an existing target") {
    annal::backup(store, dest);
    CHECK_THROWS_MATCHES(
        annal::restore_sqlite_backup(dest, dir.path() / "r.db",
                                     annal::restore_point::at_position(last + 9)),
        annal::error,
        error_with(annal::errc::invalid_argument,
                   {"position " + std::to_string(last + 9), "position " + std::to_string(last)}));
    const auto events = all_events(store);
    std::size_t i = 0;
    while (events[i].recorded_at != events[i + 1].recorded_at) ++i;
    CHECK_THROWS_MATCHES(annal::restore_sqlite_backup(dest, dir.path() / "r.db",
                                                      annal::restore_point::at_position(i + 1)),
                         annal::error,
                         error_with(annal::errc::invalid_argument, {"inside a batch"}));
    CHECK_FALSE(fs::exists(dir.path() / "r.db.restoring"));  // a refused restore leaves nothing
    std::ofstream(dir.path() / "taken.db") << "x";
    CHECK_THROWS_MATCHES(
        annal::restore_sqlite_backup(dest, dir.path() / "taken.db", annal::restore_point::latest()),
        annal::error, error_with(annal::errc::invalid_argument, {"exists"}));
    CHECK_FALSE(fs::exists(dir.path() / "r.db"));
  }
  SECTION("an unwritable destination leaves the source untouched") {
    const fs::path locked = dir.path() / "locked";
    fs::create_directories(locked);
    {
      recovery_test::unwritable_directory lock(locked);
      if (!lock.locked()) {
        WARN("cannot make a directory unwritable here");
        return;
      }
      CHECK_THROWS_MATCHES(annal::backup(store, locked / "b.db"), annal::error,
                           error_with(annal::errc::io_error, {(locked / "b.db.tmp").string()}));
    }
    CHECK(fs::is_empty(locked));
    CHECK(store.last_position() == last);
    CHECK(fill(store, 1, 8) > last);  // and still takes appends
  }
}

TEST_CASE("sqlite restore: to a position, a time or the end", "[recovery][sqlite]") {
  scratch_dir dir;
  annal::sqlite_store store(dir.path() / "events.db");
  fill(store, 150);
  const fs::path dest = dir.path() / "backup.db";
  annal::backup(store, dest);
  const auto events = all_events(store);
  std::uint64_t cut = 0;
  for (std::size_t i = events.size() / 2; i + 1 < events.size(); ++i)
    if (events[i].recorded_at != events[i + 1].recorded_at) {
      cut = events[i].position;
      break;
    }
  REQUIRE(cut > 0);
  const auto check_restored = [&](const fs::path& file, std::uint64_t last) {
    annal::verify_sqlite_backup(dest);  // the backup is as it was
    annal::sqlite_store restored(file);
    std::vector<annal::recorded_event> want(events.begin(),
                                            events.begin() + static_cast<long>(last));
    CHECK(same_events(all_events(restored), want));
    CHECK(fill(restored, 2, 77) > last);
  };
  SECTION("a position") {
    const auto r = annal::restore_sqlite_backup(dest, dir.path() / "p.db",
                                                annal::restore_point::at_position(cut));
    CHECK(r.last_position == cut);
    CHECK(r.left_out == events.size() - cut);
    check_restored(dir.path() / "p.db", cut);
  }
  SECTION("a time after the last event, before the backup was taken: everything") {
    const auto after_last = events.back().recorded_at + std::chrono::nanoseconds(1);
    REQUIRE(annal::verify_sqlite_backup(dest).taken_at >= after_last);
    CHECK(annal::restore_sqlite_backup(dest, dir.path() / "later.db",
                                       annal::restore_point::at_time(after_last))
              .events == events.size());
  }
  SECTION("a time") {
    const auto r = annal::restore_sqlite_backup(
        dest, dir.path() / "t.db", annal::restore_point::at_time(events[cut - 1].recorded_at));
    CHECK(r.last_position == cut);
    check_restored(dir.path() / "t.db", cut);
  }
  SECTION("everything, nothing, and from the live store") {
    CHECK(annal::restore_sqlite_backup(dest, dir.path() / "all.db", annal::restore_point::latest())
              .events == events.size());
    check_restored(dir.path() / "all.db", events.size());
    CHECK(annal::restore_sqlite_backup(dest, dir.path() / "none.db",
                                       annal::restore_point::at_position(0))
              .events == 0);
    check_restored(dir.path() / "none.db", 0);
    CHECK(annal::restore(store, dir.path() / "live.db", annal::restore_point::at_position(cut))
              .last_position == cut);
    check_restored(dir.path() / "live.db", cut);
    CHECK_FALSE(fs::exists(dir.path() / "live.db.backup"));
  }
}

// kill -9 during a backup and during a restore: the destination is absent or whole and checked,
// and running the call again finishes the job.
TEST_CASE("sqlite backup and restore: kill -9 at random moments", "[recovery][sqlite][crash]") {
  std::mt19937 rng(std::random_device{}());
  scratch_dir dir;
  std::uint64_t last = 0;
  {
    annal::sqlite_store store(dir.path() / "events.db");
    last = fill(store, 3000);
  }
  const auto timed = [](auto run) {
    const auto start = std::chrono::steady_clock::now();
    run();
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  };
  const auto backup_time = timed([&] {
    annal::sqlite_store store(dir.path() / "events.db");
    annal::backup(store, dir.path() / "timing.db");
  });
  int interrupted = 0;
  for (int trial = 0; trial < 40; ++trial) {
    INFO("trial " << trial);
    const bool restoring = trial % 2 == 1;
    const fs::path target = dir.path() / ("out-" + std::to_string(trial) + ".db");
    const auto delay = std::chrono::microseconds(rng() % (backup_time.count() * 2 + 1));
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      try {
        if (restoring) {
          annal::restore_sqlite_backup(dir.path() / "timing.db", target,
                                       annal::restore_point::latest());
        } else {
          annal::sqlite_store store(dir.path() / "events.db");
          annal::backup(store, target);
        }
      } catch (...) {
        ::_exit(3);
      }
      ::_exit(0);
    }
    std::this_thread::sleep_for(delay);
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE((WIFSIGNALED(status) || WEXITSTATUS(status) == 0));
    if (!fs::exists(target)) {
      ++interrupted;
      if (restoring) {
        annal::restore_sqlite_backup(dir.path() / "timing.db", target,
                                     annal::restore_point::latest());
      } else {
        annal::sqlite_store store(dir.path() / "events.db");
        annal::backup(store, target);
      }
    }
    if (restoring) {
      annal::sqlite_store restored(target);
      CHECK(restored.last_position() == last);
    } else {
      CHECK(annal::verify_sqlite_backup(target).last_position == last);
    }
  }
  INFO("interrupted before the destination was in place: " << interrupted << " of 40");
  annal::sqlite_store store(dir.path() / "events.db");
  CHECK(store.last_position() == last);
}

// docs/recovery.md's SQLite code, run with the page's claims checked.
TEST_CASE("docs/recovery.md: back up, verify and restore a SQLite store",
          "[recovery][sqlite][docs]") {
  scratch_dir dir;
  annal::sqlite_store store(dir.path() / "events.db");
  const std::uint64_t position = fill(store, 50);
  fill(store, 50, 2);
  const fs::path backup_file = dir.path() / "events-backup.db";
  const fs::path restored_file = dir.path() / "restored.db";

  // [sqlite]
  annal::backup(store, backup_file);         // SQLite's online backup API; writers go on
  annal::verify_sqlite_backup(backup_file);  // integrity_check and annal's invariants
  annal::restore_sqlite_backup(backup_file, restored_file,
                               annal::restore_point::at_position(position));
  // [sqlite]

  annal::sqlite_store restored(restored_file);
  CHECK(restored.last_position() == position);
}
