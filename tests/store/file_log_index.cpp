// The index files of sealed segments: used when they check out, ignored (and the segment scanned)
// when missing, torn, damaged or stale, and never a source of wrong data.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <annal/file/detail/crc32c.hpp>
#include <annal/file/log.hpp>

#include "store/conformance.hpp"
#include "store/store_test_support.hpp"

using namespace annal_conformance;
using annal::durability;
using annal::errc;
using annal::file_log;
using annal::file_log_options;
using annal_test_store::scratch_dir;

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spill(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

file_log_options small_segments(durability mode = durability::none) {
  file_log_options o;
  o.sync = mode;
  o.segment_size = 2048;
  return o;
}

// A log of several sealed segments over a few streams; returns what it holds.
std::vector<recorded_event> build(const fs::path& dir, int batches = 40) {
  file_log log(dir, small_segments());
  for (int b = 0; b < batches; ++b)
    log.append("s-" + std::to_string(b % 3), expected_version::any(),
               make_batch(static_cast<std::size_t>(b % 3 + 1), "p" + std::to_string(b) + "-"));
  log.sync();
  return all_events(log);
}

std::size_t count(const fs::path& dir, const std::string& extension) {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) n += entry.path().extension() == extension;
  return n;
}

// The log as the scan would have it, event by event, streams and versions included.
void check_same_log(const file_log& log, const std::vector<recorded_event>& expected) {
  const auto got = all_events(log);
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].position == expected[i].position);
    CHECK(got[i].id == expected[i].id);
    CHECK(got[i].stream_id == expected[i].stream_id);
    CHECK(got[i].stream_version == expected[i].stream_version);
    CHECK(got[i].payload == expected[i].payload);
    CHECK(got[i].recorded_at == expected[i].recorded_at);
  }
  for (const char* stream : {"s-0", "s-1", "s-2"}) {
    const auto events = stream_events(log, stream);
    CHECK(log.stream_version(stream) == events.size());
    for (std::size_t v = 0; v < events.size(); ++v) CHECK(events[v].stream_version == v + 1);
  }
}

// After the index files were tampered with: the log opens, reads as before, and goes on. Returns
// what it holds then.
std::vector<recorded_event> check_falls_back(const fs::path& dir,
                                             const std::vector<recorded_event>& expected,
                                             const std::string& why) {
  file_log log(dir, small_segments());
  INFO(log.recovery().index_ignored.size());
  const auto& ignored = log.recovery().index_ignored;
  bool found = false;
  for (const auto& text : ignored) found = found || text.find(why) != std::string::npos;
  CHECK(found);
  CHECK(log.recovery().segments_indexed + 1 + ignored.size() == log.recovery().segments);
  check_same_log(log, expected);
  // Ids of scanned and indexed segments alike make a retry a duplicate.
  const auto& first = expected.front();
  annal::event_data again = make_event(first.payload);
  again.id = first.id;
  CHECK(log.append(first.stream_id, expected_version::any(), std::vector{again}).status ==
        annal::append_status::duplicate);
  const auto next =
      log.append("s-1", expected_version::exact(log.stream_version("s-1")), make_batch(2));
  CHECK(next.first_position == expected.size() + 1);
  return all_events(log);
}

// Rewrites an index file's checksum after a test changed its bytes, as a stale index would have.
void reseal(std::string& idx) {
  const std::uint32_t crc = annal::detail::file_log::crc32c(0, idx.data(), idx.size() - 4);
  std::memcpy(idx.data() + idx.size() - 4, &crc, 4);
}

}  // namespace

TEST_CASE("file_log index: sealed segments open from their index files",
          "[store][file_log][index]") {
  scratch_dir dir;
  const auto expected = build(dir.log());
  const std::size_t segments = count(dir.log(), ".log");
  REQUIRE(segments > 5);
  CHECK(count(dir.log(), ".idx") == segments - 1);
  std::optional<file_log> log;
  log.emplace(dir.log(), small_segments());
  CHECK(log->recovery().segments_indexed == segments - 1);
  CHECK(log->recovery().index_ignored.empty());
  check_same_log(*log, expected);
  // Appending goes on where the log stands, and the next roll-over indexes the segment it seals.
  for (int b = 0; b < 20; ++b) log->append("s-0", expected_version::any(), make_batch(2));
  log->sync();
  const auto grown = all_events(*log);
  log.reset();
  log.emplace(dir.log(), small_segments());
  CHECK(count(dir.log(), ".log") > segments);
  CHECK(log->recovery().segments_indexed == count(dir.log(), ".log") - 1);
  check_same_log(*log, grown);
}

TEST_CASE("file_log index: a missing index file means a scan", "[store][file_log][index]") {
  scratch_dir dir;
  const auto expected = build(dir.log());
  fs::remove(dir.log() / "00000002.idx");
  check_falls_back(dir.log(), expected, "00000002.idx: missing");
}

TEST_CASE("file_log index: an index file the open had to do without is written again",
          "[store][file_log][index]") {
  scratch_dir dir;
  const auto expected = build(dir.log());
  const std::size_t sealed = count(dir.log(), ".log") - 1;
  const std::string original = slurp(dir.log() / "00000002.idx");
  SECTION("a missing index") {
    CHECK(fs::remove(dir.log() / "00000002.idx"));
  }
  SECTION("a damaged index") {
    std::string idx = original;
    idx[idx.size() / 2] ^= 0x10;
    CHECK(idx != original);
    spill(dir.log() / "00000002.idx", idx);
  }
  // An index write cut short by a crash leaves only its temporary file.
  spill(dir.log() / "00000003.idx.tmp", original.substr(0, 40));
  {
    file_log log(dir.log(), small_segments());
    CHECK(log.recovery().segments_indexed == sealed - 1);  // 00000002 was scanned
    CHECK(log.recovery().segments_reindexed == 1);
    CHECK(log.recovery().index_ignored.size() == 1);
    check_same_log(log, expected);
  }
  CHECK(slurp(dir.log() / "00000002.idx") == original);
  CHECK_FALSE(fs::exists(dir.log() / "00000003.idx.tmp"));
  CHECK_FALSE(fs::exists(dir.log() / "00000002.idx.tmp"));
  // The next open scans nothing sealed: the rewritten index is used.
  file_log log(dir.log(), small_segments());
  CHECK(log.recovery().segments_indexed == sealed);
  CHECK(log.recovery().segments_reindexed == 0);
  CHECK(log.recovery().index_ignored.empty());
  check_same_log(log, expected);
}

TEST_CASE("file_log index: a damaged index file is ignored", "[store][file_log][index]") {
  scratch_dir dir;
  const auto expected = build(dir.log());
  const auto path = dir.log() / "00000003.idx";
  const std::string original = slurp(path);
  std::string idx = original;
  SECTION("a flipped bit in an entry") {
    idx[idx.size() / 2] ^= 0x10;
    CHECK(idx != original);
  }
  SECTION("a flipped bit in the header") {
    idx[20] ^= 0x01;
    CHECK(idx != original);
  }
  SECTION("zeros, as a lost write leaves") {
    idx.assign(idx.size(), '\0');
    CHECK(idx != original);
  }
  spill(path, idx);
  check_falls_back(dir.log(), expected, "00000003.idx: ");
}

TEST_CASE("file_log index: a torn index write is ignored", "[store][file_log][index]") {
  scratch_dir dir;
  auto expected = build(dir.log());
  const auto path = dir.log() / "00000002.idx";
  const std::string whole = slurp(path);
  for (std::size_t keep : {std::size_t{0}, std::size_t{1}, std::size_t{79}, std::size_t{80},
                           whole.size() / 2, whole.size() - 4, whole.size() - 1}) {
    INFO("index cut to " << keep << " of " << whole.size() << " bytes");
    spill(path, whole.substr(0, keep));
    expected = check_falls_back(dir.log(), expected, "00000002.idx: ");
    spill(path, whole);
  }
}

TEST_CASE("file_log index: a stale index with a sound checksum is ignored",
          "[store][file_log][index]") {
  scratch_dir dir;
  const auto expected = build(dir.log());
  const auto path = dir.log() / "00000002.idx";
  const std::string original = slurp(path);
  std::string idx = original;
  std::string why;
  SECTION("another segment's index") {
    idx = slurp(dir.log() / "00000003.idx");
    why = "another segment";
    CHECK(idx != original);
  }
  SECTION("the segment had another size") {
    idx[32] ^= 0x08;
    why = "stale: the segment has";
    CHECK(idx != original);
  }
  SECTION("the segment ended in another record") {
    idx[44] ^= 0x01;
    why = "stale: the segment's last record";
    CHECK(idx != original);
  }
  SECTION("an entry's stream version is off") {
    // The first entry's version: after the header and the stream table.
    std::uint32_t table;
    std::memcpy(&table, idx.data() + 68, 4);
    idx[80 + table + 8] ^= 0x02;
    why = "stream versions";
    CHECK(idx != original);
  }
  SECTION("an entry's offset is inside the record before it") {
    std::uint32_t table;
    std::memcpy(&table, idx.data() + 68, 4);
    const std::uint64_t inside = 33;
    std::memcpy(idx.data() + 80 + table + 36, &inside, 8);  // the second entry's offset
    why = "offsets";
    CHECK(idx != original);
  }
  SECTION("a stream count its table cannot hold (found by fuzzing: it sized a vector)") {
    const std::uint32_t streams = 0xFFFF'FFFF;
    std::memcpy(idx.data() + 64, &streams, 4);
    why = "stream table overruns";
    CHECK(idx != original);
  }
  SECTION("an entry's id is one stored before") {
    std::uint32_t table;
    std::memcpy(&table, idx.data() + 68, 4);
    std::memcpy(idx.data() + 80 + table + 20, expected.front().id.data, 16);
    why = "stored twice";
    CHECK(idx != original);
  }
  if (idx != slurp(dir.log() / "00000003.idx")) reseal(idx);
  spill(path, idx);
  check_falls_back(dir.log(), expected, why);
}

TEST_CASE("file_log index: the index of a segment that changed after a repair is ignored",
          "[store][file_log][index][recovery]") {
  scratch_dir dir;
  build(dir.log());
  const std::string old_index = slurp(dir.log() / "00000002.idx");
  // Damage the last record of segment 2: a repair cuts the log there and moves 3... aside.
  {
    const auto seg = dir.log() / "00000002.log";
    std::string bytes = slurp(seg);
    bytes[bytes.size() - 3] ^= 0x20;
    spill(seg, bytes);
  }
  std::vector<recorded_event> expected;
  {
    file_log_options repair = small_segments();
    repair.repair = true;
    file_log log(dir.log(), repair);
    CHECK(log.recovery().cut);
    CHECK(log.recovery().segments_indexed == 0);  // a repair scans everything
    for (int b = 0; b < 30; ++b)
      log.append("s-" + std::to_string(b % 3), expected_version::any(), make_batch(2));
    log.sync();
    expected = all_events(log);
  }
  REQUIRE(fs::exists(dir.log() / "00000003.log"));
  // Put the index from before the repair back, as if the roll-over had never rewritten it.
  spill(dir.log() / "00000002.idx", old_index);
  check_falls_back(dir.log(), expected, "00000002.idx: stale");
}

TEST_CASE("file_log index: damage inside an indexed segment is caught when it is read",
          "[store][file_log][index][recovery]") {
  scratch_dir dir;
  const auto expected = build(dir.log());
  const auto seg = dir.log() / "00000002.log";
  std::string bytes = slurp(seg);
  // The second record's payload: not the last record, which opening checks.
  std::uint32_t first_size;
  std::memcpy(&first_size, bytes.data() + 32 + 4, 4);
  const std::size_t victim = 32 + first_size;
  bytes[victim + 125] ^= 0x04;
  spill(seg, bytes);
  std::optional<file_log> log;
  log.emplace(dir.log(), small_segments());
  CHECK(log->recovery().segments_indexed > 0);
  std::vector<recorded_event> seen;
  try {
    log->read_all(1, [&](const recorded_event& e) { seen.push_back(e); });
    FAIL("reading the damaged record did not fail");
  } catch (const annal::error& e) {
    CHECK(e.code() == annal::make_error_code(errc::corrupt_log));
    CHECK_THAT(e.what(), Catch::Contains("segment 00000002.log offset " + std::to_string(victim)) &&
                             Catch::Contains("checksum mismatch"));
  }
  // Everything before it was returned intact, and nothing after it.
  REQUIRE(!seen.empty());
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i].payload == expected[i].payload);
  CHECK(seen.size() < expected.size());
  // A paranoid open scans every segment: it refuses, naming the spot.
  log.reset();
  file_log_options paranoid = small_segments();
  paranoid.verify_on_open = true;
  CHECK_THROWS_WITH(file_log(dir.log(), paranoid),
                    Catch::Contains("00000002.log") && Catch::Contains(std::to_string(victim)));
  // A repair scans every segment too, so it finds the damage and cuts the log there.
  file_log_options repair = small_segments();
  repair.repair = true;
  log.emplace(dir.log(), repair);
  CHECK(log->recovery().cut);
  CHECK(log->last_position() <= seen.size());
}
