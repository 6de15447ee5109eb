// File log backups and restores: online and incremental backups, verification, point-in-time
// restore, bad input, and kill -9 during both (ANNAL_CRASH_TRIALS scales the trials, default 1).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <annal/file/backup.hpp>
#include <annal/file/log.hpp>
#include <annal/file/restore.hpp>
#include <annal/runtime/new_event_id.hpp>

#include "common/invalid_option.hpp"
#include "recovery/recovery_support.hpp"
#include "store/crash_writer.hpp"
#include "store/store_test_support.hpp"

namespace fs = std::filesystem;
using annal_test_store::scratch_dir;

namespace {

using recovery_test::all_events;
using recovery_test::crash_stream_for;
using recovery_test::error_with;
using recovery_test::fill;
using recovery_test::fork_and_kill;
using recovery_test::killed_child;
using recovery_test::same_events;

annal::file_log_options small_segments() {
  annal::file_log_options o;
  o.segment_size = 4096;  // a roll-over every dozen events
  o.sync = annal::durability::none;
  return o;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
void spill(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Every file of a directory and its bytes: "the source is untouched" is this, unchanged.
std::map<std::string, std::string> contents(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out[e.path().filename()] = slurp(e.path());
  return out;
}

// The offset of position `position`'s record in its segment, from a scan of the bytes.
std::pair<fs::path, std::uint64_t> locate(const fs::path& dir, std::uint64_t position) {
  namespace fl = annal::detail::file_log;
  for (std::uint32_t s = 1; fs::exists(dir / fl::segment_file(s)); ++s) {
    const std::string bytes = slurp(dir / fl::segment_file(s));
    for (std::size_t at = fl::segment_header_size; at + 8 <= bytes.size();) {
      if (fl::get<std::uint64_t>(bytes.data() + at + 16) == position)
        return {dir / fl::segment_file(s), at};
      at += fl::get<std::uint32_t>(bytes.data() + at + 4);
    }
  }
  FAIL("position " << position << " not found in " << dir);
  return {};
}

void flip_payload_byte(const fs::path& dir, std::uint64_t position) {
  const auto [path, offset] = locate(dir, position);
  std::string bytes = slurp(path);
  bytes[offset + annal::detail::file_log::record_header_size + 20] ^= 0x40;
  spill(path, bytes);
}

}  // namespace

TEST_CASE("file backup: a full backup of a live log opens as the same log", "[recovery][file]") {
  scratch_dir dir;
  annal::file_log log(dir.log(), small_segments());
  fill(log, 200);
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (unsigned i = 0; !stop; ++i) fill(log, 1, 1000 + i);
  });
  std::vector<annal::backup_progress> reports;
  annal::backup_options options;
  options.on_progress = [&](const annal::backup_progress& p) { reports.push_back(p); };
  options.progress_interval = std::chrono::milliseconds(0);
  const annal::backup_result r = annal::backup(log, dir.path() / "backup", options);
  stop = true;
  writer.join();

  CHECK(r.last_position >= 200);
  CHECK(r.events == r.last_position);
  CHECK(r.new_events == r.events);
  CHECK_FALSE(r.incremental);
  CHECK(r.copied_bytes == r.bytes);
  REQUIRE_FALSE(reports.empty());
  CHECK(reports.back().done);
  CHECK(reports.back().bytes == reports.back().target_bytes);
  CHECK(reports.back().events == r.events);
  CHECK(reports.back().position == r.last_position);

  const annal::verified_backup v = annal::verify_backup(dir.path() / "backup");
  CHECK(v.last_position == r.last_position);
  CHECK(v.bytes == r.bytes);
  CHECK(v.streams == 5);

  // The backup opens as a log, read-only and then as a writer, holding the source's prefix.
  auto source = all_events(log);
  source.resize(r.last_position);
  {
    annal::file_log_options ro;
    ro.read_only = true;
    annal::file_log copy(dir.path() / "backup", ro);
    CHECK(same_events(all_events(copy), source));
  }
  annal::file_log_options paranoid;
  paranoid.verify_on_open = true;
  annal::file_log copy(dir.path() / "backup", paranoid);
  CHECK(same_events(all_events(copy), source));
}

TEST_CASE("file backup: an incremental backup copies only what is new", "[recovery][file]") {
  scratch_dir dir;
  annal::file_log log(dir.log(), small_segments());
  fill(log, 300);
  const fs::path dest = dir.path() / "backup";
  const annal::backup_result first = annal::backup(log, dest);
  fill(log, 3, 7);
  const annal::backup_result second = annal::backup(log, dest);
  CHECK(second.incremental);
  CHECK(second.new_events == second.events - first.events);
  CHECK(second.new_events >= 3);
  CHECK(second.copied_bytes < first.bytes / 10);
  CHECK(second.bytes > first.bytes);

  SECTION("nothing new: nothing copied") {
    const annal::backup_result third = annal::backup(log, dest);
    CHECK(third.copied_bytes == 0);
    CHECK(third.new_events == 0);
    CHECK(third.last_position == second.last_position);
  }
  SECTION("across segment roll-overs") {
    fill(log, 100, 9);
    const annal::backup_result third = annal::backup(log, dest);
    CHECK(third.last_position == log.last_position());
  }
  CHECK(annal::verify_backup(dest).last_position == log.last_position());
  annal::file_log_options paranoid;
  paranoid.verify_on_open = true;
  annal::file_log copy(dest, paranoid);
  CHECK(same_events(all_events(copy), all_events(log)));
}

TEST_CASE("file backup: a run after an interrupted one rolls the destination back first",
          "[recovery][file]") {
  namespace fl = annal::detail::file_log;
  scratch_dir dir;
  annal::file_log log(dir.log(), small_segments());
  fill(log, 100);
  const fs::path dest = dir.path() / "backup";
  const annal::backup_result first = annal::backup(log, dest);
  // What a run killed half-way leaves: its marker saying so, bytes after the complete backup's
  // end (here ones the source will never hold) and a segment of its own.
  const auto marker = fl::read_marker(dest);
  REQUIRE(marker);
  fl::write_marker(dest, {false, marker->point, marker->source});
  const fs::path last = dest / fl::segment_file(marker->point.segment);
  spill(last, slurp(last) + std::string(300, 'x'));
  spill(dest / fl::segment_file(marker->point.segment + 1), "half a segment");
  CHECK_THROWS_MATCHES(annal::verify_backup(dest), annal::error,
                       error_with(annal::errc::corrupt_log, {"unfinished"}));
  const annal::backup_result again = annal::backup(log, dest);
  CHECK(again.incremental);
  CHECK(again.new_events == 0);
  CHECK(again.events == first.events);
  CHECK(annal::verify_backup(dest).last_position == log.last_position());
}

TEST_CASE("file backup: from a read-only open beside the writer", "[recovery][file]") {
  scratch_dir dir;
  annal::file_log log(dir.log(), small_segments());
  fill(log, 120);
  annal::file_log_options ro;
  ro.read_only = true;
  const annal::file_log reader(dir.log(), ro);
  fill(log, 30, 3);
  const annal::backup_result r = annal::backup(reader, dir.path() / "backup");
  CHECK(r.last_position == log.last_position());
  CHECK(annal::verify_backup(dir.path() / "backup").last_position == log.last_position());
}

TEST_CASE("file backup: sealed segments hard-linked when asked", "[recovery][file]") {
  scratch_dir dir;
  annal::file_log log(dir.log(), small_segments());
  fill(log, 200);
  annal::backup_options options;
  options.hard_link = true;
  const annal::backup_result r = annal::backup(log, dir.path() / "backup", options);
  CHECK(r.linked_files > 3);
  CHECK(r.copied_bytes < r.bytes);
  CHECK(annal::verify_backup(dir.path() / "backup").last_position == log.last_position());
}

TEST_CASE("file backup: bad input is refused, naming what is wrong", "[recovery][file]") {
  scratch_dir dir;
  annal::file_log log(dir.log(), small_segments());
  const std::uint64_t last = fill(log, 100);
  const fs::path dest = dir.path() / "backup";

  SECTION("an invalid option") {
    annal::backup_options o;
    o.pages_per_step = 0;
    CHECK_THROWS_MATCHES(annal::backup(log, dest, o), annal::error,
                         annal_test::names_invalid_option("backup_options::pages_per_step", "0"));
  }
  SECTION("a destination that holds something else") {
    fs::create_directories(dest);
    spill(dest / "notes.txt", "mine");
    CHECK_THROWS_MATCHES(annal::backup(log, dest), annal::error,
                         error_with(annal::errc::invalid_argument, {dest.string(), "not empty"}));
    CHECK(contents(dest).size() == 1);
  }
  SECTION("a destination that is a file") {
    spill(dest, "mine");
    CHECK_THROWS_MATCHES(annal::backup(log, dest), annal::error,
                         error_with(annal::errc::invalid_argument, {dest.string(), "is a file"}));
    CHECK(slurp(dest) == "mine");
  }
  SECTION("a destination another backup is writing") {
    fs::create_directories(dest);
    const int held = annal::detail::file_log::lock_directory(dest);
    CHECK_THROWS_MATCHES(annal::backup(log, dest), annal::error,
                         error_with(annal::errc::store_locked, {dest.string()}));
    ::close(held);
    CHECK(annal::backup(log, dest).last_position == last);
  }
  SECTION("a backup of another log") {
    annal::file_log other(dir.path() / "other", small_segments());
    fill(other, 150, 5);
    const annal::backup_result theirs = annal::backup(other, dest);
    CHECK_THROWS_MATCHES(
        annal::backup(log, dest), annal::error,
        error_with(annal::errc::invalid_argument,
                   {dest.string(), "position " + std::to_string(theirs.last_position),
                    "ends at position " + std::to_string(last), "another log"}));
    fill(log, 100, 3);  // now longer than theirs: the chain tells them apart
    CHECK_THROWS_MATCHES(annal::backup(log, dest), annal::error,
                         error_with(annal::errc::invalid_argument,
                                    {"position " + std::to_string(theirs.last_position), "checksum",
                                     "another log"}));
    CHECK(annal::verify_backup(dest).last_position == theirs.last_position);
  }
  SECTION("a backup of this log before it was restored to an earlier point and appended to") {
    fill(log, 10, 2);
    const annal::backup_result before = annal::backup(log, dest);
    const fs::path fork_dir = dir.path() / "fork";
    annal::restore(dest, fork_dir, annal::restore_point::at_position(last));
    annal::file_log fork(fork_dir, small_segments());
    fill(fork, 30, 7);  // other payload sizes: the backup's last record is not where it was
    CHECK(fork.last_position() > before.last_position);
    CHECK_THROWS_MATCHES(
        annal::backup(fork, dest), annal::error,
        error_with(annal::errc::invalid_argument,
                   {"holds a backup up to position " + std::to_string(before.last_position),
                    "no intact record starting at " + fork_dir.string(),
                    "where that position's record starts in the backup", "rewritten"}));
    CHECK(annal::verify_backup(dest).last_position == before.last_position);
  }
  SECTION("a damaged record in the source") {
    const annal::backup_result good = annal::backup(log, dest);
    fill(log, 100, 4);
    const std::uint64_t victim = good.last_position + 20;
    flip_payload_byte(dir.log(), victim);
    CHECK_THROWS_MATCHES(annal::backup(log, dir.path() / "fresh"), annal::error,
                         error_with(annal::errc::corrupt_log,
                                    {"source log is damaged at position " + std::to_string(victim),
                                     "checksum mismatch"}));
    CHECK_THROWS(annal::verify_backup(dir.path() / "fresh"));  // not marked good
    // An incremental backup meets it too, and leaves the earlier backup to be rolled back to.
    CHECK_THROWS_MATCHES(
        annal::backup(log, dest), annal::error,
        error_with(annal::errc::corrupt_log, {"position " + std::to_string(victim)}));
    CHECK_THROWS_MATCHES(annal::verify_backup(dest), annal::error,
                         error_with(annal::errc::corrupt_log, {"unfinished"}));
  }
  SECTION("a tampered backup fails verification, naming file and position") {
    annal::backup(log, dest);
    flip_payload_byte(dest, 42);
    const auto [path, offset] = locate(dest, 42);
    CHECK_THROWS_MATCHES(
        annal::verify_backup(dest), annal::error,
        error_with(annal::errc::corrupt_log, {path.string(), "offset " + std::to_string(offset),
                                              "position 42", "checksum mismatch"}));
  }
  SECTION("a tampered index file") {
    annal::backup(log, dest);
    namespace fl = annal::detail::file_log;
    const fs::path idx = dest / fl::index_file(2);
    REQUIRE(fs::exists(idx));
    std::string bytes = slurp(idx);
    // Another event id for the segment's first record, behind a checksum that matches.
    fl::segment_index decoded;
    REQUIRE_FALSE(fl::decode_segment_index(bytes.data(), bytes.size(), decoded));
    const std::size_t first_id = static_cast<std::size_t>(decoded.entries - bytes.data()) + 20;
    bytes[first_id] ^= 0x01;
    fl::put<std::uint32_t>(bytes.data() + bytes.size() - 4,
                           fl::crc32c(0, bytes.data(), bytes.size() - 4));
    spill(idx, bytes);
    CHECK_THROWS_MATCHES(annal::verify_backup(dest), annal::error,
                         error_with(annal::errc::corrupt_log, {idx.string(), "disagrees"}));
  }
  SECTION("a tampered marker") {
    annal::backup(log, dest);
    std::string marker = slurp(dest / "BACKUP");
    marker[marker.size() - 1] ^= 1;
    spill(dest / "BACKUP", marker);
    CHECK_THROWS_MATCHES(annal::verify_backup(dest), annal::error,
                         error_with(annal::errc::corrupt_log, {(dest / "BACKUP").string()}));
  }
  SECTION("a directory that is no backup, a path that does not exist, a file") {
    CHECK_THROWS_MATCHES(annal::verify_backup(dir.log()), annal::error,
                         error_with(annal::errc::corrupt_log, {"no BACKUP file"}));
    const fs::path missing = dir.path() / "nowhere";
    CHECK_THROWS_MATCHES(
        annal::verify_backup(missing), annal::error,
        error_with(annal::errc::corrupt_log, {missing.string(), "does not exist"}));
    CHECK_THROWS_MATCHES(
        annal::restore(missing, dir.path() / "r", annal::restore_point::latest()), annal::error,
        error_with(annal::errc::corrupt_log, {missing.string(), "does not exist"}));
    const fs::path file = dir.path() / "events.db";
    spill(file, "not a directory");
    CHECK_THROWS_MATCHES(
        annal::verify_backup(file), annal::error,
        error_with(annal::errc::corrupt_log,
                   {file.string(), "not a file log backup", "verify_sqlite_backup"}));
    CHECK_THROWS_MATCHES(
        annal::restore(file, dir.path() / "r", annal::restore_point::latest()), annal::error,
        error_with(annal::errc::corrupt_log, {file.string(), "not a file log backup"}));
    CHECK_FALSE(fs::exists(dir.path() / "r"));
  }
}

TEST_CASE("file backup: a full disk or an unwritable destination leaves the source untouched",
          "[recovery][file]") {
  scratch_dir dir;
  annal::file_log_options one_segment;  // larger than the file size limit below
  one_segment.sync = annal::durability::none;
  annal::file_log log(dir.log(), one_segment);
  fill(log, 200);
  const auto before = contents(dir.log());
  const fs::path dest = dir.path() / "backup";

  SECTION("a write fails for want of space (RLIMIT_FSIZE makes it fail as ENOSPC would)") {
    fs::create_directories(dest);
    struct rlimit old;
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit tight = old;
    tight.rlim_cur = 6000;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &tight) == 0);
    std::optional<annal::error> failed;
    try {
      annal::backup(log, dest);
    } catch (const annal::error& e) {
      failed = e;
    }
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &old) == 0);
    REQUIRE(failed);
    CHECK(failed->code() == annal::make_error_code(annal::errc::io_error));
    CHECK_THAT(failed->what(), Catch::Contains(dest.string()) && Catch::Contains("File too large"));
    CHECK_THROWS_MATCHES(annal::verify_backup(dest), annal::error,
                         error_with(annal::errc::corrupt_log, {"unfinished"}));
    // With room again, the next run finishes the job.
    CHECK(annal::backup(log, dest).last_position == log.last_position());
    CHECK(annal::verify_backup(dest).last_position == log.last_position());
  }
  SECTION("a directory nobody may write to") {
    fs::create_directories(dest);
    std::optional<annal::error> failed;
    {
      recovery_test::unwritable_directory lock(dest);
      if (!lock.locked()) {
        WARN("cannot make a directory unwritable here (root without the immutable attribute)");
        return;
      }
      try {
        annal::backup(log, dest);
      } catch (const annal::error& e) {
        failed = e;
      }
    }
    REQUIRE(failed);
    CHECK(failed->code() == annal::make_error_code(annal::errc::io_error));
    CHECK_THAT(failed->what(), Catch::Contains(dest.string()));
    CHECK(fs::is_empty(dest));
  }
  CHECK(contents(dir.log()) == before);
}

TEST_CASE("file restore: to a position, a time or the end, as a normal log", "[recovery][file]") {
  scratch_dir dir;
  annal::file_log log(dir.log(), small_segments());
  fill(log, 150);
  const fs::path dest = dir.path() / "backup";
  annal::backup(log, dest);
  const auto events = all_events(log);
  // A position that ends a batch, well inside the log.
  std::uint64_t cut = 0;
  annal::time_point cut_time{};
  for (std::size_t i = events.size() / 2; i < events.size(); ++i)
    if (events[i].recorded_at != events[i + 1].recorded_at) {
      cut = events[i].position;
      cut_time = events[i].recorded_at;
      break;
    }
  REQUIRE(cut > 0);
  std::vector<annal::recorded_event> prefix(events.begin(),
                                            events.begin() + static_cast<long>(cut));

  const auto check_restored = [&](const fs::path& target, std::uint64_t last) {
    annal::file_log_options paranoid;
    paranoid.verify_on_open = true;
    annal::file_log restored(target, paranoid);
    std::vector<annal::recorded_event> want(events.begin(),
                                            events.begin() + static_cast<long>(last));
    CHECK(same_events(all_events(restored), want));
    // Appends go on from it: versions and the chain continue.
    const std::uint64_t next = fill(restored, 2, 77);
    CHECK(next > last);
    for (int s = 0; s < 5; ++s) {
      const std::string stream = "s-" + std::to_string(s);
      std::uint64_t expect = 0;
      restored.read_stream(
          stream, 1, [&](const annal::recorded_event& e) { CHECK(e.stream_version == ++expect); });
    }
  };

  SECTION("a position") {
    const annal::restore_result r =
        annal::restore(dest, dir.path() / "at-position", annal::restore_point::at_position(cut));
    CHECK(r.last_position == cut);
    CHECK(r.left_out == events.size() - cut);
    check_restored(dir.path() / "at-position", cut);
  }
  SECTION("a time") {
    const annal::restore_result r =
        annal::restore(dest, dir.path() / "at-time", annal::restore_point::at_time(cut_time));
    CHECK(r.last_position == cut);
    CHECK(r.last_recorded_at == cut_time);
    check_restored(dir.path() / "at-time", cut);
  }
  SECTION("the end, and position 0") {
    CHECK(annal::restore(dest, dir.path() / "all", annal::restore_point::latest()).events ==
          events.size());
    check_restored(dir.path() / "all", events.size());
    CHECK(annal::restore(dest, dir.path() / "none", annal::restore_point::at_position(0)).events ==
          0);
    check_restored(dir.path() / "none", 0);
  }
  SECTION("from a live log, without a backup") {
    const annal::restore_result r =
        annal::restore(log, dir.path() / "live", annal::restore_point::at_position(cut));
    CHECK(r.last_position == cut);
    check_restored(dir.path() / "live", cut);
  }
  SECTION("a time after the last event, before the backup was taken: everything") {
    const auto after_last = events.back().recorded_at + std::chrono::nanoseconds(1);
    REQUIRE(annal::verify_backup(dest).taken_at >= after_last);
    CHECK(annal::restore(dest, dir.path() / "later", annal::restore_point::at_time(after_last))
              .events == events.size());
  }
  SECTION("a point beyond the end, naming both") {
    const std::uint64_t beyond = events.size() + 5;
    CHECK_THROWS_MATCHES(
        annal::restore(dest, dir.path() / "x", annal::restore_point::at_position(beyond)),
        annal::error,
        error_with(annal::errc::invalid_argument,
                   {"position " + std::to_string(beyond),
                    "position " + std::to_string(events.size()), dest.string()}));
    const auto later = annal::clock::now() + std::chrono::hours(1);
    CHECK_THROWS_MATCHES(
        annal::restore(dest, dir.path() / "x", annal::restore_point::at_time(later)), annal::error,
        error_with(annal::errc::invalid_argument, {annal::detail::describe_time(later),
                                                   "position " + std::to_string(events.size())}));
    CHECK_FALSE(fs::exists(dir.path() / "x"));
  }
  SECTION("a point inside a batch, naming the batch") {
    std::size_t i = 0;
    while (events[i].recorded_at != events[i + 1].recorded_at) ++i;  // a batch of two or more
    CHECK_THROWS_MATCHES(
        annal::restore(dest, dir.path() / "x", annal::restore_point::at_position(i + 1)),
        annal::error,
        error_with(annal::errc::invalid_argument,
                   {"inside a batch", "positions " + std::to_string(i + 1)}));
    CHECK_FALSE(fs::exists(dir.path() / "x"));
    CHECK_FALSE(fs::exists(dir.path() / "x.restoring"));  // a refused restore leaves nothing
  }
  SECTION("a target that exists") {
    fs::create_directories(dir.path() / "taken");
    CHECK_THROWS_MATCHES(
        annal::restore(dest, dir.path() / "taken", annal::restore_point::latest()), annal::error,
        error_with(annal::errc::invalid_argument, {(dir.path() / "taken").string(), "exists"}));
  }
  SECTION("a tampered backup is refused, naming the position") {
    flip_payload_byte(dest, 10);
    CHECK_THROWS_MATCHES(
        annal::restore(dest, dir.path() / "x", annal::restore_point::latest()), annal::error,
        error_with(annal::errc::corrupt_log, {"position 10", "checksum mismatch"}));
    CHECK_FALSE(fs::exists(dir.path() / "x"));
  }
}

namespace {

// The crash test's log, as its children, its parent and its timing open it: durable appends,
// segments of 64 KiB.
annal::file_log_options crash_log_options() {
  annal::file_log_options o;
  o.segment_size = 64 * 1024;
  return o;
}

// Appends with acknowledgements on one thread and backs the log up, again and again, on another,
// until killed.
[[noreturn]] void backup_child(const fs::path& source, const fs::path& dest, int out, unsigned seed,
                               bool link) {
  try {
    annal::file_log log(source, crash_log_options());
    std::thread writer([&] {
      annal_test_store::append_and_acknowledge(log, out, 1, seed, "crash.test", crash_stream_for);
    });
    annal::backup_options options;
    options.hard_link = link;
    for (;;) annal::backup(log, dest, options);
  } catch (const std::exception& e) {
    recovery_test::child_failed(e);
  }
}

}  // namespace

// A child appends and backs up (or restores) and is kill -9ed at a random moment: the source loses
// no acknowledged event, the destination is either no backup (verify_backup refuses it) or a
// verified one, and running the same call again finishes the job. ANNAL_CRASH_TRIALS sets the
// number of trials (default 250: three fifths backups, two fifths restores); ANNAL_CRASH_SEED the
// seed.
TEST_CASE("file backup and restore: kill -9 at random moments", "[recovery][file][crash]") {
  const int trials = recovery_test::crash_trials(250);
  const unsigned seed = recovery_test::crash_seed();
  INFO("ANNAL_CRASH_SEED=" << seed << " ANNAL_CRASH_TRIALS=" << trials);
  std::mt19937 rng(seed);
  scratch_dir dir;
  const fs::path dest = dir.path() / "backup";
  std::map<std::uint64_t, annal::event_id> acked;
  int unmarked = 0, marked = 0, appended_before_kill = 0;
  // Most kills must come after the child has opened the log, appended and backed up. The log grows
  // with every trial and its opening with it, so a kill's delay is drawn from twice the time the
  // last opening took here plus a range that covers twenty durable appends and a backup (under a
  // sanitizer or on a slow disk, several times what they take on a quiet machine).
  std::chrono::microseconds last_open{0};
  const auto range = recovery_test::kill_delay_range(std::chrono::milliseconds(30), [] {
    scratch_dir timing;
    const auto started = std::chrono::steady_clock::now();
    annal::file_log log(timing.path() / "log", crash_log_options());
    fill(log, 20);
    annal::backup(log, timing.path() / "backup");
    return std::chrono::steady_clock::now() - started;
  });
  INFO("kills within " << range.count() << " us");

  const int backup_trials = trials * 3 / 5;
  for (int trial = 0; trial < backup_trials; ++trial) {
    INFO("backup trial " << trial);
    const unsigned child_seed = static_cast<unsigned>(rng());
    const bool link = trial % 2 == 1;
    const auto delay = std::chrono::microseconds(
        rng() % static_cast<std::uint64_t>(2 * last_open.count() + range.count()));
    const killed_child child = fork_and_kill(
        delay, [&](int out) { backup_child(dir.log(), dest, out, child_seed, link); });
    const auto acknowledged = annal_test_store::acknowledged_events(child.bytes);
    appended_before_kill += !acknowledged.empty();
    for (const auto& [position, id] : acknowledged) acked.emplace(position, id);

    const auto opening = std::chrono::steady_clock::now();
    annal::file_log log(dir.log(), crash_log_options());
    last_open = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - opening);
    REQUIRE(log.recovery().intact_records_cut == 0);
    std::size_t lost = 0;
    const auto events = all_events(log);
    for (const auto& [position, id] : acked)
      lost += position > events.size() || events[position - 1].id != id;
    REQUIRE(lost == 0);

    // The destination: no backup, or a verified one that the source continues.
    std::optional<annal::verified_backup> verified;
    try {
      verified = annal::verify_backup(dest);
    } catch (const annal::error& e) {
      INFO(e.what());
      const std::string what = e.what();
      CHECK((what.find("BACKUP") != std::string::npos ||
             what.find("unfinished") != std::string::npos ||
             what.find("does not exist") != std::string::npos));
    }
    verified ? ++marked : ++unmarked;
    const annal::backup_result again = annal::backup(log, dest);
    CHECK(again.last_position == log.last_position());
    if (verified) CHECK(again.incremental);
    CHECK(annal::verify_backup(dest).last_position == log.last_position());
  }
  INFO("backups found complete " << marked << ", unfinished or absent " << unmarked
                                 << "; children that appended before the kill "
                                 << appended_before_kill << " of " << backup_trials);
  // The kills landed while appends and backups were under way, not only before the child began.
  CHECK(appended_before_kill > backup_trials / 4);

  // Restores of the backup, killed at random: the target is absent or complete.
  annal::file_log_options ro;
  ro.read_only = true;
  std::vector<annal::recorded_event> backed_up;
  {
    annal::file_log copy(dest, ro);
    backed_up = all_events(copy);
  }
  REQUIRE(backed_up.size() > 10);
  auto started = std::chrono::steady_clock::now();
  annal::restore(dest, dir.path() / "timing", annal::restore_point::latest());
  const auto restore_time = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now() - started);
  int complete = 0;
  for (int trial = backup_trials; trial < trials; ++trial) {
    INFO("restore trial " << trial);
    const fs::path target = dir.path() / ("restored-" + std::to_string(trial));
    // A time that ends a batch (each batch's events share one), or everything.
    const annal::recorded_event& pick = backed_up[rng() % backed_up.size()];
    std::uint64_t last = backed_up.size();
    annal::restore_point to = annal::restore_point::latest();
    if (trial % 4 != 0) {
      to = annal::restore_point::at_time(pick.recorded_at);
      last = 0;
      while (last < backed_up.size() && backed_up[last].recorded_at <= pick.recorded_at) ++last;
    }
    const auto delay = std::chrono::microseconds(rng() % (restore_time.count() * 3 / 2 + 1));
    const killed_child child = fork_and_kill(delay, [&](int) { annal::restore(dest, target, to); });
    if (!fs::exists(target)) {
      CHECK_FALSE(child.exited);
      annal::restore(dest, target, to);
    } else {
      ++complete;
    }
    annal::file_log_options paranoid;
    paranoid.verify_on_open = true;
    annal::file_log restored(target, paranoid);
    const auto got = all_events(restored);
    CHECK(same_events(got, {backed_up.begin(), backed_up.begin() + static_cast<long>(last)}));
    fs::remove_all(target);
    fs::remove_all(fs::path(target.string() + ".restoring"));
  }
  // Most kills land mid-restore (delays run to 1.5 times a restore's length): a run where every
  // restore finished would not have tested an interrupted one.
  INFO("restores found complete " << complete << " of " << trials - backup_trials);
  if (trials - backup_trials >= 20) CHECK(complete < trials - backup_trials);
}

// docs/recovery.md's file log code, run with the page's claims checked.
TEST_CASE("docs/recovery.md: back up, verify and restore a file log", "[recovery][file][docs]") {
  scratch_dir dir;
  annal::file_log log(dir.log(), small_segments());
  fill(log, 100);
  const fs::path backup_dir = dir.path() / "backups" / "orders";
  const fs::path restored_dir = dir.path() / "restored";
  const fs::path copy_dir = dir.path() / "copy";
  std::vector<double> fractions;

  // [backup]
  annal::backup_options options;
  options.on_progress = [&](const annal::backup_progress& p) {
    fractions.push_back(p.fraction());  // also: bytes, events, bytes_per_second, eta, done
  };
  annal::backup_result full = annal::backup(log, backup_dir, options);  // appends may go on
  // ... later, into the same directory: only what is new is copied, and checked
  annal::backup_result next = annal::backup(log, backup_dir, options);
  annal::verified_backup v = annal::verify_backup(backup_dir);  // reads it, writes nothing
  // [backup]

  CHECK_FALSE(full.incremental);
  CHECK(next.incremental);
  CHECK(next.copied_bytes == 0);
  CHECK(v.last_position == log.last_position());
  REQUIRE_FALSE(fractions.empty());
  CHECK(fractions.back() == 1.0);

  const auto events = all_events(log);
  std::size_t i = events.size() / 2;
  while (events[i].recorded_at == events[i + 1].recorded_at) ++i;
  const annal::time_point bad_deploy = events[i].recorded_at + std::chrono::nanoseconds(1);
  const std::uint64_t checkpoint = events[i].position;

  // [restore]
  // Everything recorded up to the bad deploy, as a new log (restored_dir must not exist):
  annal::restore(backup_dir, restored_dir, annal::restore_point::at_time(bad_deploy));
  annal::file_log restored{restored_dir};  // a normal log: read it, append to it
  // The same from the live log, without a backup, up to a position that ends a batch:
  annal::restore(log, copy_dir, annal::restore_point::at_position(checkpoint));
  // [restore]

  CHECK(restored.last_position() == checkpoint);
  annal::file_log copy(copy_dir);
  CHECK(copy.last_position() == checkpoint);
}
