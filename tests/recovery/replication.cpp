// Log shipping between the file log and the memory store: copies that keep every field, resuming,
// following, diverging histories refused, the standby and its promotion, the synchronous primary,
// and kill -9 of both sides (ANNAL_CRASH_TRIALS scales the trials).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <annal/file/log.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/replication.hpp>
#include <annal/store/tombstone.hpp>

#include "recovery/recovery_support.hpp"
#include "store/crash_writer.hpp"
#include "store/faulty_io.hpp"
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

// A primary with what replication must carry: several streams, batches, metadata, correlation and
// causation ids, and a deleted stream.
template <class Store>
void fill_rich(Store& store, int batches) {
  fill(store, batches, 7);
  annal::event_data e;
  e.id = annal::new_event_id();
  e.type = "order.placed";
  e.payload = "{\"total\":12}";
  e.correlation_id = annal::new_event_id();
  e.causation_id = annal::new_event_id();
  e.meta = {{"user", "ann"}, {"tenant", "t1"}};
  e.schema_version = 3;
  store.append("order-1", expected_version::no_stream(), std::vector{e});
  annal::delete_stream(store, "order-1", expected_version::exact(1), "test over");
}

}  // namespace

TEST_CASE("replication copies every field at the same positions, and resumes where it stopped",
          "[recovery][replication]") {
  annal_test_store::scratch_dir dir;
  annal::file_log primary(dir.path() / "primary", small_segments());
  fill_rich(primary, 300);

  SECTION("file log to file log, in steps of a few events") {
    annal::file_log standby(dir.path() / "standby", small_segments());
    annal::replication_options o;
    o.batch_events = 7;
    annal::replicator rep(primary, standby, o);
    std::size_t steps = 0;
    while (rep.step() != 0) ++steps;
    CHECK(steps >= primary.last_position() / 7);
    require_same_log(primary, standby);
    CHECK(rep.lag().caught_up());
    CHECK(standby.stream_version("order-1") == 2);
    // The tombstone came too: the standby refuses appends to the deleted stream as well.
    CHECK_THROWS_MATCHES(standby.append("order-1", expected_version::any(), batch_of(1)),
                         annal::error, error_with(errc::stream_deleted, {"order-1"}));
  }

  SECTION("a new replicator goes on from the standby's last position and copies nothing twice") {
    const fs::path at = dir.path() / "standby";
    {
      annal::file_log standby(at, small_segments());
      annal::replication_options o;
      o.batch_events = 100;
      annal::replicator rep(primary, standby, o);
      CHECK(rep.step() == 100);
    }
    fill(primary, 50, 9);
    annal::file_log standby(at, small_segments());
    CHECK(standby.last_position() == 100);
    annal::replicator rep(primary, standby);
    CHECK(rep.catch_up() == primary.last_position() - 100);
    CHECK(rep.catch_up() == 0);
    require_same_log(primary, standby);
  }

  SECTION("file log to memory store and back") {
    annal::memory_store memory;
    annal::replicator(primary, memory).catch_up();
    require_same_log(primary, memory);
    annal::file_log again(dir.path() / "again", small_segments());
    annal::replicator(memory, again).catch_up();
    require_same_log(primary, again);
  }

  SECTION("catch_up stops at the position it is given") {
    annal::memory_store memory;
    annal::replicator rep(primary, memory);
    CHECK(rep.catch_up(40) == 40);
    CHECK(memory.last_position() == 40);
    const auto lag = rep.lag();
    CHECK(lag.standby_position == 40);
    CHECK(lag.primary_position == primary.last_position());
    CHECK(lag.positions_behind == primary.last_position() - 40);
    CHECK(lag.time_behind >= std::chrono::nanoseconds(0));
  }
}

TEST_CASE("a standby without a sync per append is synced once a step", "[recovery][replication]") {
  annal_test_store::scratch_dir dir;
  annal::file_log primary(dir.path() / "primary");
  fill(primary, 100);
  annal_test_store::faulty_io io;
  annal::file_log_options none;
  none.sync = annal::durability::none;
  annal::basic_file_log<annal_test_store::faulty_io> standby(dir.path() / "standby", none, io);
  annal::replication_options o;
  o.batch_events = 40;
  annal::replicator rep(primary, standby, o);
  const long before = io.plan->syncs.load();
  REQUIRE(rep.step() == 40);
  const long after_one = io.plan->syncs.load();
  CHECK(after_one > before);
  rep.catch_up();
  // A step per 40 events, not a sync per append (a run of one stream's batch).
  CHECK(io.plan->syncs.load() - before <= 2 * static_cast<long>(primary.last_position() / 40 + 1));
  CHECK(standby.last_position() == primary.last_position());
}

TEST_CASE("replication refuses a standby whose history diverges, naming both positions",
          "[recovery][replication]") {
  annal::memory_store primary;
  fill(primary, 20);
  annal::memory_store standby;
  annal::replicator(primary, standby).catch_up();

  SECTION("the standby was written to") {
    standby.append("s-0", expected_version::any(), batch_of(1));
    const std::uint64_t copied = primary.last_position();
    fill(primary, 5, 3);
    annal::replicator rep(primary, standby);
    const std::string at = std::to_string(standby.last_position());
    CHECK_THROWS_MATCHES(
        rep.step(), annal::error,
        error_with(errc::diverged, {"standby's position " + at, "primary's position " + at}));
    CHECK(standby.last_position() == copied + 1);
  }

  SECTION("the standby is ahead of the primary") {
    annal::memory_store shorter;
    annal::replicator(primary, shorter).catch_up(10);
    annal::replicator rep(shorter, standby);
    CHECK_THROWS_MATCHES(
        rep.catch_up(), annal::error,
        error_with(errc::diverged, {"positions up to " + std::to_string(primary.last_position()),
                                    "ends at position 10"}));
  }

  SECTION("another store's history at the same positions") {
    annal::memory_store other;
    fill(other, 30, 5);
    annal::replicator rep(other, standby);
    CHECK_THROWS_MATCHES(rep.catch_up(), annal::error,
                         error_with(errc::diverged, {"diverge at or before position"}));
    CHECK(standby.last_position() == primary.last_position());
  }

  SECTION("a stream at another version on the standby") {
    // Same last event, but the standby's stream "x" got an event the primary's never had at a
    // position the replicator has not reached: found when it appends.
    annal::memory_store p2, s2;
    p2.append("x", expected_version::any(), batch_of(1));
    annal::replicator(p2, s2).catch_up();
    p2.append("y", expected_version::any(), batch_of(1));
    p2.append("x", expected_version::any(), batch_of(1));
    s2.append("x", expected_version::any(), batch_of(1));
    annal::replicator rep(p2, s2);
    CHECK_THROWS_MATCHES(rep.catch_up(), annal::error, error_with(errc::diverged, {}));
  }
}

TEST_CASE("replication: bad options and a standby fed events out of order",
          "[recovery][replication]") {
  annal::memory_store primary, standby;
  annal::replication_options o;
  o.batch_events = 0;
  CHECK_THROWS_MATCHES((annal::replicator(primary, standby, o)), annal::error,
                       error_with(errc::invalid_argument, {"batch_events"}));
  o = {};
  o.poll_interval = std::chrono::milliseconds(0);
  CHECK_THROWS_MATCHES((annal::replicator(primary, standby, o)), annal::error,
                       error_with(errc::invalid_argument, {"poll_interval"}));

  fill(primary, 10);
  auto events = all_events(primary);
  annal::replica_writer writer(standby);
  events.erase(events.begin() + 3);
  CHECK_THROWS_MATCHES(writer.write(events), annal::error,
                       error_with(errc::invalid_argument, {"needs position 4 next"}));
  CHECK(standby.last_position() == 3);
}

TEST_CASE("a replicator follows its primary live and reports its lag", "[recovery][replication]") {
  annal_test_store::scratch_dir dir;
  annal::file_log primary(dir.path() / "primary", small_segments());
  annal::file_log standby(dir.path() / "standby", small_segments());
  std::vector<annal::replication_lag> reports;
  std::mutex reports_mutex;
  annal::replication_options o;
  o.poll_interval = std::chrono::milliseconds(5);
  o.on_progress = [&](const annal::replication_lag& l) {
    std::lock_guard lock(reports_mutex);
    reports.push_back(l);
  };
  annal::replicator rep(primary, standby, o);
  {
    std::jthread follower([&](std::stop_token stop) { rep.run(stop); });
    for (int i = 0; i < 20; ++i) {
      fill(primary, 10, static_cast<unsigned>(i));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    while (standby.last_position() < primary.last_position())
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  require_same_log(primary, standby);
  std::lock_guard lock(reports_mutex);
  REQUIRE_FALSE(reports.empty());
  CHECK(reports.back().standby_position == primary.last_position());
  for (std::size_t i = 1; i < reports.size(); ++i)
    CHECK(reports[i].standby_position > reports[i - 1].standby_position);
}

TEST_CASE("a standby only reads until it is promoted, then continues the primary's positions",
          "[recovery][replication]") {
  annal_test_store::scratch_dir dir;
  annal::file_log primary(dir.path() / "primary", small_segments());
  fill(primary, 50);
  annal::replication_options o;
  o.poll_interval = std::chrono::milliseconds(5);
  annal::standby<annal::file_log, annal::file_log> standby(primary, o, dir.path() / "standby",
                                                           small_segments());
  // store() is const: a standby has no append (the compile-fail test holds that line).
  static_assert(std::is_const_v<std::remove_reference_t<decltype(standby.store())>>);
  fill(primary, 50, 2);
  const std::uint64_t end = primary.last_position();
  standby.ship(end);
  CHECK(standby.store().last_position() >= end);
  CHECK_FALSE(standby.failure());

  annal::file_log& promoted = standby.promote();
  CHECK(standby.promoted());
  const std::uint64_t at = standby.promoted_position();
  CHECK(at == promoted.last_position());
  CHECK(at >= end);
  // Appends to the old primary after promotion never reach the promoted store.
  fill(primary, 5, 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(promoted.last_position() == at);
  const auto r = promoted.append("after", expected_version::no_stream(), batch_of(2));
  CHECK(r.first_position == at + 1);
  CHECK_THROWS_MATCHES(standby.ship(at + 2), annal::error,
                       error_with(errc::invalid_argument, {"promoted at position"}));
  CHECK(&standby.promote() == &promoted);
}

TEST_CASE("a standby that meets a diverging history stops following and says why",
          "[recovery][replication]") {
  annal_test_store::scratch_dir dir;
  annal::file_log primary(dir.path() / "primary", small_segments());
  fill(primary, 20);
  std::uint64_t held = 0;
  {
    annal::file_log other(dir.path() / "standby", small_segments());
    held = fill(other, 5, 99);  // another history where the standby will open
  }
  annal::replication_options o;
  o.poll_interval = std::chrono::milliseconds(2);
  annal::standby<annal::file_log, annal::file_log> standby(primary, o, dir.path() / "standby",
                                                           small_segments());
  while (!standby.failure()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK_THROWS_MATCHES(std::rethrow_exception(standby.failure()), annal::error,
                       error_with(errc::diverged, {"position " + std::to_string(held)}));
  CHECK_THROWS_MATCHES(standby.ship(primary.last_position()), annal::error,
                       error_with(errc::diverged, {}));
  CHECK(standby.store().last_position() == held);
  CHECK(standby.lag().positions_behind == primary.last_position() - held);
}

TEST_CASE("a synchronous primary acknowledges an append only once the standby holds it",
          "[recovery][replication]") {
  annal_test_store::scratch_dir dir;
  annal::file_log primary(dir.path() / "primary", small_segments());
  annal::standby<annal::file_log, annal::file_log> standby(primary, {}, dir.path() / "standby",
                                                           small_segments());
  annal::synchronous_primary shipped(primary, standby);
  static_assert(annal::event_store<decltype(shipped)>);
  std::atomic<int> late{0};
  {
    std::vector<std::jthread> writers;
    for (int t = 0; t < 4; ++t)
      writers.emplace_back([&, t] {
        for (int i = 0; i < 50; ++i) {
          const auto r = shipped.append("w-" + std::to_string(t), expected_version::any(),
                                        batch_of(1 + i % 3));
          if (standby.store().last_position() < r.last_position) ++late;
        }
      });
  }
  CHECK(late == 0);
  standby.ship(primary.last_position());
  require_same_log(primary, standby.store());
  // A retried batch is a duplicate on the primary and is acknowledged again.
  const auto batch = batch_of(2);
  const auto first = shipped.append("retry", expected_version::no_stream(), batch);
  const auto again = shipped.append("retry", expected_version::no_stream(), batch);
  CHECK(again.status == append_status::duplicate);
  CHECK(again.first_position == first.first_position);
  // A conflict is the caller's to handle, and ships nothing.
  CHECK(shipped.append("retry", expected_version::exact(7), batch_of(1)).status ==
        append_status::conflict);
}

// A child appends to a primary while a standby follows it, asynchronously or synchronously, and is
// kill -9ed at a random moment. Both sides then open as they are: the standby is a prefix of the
// primary, a rerun of the replicator makes them equal, and in synchronous mode every acknowledged
// event is on the standby, so losing the primary's directory loses nothing acknowledged.
// ANNAL_CRASH_TRIALS sets the number of trials (default 200, half of them synchronous);
// ANNAL_CRASH_SEED the seed.
TEST_CASE("replication: kill -9 of primary and standby at random moments",
          "[recovery][replication][crash]") {
  const int trials = recovery_test::crash_trials();
  const unsigned seed = recovery_test::crash_seed();
  INFO("ANNAL_CRASH_SEED=" << seed << " ANNAL_CRASH_TRIALS=" << trials);
  std::mt19937 rng(seed);
  int caught_up_at_kill = 0;
  std::uint64_t behind_total = 0;
  for (int trial = 0; trial < trials; ++trial) {
    const bool synchronous = trial % 2 == 1;
    INFO("trial " << trial << (synchronous ? " (synchronous)" : " (asynchronous)"));
    annal_test_store::scratch_dir dir;
    const fs::path p = dir.path() / "primary", s = dir.path() / "standby";
    if (trial % 4 < 2) {
      // Half the trials start from a standby that holds part of the history already.
      annal::file_log primary(p, small_segments());
      fill(primary, 30, static_cast<unsigned>(trial));
      annal::file_log standby(s, small_segments());
      annal::replicator(primary, standby).catch_up(static_cast<std::uint64_t>(1 + rng() % 40));
    }
    const auto delay = std::chrono::microseconds(2000 + rng() % 30000);
    const unsigned child_seed = static_cast<unsigned>(rng());
    const auto child = recovery_test::fork_and_kill(delay, [&](int out) {
      try {
        annal::file_log primary(p, small_segments());
        annal::replication_options o;
        o.batch_events = 16;
        o.poll_interval = std::chrono::milliseconds(1);
        annal::standby<annal::file_log, annal::file_log> standby(primary, o, s, small_segments());
        if (synchronous) {
          annal::synchronous_primary shipped(primary, standby);
          annal_test_store::append_and_acknowledge(shipped, out, 2, child_seed, "crash.test",
                                                   crash_stream_for);
        } else {
          annal_test_store::append_and_acknowledge(primary, out, 2, child_seed, "crash.test",
                                                   crash_stream_for);
        }
      } catch (const std::exception& e) {
        recovery_test::child_failed(e);
      }
    });
    REQUIRE_FALSE(child.exited);
    const auto acked = annal_test_store::acknowledged_events(child.bytes);

    annal::file_log primary(p, small_segments());
    std::optional<annal::file_log> standby(std::in_place, s, small_segments());
    const auto on_primary = all_events(primary);
    const auto on_standby = all_events(*standby);
    REQUIRE(on_standby.size() <= on_primary.size());
    for (std::size_t i = 0; i < on_standby.size(); ++i) {
      INFO("position " << on_standby[i].position);
      REQUIRE(on_standby[i] == on_primary[i]);
    }
    std::set<annal::event_id> held;
    for (const auto& e : (synchronous ? on_standby : on_primary)) held.insert(e.id);
    for (const auto& [position, id] : acked) REQUIRE(held.count(id) == 1);
    if (on_standby.size() == on_primary.size()) ++caught_up_at_kill;
    behind_total += on_primary.size() - on_standby.size();

    // The rerun finishes the job.
    annal::replicator(primary, *standby).catch_up();
    require_same_log(primary, *standby);
    // Promotion after the primary's loss: the standby opens and appends where the primary stopped.
    standby.reset();
    const std::uint64_t end = primary.last_position();
    standby.emplace(s, small_segments());
    CHECK(standby->append("after", expected_version::any(), batch_of(1)).first_position == end + 1);
  }
  INFO("standbys caught up at the kill: " << caught_up_at_kill << " of " << trials
                                          << "; events behind in all: " << behind_total);
  CHECK(caught_up_at_kill < trials);  // the kills landed while shipping was under way
}

// A child follows a primary with a standby, promotes it at a random moment and appends to it, and
// is kill -9ed at a random moment: before, during or after the promotion. The standby then opens
// as a prefix of the primary followed only by its own acknowledged appends, never a mix, and
// takes appends again. ANNAL_CRASH_TRIALS sets the number of trials (default 200).
TEST_CASE("promotion: kill -9 before, during and after it", "[recovery][replication][crash]") {
  const int trials = recovery_test::crash_trials();
  const unsigned seed = recovery_test::crash_seed();
  INFO("ANNAL_CRASH_SEED=" << seed << " ANNAL_CRASH_TRIALS=" << trials);
  std::mt19937 rng(seed);
  // Some kills must come after the promotion and an append (at most 20 ms of waiting first): the
  // range covers them here.
  const auto range = recovery_test::kill_delay_range(std::chrono::milliseconds(40), [] {
    annal_test_store::scratch_dir dir;
    {
      annal::file_log primary(dir.path() / "primary", small_segments());
      fill(primary, 120);
    }
    const auto started = std::chrono::steady_clock::now();
    const annal::file_log primary(dir.path() / "primary", small_segments());
    annal::standby<annal::file_log, annal::file_log> standby(primary, {}, dir.path() / "standby",
                                                             small_segments());
    standby.promote().append("after", expected_version::any(), batch_of(1));
    return std::chrono::steady_clock::now() - started + std::chrono::milliseconds(20);
  });
  INFO("kills within " << range.count() << " us");
  int promoted_at_kill = 0;
  for (int trial = 0; trial < trials; ++trial) {
    INFO("trial " << trial);
    annal_test_store::scratch_dir dir;
    const fs::path p = dir.path() / "primary", s = dir.path() / "standby";
    {
      annal::file_log primary(p, small_segments());
      fill(primary, 40 + static_cast<int>(rng() % 80), static_cast<unsigned>(trial));
    }
    const auto promote_after = std::chrono::microseconds(rng() % 20000);
    const auto delay =
        std::chrono::microseconds(1000 + rng() % static_cast<std::uint64_t>(range.count()));
    const unsigned child_seed = static_cast<unsigned>(rng());
    const auto child = recovery_test::fork_and_kill(delay, [&](int out) {
      try {
        const annal::file_log primary(p, small_segments());
        annal::replication_options o;
        o.batch_events = 8;
        o.poll_interval = std::chrono::milliseconds(1);
        annal::standby<annal::file_log, annal::file_log> standby(primary, o, s, small_segments());
        std::this_thread::sleep_for(promote_after);
        annal::file_log& promoted = standby.promote();
        annal_test_store::append_and_acknowledge(promoted, out, 1, child_seed, "crash.test",
                                                 crash_stream_for);
      } catch (const std::exception& e) {
        recovery_test::child_failed(e);
      }
    });
    REQUIRE_FALSE(child.exited);
    std::set<annal::event_id> acked;
    for (const auto& [position, id] : annal_test_store::acknowledged_events(child.bytes))
      acked.insert(id);

    const annal::file_log primary(p, small_segments());
    annal::file_log standby(s, small_segments());
    const auto from_primary = all_events(primary);
    const auto on_standby = all_events(standby);
    std::size_t copied = 0;  // the prefix copied from the primary
    while (copied < on_standby.size() && copied < from_primary.size() &&
           on_standby[copied].id == from_primary[copied].id) {
      REQUIRE(on_standby[copied] == from_primary[copied]);
      ++copied;
    }
    std::set<annal::event_id> own;
    for (std::size_t i = copied; i < on_standby.size(); ++i) {
      INFO("position " << on_standby[i].position);
      REQUIRE(on_standby[i].position == i + 1);
      REQUIRE(on_standby[i].type == "crash.test");  // never a primary's event after its own
      own.insert(on_standby[i].id);
    }
    for (const auto& id : acked) REQUIRE(own.count(id) == 1);
    if (!own.empty()) ++promoted_at_kill;
    // The promoted standby takes appends where it stands.
    CHECK(standby.append("after", expected_version::any(), batch_of(1)).first_position ==
          on_standby.size() + 1);
  }
  INFO("trials with appends to the promoted standby at the kill: " << promoted_at_kill);
  CHECK(promoted_at_kill > 0);
  CHECK(promoted_at_kill < trials);
}

// docs/recovery.md's log shipping code, run with the page's claims checked.
TEST_CASE("docs/recovery.md: ship a log to a standby, then promote it", "[recovery][docs]") {
  annal_test_store::scratch_dir dir;
  annal::file_log primary(dir.path() / "primary", small_segments());
  annal::file_log copy(dir.path() / "copy", small_segments());
  fill(primary, 50);
  const fs::path standby_dir = dir.path() / "standby";
  const std::vector<annal::event_data> batch = batch_of(2);
  {
    // [replicate]
    annal::replicator replicator(primary, copy);  // any store to any store
    replicator.catch_up();                        // everything the primary holds now
    std::jthread follower([&](std::stop_token stop) { replicator.run(stop); });  // then live
    annal::replication_lag lag = replicator.lag();  // positions_behind, time_behind
    // [replicate]
    CHECK(lag.standby_position >= 1);
  }
  require_same_log(primary, copy);

  // [standby]
  annal::standby<annal::file_log, annal::file_log> standby(primary, {}, standby_dir);
  const annal::file_log& reads = standby.store();  // follows the primary, reads only
  // Optional: acknowledge appends only once the standby holds them.
  annal::synchronous_primary shipped(primary, standby);
  annal::append_result r = shipped.append("order-7", expected_version::no_stream(), batch);
  // ... the primary's disk is lost:
  annal::file_log& promoted = standby.promote();  // stops following; now it takes appends
  // [standby]
  CHECK(reads.last_position() >= r.last_position);
  CHECK(promoted.stream_version("order-7") == 2);
  require_same_log(primary, promoted);
}
