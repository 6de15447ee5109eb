// What archiving a SQL store (SQLite, PostgreSQL) into a file log must do, written once and run on
// each: the archive holds positions 1..horizon, the store keeps each stream's last event so
// versions, expected versions and tombstones go on; reads below the horizon stop with
// errc::archived naming the archive, never skip; with_archive reads both in one pass; a stopped
// run is finished by the next; bad input is refused naming what was wrong.
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <annal/file/log.hpp>
#include <annal/store/archive.hpp>
#include <annal/store/replication.hpp>
#include <annal/store/tombstone.hpp>
#include <annal/store/with_archive.hpp>

#include "recovery/recovery_support.hpp"

namespace sql_archive_test {

namespace fs = std::filesystem;
using annal::errc;
using recovery_test::all_events;
using recovery_test::batch_of;
using recovery_test::error_with;

inline annal::file_log_options archive_log_options() {
  annal::file_log_options o;
  o.segment_size = 64 * 1024;
  o.sync = annal::durability::none;  // annal::archive syncs it once, before the store deletes
  return o;
}

inline std::string absolute_name(const fs::path& dir) {
  return fs::absolute(dir).lexically_normal().string();
}

template <class Store>
std::vector<annal::recorded_event> stream_events(const Store& store, const std::string& stream) {
  std::vector<annal::recorded_event> out;
  store.read_stream(stream, 1, [&](const annal::recorded_event& e) { out.push_back(e); });
  return out;
}

// Fills `hot` with: a stream "early" of one event at position 1, a stream "gone" deleted early
// (its tombstone below the horizon), then fill()'s five streams. Returns every event.
template <class Store>
std::vector<annal::recorded_event> fill_for_archive(Store& hot) {
  hot.append("early", annal::expected_version::no_stream(), batch_of(1));
  hot.append("gone", annal::expected_version::no_stream(), batch_of(2));
  annal::delete_stream(hot, "gone", annal::expected_version::exact(2));
  recovery_test::fill(hot, 150);
  return all_events(hot);
}

// Archive by position, read, append and archive again.
template <class Store>
void check_round_trip(Store& hot, const fs::path& archive_dir) {
  const auto before = fill_for_archive(hot);
  const std::uint64_t last = before.size();
  const std::uint64_t half = last / 2;
  std::map<std::string, std::uint64_t> versions;
  for (const auto& e : before) versions[e.stream_id] = e.stream_version;

  annal::file_log archive(archive_dir, archive_log_options());
  const annal::archive_result r =
      annal::archive(hot, archive, annal::archive_horizon::position(half));
  CHECK(r.horizon == half);
  CHECK(r.new_events == half);
  CHECK(r.horizon_recorded_at == before[half - 1].recorded_at);
  CHECK(r.kept_heads >= 2);  // "early" and "gone" at least
  CHECK(archive.last_position() == half);
  const annal::archive_state state = hot.archived();
  CHECK(state.horizon == half);
  CHECK(state.last_id == before[half - 1].id);
  CHECK(state.archive == absolute_name(archive_dir));
  CHECK(hot.archive_horizon() == half);
  CHECK(hot.last_position() == last);

  // Below the horizon the hot store stops with the archive's name, before any event it lacks.
  std::vector<std::uint64_t> seen;
  CHECK_THROWS_MATCHES(
      hot.read_all(1, [&](const annal::recorded_event& e) { seen.push_back(e.position); }),
      annal::error, error_with(errc::archived, {absolute_name(archive_dir), std::to_string(half)}));
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == i + 1);  // nothing skipped
  // Above it, the hot store reads as before.
  std::vector<annal::recorded_event> rest;
  hot.read_all(half + 1, [&](const annal::recorded_event& e) { rest.push_back(e); });
  REQUIRE(rest.size() == last - half);
  for (std::size_t i = 0; i < rest.size(); ++i) CHECK(rest[i] == before[half + i]);
  // A stream whose first events are archived: its read stops, naming the archive.
  std::string split;
  for (const auto& e : before)
    if (e.position > half && e.stream_version > 1 && e.stream_id.starts_with("s-")) {
      split = e.stream_id;
      break;
    }
  REQUIRE_FALSE(split.empty());
  CHECK_THROWS_MATCHES(stream_events(hot, split), annal::error,
                       error_with(errc::archived, {split, absolute_name(archive_dir)}));
  // "early"'s one event is its last: kept, and read as before.
  REQUIRE(stream_events(hot, "early").size() == 1);
  CHECK(stream_events(hot, "early")[0] == before[0]);

  // Archive and hot store read as one log, by position and by stream.
  const annal::with_archive both(archive, hot);
  const auto whole = all_events(both);
  REQUIRE(whole.size() == before.size());
  for (std::size_t i = 0; i < whole.size(); ++i) CHECK(whole[i] == before[i]);
  for (const auto& [stream, version] : versions) {
    std::vector<annal::recorded_event> expected;
    for (const auto& e : before)
      if (e.stream_id == stream) expected.push_back(e);
    CHECK(stream_events(both, stream) == expected);
    // Versions go on: the head stays.
    CHECK(hot.stream_version(stream) == version);
  }

  // Expected-version checks and tombstones keep working.
  const auto next = hot.append(split, annal::expected_version::exact(versions[split]), batch_of(1));
  CHECK(next.status == annal::append_status::appended);
  CHECK(next.first_position == last + 1);
  CHECK(hot.append(split, annal::expected_version::exact(versions[split]), batch_of(1)).status ==
        annal::append_status::conflict);
  CHECK(hot.append("early", annal::expected_version::exact(1), batch_of(1)).status ==
        annal::append_status::appended);
  CHECK_THROWS_MATCHES(hot.append("gone", annal::expected_version::any(), batch_of(1)),
                       annal::error, error_with(errc::stream_deleted, {"gone"}));

  // Idempotency by event id holds above the horizon (a retry is a duplicate); below it, the
  // documented horizon, an archived id is not known to the hot store.
  const annal::recorded_event& above = before[last - 1];
  annal::event_data retry;
  retry.id = above.id;
  retry.type = above.type;
  retry.payload = above.payload;
  CHECK(hot.append(above.stream_id, annal::expected_version::any(), {&retry, 1}).status ==
        annal::append_status::duplicate);

  // Again: the archive goes on from where it stands, to the end.
  const std::uint64_t end = hot.last_position();
  const annal::archive_result again =
      annal::archive(hot, archive, annal::archive_horizon::position(end + 100));
  CHECK(again.horizon == end);
  CHECK(again.new_events == end - half);
  CHECK(again.kept_heads == versions.size());  // every stream keeps exactly its last event
  CHECK(hot.last_position() == end);
  CHECK(hot.archive_horizon() == end);
  std::size_t hot_rows = 0;
  hot.read_all(end + 1, [&](const annal::recorded_event&) { ++hot_rows; });
  CHECK(hot_rows == 0);
  CHECK(all_events(both).size() == end);
  // Nothing more to move: the same horizon again copies nothing.
  CHECK(annal::archive(hot, archive, annal::archive_horizon::position(end)).new_events == 0);
  // Appends go on after everything is archived.
  CHECK(hot.append(split, annal::expected_version::exact(versions[split] + 1), batch_of(2))
            .first_position == end + 1);
  CHECK(all_events(both).size() == end + 2);
}

// Archive by age: every event recorded before the instant, and none after.
template <class Store>
void check_by_age(Store& hot, const fs::path& archive_dir) {
  const auto before = fill_for_archive(hot);
  std::size_t cut = before.size() / 3;
  while (cut + 1 < before.size() && before[cut].recorded_at == before[cut - 1].recorded_at) ++cut;
  annal::file_log archive(archive_dir, archive_log_options());
  const annal::archive_result r =
      annal::archive(hot, archive, annal::archive_horizon::older_than(before[cut].recorded_at));
  CHECK(r.horizon == cut);
  CHECK(archive.last_position() == cut);
  // Nothing younger than the age moves: a day's age over events recorded just now moves none.
  CHECK(annal::archive(hot, archive, annal::archive_horizon::age(std::chrono::hours(24)))
            .new_events == 0);
}

// A run stopped after copying, before deleting, is finished by the next: it takes the archive's
// extra events as archived, copies nothing twice, and deletes through them.
template <class Store>
void check_resume(Store& hot, const fs::path& archive_dir) {
  const auto before = fill_for_archive(hot);
  annal::file_log archive(archive_dir, archive_log_options());
  annal::replicator<Store, annal::file_log>(hot, archive).catch_up(before.size() / 2);
  CHECK(hot.archive_horizon() == 0);
  const annal::archive_result r =
      annal::archive(hot, archive, annal::archive_horizon::position(before.size() / 4));
  CHECK(r.horizon == before.size() / 2);
  CHECK(r.new_events == 0);
  CHECK(hot.archive_horizon() == before.size() / 2);
  const auto whole = all_events(annal::with_archive(archive, hot));
  REQUIRE(whole.size() == before.size());
  for (std::size_t i = 0; i < whole.size(); ++i) CHECK(whole[i] == before[i]);
}

// Bad input, each refused naming what was wrong, with the hot store left whole.
template <class Store>
void check_bad_input(Store& hot, const fs::path& dir) {
  const auto before = fill_for_archive(hot);
  {
    annal::file_log archive(dir / "a", archive_log_options());
    CHECK_THROWS_MATCHES(annal::archive(hot, archive, annal::archive_horizon::position(0)),
                         annal::error, error_with(errc::invalid_argument, {"position 0"}));
    annal::archive_options no_batch;
    no_batch.batch_events = 0;
    CHECK_THROWS_MATCHES(
        annal::archive(hot, archive, annal::archive_horizon::position(5), no_batch), annal::error,
        error_with(errc::invalid_argument, {"batch_events"}));
  }
  // Another store's history in the archive directory.
  {
    annal::file_log other(dir / "other", archive_log_options());
    recovery_test::fill(other, 10);
    CHECK_THROWS_MATCHES(annal::archive(hot, other, annal::archive_horizon::position(5)),
                         annal::error, error_with(errc::diverged, {"another store's archive"}));
  }
  CHECK(hot.archive_horizon() == 0);
  CHECK(all_events(hot) == before);
  {
    annal::file_log archive(dir / "a", archive_log_options());
    annal::archive(hot, archive, annal::archive_horizon::position(before.size() / 2));
  }
  // The archive goes on in the same place: another directory is refused, naming both.
  {
    annal::file_log elsewhere(dir / "b", archive_log_options());
    CHECK_THROWS_MATCHES(
        annal::archive(hot, elsewhere, annal::archive_horizon::position(before.size())),
        annal::error,
        error_with(errc::invalid_argument, {absolute_name(dir / "a"), absolute_name(dir / "b")}));
  }
  // An archive that lost its events (deleted and made again) no longer holds what was archived.
  fs::remove_all(dir / "a");
  {
    annal::file_log lost(dir / "a", archive_log_options());
    CHECK_THROWS_MATCHES(
        annal::archive(hot, lost, annal::archive_horizon::position(before.size())), annal::error,
        error_with(errc::diverged, {"holds positions up to 0", std::to_string(before.size() / 2)}));
  }
  CHECK(hot.archive_horizon() == before.size() / 2);
  CHECK(hot.last_position() == before.size());
}

// Appends from another thread while archiving: every acknowledged event is read once, in position
// order, through archive and hot store; the archive run never blocks on them.
template <class Store>
void check_concurrent_appends(Store& hot, const fs::path& archive_dir) {
  fill_for_archive(hot);
  annal::file_log archive(archive_dir, archive_log_options());
  std::atomic<bool> stop{false};
  std::atomic<bool> refused{false};
  std::vector<annal::event_id> acked;
  std::thread writer([&] {
    int n = 0;
    while (!stop.load()) {
      auto batch = batch_of(1 + n % 3);
      const auto r =
          hot.append("live-" + std::to_string(n % 4), annal::expected_version::any(), batch);
      if (r.status != annal::append_status::appended) refused = true;
      for (const auto& e : batch) acked.push_back(e.id);
      ++n;
    }
  });
  // The writer stops and joins whatever the archive runs do.
  struct joiner {
    std::atomic<bool>& stop;
    std::thread& writer;
    ~joiner() {
      stop = true;
      writer.join();
    }
  };
  {
    const joiner join{stop, writer};
    // The writer appends without a pause: an archive run must still get its turn to delete.
    for (int i = 0; i < 20; ++i)
      annal::archive(hot, archive, annal::archive_horizon::position(hot.last_position() - 3));
  }
  CHECK_FALSE(refused.load());
  const auto whole = all_events(annal::with_archive(archive, hot));
  REQUIRE(whole.size() == hot.last_position());
  std::set<annal::event_id> held;
  for (std::size_t i = 0; i < whole.size(); ++i) {
    REQUIRE(whole[i].position == i + 1);
    held.insert(whole[i].id);
  }
  for (const auto& id : acked) CHECK(held.count(id) == 1);
}

// A row deleted behind the store's back (no archive): reads stop before the gap with
// errc::corrupt_log naming it, by position and by stream, never stepping over it.
template <class Store, class DeleteRow>
void check_gap_stops_reads(Store& hot, DeleteRow delete_row) {
  hot.append("g", annal::expected_version::no_stream(), batch_of(3));  // positions 1 to 3
  delete_row(2);
  std::vector<std::uint64_t> seen;
  CHECK_THROWS_MATCHES(
      hot.read_all(1, [&](const annal::recorded_event& e) { seen.push_back(e.position); }),
      annal::error, error_with(errc::corrupt_log, {"position 2 is missing"}));
  CHECK(seen == std::vector<std::uint64_t>{1});
  CHECK_THROWS_MATCHES(stream_events(hot, "g"), annal::error,
                       error_with(errc::corrupt_log, {"version 2 of stream 'g' is missing"}));
  CHECK(hot.archive_horizon() == 0);
}

}  // namespace sql_archive_test
