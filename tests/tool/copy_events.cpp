// The tool's copy_events in the process: what it costs the target beyond the events (its syncs),
// counted through a file_io layer, and that its digests still prove the copy.
#include <catch2/catch.hpp>

#include <unistd.h>

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
