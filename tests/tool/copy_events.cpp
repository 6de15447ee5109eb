// The tool's copy_events in the process: what it costs the target beyond the events (its syncs),
// counted through a file_io layer, and that its digests still prove the copy; the digest's bytes.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <annal/file/log.hpp>
#include <annal/tool/detail/recovery_commands.hpp>

#include "store/faulty_io.hpp"

namespace {

namespace fs = std::filesystem;
namespace tool = annal::tool::detail;

struct scratch {
  fs::path root = fs::temp_directory_path() / ("annal-copy-events-" + std::to_string(::getpid()));
  scratch() {
    fs::remove_all(root);
    fs::create_directories(root);
  }
  ~scratch() { fs::remove_all(root); }
};

// `events` events in streams of 1 to 3, without syncs but one at the end.
void fill(const fs::path& dir, std::uint64_t events) {
  annal::file_log_options o;
  o.sync = annal::durability::none;
  annal::file_log log(dir, o);
  std::vector<annal::event_data> batch;
  for (std::uint64_t n = 0, stream = 0; n < events; ++stream) {
    batch.resize(std::min<std::uint64_t>(1 + stream % 3, events - n));
    for (auto& e : batch) {
      e.id = annal::event_id{};
      ++n;
      std::memcpy(e.id.data + 8, &n, 8);
      e.type = "account.deposited";
      e.payload = R"({"cents":)" + std::to_string(n) + "}";
      e.meta["user"] = "ada";
    }
    log.append("account-" + std::to_string(stream % 500), annal::expected_version::any(), batch);
  }
  log.sync();
}

}  // namespace

TEST_CASE("copy_events syncs its target once, however many chunks it copies", "[tool][copy]") {
  scratch dirs;
  // More than two chunks of the copy's reads (4,096 events each).
  constexpr std::uint64_t events = 10'000;
  fill(dirs.root / "source", events);
  annal::file_log_options reading;
  reading.read_only = true;
  reading.create_if_missing = false;
  reading.verify_reads = true;
  const annal::file_log source(dirs.root / "source", reading);

  annal_test_store::faulty_io io;
  annal::file_log_options writing;
  writing.sync = annal::durability::none;
  annal::basic_file_log<annal_test_store::faulty_io> target(dirs.root / "target", writing, io);

  const long before = io.plan->syncs;
  std::ostringstream quiet;
  tool::progress_line progress(quiet, false);
  tool::copy_report r;
  tool::copy_events(source, target, r, progress);
  const long during_copy = io.plan->syncs - before;

  REQUIRE(r.verified());
  CHECK(r.copied == events);
  CHECK(r.source.events == events);
  CHECK(target.last_position() == events);

  // What one sync of new events costs this target: the copy may cost that, and no more.
  annal::event_data one;
  one.id.data[0] = 1;
  one.type = "account.opened";
  target.append("another", annal::expected_version::no_stream(), std::vector{one});
  const long before_sync = io.plan->syncs;
  target.sync();
  const long one_sync = io.plan->syncs - before_sync;
  REQUIRE(one_sync >= 1);
  CHECK(during_copy == one_sync);
}

TEST_CASE("copy's digest hashes each event's fields in their documented order, at any size",
          "[tool][copy][digest]") {
  // The reference: each field fed to SHA-1 on its own, as the digest is specified.
  tool::sha1 reference;
  const auto number = [&](std::uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
    reference.update(b, sizeof b);
  };
  const auto text = [&](const std::string& s) {
    number(s.size());
    reference.update(s.data(), s.size());
  };
  tool::event_digest digest(false);
  // Payloads from empty to several times the digest's gathering buffer, so that fields land on
  // every side of its block and buffer edges.
  std::uint64_t position = 0;
  for (const std::size_t payload : {0, 1, 55, 64, 200, 4095, 4096, 4097, 20000, 3}) {
    annal::recorded_event e;
    e.position = ++position;
    e.stream_id = "account-" + std::to_string(position);
    e.stream_version = position * 3;
    e.id.data[0] = static_cast<std::uint8_t>(position);
    e.type = "account.deposited";
    e.schema_version = 2;
    e.payload.assign(payload, static_cast<char>('a' + position));
    e.correlation_id.data[1] = 7;
    e.causation_id.data[2] = 9;
    if (position % 2 == 0) e.meta = {{"user", "ada"}, {"ip", std::string(position * 100, 'x')}};
    e.recorded_at = annal::time_point(std::chrono::seconds(1'700'000'000 + position));
    digest.add(e);

    number(e.position);
    text(e.stream_id);
    number(e.stream_version);
    reference.update(e.id.data, e.id.size());
    text(e.type);
    number(e.schema_version);
    text(e.payload);
    reference.update(e.correlation_id.data, e.correlation_id.size());
    reference.update(e.causation_id.data, e.causation_id.size());
    for (const auto& [k, v] : e.meta) {
      text(k);
      text(v);
    }
    number(e.meta.size());
    number(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(e.recorded_at.time_since_epoch())
            .count()));
  }
  std::string expected;
  for (const unsigned char byte : reference.finish()) {
    expected += "0123456789abcdef"[byte >> 4];
    expected += "0123456789abcdef"[byte & 0xf];
  }
  CHECK(digest.hex() == expected);
}
