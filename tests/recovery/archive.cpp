// Archiving a file log: whole sealed segments move to an archive that verify_backup checks and
// with_archive reads with the hot log in one pass; the hot log keeps stream heads, ids and
// tombstones; reads below the horizon name the archive; bad input; kill -9 while archiving
// (ANNAL_CRASH_TRIALS scales the trials).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <annal/file/archive.hpp>
#include <annal/file/backup.hpp>
#include <annal/file/log.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/replication.hpp>
#include <annal/store/repository.hpp>
#include <annal/store/tombstone.hpp>
#include <annal/store/with_archive.hpp>

#include "common/bank_domain.hpp"
#include "recovery/recovery_support.hpp"
#include "store/crash_writer.hpp"
#include "store/store_test_support.hpp"

namespace fs = std::filesystem;
using annal::append_status;
using annal::errc;
using annal::expected_version;
using recovery_test::all_events;
using recovery_test::batch_of;
using recovery_test::crash_stream_for;
using recovery_test::error_with;
using recovery_test::fill;
using recovery_test::require_same_log;

namespace {

annal::file_log_options small_segments() {
  annal::file_log_options o;
  o.segment_size = 16 * 1024;
  return o;
}

annal::file_log_options reader_options() {
  annal::file_log_options o = small_segments();
  o.read_only = true;
  return o;
}

template <class Store>
void require_events(const Store& store, const std::vector<annal::recorded_event>& expected) {
  const auto got = all_events(store);
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("position " << expected[i].position);
    REQUIRE(got[i] == expected[i]);
  }
}

}  // namespace

TEST_CASE("archive moves whole sealed segments; the hot log keeps heads and ids",
          "[recovery][archive]") {
  annal_test_store::scratch_dir dir;
  const fs::path hot_dir = dir.path() / "hot", archive_dir = dir.path() / "archive";
  std::optional<annal::file_log> hot(std::in_place, hot_dir, small_segments());
  annal::file_log& log = *hot;  // stays valid across hot's reopen: the same storage
  fill(log, 400);
  const auto everything = all_events(log);
  const std::uint64_t wanted = log.last_position() / 2;

  const annal::archive_result r =
      annal::archive(log, archive_dir, annal::archive_horizon::position(wanted));
  REQUIRE(r.segments >= 1);
  CHECK(r.new_segments == r.segments);
  CHECK(r.horizon <= wanted);
  CHECK(r.horizon > 0);
  CHECK(r.new_events == r.horizon);
  CHECK(r.moved_bytes > 0);
  CHECK(r.warning.empty());
  CHECK(log.archive_horizon() == r.horizon);
  CHECK(log.archive_directory() == fs::absolute(archive_dir).lexically_normal());
  // Whole segments: the next position starts a segment of the hot log.
  for (std::uint32_t s = 1; s <= r.segments; ++s) {
    char name[16];
    std::snprintf(name, sizeof name, "%08u", s);
    CHECK_FALSE(fs::exists(hot_dir / (std::string(name) + ".log")));
    CHECK(fs::exists(hot_dir / (std::string(name) + ".idx")));
    CHECK(fs::exists(archive_dir / (std::string(name) + ".log")));
  }

  // The archive is a checked backup of positions 1..horizon.
  const annal::verified_backup v = annal::verify_backup(archive_dir);
  CHECK(v.last_position == r.horizon);

  // Reading below the horizon from the hot log names the archive.
  CHECK_THROWS_MATCHES(
      log.read_all(1, [](const annal::recorded_event&) {}), annal::error,
      error_with(errc::archived, {"position 1 is archived",
                                  fs::absolute(archive_dir).lexically_normal().string()}));
  const annal::recorded_event& first_hot = everything[r.horizon];
  CHECK_THROWS_MATCHES(log.read_stream(first_hot.stream_id, 1, [](const annal::recorded_event&) {}),
                       annal::error, error_with(errc::archived, {"archived"}));
  std::vector<annal::recorded_event> tail;
  log.read_all(r.horizon + 1, [&](const annal::recorded_event& e) { tail.push_back(e); });
  CHECK(tail.size() == everything.size() - r.horizon);

  // Heads and ids stay: versions go on, expectations hold, an archived batch's retry is a
  // duplicate.
  const std::uint64_t v0 = log.stream_version("s-0");
  CHECK(v0 > 0);
  CHECK(log.append("s-0", expected_version::exact(v0 - 1), batch_of(1)).status ==
        append_status::conflict);
  CHECK(log.append("s-0", expected_version::exact(v0), batch_of(1)).stream_version == v0 + 1);
  annal::event_data archived_event = annal::as_event_data(everything[0]);
  const auto retry =
      log.append(everything[0].stream_id, expected_version::any(), std::vector{archived_event});
  CHECK(retry.status == append_status::duplicate);
  CHECK(retry.first_position == 1);

  // Archive and hot log read in one pass are the log as it was, plus what came since.
  auto now = everything;
  log.read_all(everything.size() + 1, [&](const annal::recorded_event& e) { now.push_back(e); });
  {
    annal::file_log archive(archive_dir, reader_options());
    annal::with_archive both(archive, log);
    static_assert(annal::event_store<decltype(both)>);
    require_events(both, now);
    std::vector<annal::recorded_event> stream;
    both.read_stream("s-0", 1, [&](const annal::recorded_event& e) { stream.push_back(e); });
    CHECK(stream.size() == log.stream_version("s-0"));
    for (std::size_t i = 0; i < stream.size(); ++i) CHECK(stream[i].stream_version == i + 1);
    std::size_t seen = 0;
    CHECK(both.read_all(1, [&](const annal::recorded_event&) { return ++seen < 3; }) == 3);
    CHECK(both.read_all(
              r.horizon - 1, [](const annal::recorded_event&) {}, 5) == 5);
  }

  // A reopened hot log is archived as before, and goes on appending.
  fill(log, 300, 2);
  const std::uint64_t v1 = log.stream_version("s-0");
  now = {};
  {
    annal::file_log archive(archive_dir, reader_options());
    annal::with_archive both(archive, log);
    now = all_events(both);
  }
  hot.reset();
  hot.emplace(hot_dir, small_segments());
  CHECK(log.archive_horizon() == r.horizon);
  CHECK_THROWS_MATCHES(log.read_all(r.horizon, [](const annal::recorded_event&) {}), annal::error,
                       error_with(errc::archived, {}));
  CHECK(log.stream_version("s-0") == v1);

  // Archiving again moves the segments sealed since, into the same archive.
  const annal::archive_result r2 =
      annal::archive(log, archive_dir, annal::archive_horizon::position(log.last_position()));
  CHECK(r2.segments > r.segments);
  CHECK(r2.new_segments == r2.segments - r.segments);
  CHECK(r2.new_events == r2.horizon - r.horizon);
  CHECK(annal::verify_backup(archive_dir).last_position == r2.horizon);
  {
    annal::file_log archive(archive_dir, reader_options());
    annal::with_archive both(archive, log);
    require_events(both, now);
  }
  // Nothing more is sealed below the same horizon: a no-op.
  const annal::archive_result r3 =
      annal::archive(log, archive_dir, annal::archive_horizon::position(r2.horizon));
  CHECK(r3.new_segments == 0);
  CHECK(r3.horizon == r2.horizon);
}

TEST_CASE("an archived log is replicated and loaded through with_archive", "[recovery][archive]") {
  annal_test_store::scratch_dir dir;
  annal::file_log log(dir.path() / "hot", small_segments());
  fill(log, 300);
  const auto r = annal::archive(log, dir.path() / "archive",
                                annal::archive_horizon::position(log.last_position() / 2));
  REQUIRE(r.horizon > 0);
  annal::file_log archive(dir.path() / "archive", reader_options());
  annal::with_archive both(archive, log);
  // The hot log alone cannot seed a standby: its first positions are archived.
  annal::memory_store from_hot;
  CHECK_THROWS_MATCHES(annal::replicator(log, from_hot).catch_up(), annal::error,
                       error_with(errc::archived, {}));
  // Archive and hot log together can.
  annal::file_log standby(dir.path() / "standby", small_segments());
  annal::replicator(both, standby).catch_up();
  require_same_log(both, standby);
}

TEST_CASE("a repository over with_archive loads an aggregate whose first events are archived",
          "[recovery][archive]") {
  annal_test_store::scratch_dir dir;
  annal::file_log log(dir.path() / "hot", small_segments());
  annal::repository<bank::account, annal::file_log> on_log{log};
  on_log.handle("acc-1", bank::open{"acc-1"});
  for (int i = 0; i < 200; ++i) on_log.handle("acc-1", bank::deposit{10});
  fill(log, 200);
  annal::archive(log, dir.path() / "archive", annal::archive_horizon::position(150));
  CHECK_THROWS_MATCHES(on_log.load("acc-1"), annal::error, error_with(errc::archived, {}));

  annal::file_log archive(dir.path() / "archive", reader_options());
  annal::with_archive both(archive, log);
  annal::repository<bank::account, decltype(both)> accounts{both};
  CHECK(accounts.load("acc-1").state.balance == 2000);
  CHECK(accounts.handle("acc-1", bank::deposit{5}).accepted());  // appended to the hot log
  CHECK(log.stream_version("acc-1") == 202);
  CHECK(accounts.load("acc-1").state.balance == 2005);
}

TEST_CASE("archive by age keeps what is younger", "[recovery][archive]") {
  annal_test_store::scratch_dir dir;
  annal::file_log log(dir.path() / "hot", small_segments());
  fill(log, 200);
  const auto events = all_events(log);
  const annal::time_point cut = events[events.size() / 2].recorded_at;
  const annal::archive_result r =
      annal::archive(log, dir.path() / "archive", annal::archive_horizon::older_than(cut));
  REQUIRE(r.horizon > 0);
  CHECK(events[r.horizon - 1].recorded_at < cut);
  CHECK(r.horizon_recorded_at == events[r.horizon - 1].recorded_at);
  // An age nothing is that old: nothing more moves.
  CHECK(annal::archive(log, dir.path() / "archive",
                       annal::archive_horizon::age(std::chrono::hours(24)))
            .new_segments == 0);
}

TEST_CASE("a deleted stream whose tombstone is archived still refuses appends",
          "[recovery][archive]") {
  annal_test_store::scratch_dir dir;
  const fs::path hot_dir = dir.path() / "hot";
  {
    annal::file_log log(hot_dir, small_segments());
    log.append("gone", expected_version::no_stream(), batch_of(2));
    annal::delete_stream(log, "gone", expected_version::exact(2), "closed");
    log.append("kept", expected_version::no_stream(), batch_of(1));
    fill(log, 300);
    const auto r = annal::archive(log, dir.path() / "archive",
                                  annal::archive_horizon::position(log.last_position()));
    REQUIRE(r.horizon >= 4);
    CHECK_THROWS_MATCHES(log.append("gone", expected_version::any(), batch_of(1)), annal::error,
                         error_with(errc::stream_deleted, {"gone"}));
    CHECK(log.append("kept", expected_version::exact(1), batch_of(1)).ok());
  }
  annal::file_log log(hot_dir, small_segments());
  CHECK_THROWS_MATCHES(log.append("gone", expected_version::any(), batch_of(1)), annal::error,
                       error_with(errc::stream_deleted, {"gone"}));
  CHECK(log.append("kept", expected_version::exact(2), batch_of(1)).ok());
}

TEST_CASE("archive: bad input is refused, naming what was wrong", "[recovery][archive]") {
  annal_test_store::scratch_dir dir;
  const fs::path hot_dir = dir.path() / "hot";
  std::optional<annal::file_log> hot(std::in_place, hot_dir, small_segments());
  annal::file_log& log = *hot;
  fill(log, 300);
  const auto everything = all_events(log);

  SECTION("position 0, an archive inside the log, a read-only log") {
    CHECK_THROWS_MATCHES(annal::archive(log, dir.path() / "a", annal::archive_horizon::position(0)),
                         annal::error, error_with(errc::invalid_argument, {"position 0"}));
    CHECK_THROWS_MATCHES(annal::archive(log, hot_dir / "old", annal::archive_horizon::position(50)),
                         annal::error,
                         error_with(errc::invalid_argument, {"inside the log's directory"}));
    annal::file_log reader(hot_dir, reader_options());
    CHECK_THROWS_MATCHES(
        annal::archive(reader, dir.path() / "a", annal::archive_horizon::position(50)),
        annal::error, error_with(errc::invalid_argument, {"read-only"}));
    CHECK(log.archive_horizon() == 0);
  }

  SECTION("a directory holding something else, or another log's archive") {
    fs::create_directories(dir.path() / "full");
    std::ofstream(dir.path() / "full" / "notes.txt") << "mine";
    CHECK_THROWS_MATCHES(
        annal::archive(log, dir.path() / "full", annal::archive_horizon::position(200)),
        annal::error, error_with(errc::invalid_argument, {"not empty"}));
    annal::file_log other(dir.path() / "other", small_segments());
    fill(other, 300, 9);
    annal::archive(other, dir.path() / "other-archive",
                   annal::archive_horizon::position(other.last_position()));
    CHECK_THROWS_MATCHES(
        annal::archive(log, dir.path() / "other-archive", annal::archive_horizon::position(200)),
        annal::error, error_with(errc::invalid_argument, {"first archive"}));
    CHECK(log.archive_horizon() == 0);
    require_events(log, everything);
  }

  SECTION("once archived, another archive directory is refused") {
    const auto r =
        annal::archive(log, dir.path() / "archive", annal::archive_horizon::position(200));
    REQUIRE(r.horizon > 0);
    fill(log, 100, 3);
    CHECK_THROWS_MATCHES(annal::archive(log, dir.path() / "elsewhere",
                                        annal::archive_horizon::position(log.last_position())),
                         annal::error,
                         error_with(errc::invalid_argument,
                                    {"does not hold positions 1 to " + std::to_string(r.horizon)}));
    CHECK(log.archive_horizon() == r.horizon);
  }

  SECTION("an archive directory that cannot be written: a clear error, the log untouched") {
    const fs::path locked = dir.path() / "locked";
    fs::create_directories(locked);
    recovery_test::unwritable_directory lock(locked);
    if (!lock.locked()) {
      WARN("cannot make a directory unwritable here; skipped");
      return;
    }
    CHECK_THROWS_MATCHES(annal::archive(log, locked, annal::archive_horizon::position(200)),
                         annal::error, error_with(errc::io_error, {locked.string()}));
    CHECK(log.archive_horizon() == 0);
    require_events(log, everything);
  }

  SECTION("a horizon above the lowest projection checkpoint warns") {
    annal::archive_options o;
    o.lowest_checkpoint = 10;
    std::vector<std::string> logged;
    annal::set_log_handler([&](annal::log_level, std::string_view m) { logged.emplace_back(m); });
    const auto r =
        annal::archive(log, dir.path() / "archive", annal::archive_horizon::position(200), o);
    annal::set_log_handler({});
    REQUIRE(r.horizon >= 10);
    CHECK_THAT(r.warning, Catch::Contains("lowest projection checkpoint 10"));
    REQUIRE(logged.size() == 1);
    CHECK(logged[0] == r.warning);
  }

  SECTION("an archived log is backed up through its archive") {
    annal::archive(log, dir.path() / "archive", annal::archive_horizon::position(200));
    CHECK_THROWS_MATCHES(annal::backup(log, dir.path() / "backup"), annal::error,
                         error_with(errc::archived, {"in its archive"}));
  }

  SECTION("a lost index file of an archived segment stops the open, naming the archive") {
    const auto r =
        annal::archive(log, dir.path() / "archive", annal::archive_horizon::position(200));
    REQUIRE(r.segments >= 1);
    hot.reset();
    fs::remove(hot_dir / "00000001.idx");
    CHECK_THROWS_MATCHES((annal::file_log(hot_dir, small_segments())), annal::error,
                         error_with(errc::corrupt_log, {"00000001.idx", "archive"}));
    fs::copy_file(dir.path() / "archive" / "00000001.idx", hot_dir / "00000001.idx");
    hot.emplace(hot_dir, small_segments());
    CHECK(log.archive_horizon() == r.horizon);
  }
}

TEST_CASE("reads beside an archive run see whole events or errc::archived, nothing else",
          "[recovery][archive]") {
  annal_test_store::scratch_dir dir;
  annal::file_log log(dir.path() / "hot", small_segments());
  fill(log, 600);
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, refused{0};
  std::vector<std::string> failures;
  std::mutex failures_mutex;
  std::vector<std::jthread> readers;
  for (int t = 0; t < 2; ++t)
    readers.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      while (!stop) {
        const std::uint64_t from = 1 + rng() % log.last_position();
        try {
          std::uint64_t expect = from;
          log.read_all(
              from,
              [&](const annal::recorded_event& e) {
                if (e.position != expect++) throw std::runtime_error("a gap in read_all");
              },
              200);
          ++reads;
        } catch (const annal::error& e) {
          if (e.code() == annal::make_error_code(errc::archived)) {
            ++refused;
          } else {
            std::lock_guard lock(failures_mutex);
            failures.emplace_back(e.what());
          }
        } catch (const std::exception& e) {
          std::lock_guard lock(failures_mutex);
          failures.emplace_back(e.what());
        }
      }
    });
  for (std::uint64_t h = 50; h < log.last_position(); h += 60)
    annal::archive(log, dir.path() / "archive", annal::archive_horizon::position(h));
  while (reads < 50) std::this_thread::yield();
  stop = true;
  readers.clear();
  CHECK(failures.empty());
  INFO("reads " << reads << ", refused as archived " << refused);
  CHECK(log.archive_horizon() > 0);
}

// A child appends with acknowledgements and archives, again and again at rising horizons, and is
// kill -9ed at a random moment. The hot log then opens; the archive, if its marker says complete,
// verifies; a rerun of archive finishes the job; and archive and hot log together hold every
// acknowledged event at positions 1, 2, 3... ANNAL_CRASH_TRIALS sets the number of trials
// (default 200); ANNAL_CRASH_SEED the seed.
TEST_CASE("archive: kill -9 at random moments", "[recovery][archive][crash]") {
  const int trials = recovery_test::crash_trials();
  const unsigned seed = recovery_test::crash_seed();
  INFO("ANNAL_CRASH_SEED=" << seed << " ANNAL_CRASH_TRIALS=" << trials);
  std::mt19937 rng(seed);
  // Some kills must come after the child's first archive: the range covers it here.
  const auto range = recovery_test::kill_delay_range(std::chrono::milliseconds(40), [] {
    annal_test_store::scratch_dir dir;
    {
      annal::file_log log(dir.path() / "hot", small_segments());
      fill(log, 400);
    }
    const auto started = std::chrono::steady_clock::now();
    annal::file_log log(dir.path() / "hot", small_segments());
    annal::archive(log, dir.path() / "archive",
                   annal::archive_horizon::position(log.last_position() * 3 / 4));
    return std::chrono::steady_clock::now() - started;
  });
  INFO("kills within " << range.count() << " us");
  int archived_at_kill = 0;
  for (int trial = 0; trial < trials; ++trial) {
    INFO("trial " << trial);
    annal_test_store::scratch_dir dir;
    const fs::path hot_dir = dir.path() / "hot", archive_dir = dir.path() / "archive";
    {
      annal::file_log log(hot_dir, small_segments());
      fill(log, 200 + static_cast<int>(rng() % 200), static_cast<unsigned>(trial));
    }
    const auto delay =
        std::chrono::microseconds(1000 + rng() % static_cast<std::uint64_t>(range.count()));
    const unsigned child_seed = static_cast<unsigned>(rng());
    const auto child = recovery_test::fork_and_kill(delay, [&](int out) {
      try {
        annal::file_log log(hot_dir, small_segments());
        std::thread writer([&] {
          annal_test_store::append_and_acknowledge(log, out, 1, child_seed, "crash.test",
                                                   crash_stream_for);
        });
        for (;;)
          annal::archive(log, archive_dir,
                         annal::archive_horizon::position(log.last_position() * 3 / 4));
      } catch (const std::exception& e) {
        recovery_test::child_failed(e);
      }
    });
    REQUIRE_FALSE(child.exited);
    std::set<annal::event_id> acked;
    for (const auto& [position, id] : annal_test_store::acknowledged_events(child.bytes))
      acked.insert(id);

    annal::file_log log(hot_dir, small_segments());
    if (log.archive_horizon() != 0) {
      // The archive holds what the log's marker says it does; a run killed after that may have
      // left more, marked unfinished until the rerun below.
      ++archived_at_kill;
      annal::file_log archive(archive_dir, reader_options());
      CHECK(archive.last_position() >= log.archive_horizon());
    }
    // The rerun finishes what the killed run began, whatever it left.
    annal::archive(log, archive_dir, annal::archive_horizon::position(log.last_position() / 2));
    REQUIRE(log.archive_horizon() > 0);
    CHECK(annal::verify_backup(archive_dir).last_position == log.archive_horizon());
    annal::file_log archive(archive_dir, reader_options());
    annal::with_archive both(archive, log);
    const auto events = all_events(both);
    REQUIRE(events.size() == log.last_position());
    std::set<annal::event_id> held;
    for (std::size_t i = 0; i < events.size(); ++i) {
      REQUIRE(events[i].position == i + 1);
      held.insert(events[i].id);
    }
    for (const auto& id : acked) REQUIRE(held.count(id) == 1);
  }
  INFO("trials where the hot log was archived at the kill: " << archived_at_kill);
  CHECK(archived_at_kill > 0);
}

// docs/recovery.md's archiving code, run with the page's claims checked.
TEST_CASE("docs/recovery.md: archive a file log and read it whole", "[recovery][archive][docs]") {
  annal_test_store::scratch_dir dir;
  annal::file_log log(dir.path() / "orders", small_segments());
  fill(log, 300);
  const fs::path archive_dir = dir.path() / "orders-archive";
  const auto before = all_events(log);
  const annal::time_point cutoff = before[before.size() / 2].recorded_at;
  std::size_t events = 0;

  // [archive]
  // Sealed segments with every event recorded before the cutoff move to the archive directory
  // (also: archive_horizon::position(p), archive_horizon::age(std::chrono::days(90))).
  annal::archive_result r =
      annal::archive(log, archive_dir, annal::archive_horizon::older_than(cutoff));
  annal::verify_backup(archive_dir);  // the archive is a checked backup of positions 1..r.horizon

  annal::file_log_options read_only;
  read_only.read_only = true;
  annal::file_log archive{archive_dir, read_only};
  annal::with_archive both(archive, log);  // an event_store: the archive, then the hot log
  both.read_all(1, [&](const annal::recorded_event&) { ++events; });
  // [archive]

  CHECK(r.horizon > 0);
  CHECK(events == before.size());
  CHECK_THROWS_MATCHES(log.read_all(1, [](const annal::recorded_event&) {}), annal::error,
                       error_with(errc::archived, {archive_dir.filename().string()}));
}
