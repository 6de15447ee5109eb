// The file log: the conformance suite in every durability mode, recovery, locking and fail-stop.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <annal/file/detail/crc32c.hpp>
#include <annal/file/log.hpp>
#include <annal/file/salvage.hpp>
#include <annal/runtime/log.hpp>

#include "store/conformance.hpp"
#include "store/faulty_io.hpp"
#include "store/store_test_support.hpp"

using namespace annal_conformance;
using annal::durability;
using annal::errc;
using annal::file_log;
using annal::file_log_options;
using annal_test_store::file_log_fixture;
using annal_test_store::scratch_dir;

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spill(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

file_log_options with(durability mode, std::uint64_t segment_size = std::uint64_t{64} << 20) {
  file_log_options o;
  o.sync = mode;
  o.segment_size = segment_size;
  return o;
}

// Offsets of every record in a segment, found by walking the length fields.
std::vector<std::size_t> record_offsets(const std::string& segment) {
  std::vector<std::size_t> out;
  for (std::size_t at = 32; at + 8 <= segment.size();) {
    out.push_back(at);
    std::uint32_t size;
    std::memcpy(&size, segment.data() + at + 4, 4);
    at += size;
  }
  return out;
}

std::string error_text(const std::function<void()>& f, errc expected) {
  try {
    f();
  } catch (const annal::error& e) {
    CHECK(e.code() == annal::make_error_code(expected));
    return e.what();
  }
  FAIL("expected an annal::error");
  return {};
}

// Appends `batches` single-stream batches of `size` events with fixed-length payloads.
template <class Log>
std::vector<std::vector<event_data>> fill(Log& log, int batches, std::size_t size = 1) {
  std::vector<std::vector<event_data>> sent;
  for (int b = 0; b < batches; ++b) {
    auto batch = make_batch(size, "payload-" + std::to_string(1000 + b) + "-");
    log.append("s-" + std::to_string(b % 2), expected_version::any(), batch);
    sent.push_back(batch);
  }
  return sent;
}

}  // namespace

TEST_CASE("crc32c: hardware and table paths agree with the standard check value",
          "[store][file_log][crc]") {
  namespace fl = annal::detail::file_log;
  const std::string check = "123456789";
  CHECK(fl::crc32c_portable(0, check.data(), check.size()) == 0xE3069283u);
  CHECK(fl::crc32c(0, check.data(), check.size()) == 0xE3069283u);
  std::string data(1000, 'x');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  for (std::size_t split : {0u, 1u, 7u, 8u, 9u, 500u, 999u}) {
    const auto whole = fl::crc32c_portable(0, data.data(), data.size());
    const auto part =
        fl::crc32c(fl::crc32c(0, data.data(), split), data.data() + split, data.size() - split);
    CHECK(part == whole);
  }
}

TEST_CASE("crc32c: three checksums at once match one at a time", "[store][file_log][crc]") {
  namespace fl = annal::detail::file_log;
  std::string data(600, 'x');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 13 + 5);
  // Lengths that are and are not multiples of 8, equal and unequal, empty among them.
  const std::size_t lengths[][3] = {{0, 0, 0},    {1, 8, 9},    {189, 189, 189},
                                    {200, 7, 64}, {17, 300, 0}, {599, 1, 16}};
  for (const auto& n : lengths) {
    const char* data3[3] = {data.data(), data.data() + 1, data.data() + 3};
    std::uint32_t got[3];
    fl::crc32c_x3(data3, n, got);
    for (int i = 0; i < 3; ++i) {
      INFO("buffer " << i << " of " << n[i] << " bytes");
      CHECK(got[i] == fl::crc32c_portable(0, data3[i], n[i]));
    }
  }
}

TEST_CASE("file_log records: decoding into one reused event gets every field length right",
          "[store][file_log]") {
  namespace fl = annal::detail::file_log;
  annal::recorded_event e;
  std::vector<char> buffer;
  // Lengths grow and shrink around the inline copies' 4-, 8- and 16-byte steps and past the
  // strings' small-buffer capacity, so both the reuse and the allocating paths run.
  for (std::size_t round = 0; round < 3; ++round) {
    for (std::size_t n = 0; n <= 40; ++n) {
      const std::size_t len = round == 1 ? 40 - n : n;
      event_data sent = make_event(std::string(len, static_cast<char>('a' + len % 26)),
                                   "t" + std::string(len % 19, 'y'));
      sent.meta["k" + std::string(len % 5, 'k')] = std::string(len % 23, 'v');
      const std::string stream = "s-" + std::string(len % 17, 's');
      buffer.resize(fl::record_size(stream, sent));
      fl::record_fields f;
      f.position = len + 1;
      f.stream_version = 1;
      fl::encode_record(buffer.data(), stream, sent, f);
      fl::record_view r;
      REQUIRE(fl::check_record(buffer.data(), static_cast<std::uint32_t>(buffer.size()), r) ==
              nullptr);
      REQUIRE(fl::decode_record(r, e) == nullptr);
      CHECK(e.stream_id == stream);
      CHECK(e.position == len + 1);
      check_same_event(e, sent);
    }
  }
}

// Records are written from a std::map, so their metadata keys are in order and unique. A record
// that says otherwise (damage behind a sound checksum) is refused rather than decoded one way by
// a view and another by a copy (found by fuzzing: which of two equal keys won differed).
TEST_CASE("file_log records: metadata keys out of order or repeated are refused",
          "[store][file_log]") {
  namespace fl = annal::detail::file_log;
  event_data sent = make_event("payload");
  sent.meta = {{"a", "1"}, {"b", "2"}};
  const std::string stream = "s";
  std::vector<char> buffer(fl::record_size(stream, sent));
  fl::encode_record(buffer.data(), stream, sent, fl::record_fields{});
  const std::string_view bytes(buffer.data(), buffer.size());
  // Entries follow the fixed header, the stream id and the type: key then value, so "a1", "b2".
  const std::size_t entries = fl::record_header_size + stream.size() + sent.type.size();
  const std::size_t first = bytes.find("a1", entries), second = bytes.find("b2", entries);
  REQUIRE(first != std::string_view::npos);
  REQUIRE(second != std::string_view::npos);
  const auto refused = [&](char first_key, char second_key) {
    std::vector<char> damaged = buffer;
    damaged[first] = first_key;
    damaged[second] = second_key;
    fl::record_view r;
    REQUIRE(fl::check_record(damaged.data(), static_cast<std::uint32_t>(damaged.size()), r,
                             false) == nullptr);
    annal::recorded_event_view v;
    const char* why = fl::view_record(r, v);
    return std::string(why ? why : "");
  };
  CHECK(refused('a', 'b').empty());
  CHECK(refused('b', 'a') == "metadata keys out of order or repeated");
  CHECK(refused('a', 'a') == "metadata keys out of order or repeated");
}

TEST_CASE("file_log: views carry every field that was appended", "[store][file_log]") {
  scratch_dir dir;
  // Small segments, so reads cross segment boundaries; metadata of zero to three entries.
  file_log log(dir.log(), with(durability::none, 4096));
  struct sent_event {
    std::string stream;
    std::uint64_t version;
    event_data data;
  };
  std::vector<sent_event> sent;
  std::map<std::string, std::uint64_t> versions;
  for (int b = 0; b < 30; ++b) {
    const std::string stream = "stream-" + std::to_string(b % 3);
    auto batch = make_batch(3, "payload-" + std::to_string(b) + "-");
    for (std::size_t i = 0; i < batch.size(); ++i) {
      batch[i].correlation_id = annal::new_event_id();
      batch[i].causation_id = annal::new_event_id();
      batch[i].schema_version = static_cast<std::uint32_t>(1 + b % 3);
      for (std::size_t k = 0; k < (b + i) % 4; ++k)
        batch[i].meta["key-" + std::to_string(k)] = std::string(k * 7, 'v');
      sent.push_back({stream, ++versions[stream], batch[i]});
    }
    log.append(stream, expected_version::any(), batch);
  }

  const auto same = [](const annal::recorded_event_view& v, const sent_event& s) {
    CHECK(v.stream_id == s.stream);
    CHECK(v.stream_version == s.version);
    CHECK(v.id == s.data.id);
    CHECK(v.correlation_id == s.data.correlation_id);
    CHECK(v.causation_id == s.data.causation_id);
    CHECK(v.type == s.data.type);
    CHECK(v.schema_version == s.data.schema_version);
    CHECK(v.payload == s.data.payload);
    CHECK(v.meta.size() == s.data.meta.size());
    CHECK(v.meta.empty() == s.data.meta.empty());
    CHECK(v.meta.to_metadata() == s.data.meta);
    auto stored = s.data.meta.begin();
    for (const auto [key, value] : v.meta) {  // in key order, as std::map holds them
      REQUIRE(stored != s.data.meta.end());
      CHECK(key == stored->first);
      CHECK(value == stored->second);
      CHECK(v.meta.find(key) == std::optional<std::string_view>(stored->second));
      ++stored;
    }
    CHECK(stored == s.data.meta.end());
    CHECK_FALSE(v.meta.find("absent").has_value());
    const annal::recorded_event copy = v.to_owned();
    check_same_event(copy, s.data);
    CHECK(copy.stream_id == s.stream);
    CHECK(copy.position == v.position);
    CHECK(copy.recorded_at == v.recorded_at);
  };

  const auto owned = all_events(log);
  REQUIRE(owned.size() == 90);
  std::size_t i = 0;
  CHECK(log.read_all_views(1, [&](const annal::recorded_event_view& v) {
    CHECK(v.position == i + 1);
    CHECK(v.recorded_at == owned[i].recorded_at);
    CHECK(v.recorded_at.time_since_epoch().count() > 0);
    same(v, sent[i++]);
  }) == 90);
  CHECK(i == 90);

  SECTION("from a position, bounded, and stopped by the visitor") {
    std::vector<std::uint64_t> seen;
    log.read_all_views(
        40, [&](const annal::recorded_event_view& v) { seen.push_back(v.position); }, 5);
    CHECK(seen == std::vector<std::uint64_t>{40, 41, 42, 43, 44});
    seen.clear();
    const std::size_t visited = log.read_all_views(1, [&](const annal::recorded_event_view& v) {
      seen.push_back(v.position);
      return v.position < 3;
    });
    CHECK(visited == 3);
    CHECK(seen == std::vector<std::uint64_t>{1, 2, 3});
  }
  SECTION("one stream's views") {
    std::vector<sent_event> stream;
    for (const auto& s : sent)
      if (s.stream == "stream-1" && s.version >= 4) stream.push_back(s);
    REQUIRE(stream.size() == 27);
    std::size_t j = 0;
    CHECK(log.read_stream_views("stream-1", 4, [&](const annal::recorded_event_view& v) {
      same(v, stream[j++]);
    }) == stream.size());
    CHECK(log.read_stream_views("absent", 1, [](const annal::recorded_event_view&) {
      FAIL("an absent stream has no events");
    }) == 0);
  }
}

TEST_CASE("file_log models event_store", "[store][file_log]") {
  STATIC_REQUIRE(annal::event_store<annal::file_log>);
  STATIC_REQUIRE(annal::event_store<annal::basic_file_log<annal_test_store::faulty_io>>);
  STATIC_REQUIRE(annal::file_io<annal::posix_io>);
  STATIC_REQUIRE(!annal::file_io<int>);
}

TEST_CASE("file_log conforms (durable)", "[store][file_log][concurrency]") {
  check_event_store_conformance<file_log_fixture<durability::durable>>();
}

TEST_CASE("file_log conforms (group commit)", "[store][file_log][concurrency]") {
  check_event_store_conformance<file_log_fixture<durability::group>>();
}

// Segments of 4 KiB: most sections roll over several times.
TEST_CASE("file_log conforms (no sync, small segments)", "[store][file_log][concurrency]") {
  check_event_store_conformance<file_log_fixture<durability::none, 4096>>();
}

TEST_CASE("file_log: construction is one line, and the log is a directory of segments",
          "[store][file_log]") {
  scratch_dir dir;
  const auto path = dir.path() / "data";
  {
    annal::file_log log{path};
    CHECK(log.options().sync == durability::durable);
    CHECK(log.recovery().events == 0);
    CHECK_FALSE(log.recovery().cut);
    fill(log, 3);
  }
  CHECK(std::filesystem::exists(path / "00000001.log"));
  CHECK(std::filesystem::exists(path / "LOCK"));
  annal::file_log log{path};
  CHECK(log.recovery().events == 3);
  CHECK(log.recovery().open_time.count() > 0);
  CHECK(log.last_position() == 3);
}

TEST_CASE("file_log: bad options and missing directories are refused", "[store][file_log]") {
  scratch_dir dir;
  file_log_options tiny;
  tiny.segment_size = 10;
  error_text([&] { file_log log(dir.log(), tiny); }, errc::invalid_argument);
  file_log_options existing;
  existing.create_if_missing = false;
  const auto text =
      error_text([&] { file_log log(dir.path() / "absent", existing); }, errc::io_error);
  CHECK_THAT(text, Catch::Contains("absent") && Catch::Contains("does not exist"));
}

TEST_CASE("file_log: segments roll over and every event stays readable across them",
          "[store][file_log]") {
  scratch_dir dir;
  std::vector<std::vector<event_data>> sent;
  {
    file_log log(dir.log(), with(durability::none, 2048));
    sent = fill(log, 40, 3);
    log.sync();
  }
  std::size_t segments = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.log()))
    segments += entry.path().extension() == ".log";
  CHECK(segments > 5);
  file_log log(dir.log(), with(durability::durable, 2048));
  CHECK(log.recovery().segments == segments);
  const auto events = all_events(log);
  REQUIRE(events.size() == 120);
  std::size_t i = 0;
  for (const auto& batch : sent)
    for (const auto& e : batch) check_same_event(events[i++], e);
  CHECK(all_events(log, 77).front().position == 77);
  CHECK(stream_events(log, "s-1", 30).front().stream_version == 30);
  // A batch bigger than a segment gets a segment of its own.
  const auto big = make_batch(1, std::string(5000, 'b'));
  CHECK(log.append("big", expected_version::any(), big).first_position == 121);
  CHECK(stream_events(log, "big").front().payload == big[0].payload);
}

TEST_CASE("file_log: a visitor may append to the log it reads", "[store][file_log]") {
  scratch_dir dir;
  file_log log(dir.log(), with(durability::none));
  log.append("s", expected_version::any(), make_batch(3));
  const std::size_t visited = log.read_all(1, [&](const recorded_event& e) {
    log.append("echo", expected_version::any(), std::vector{make_event(e.payload)});
  });
  CHECK(visited == 3);
  CHECK(log.stream_version("echo") == 3);
}

TEST_CASE("file_log: durability::none becomes durable on sync()", "[store][file_log]") {
  scratch_dir dir;
  annal_test_store::faulty_io io;
  {
    annal::basic_file_log<annal_test_store::faulty_io> log(dir.log(), with(durability::none), io);
    const long before = io.plan->syncs;
    fill(log, 20);
    CHECK(io.plan->syncs == before);  // no sync per append
    log.sync();
    CHECK(io.plan->syncs == before + 1);
  }
  CHECK(file_log(dir.log()).last_position() == 20);
}

TEST_CASE("file_log: one process owns the directory", "[store][file_log][lock]") {
  scratch_dir dir;
  auto log = std::make_unique<file_log>(dir.log());
  fill(*log, 2);
  const auto text = error_text([&] { file_log second(dir.log()); }, errc::store_locked);
  CHECK_THAT(text, Catch::Contains(dir.log().string()) && Catch::Contains("LOCK"));

  const auto child_open = [&] {
    const pid_t pid = ::fork();
    if (pid == 0) {
      int code = 3;
      try {
        file_log other(dir.log());
        code = other.last_position() == 2 ? 0 : 4;
      } catch (const annal::error& e) {
        code = e.code() == annal::make_error_code(errc::store_locked) ? 1 : 2;
      }
      ::_exit(code);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  CHECK(child_open() == 1);  // locked by this process
  log.reset();
  CHECK(child_open() == 0);  // free again once closed
}

TEST_CASE("file_log: a torn tail is cut and the log stays usable", "[store][file_log][recovery]") {
  scratch_dir dir;
  const auto segment = dir.log() / "00000001.log";
  std::vector<std::vector<event_data>> sent;
  {
    file_log log(dir.log());
    sent = fill(log, 4);
    log.append("tail", expected_version::any(), make_batch(3));  // positions 5..7, one batch
  }
  const std::string whole = slurp(segment);
  const auto offsets = record_offsets(whole);
  REQUIRE(offsets.size() == 7);

  SECTION("cut inside the last batch: the whole batch goes") {
    for (std::size_t cut : {offsets[4] + 1, offsets[5] + 50, offsets[6], whole.size() - 1}) {
      spill(segment, whole.substr(0, cut));
      file_log log(dir.log());
      CHECK(log.recovery().cut);
      CHECK(log.recovery().segment == "00000001.log");
      CHECK(log.recovery().offset == offsets[4]);
      CHECK(log.recovery().first_position_cut == 5);
      CHECK(log.recovery().intact_records_cut == 0);
      CHECK(log.last_position() == 4);
      CHECK(log.stream_version("tail") == 0);
      CHECK(std::filesystem::file_size(segment) == offsets[4]);
    }
  }
  SECTION("zeros after the last record (a power cut after the file grew)") {
    spill(segment, whole + std::string(4096, '\0'));
    file_log log(dir.log());
    CHECK(log.recovery().cut);
    CHECK(log.recovery().offset == whole.size());
    CHECK(log.last_position() == 7);
  }
  SECTION("garbage after the last record") {
    spill(segment, whole + "\x41\x4e\x4c\x52 not a record at all, just noise");
    file_log log(dir.log());
    CHECK(log.recovery().cut);
    CHECK(log.last_position() == 7);
  }
  SECTION("the log goes on after the cut, and the next open is clean") {
    spill(segment, whole.substr(0, offsets[6] + 10));
    {
      file_log log(dir.log());
      CHECK(log.append("tail", expected_version::no_stream(), make_batch(2)).first_position == 5);
    }
    file_log log(dir.log());
    CHECK_FALSE(log.recovery().cut);
    CHECK(log.last_position() == 6);
    const auto events = all_events(log);
    for (std::size_t i = 0; i < 4; ++i) check_same_event(events[i], sent[i][0]);
  }
}

TEST_CASE("file_log: damage in the middle refuses to open, naming segment and offset",
          "[store][file_log][recovery]") {
  scratch_dir dir;
  const auto segment = dir.log() / "00000001.log";
  std::vector<std::vector<event_data>> sent;
  {
    file_log log(dir.log());
    sent = fill(log, 6);
  }
  const std::string whole = slurp(segment);
  const auto offsets = record_offsets(whole);
  REQUIRE(offsets.size() == 6);
  std::string damaged = whole;

  SECTION("a flipped bit in a payload") {
    damaged[offsets[2] + 130] ^= 0x10;
    spill(segment, damaged);
    const auto text = error_text([&] { file_log log(dir.log()); }, errc::corrupt_log);
    CHECK_THAT(text, Catch::Contains("segment 00000001.log offset " + std::to_string(offsets[2])) &&
                         Catch::Contains("checksum mismatch") && Catch::Contains("repair"));
    CHECK(slurp(segment) == damaged);  // refusing touches nothing

    file_log_options repair;
    repair.repair = true;
    {
      file_log log(dir.log(), repair);
      const auto& r = log.recovery();
      CHECK(r.cut);
      CHECK(r.segment == "00000001.log");
      CHECK(r.offset == offsets[2]);
      CHECK(r.first_position_cut == 3);
      CHECK(r.intact_records_cut == 3);  // positions 4..6
      CHECK(r.bytes_cut == whole.size() - offsets[2]);
      REQUIRE(r.saved_as.size() == 1);
      CHECK(slurp(r.saved_as[0]) == damaged.substr(offsets[2]));
      CHECK(log.last_position() == 2);
      CHECK(log.append("s-0", expected_version::any(), make_batch(1)).first_position == 3);
    }
    file_log log(dir.log());
    CHECK_FALSE(log.recovery().cut);
    CHECK(log.last_position() == 3);
  }
  SECTION("a stale record written over another (the hash chain catches it)") {
    // Records 2 and 4 have the same length: put 2's bytes where 4 was, as a misdirected write
    // would. Record 2 is intact on its own; only the chain and the position tell.
    const std::size_t len = offsets[4] - offsets[3];
    REQUIRE(offsets[2] - offsets[1] == len);
    damaged.replace(offsets[3], len, whole.substr(offsets[1], len));
    spill(segment, damaged);
    const auto text = error_text([&] { file_log log(dir.log()); }, errc::corrupt_log);
    CHECK_THAT(text, Catch::Contains("offset " + std::to_string(offsets[3])) &&
                         Catch::Contains("hash chain"));
  }
  SECTION("a damaged length field") {
    damaged[offsets[1] + 5] ^= 0x7F;
    spill(segment, damaged);
    const auto text = error_text([&] { file_log log(dir.log()); }, errc::corrupt_log);
    CHECK_THAT(text, Catch::Contains("offset " + std::to_string(offsets[1])));
  }
  SECTION("damage to the last record cannot be told from a torn write: it is cut, and reported") {
    damaged[offsets[5] + 130] ^= 0x01;
    spill(segment, damaged);
    std::vector<std::pair<annal::log_level, std::string>> logged;
    annal::set_log_handler([&](annal::log_level level, std::string_view message) {
      logged.emplace_back(level, std::string(message));
    });
    struct restore_log {
      ~restore_log() { annal::set_log_handler({}); }
    } restore;
    file_log log(dir.log());
    const auto& r = log.recovery();
    CHECK(r.cut);
    CHECK_THAT(r.reason, Catch::Contains("checksum mismatch"));
    CHECK(log.last_position() == 5);
    CHECK(r.events_cut == 1);
    CHECK(r.first_position_cut == 6);
    CHECK(r.bytes_cut == whole.size() - offsets[5]);
    // The cut is said through the logging hook, with its byte range and event count.
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].first == annal::log_level::warning);
    CHECK_THAT(logged[0].second,
               Catch::Contains("segment 00000001.log offset " + std::to_string(offsets[5])) &&
                   Catch::Contains(std::to_string(whole.size() - offsets[5]) + " bytes") &&
                   Catch::Contains("1 event from position 6") &&
                   Catch::Contains("checksum mismatch") && Catch::Contains("00000001.log.cut"));
    // The cut bytes are kept beside the log, exactly.
    REQUIRE(r.saved_as.size() == 1);
    CHECK(r.saved_as[0] == (dir.log() / "00000001.log.cut").string());
    CHECK(slurp(r.saved_as[0]) == damaged.substr(offsets[5]));
    CHECK(std::filesystem::file_size(segment) == offsets[5]);
  }
  SECTION("a second cut of the same segment keeps the first one's bytes") {
    damaged[offsets[5] + 130] ^= 0x01;
    spill(segment, damaged);
    annal::set_log_handler([](annal::log_level, std::string_view) {});
    struct restore_log {
      ~restore_log() { annal::set_log_handler({}); }
    } restore;
    { file_log log(dir.log()); }
    std::string shorter = damaged.substr(0, offsets[5]);
    shorter[offsets[4] + 130] ^= 0x01;
    spill(segment, shorter);
    file_log log(dir.log());
    REQUIRE(log.recovery().saved_as.size() == 1);
    CHECK(log.recovery().saved_as[0] == (dir.log() / "00000001.log.2.cut").string());
    CHECK(slurp(dir.log() / "00000001.log.2.cut") == shorter.substr(offsets[4]));
    CHECK(slurp(dir.log() / "00000001.log.cut") == damaged.substr(offsets[5]));
    CHECK(log.last_position() == 4);
  }
  SECTION("damage found while reading is an error, never bad data") {
    file_log log(dir.log());
    damaged[offsets[3] + 130] ^= 0x01;
    spill(segment, damaged);
    const auto text = error_text([&] { all_events(log); }, errc::corrupt_log);
    CHECK_THAT(text, Catch::Contains("00000001.log offset " + std::to_string(offsets[3])));
    error_text([&] { stream_events(log, "s-1"); }, errc::corrupt_log);
    const auto view_text =
        error_text([&] { log.read_all_views(1, [](const annal::recorded_event_view&) {}); },
                   errc::corrupt_log);
    CHECK_THAT(view_text, Catch::Contains("00000001.log offset " + std::to_string(offsets[3])));
  }
}

TEST_CASE("file_log: what a repair cut is read back and re-imported exactly once",
          "[store][file_log][recovery][salvage]") {
  scratch_dir scratch;
  const std::filesystem::path dir = scratch.log();
  std::vector<std::vector<event_data>> sent;
  {
    file_log log(dir, with(durability::none, 1024));
    sent = fill(log, 30);
    log.sync();
  }
  REQUIRE(std::filesystem::exists(dir / "00000004.log"));
  // A flipped byte inside the second record of sealed segment 2.
  const auto second = dir / "00000002.log";
  std::string bytes = slurp(second);
  const auto offsets = record_offsets(bytes);
  REQUIRE(offsets.size() >= 3);
  bytes[offsets[1] + 130] ^= 0x04;
  spill(second, bytes);
  annal::event_id lost;
  std::memcpy(lost.data, bytes.data() + offsets[1] + 48, 16);
  annal::set_log_handler([](annal::log_level, std::string_view) {});
  struct restore_log {
    ~restore_log() { annal::set_log_handler({}); }
  } restore;
  std::ostringstream out;

  // [salvage]
  annal::file_log_options options;
  options.repair = true;
  annal::file_log log(dir, options);
  const std::vector<std::filesystem::path> cut(log.recovery().saved_as.begin(),
                                               log.recovery().saved_as.end());
  // What was cut: every intact record, and the damaged bytes with their offsets.
  for (const std::filesystem::path& file : cut) {
    const annal::cut_file_report read = annal::read_cut_file(file, [&](const annal::cut_record& r) {
      out << r.event.stream_id << " v" << r.event.stream_version << " " << r.event.type << "\n";
    });
    for (const annal::cut_file_damage& d : read.damaged)
      out << file << ": " << d.size << " damaged bytes at offset " << d.offset << "\n";
  }
  // Put it back: batch by batch, with the original ids, so a second run stores nothing twice.
  const annal::reimport_report back = annal::reimport_cut_files(log, cut);
  // [salvage]

  const std::uint64_t kept = log.recovery().events;
  const std::uint64_t intact = 30 - kept - 1;
  CHECK(log.recovery().intact_records_cut == intact);
  // The first file is segment 2's cut end, which starts with the damaged record.
  REQUIRE(cut.size() >= 3);
  CHECK(cut[0] == dir / "00000002.log.cut");
  std::vector<annal::cut_record> salvaged;
  std::vector<annal::cut_file_damage> damage;
  for (const auto& file : cut) {
    const auto read =
        annal::read_cut_file(file, [&](const annal::cut_record& r) { salvaged.push_back(r); });
    CHECK(read.records <= salvaged.size());
    damage.insert(damage.end(), read.damaged.begin(), read.damaged.end());
  }
  REQUIRE(damage.size() == 1);
  CHECK(damage[0].offset == 0);
  CHECK(damage[0].size == offsets[2] - offsets[1]);
  CHECK_THAT(out.str(), Catch::Contains(std::to_string(offsets[2] - offsets[1]) +
                                        " damaged bytes at offset 0"));
  REQUIRE(salvaged.size() == intact);
  CHECK(salvaged[0].follows_damage);
  CHECK(salvaged[0].offset == offsets[2] - offsets[1]);
  for (std::size_t i = 0; i < salvaged.size(); ++i) {
    CHECK(salvaged[i].event.position == kept + 2 + i);
    CHECK(salvaged[i].batch_end);
    CHECK(salvaged[i].event.id != lost);
  }

  CHECK(back.appended == intact);
  CHECK(back.duplicates == 0);
  CHECK(back.skipped == 0);
  CHECK(back.after_damage == 1);
  CHECK(back.moved > 0);  // the damaged event's stream goes on one version lower
  REQUIRE(back.damaged.size() == 1);
  CHECK(back.damaged[0].first == cut[0].string());

  const auto again = annal::reimport_cut_files(log, cut);
  CHECK(again.appended == 0);
  CHECK(again.duplicates == intact);

  // Every intact event is back exactly once, in its stream's order, with its envelope.
  const auto events = all_events(log);
  CHECK(events.size() == 29);
  std::map<annal::event_id, int> seen;
  for (const auto& e : events) ++seen[e.id];
  for (const auto& batch : sent) {
    const event_data& e = batch[0];
    CHECK(seen[e.id] == (e.id == lost ? 0 : 1));
  }
  for (const std::string stream : {"s-0", "s-1"}) {
    std::vector<std::string> want, got;
    for (std::size_t b = 0; b < sent.size(); ++b)
      if ("s-" + std::to_string(b % 2) == stream && sent[b][0].id != lost)
        want.push_back(sent[b][0].payload);
    for (const auto& e : stream_events(log, stream)) got.push_back(e.payload);
    CHECK(got == want);
  }
}

TEST_CASE("file_log: a cut file that is not one", "[store][file_log][salvage]") {
  scratch_dir scratch;
  std::filesystem::create_directories(scratch.log());
  const auto junk = scratch.log() / "junk.cut";
  spill(junk, std::string(300, 'x'));
  int records = 0;
  const auto read = annal::read_cut_file(junk, [&](const annal::cut_record&) { ++records; });
  CHECK(records == 0);
  REQUIRE(read.damaged.size() == 1);
  CHECK(read.damaged[0].offset == 0);
  CHECK(read.damaged[0].size == 300);
  const auto text = error_text(
      [&] { annal::read_cut_file(scratch.log() / "missing.cut", [](const annal::cut_record&) {}); },
      errc::io_error);
  CHECK_THAT(text, Catch::Contains("missing.cut"));
}

TEST_CASE("file_log: damage in a sealed segment, and a missing segment",
          "[store][file_log][recovery]") {
  scratch_dir dir;
  {
    file_log log(dir.log(), with(durability::none, 1024));
    fill(log, 30);
    log.sync();
  }
  const auto first = dir.log() / "00000001.log";
  REQUIRE(std::filesystem::exists(dir.log() / "00000003.log"));

  SECTION("damage in segment 1 of many refuses to open; repair moves the rest aside") {
    std::string bytes = slurp(first);
    const auto offsets = record_offsets(bytes);
    const std::size_t victim = offsets.back();
    bytes[victim + 130] ^= 0x04;  // the last record of a sealed segment is no torn tail
    spill(first, bytes);
    const auto text = error_text([&] { file_log log(dir.log()); }, errc::corrupt_log);
    CHECK_THAT(text, Catch::Contains("segment 00000001.log offset " + std::to_string(victim)) &&
                         Catch::Contains("later segments"));
    file_log_options repair;
    repair.repair = true;
    file_log log(dir.log(), repair);
    CHECK(log.last_position() == offsets.size() - 1);
    CHECK(log.recovery().saved_as.size() > 1);
    CHECK(std::filesystem::exists(dir.log() / "00000002.log.cut"));
    CHECK_FALSE(std::filesystem::exists(dir.log() / "00000002.log"));
    log.append("next", expected_version::any(), make_batch(1));
    CHECK(all_events(log).back().position == offsets.size());
  }
  SECTION("a missing segment") {
    std::filesystem::remove(dir.log() / "00000002.log");
    const auto text = error_text([&] { file_log log(dir.log()); }, errc::corrupt_log);
    CHECK_THAT(text, Catch::Contains("00000002.log") && Catch::Contains("missing"));
  }
  SECTION("a leftover temporary segment from a crashed roll-over is removed") {
    spill(dir.log() / "00000009.log.tmp", "half a header");
    file_log log(dir.log());
    CHECK_FALSE(std::filesystem::exists(dir.log() / "00000009.log.tmp"));
    CHECK(log.last_position() == 30);
  }
}

TEST_CASE("file_log: a failed sync stops the store for good (fail-stop)",
          "[store][file_log][fail_stop]") {
  using annal_test_store::faulty_io;
  scratch_dir dir;
  faulty_io io;
  io.plan->counted = annal_test_store::call_sync;
  io.plan->real_sync = false;
  auto log = std::make_unique<annal::basic_file_log<faulty_io>>(dir.log(), file_log_options{}, io);
  fill(*log, 3);
  io.plan->fail_at = io.plan->calls + 1;
  const auto text = error_text([&] { fill(*log, 1); }, errc::store_failed);
  CHECK_THAT(text, Catch::Contains("fdatasync") && Catch::Contains("Input/output error"));
  CHECK(log->failed());
  const long syncs = io.plan->syncs;
  error_text([&] { fill(*log, 1); }, errc::store_failed);
  error_text([&] { all_events(*log); }, errc::store_failed);
  error_text([&] { (void)log->stream_version("s-0"); }, errc::store_failed);
  error_text([&] { (void)log->last_position(); }, errc::store_failed);
  error_text([&] { log->sync(); }, errc::store_failed);
  CHECK_FALSE(log->wait_for_append(0, annal::clock::now() + std::chrono::seconds(5)));
  CHECK(io.plan->syncs == syncs);  // nothing retried the sync
  log.reset();
  // Reopened, the log holds at least every acknowledged event.
  file_log again(dir.log());
  CHECK(again.last_position() >= 3);
}

TEST_CASE("file_log: group commit under a failing sync: every waiter fails, nothing acked is lost",
          "[store][file_log][fail_stop][concurrency]") {
  using annal_test_store::faulty_io;
  scratch_dir dir;
  faulty_io io;
  io.plan->counted = annal_test_store::call_sync;
  io.plan->fail_at = 8;  // group commit shares syncs: 240 appends may take only a few dozen
  std::vector<std::vector<annal::event_id>> acked(8);
  std::atomic<int> wrong_errors{0};
  {
    annal::basic_file_log<faulty_io> log(dir.log(), with(durability::group), io);
    std::vector<std::thread> pool;
    for (int t = 0; t < 8; ++t)
      pool.emplace_back([&, t] {
        for (int i = 0; i < 30; ++i) {
          auto batch = make_batch(1);
          try {
            log.append("t" + std::to_string(t), expected_version::any(), batch);
            acked[t].push_back(batch[0].id);
          } catch (const annal::error& e) {
            if (e.code() != annal::make_error_code(errc::store_failed)) ++wrong_errors;
          }
        }
      });
    for (auto& th : pool) th.join();
    CHECK(log.failed());
  }
  CHECK(wrong_errors == 0);
  file_log log(dir.log());
  std::set<annal::event_id> stored;
  for (const auto& e : all_events(log)) stored.insert(e.id);
  std::size_t total = 0;
  for (const auto& ids : acked)
    for (const auto& id : ids) {
      CHECK(stored.count(id) == 1);
      ++total;
    }
  CHECK(total > 0);
}

TEST_CASE("file_log: a failed write (ENOSPC) is undone and the store goes on",
          "[store][file_log][faults]") {
  using annal_test_store::faulty_io;
  scratch_dir dir;
  faulty_io io;
  io.plan->counted = annal_test_store::call_write;
  io.plan->error = ENOSPC;
  io.plan->tear = 100;
  annal::basic_file_log<faulty_io> log(dir.log(), file_log_options{}, io);
  fill(log, 2);
  io.plan->fail_at = io.plan->calls + 1;
  const auto text = error_text([&] { fill(log, 1); }, errc::io_error);
  CHECK_THAT(text, Catch::Contains("No space left on device") && Catch::Contains("00000001.log"));
  CHECK_FALSE(log.failed());
  CHECK(log.last_position() == 2);
  fill(log, 1);
  CHECK(log.last_position() == 3);
  CHECK(all_events(log).size() == 3);
}

TEST_CASE("file_log: many concurrent appenders share syncs (group commit)",
          "[store][file_log][concurrency]") {
  using annal_test_store::faulty_io;
  for (durability mode : {durability::durable, durability::group}) {
    scratch_dir dir;
    faulty_io io;
    // A disk whose syncs take 5 ms, as real ones do here: appends made while a sync runs must
    // share the next one, whatever the scheduler does with the threads.
    io.plan->real_sync = false;
    io.plan->sync_time = std::chrono::milliseconds(5);
    annal::basic_file_log<faulty_io> log(dir.log(), with(mode), io);
    const long before = io.plan->syncs;
    constexpr int threads = 16, each = 8;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (int i = 0; i < each; ++i)
          log.append("t" + std::to_string(t), expected_version::any(), make_batch(1));
      });
    for (auto& th : pool) th.join();
    CHECK(log.last_position() == threads * each);
    INFO("mode " << static_cast<int>(mode) << ": syncs for " << threads * each
                 << " appends: " << io.plan->syncs - before);
    CHECK(io.plan->syncs - before <= threads * each);
    // Durable mode shares a sync only when one starts between an append's write and its check,
    // which the scheduler may never allow; group mode waits for company, so it must share.
    if (mode == durability::group) CHECK(io.plan->syncs - before < threads * each);
  }
}
