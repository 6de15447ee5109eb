// The file log's own filtered read: only matching records are read, from types the index keeps per
// position (appends, scans, index files of both versions, a follower's tail), and never a match
// dropped (unknown types, more types than ids, a cut tail, archived positions).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <annal/file/archive.hpp>
#include <annal/file/backup.hpp>
#include <annal/file/detail/segment_index.hpp>
#include <annal/file/detail/type_table.hpp>
#include <annal/file/log.hpp>
#include <annal/store/filter.hpp>

#include "store/conformance.hpp"
#include "store/filter_laws.hpp"
#include "store/store_test_support.hpp"

using namespace annal_conformance;
using annal::event_filter;
using annal::file_log;
using annal::file_log_options;
using annal_test_store::scratch_dir;

static_assert(annal::filtering_store<file_log>, "the file log answers filters itself");

namespace {

namespace fs = std::filesystem;
namespace fl = annal::detail::file_log;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spill(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

file_log_options small_segments(std::uint64_t size = 4096) {
  file_log_options o;
  o.sync = annal::durability::none;
  o.segment_size = size;
  return o;
}

// posix_io counting the bytes read, to tell a read of the matches from a read of everything.
struct counting_io : annal::posix_io {
  std::shared_ptr<std::atomic<std::uint64_t>> bytes =
      std::make_shared<std::atomic<std::uint64_t>>();
  std::int64_t pread(int fd, void* buffer, std::size_t size, std::uint64_t offset) {
    const std::int64_t got = annal::posix_io::pread(fd, buffer, size, offset);
    if (got > 0) *bytes += static_cast<std::uint64_t>(got);
    return got;
  }
};

// Every filter the laws use, and each checked against reading everything.
const std::vector<event_filter>& law_filters() {
  static const std::vector<event_filter> filters = {
      {{"shop.b"}, {}},
      {{"shop.a", "shop.c"}, {}},
      {{"shop.c"}, {}},
      {{}, {"order-"}},
      {{"shop.c", "shop.b"}, {"orders-", "invoice-"}},
      {{"shop.none"}, {}},
  };
  return filters;
}

template <class Log>
void check_exact(const Log& log, std::uint64_t from = 1) {
  for (std::size_t i = 0; i < law_filters().size(); ++i) {
    INFO("filter " << i << " from " << from);
    const auto want = positions_of(expected_matches(log, law_filters()[i], from));
    CHECK(positions_of(read_in_steps(log, law_filters()[i], 3, from)) == want);
    CHECK(positions_of(read_in_steps(log, law_filters()[i], 1000, from)) == want);
  }
}

// Rewrites every index file of `dir` in format version 1, as annal wrote them before types.
std::size_t make_index_files_v1(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".idx") continue;
    const std::string bytes = slurp(entry.path());
    fl::segment_index idx;
    REQUIRE_FALSE(fl::decode_segment_index(bytes.data(), bytes.size(), idx));
    REQUIRE(idx.format_version == 2);
    spill(entry.path(),
          fl::encode_segment_index(
              idx.header, idx.streams, {}, [&](std::uint64_t i) { return idx.entry(i); },
              [](std::uint64_t) { return 0; }, fl::index_format_version_1));
    ++n;
  }
  return n;
}

std::uint32_t index_version(const fs::path& idx) {
  const std::string bytes = slurp(idx);
  fl::segment_index decoded;
  REQUIRE_FALSE(fl::decode_segment_index(bytes.data(), bytes.size(), decoded));
  return decoded.format_version;
}

annal::event_data typed(std::string type, std::string payload = "{}") {
  annal::event_data e = make_event(std::move(payload));
  e.type = std::move(type);
  return e;
}

}  // namespace

TEST_CASE("file_log filter: a rare type's read reads its records, not the whole log",
          "[store][file_log][filter]") {
  scratch_dir dir;
  counting_io io;
  const auto bytes = io.bytes;
  annal::basic_file_log<counting_io> log(dir.log(), small_segments(64 * 1024), io);
  for (int i = 0; i < 2000; ++i)
    log.append("s-" + std::to_string(i % 50), annal::expected_version::any(),
               std::vector{typed(i % 100 == 0 ? "rare" : "common", std::string(200, 'x'))});
  const std::uint64_t before = *bytes;
  std::size_t all = 0;
  log.read_all(1, [&](const annal::recorded_event&) { ++all; });
  const std::uint64_t whole = *bytes - before;
  CHECK(all == 2000);
  std::vector<std::uint64_t> got;
  const annal::read_progress r =
      annal::read_filtered(log, 1, event_filter{{"rare"}, {}},
                           [&](const annal::recorded_event& e) { got.push_back(e.position); });
  const std::uint64_t filtered = *bytes - before - whole;
  CHECK(r == annal::read_progress{20, 2001});
  CHECK(got.size() == 20);
  CHECK(got.front() == 1);
  // 20 records read in 64 KiB chunks, at most, against every record's bytes.
  INFO("whole log " << whole << " bytes, filtered read " << filtered << " bytes");
  CHECK(filtered * 2 < whole);
  // A prefix that names no stream reads nothing at all.
  const std::uint64_t mark = *bytes;
  CHECK(annal::read_filtered(log, 1, event_filter{{}, {"nobody-"}}, [](const auto&) {}) ==
        annal::read_progress{0, 2001});
  CHECK(*bytes == mark);
}

TEST_CASE("file_log filter: types come back from index files, scans and appends alike",
          "[store][file_log][filter][index]") {
  scratch_dir dir;
  {
    file_log log(dir.log(), small_segments());
    append_mixed_log(log);
    check_exact(log);
  }
  file_log log(dir.log(), small_segments());
  REQUIRE(log.recovery().segments_indexed > 3);
  CHECK(log.recovery().index_ignored.empty());
  CHECK(index_version(dir.log() / "00000001.idx") == 2);
  check_exact(log);
  check_exact(log, 100);
}

TEST_CASE("file_log filter: index files of format version 1 still load, their types unknown",
          "[store][file_log][filter][index]") {
  scratch_dir dir;
  {
    file_log log(dir.log(), small_segments());
    append_mixed_log(log);
  }
  const std::size_t old = make_index_files_v1(dir.log());
  REQUIRE(old > 3);
  CHECK(index_version(dir.log() / "00000001.idx") == 1);
  {
    // A read-only open writes nothing: it takes the old files, and reads every record of their
    // segments to test its type.
    file_log_options ro = small_segments();
    ro.read_only = true;
    file_log reader(dir.log(), ro);
    CHECK(reader.recovery().segments_indexed == old);
    CHECK(reader.recovery().index_ignored.empty());
    check_exact(reader);
  }
  CHECK(index_version(dir.log() / "00000001.idx") == 1);
  {
    // The writer scans those segments once and writes their index files again, with types.
    file_log log(dir.log(), small_segments());
    CHECK(log.recovery().segments_indexed == 0);
    CHECK(log.recovery().segments_reindexed == old);
    REQUIRE(log.recovery().index_ignored.size() == old);
    CHECK_THAT(log.recovery().index_ignored.front(), Catch::Contains("format version 1"));
    check_exact(log);
    append_mixed_log(log);
    check_exact(log);
  }
  for (const auto& entry : fs::directory_iterator(dir.log()))
    if (entry.path().extension() == ".idx") CHECK(index_version(entry.path()) == 2);
  file_log log(dir.log(), small_segments());
  CHECK(log.recovery().index_ignored.empty());
  CHECK(log.recovery().segments_indexed + 1 == log.recovery().segments);
  check_exact(log);
}

TEST_CASE("file_log filter: an index file whose types disagree with its segment is not used",
          "[store][file_log][filter][index]") {
  scratch_dir dir;
  {
    file_log log(dir.log(), small_segments());
    append_mixed_log(log);
  }
  const fs::path path = dir.log() / "00000002.idx";
  std::string bytes = slurp(path);
  fl::segment_index idx;
  REQUIRE_FALSE(fl::decode_segment_index(bytes.data(), bytes.size(), idx));
  SECTION("an entry's type past the type table") {
    const auto at = static_cast<std::size_t>(idx.entry_types - bytes.data());
    fl::put<std::uint16_t>(bytes.data() + at, static_cast<std::uint16_t>(idx.types.size() + 1));
    fl::put<std::uint32_t>(bytes.data() + bytes.size() - 4,
                           fl::crc32c(0, bytes.data(), bytes.size() - 4));
    spill(path, bytes);
    file_log log(dir.log(), small_segments());
    REQUIRE(log.recovery().index_ignored.size() == 1);
    CHECK_THAT(log.recovery().index_ignored.front(), Catch::Contains("type table"));
    check_exact(log);
  }
  SECTION("the last record's type is another") {
    std::vector<std::string> names(idx.types.begin(), idx.types.end());
    std::vector<std::string_view> views;
    for (std::string& n : names) views.push_back(n = "other." + n);
    spill(path, fl::encode_segment_index(
                    idx.header, idx.streams, views, [&](std::uint64_t i) { return idx.entry(i); },
                    [&](std::uint64_t i) { return idx.entry_type(i); }));
    file_log log(dir.log(), small_segments());
    // Opening checks the last record's type against the file's.
    REQUIRE(log.recovery().index_ignored.size() == 1);
    CHECK_THAT(log.recovery().index_ignored.front(), Catch::Contains("stale"));
    check_exact(log);
  }
}

TEST_CASE("file_log filter: more types than ids are read and tested, never dropped",
          "[store][file_log][filter]") {
  SECTION("the table gives 0, unknown, once full, and never another name's id") {
    fl::type_table table(3);
    CHECK(table.intern("a") == 1);
    CHECK(table.intern("b") == 2);
    CHECK(table.intern("a") == 1);
    CHECK(table.intern("c") == 3);
    CHECK(table.intern("d") == fl::type_table::unknown);
    CHECK(table.intern("d") == fl::type_table::unknown);
    CHECK(table.intern("c") == 3);
    CHECK(table.size() == 3);
    CHECK(table.name(2) == "b");
  }
  SECTION("a log with more distinct types than 16-bit ids") {
    scratch_dir dir;
    const std::size_t types = fl::type_table::max_types + 300;
    {
      file_log log(dir.log(), small_segments(4 << 20));
      std::vector<annal::event_data> batch;
      for (std::size_t i = 0; i < types; ++i) {
        batch.push_back(typed("t" + std::to_string(i)));
        if (batch.size() == 500 || i + 1 == types) {
          log.append("s-" + std::to_string(i % 7), annal::expected_version::any(), batch);
          batch.clear();
        }
      }
      log.append("late", annal::expected_version::any(), std::vector{typed("t3"), typed("t70000")});
      CHECK(positions_of(read_in_steps(log, event_filter{{"t3", "t70000"}, {}}, 2)) ==
            std::vector<std::uint64_t>{4, types + 1, types + 2});
    }
    for (int open = 0; open < 2; ++open) {
      INFO("open " << open);
      file_log_options options = small_segments(4 << 20);
      options.read_only = open == 1;  // the follower's open takes index files too
      file_log log(dir.log(), options);
      CHECK(log.recovery().index_ignored.empty());
      if (open == 0) CHECK(log.recovery().segments_indexed > 0);
      const auto positions = [&](event_filter f) { return positions_of(read_in_steps(log, f, 2)); };
      CHECK(positions({{"t3", "t70000"}, {}}) ==
            std::vector<std::uint64_t>{4, types + 1, types + 2});
      CHECK(positions({{"t65600"}, {"s-"}}) == std::vector<std::uint64_t>{65601});
      CHECK(positions({{"t65600"}, {"late"}}).empty());
      // A type past the ids read from the first position on: every unknown one is tested.
      CHECK(positions({{"t65999"}, {}}) == std::vector<std::uint64_t>{});
    }
  }
}

TEST_CASE("file_log filter: a read-only open sees the writer's new types",
          "[store][file_log][filter][read_only]") {
  scratch_dir dir;
  file_log writer(dir.log(), small_segments(2048));
  append_mixed_log(writer);
  file_log_options ro = small_segments(2048);
  ro.read_only = true;
  file_log reader(dir.log(), ro);
  check_exact(reader);
  const event_filter fresh{{"shop.new"}, {}};
  CHECK(annal::read_filtered(reader, 1, fresh, [](const auto&) {}).visited == 0);
  for (int i = 0; i < 30; ++i)
    writer.append("order-" + std::to_string(i % 4), annal::expected_version::any(),
                  std::vector{typed(i % 3 == 0 ? "shop.new" : "shop.a", std::string(100, 'y'))});
  const auto want = positions_of(expected_matches(writer, fresh));
  REQUIRE(want.size() == 10);
  CHECK(positions_of(read_in_steps(reader, fresh, 4)) == want);
  check_exact(reader);
  // A second read-only open takes the sealed segments from their index files.
  file_log second(dir.log(), ro);
  CHECK(second.recovery().segments_indexed > 0);
  CHECK(positions_of(read_in_steps(second, fresh, 4)) == want);
}

TEST_CASE("file_log filter: the types of a cut tail do not linger",
          "[store][file_log][filter][recovery]") {
  scratch_dir dir;
  {
    file_log log(dir.log(), small_segments(1 << 20));
    append_mixed_log(log);
    log.append("order-1", annal::expected_version::any(),
               std::vector{typed("ghost"), typed("ghost"), typed("ghost")});
  }
  // A crash tore the last batch: its last record is half written.
  const fs::path seg = dir.log() / "00000001.log";
  const auto size = fs::file_size(seg);
  fs::resize_file(seg, size - 50);
  file_log log(dir.log(), small_segments(1 << 20));
  REQUIRE(log.recovery().cut);
  const std::uint64_t end = log.last_position();
  CHECK(annal::read_filtered(log, 1, event_filter{{"ghost"}, {}}, [](const auto&) {}) ==
        annal::read_progress{0, end + 1});
  // The positions the cut freed hold other types now.
  log.append("order-1", annal::expected_version::any(),
             std::vector{typed("real"), typed("real"), typed("real")});
  CHECK(annal::read_filtered(log, 1, event_filter{{"ghost"}, {}}, [](const auto&) {}).visited == 0);
  CHECK(positions_of(read_in_steps(log, event_filter{{"real"}, {}}, 2)) ==
        std::vector<std::uint64_t>{end + 1, end + 2, end + 3});
  check_exact(log);
}

TEST_CASE("file_log filter: archived positions that cannot match are passed over",
          "[store][file_log][filter][archive]") {
  scratch_dir dir;
  const fs::path archive_dir = dir.path() / "archive";
  std::uint64_t horizon = 0;
  {
    file_log log(dir.log(), small_segments(2048));
    append_mixed_log(log);
    horizon = annal::archive(log, archive_dir, annal::archive_horizon::position(100)).horizon;
    REQUIRE(horizon > 10);
    log.append("late", annal::expected_version::any(), std::vector{typed("shop.late")});
  }
  for (const bool old_index_files : {false, true}) {
    INFO("version 1 index files: " << old_index_files);
    if (old_index_files) make_index_files_v1(dir.log());
    file_log log(dir.log(), small_segments(2048));
    // An archived segment's index file stays as it is: its segment is not here to scan.
    if (old_index_files) CHECK(index_version(dir.log() / "00000001.idx") == 1);
    // A type only past the horizon: nothing archived can match it (unless its type is unknown).
    const event_filter late{{"shop.late"}, {}};
    if (!old_index_files) {
      CHECK(positions_of(read_in_steps(log, late, 5)) ==
            std::vector<std::uint64_t>{log.last_position()});
    } else {
      CHECK_THROWS_MATCHES(annal::read_filtered(log, 1, late, [](const auto&) {}), annal::error,
                           Catch::Predicate<annal::error>([](const annal::error& e) {
                             return e.code() == annal::make_error_code(annal::errc::archived);
                           }));
    }
    // One that might match below the horizon throws, as read_all does.
    CHECK_THROWS_MATCHES(
        annal::read_filtered(log, 1, event_filter{{"shop.b"}, {}}, [](const auto&) {}),
        annal::error, Catch::Predicate<annal::error>([](const annal::error& e) {
          return e.code() == annal::make_error_code(annal::errc::archived);
        }));
    check_exact(log, horizon + 1);
  }
}

TEST_CASE("file_log filter: a backup's index file whose types disagree fails verification",
          "[store][file_log][filter][backup]") {
  scratch_dir dir;
  file_log log(dir.log(), small_segments());
  append_mixed_log(log);
  const fs::path dest = dir.path() / "backup";
  annal::backup(log, dest);
  CHECK(annal::verify_backup(dest).events == log.last_position());
  // Another type for the segment's first record, behind a checksum that matches: opening the
  // backup would take it from there, and a filtered read would pass the record over.
  const fs::path idx = dest / "00000002.idx";
  std::string bytes = slurp(idx);
  fl::segment_index decoded;
  REQUIRE_FALSE(fl::decode_segment_index(bytes.data(), bytes.size(), decoded));
  REQUIRE(decoded.types.size() > 1);
  const std::uint16_t first = decoded.entry_type(0);
  const auto at = static_cast<std::size_t>(decoded.entry_types - bytes.data());
  fl::put<std::uint16_t>(bytes.data() + at, static_cast<std::uint16_t>(first == 1 ? 2 : 1));
  fl::put<std::uint32_t>(bytes.data() + bytes.size() - 4,
                         fl::crc32c(0, bytes.data(), bytes.size() - 4));
  spill(idx, bytes);
  CHECK_THROWS_WITH(annal::verify_backup(dest),
                    Catch::Contains(idx.string()) && Catch::Contains("disagrees"));
}

TEST_CASE("file_log filter: reads beside appends of new types see a consistent prefix",
          "[store][file_log][filter][concurrency]") {
  scratch_dir dir;
  file_log log(dir.log(), small_segments(8192));
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 400; ++i)
      log.append("s-" + std::to_string(i % 5), annal::expected_version::any(),
                 std::vector{typed("t" + std::to_string(i % 40)), typed("even")});
    done = true;
  });
  // Every read sees positions 1..n for some n: each "t7" before it, in order, and nothing missed.
  const event_filter f{{"t7", "t13"}, {"s-2"}};
  int reads = 0;
  while (!done || reads == 0) {
    std::vector<std::uint64_t> got;
    const annal::read_progress r = annal::read_filtered(
        log, 1, f, [&](const annal::recorded_event& e) { got.push_back(e.position); });
    const auto want = positions_of(expected_matches(log, f));
    REQUIRE(got.size() <= want.size());
    CHECK(std::equal(got.begin(), got.end(), want.begin()));
    CHECK(r.next_position <= log.last_position() + 1);
    ++reads;
  }
  writer.join();
  CHECK(positions_of(read_in_steps(log, f, 3)) == positions_of(expected_matches(log, f)));
}
