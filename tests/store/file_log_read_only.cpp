// Read-only opens beside the writer: they see what the writer acknowledged and nothing before,
// follow it across segment rolls, wake on its appends, and never write to the directory.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <annal/file/log.hpp>
#include <annal/store/subscription.hpp>

#include "store/conformance.hpp"
#include "store/faulty_io.hpp"
#include "store/store_test_support.hpp"

using namespace annal_conformance;
using annal::durability;
using annal::errc;
using annal::file_log;
using annal::file_log_options;
using annal_test_store::scratch_dir;

namespace {

namespace fs = std::filesystem;

file_log_options read_only() {
  file_log_options o;
  o.read_only = true;
  return o;
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

}  // namespace

static_assert(annal::waitable_store<file_log>, "projectors and reactors run on a read-only open");

TEST_CASE("file_log read-only: an append is visible once acknowledged, never while it syncs",
          "[store][file_log][read_only]") {
  const durability mode = GENERATE(durability::durable, durability::group);
  INFO("durability " << static_cast<int>(mode));
  scratch_dir dir;
  // Set while an append is under way: the first position it writes.
  std::uint64_t in_flight = 0;
  int syncs_watched = 0, seen_early = 0, opened_mid_append = 0;
  std::optional<file_log> reader;
  annal_test_store::faulty_io io;
  io.plan->on_sync = [&](int) {
    if (in_flight == 0 || !reader) return;
    // The batch is written (every sync of an append comes after its write, or before it in a
    // roll-over) but not yet acknowledged: no reader may see it.
    ++syncs_watched;
    seen_early += reader->last_position() >= in_flight;
    seen_early += reader->read_all(in_flight, [](const recorded_event&) {}) != 0;
    if (in_flight % 5 == 0) {
      const file_log fresh(dir.log(), read_only());
      ++opened_mid_append;
      seen_early += fresh.last_position() >= in_flight;
    }
  };
  file_log_options options;
  options.sync = mode;
  options.segment_size = 2000;  // a roll-over every few batches
  annal::basic_file_log<annal_test_store::faulty_io> writer(dir.log(), options, io);
  reader.emplace(dir.log(), read_only());
  CHECK(reader->last_position() == 0);

  std::vector<event_data> sent;
  for (int i = 0; i < 40; ++i) {
    const std::string stream = "s" + std::to_string(i % 3);
    const auto batch = make_batch(static_cast<std::size_t>(i % 3 + 1), "b" + std::to_string(i));
    in_flight = writer.last_position() + 1;
    const auto r = writer.append(stream, expected_version::any(), batch);
    in_flight = 0;
    sent.insert(sent.end(), batch.begin(), batch.end());
    // Acknowledged: readable at once, whole, in every read.
    REQUIRE(reader->last_position() == r.last_position);
    CHECK(reader->stream_version(stream) == r.stream_version);
    const auto got = all_events(*reader, r.first_position);
    REQUIRE(got.size() == batch.size());
    for (std::size_t k = 0; k < batch.size(); ++k) check_same_event(got[k], batch[k]);
    const auto tail = stream_events(*reader, stream, r.stream_version);
    REQUIRE(tail.size() == 1);
    CHECK(tail[0].id == batch.back().id);
  }
  CHECK(syncs_watched >= 40);
  CHECK(opened_mid_append >= 5);
  CHECK(seen_early == 0);
  CHECK(fs::exists(dir.log() / "00000005.log"));  // the reader followed several roll-overs
  const auto all = all_events(*reader);
  REQUIRE(all.size() == sent.size());
  for (std::size_t k = 0; k < sent.size(); ++k) check_same_event(all[k], sent[k]);
  CHECK(all == all_events(writer));
}

TEST_CASE("file_log read-only: durability::none shows what append wrote once it returns",
          "[store][file_log][read_only]") {
  scratch_dir dir;
  file_log_options options;
  options.sync = durability::none;
  options.segment_size = 1500;
  file_log writer(dir.log(), options);
  const file_log reader(dir.log(), read_only());
  for (int i = 0; i < 20; ++i) {
    const auto r = writer.append("s", expected_version::any(), make_batch(2));
    REQUIRE(reader.last_position() == r.last_position);
  }
  CHECK(all_events(reader) == all_events(writer));
}

TEST_CASE("file_log read-only: opening it where there is no log", "[store][file_log][read_only]") {
  scratch_dir dir;
  SECTION("a missing directory is an error: a read-only open never creates it") {
    bool threw = false;
    try {
      const file_log reader(dir.path() / "missing", read_only());
    } catch (const annal::error& e) {
      threw = true;
      CHECK(e.code() == annal::make_error_code(errc::io_error));
      CHECK(std::string(e.what()).find("does not exist") != std::string::npos);
    }
    CHECK(threw);
    CHECK_FALSE(fs::exists(dir.path() / "missing"));
  }
  SECTION("an empty directory is an empty log, followed once a writer starts") {
    const file_log reader(dir.path(), read_only());
    CHECK(reader.last_position() == 0);
    CHECK(all_events(reader).empty());
    CHECK(reader.stream_version("s") == 0);
    CHECK_FALSE(reader.wait_for_append(0, annal::clock::now()));
    CHECK(names_in(dir.path()).empty());  // it wrote nothing, not even a lock file
    file_log writer(dir.path());
    const auto batch = make_batch(2);
    writer.append("s", expected_version::no_stream(), batch);
    // A deadline far enough off never to pass on a sane machine: it bounds a hang, no more.
    REQUIRE(reader.wait_for_append(0, annal::clock::now() + std::chrono::seconds(60)));
    const auto got = all_events(reader);
    REQUIRE(got.size() == 2);
    check_same_event(got[1], batch[1]);
  }
}

TEST_CASE("file_log read-only: append and sync are refused", "[store][file_log][read_only]") {
  scratch_dir dir;
  file_log writer(dir.log());
  writer.append("s", expected_version::any(), make_batch(1));
  file_log reader(dir.log(), read_only());
  for (int call = 0; call < 2; ++call) {
    bool threw = false;
    try {
      if (call == 0) {
        reader.append("s", expected_version::any(), make_batch(1));
      } else {
        reader.sync();
      }
    } catch (const annal::error& e) {
      threw = true;
      CHECK(e.code() == annal::make_error_code(errc::invalid_argument));
      CHECK(std::string(e.what()).find("read-only") != std::string::npos);
    }
    CHECK(threw);
  }
  CHECK(writer.last_position() == 1);
  CHECK(reader.last_position() == 1);
}

TEST_CASE("file_log read-only: readers take no lock and write nothing",
          "[store][file_log][read_only]") {
  scratch_dir dir;
  file_log_options options;
  options.segment_size = 1200;
  {
    file_log writer(dir.log(), options);
    for (int i = 0; i < 12; ++i) writer.append("s", expected_version::any(), make_batch(2));
  }
  {
    const file_log indexed(dir.log(), read_only());
    CHECK(indexed.recovery().segments_indexed > 0);  // sealed segments from their index files
    CHECK(indexed.last_position() == 24);
    CHECK(all_events(indexed).size() == 24);
  }
  // No index files: every sealed segment must be scanned, and none may be written again.
  for (const auto& name : names_in(dir.log()))
    if (name.ends_with(".idx")) fs::remove(dir.log() / name);
  const auto before = names_in(dir.log());
  {
    const file_log a(dir.log(), read_only()), b(dir.log(), read_only());
    CHECK(a.last_position() == 24);
    CHECK(b.last_position() == 24);
    CHECK_FALSE(a.recovery().index_ignored.empty());
    // The writer opens beside them; another writer still may not.
    file_log writer(dir.log(), options);
    writer.append("s", expected_version::any(), make_batch(1));
    CHECK(a.last_position() == 25);
    bool locked = false;
    try {
      const file_log second(dir.log(), options);
    } catch (const annal::error& e) {
      locked = e.code() == annal::make_error_code(errc::store_locked);
    }
    CHECK(locked);
  }
  // Only the writer's reopen may have rewritten index files; a reader alone changes nothing.
  for (const auto& name : names_in(dir.log()))
    if (name.ends_with(".idx")) fs::remove(dir.log() / name);
  const auto bytes_before = fs::file_size(dir.log() / "PUBLISHED");
  const auto listing = names_in(dir.log());
  {
    const file_log c(dir.log(), read_only());
    CHECK(c.last_position() == 25);
  }
  CHECK(names_in(dir.log()) == listing);
  CHECK(fs::file_size(dir.log() / "PUBLISHED") == bytes_before);
  CHECK(before.count("PUBLISHED") == 1);
}

TEST_CASE("file_log read-only: a torn record past what was published is not read",
          "[store][file_log][read_only]") {
  scratch_dir dir;
  file_log writer(dir.log());
  writer.append("s", expected_version::any(), make_batch(3));
  // Half a record at the end, as a write in progress (or a writer killed in it) leaves.
  {
    std::ofstream out(dir.log() / "00000001.log", std::ios::binary | std::ios::app);
    const std::string half(70, 'x');
    out.write("ANLR", 4);
    out.write(half.data(), static_cast<std::streamsize>(half.size()));
  }
  const file_log reader(dir.log(), read_only());
  CHECK(reader.last_position() == 3);
  CHECK(all_events(reader).size() == 3);
  // The writer's next append overwrites those bytes; the reader goes on after them.
  const auto more = make_batch(2);
  writer.append("s", expected_version::exact(3), more);
  const auto got = all_events(reader, 4);
  REQUIRE(got.size() == 2);
  check_same_event(got[0], more[0]);
}

TEST_CASE("file_log read-only: a log cut under the reader is an error, not a wrong read",
          "[store][file_log][read_only]") {
  scratch_dir dir;
  std::optional<file_log> writer(std::in_place, dir.log());
  writer->append("s", expected_version::any(), make_batch(5));
  const file_log reader(dir.log(), read_only());
  CHECK(reader.last_position() == 5);
  writer.reset();
  // As a repair that cut positions 4 and 5 would publish.
  {
    std::fstream f(dir.log() / "PUBLISHED", std::ios::binary | std::ios::in | std::ios::out);
    const std::uint64_t words[2] = {3, ~std::uint64_t{3}};
    f.write(reinterpret_cast<const char*>(words), sizeof words);
  }
  require_error([&] { (void)reader.last_position(); }, errc::corrupt_log);
}

TEST_CASE("file_log read-only: wait_for_append wakes on another process's kind of append",
          "[store][file_log][read_only]") {
  scratch_dir dir;
  file_log writer(dir.log());
  const file_log reader(dir.log(), read_only());
  CHECK_FALSE(reader.wait_for_append(0, annal::clock::now() + std::chrono::milliseconds(5)));
  std::atomic<int> woke{0};
  // Two waiters: one reads the watch, the other polls; both must see the append.
  std::vector<std::thread> waiters;
  for (int t = 0; t < 2; ++t)
    waiters.emplace_back([&] {
      woke += reader.wait_for_append(0, annal::clock::now() + std::chrono::seconds(60)) ? 1 : 0;
    });
  writer.append("s", expected_version::any(), make_batch(1));
  for (auto& t : waiters) t.join();
  CHECK(woke == 2);
  // A subscription, as projectors and reactors use, follows the read-only open.
  annal::subscription<file_log> sub(reader);
  std::vector<std::uint64_t> positions;
  sub.catch_up([&](const recorded_event& e) { positions.push_back(e.position); });
  writer.append("t", expected_version::any(), make_batch(2));
  REQUIRE(sub.wait(annal::clock::now() + std::chrono::seconds(60)));
  sub.catch_up([&](const recorded_event& e) { positions.push_back(e.position); });
  CHECK(positions == std::vector<std::uint64_t>{1, 2, 3});
}

TEST_CASE("file_log read-only: the docs' example follows a writer",
          "[store][file_log][read_only]") {
  scratch_dir scratch;
  const std::filesystem::path dir = scratch.log();
  file_log writer(dir);
  writer.append("s", expected_version::any(), make_batch(1));
  std::thread more([&] { writer.append("s", expected_version::any(), make_batch(2)); });
  std::stop_source stop;
  std::vector<std::uint64_t> positions;
  const auto handle = [&](const annal::recorded_event& e) {
    positions.push_back(e.position);
    if (positions.size() == 3) stop.request_stop();
  };
  // [read-only]
  annal::file_log_options options;
  options.read_only = true;
  const annal::file_log reader(dir, options);  // beside the writer, in this process or another
  annal::subscription<annal::file_log> follow(reader);
  // Catches up, then sleeps until the writer publishes more (inotify on Linux), until stopped.
  follow.run(handle, stop.get_token());
  // [read-only]
  more.join();
  CHECK(positions == std::vector<std::uint64_t>{1, 2, 3});
}

TEST_CASE("file_log read-only: damage within what was published is an error",
          "[store][file_log][read_only]") {
  scratch_dir dir;
  {
    file_log writer(dir.log());
    for (int i = 0; i < 3; ++i) writer.append("s", expected_version::any(), make_batch(1, "p"));
  }
  // Flip one payload byte of the second record: its checksum no longer holds.
  const fs::path segment = dir.log() / "00000001.log";
  std::string bytes;
  {
    std::ifstream in(segment, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::size_t second = bytes.find("ANLR", bytes.find("ANLR") + 4);
  REQUIRE(second != std::string::npos);
  std::uint32_t size = 0;
  std::memcpy(&size, bytes.data() + second + 4, 4);
  bytes[second + size - 1] ^= 0x20;
  {
    std::ofstream out(segment, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  require_error([&] { const file_log reader(dir.log(), read_only()); }, errc::corrupt_log);
}

TEST_CASE("file_log read-only: a log with nothing published reads its whole batches",
          "[store][file_log][read_only]") {
  scratch_dir dir;
  {
    file_log writer(dir.log());
    writer.append("s", expected_version::any(), make_batch(2));
  }
  // As a log last written before PUBLISHED existed, with half a record at its end.
  fs::remove(dir.log() / "PUBLISHED");
  {
    std::ofstream out(dir.log() / "00000001.log", std::ios::binary | std::ios::app);
    out.write("ANLR", 4);
    out.write("\x90\x01\x00\x00", 4);
  }
  const file_log reader(dir.log(), read_only());
  CHECK(reader.last_position() == 2);
  CHECK(all_events(reader).size() == 2);
}
