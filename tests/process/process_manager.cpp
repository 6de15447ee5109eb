// The process manager runner on the memory store, the file log in each durability mode, and SQLite.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <stop_token>
#include <thread>

#include <annal/file/checkpoint.hpp>
#include <annal/file/log.hpp>

#include "process/process_checks.hpp"
#include "store/store_test_support.hpp"

#ifdef ANNAL_TEST_WITH_SQLITE
#include <annal/sqlite/store.hpp>
#endif

namespace {
#ifdef ANNAL_TEST_WITH_SQLITE
struct sqlite_fixture {
  annal_test_store::scratch_dir dir;
  annal::sqlite_store s{(dir.path() / "events.db").string()};
  annal::sqlite_store& store() { return s; }
};
#endif
}  // namespace

TEMPLATE_TEST_CASE("a process manager on every store", "[process]",
                   annal_test_store::memory_fixture,
                   annal_test_store::file_log_fixture<annal::durability::durable>,
                   annal_test_store::file_log_fixture<annal::durability::none>) {
  annal_test_process::check_process_manager_on_store<TestType>();
}

#ifdef ANNAL_TEST_WITH_SQLITE
TEST_CASE("a process manager on SQLite", "[process][sqlite]") {
  annal_test_process::check_process_manager_on_store<sqlite_fixture>();
}
#endif

// docs/process.md's wiring, run as written: a file log, the two repositories, a router, a file
// checkpoint, and the runner following the log on a thread until stopped.
TEST_CASE("a process manager runs as docs/process.md shows", "[process][docs]") {
  annal_test_store::scratch_dir dir;
  {
    annal::file_log store{dir.path() / "events"};
    annal_test_process::put(store, "upload-v1", pipeline::uploaded{"v1"});
    annal_test_process::put(store, "worker", pipeline::transcode_done{"v1", 1});
  }
  const std::filesystem::path data = dir.path() / "events";
  const std::filesystem::path checkpoint_file = dir.path() / "pipeline.checkpoint";
  // [process-runner]
  annal::file_log store{data};
  annal::repository<pipeline::job, annal::file_log> jobs{store};
  annal::repository<pipeline::video, annal::file_log> videos{store};
  annal::command_router router{jobs, videos};  // each command goes where its decide is
  annal::file_checkpoint checkpoint{checkpoint_file};

  annal::process_options options;
  options.start = annal::process_start::from_beginning;  // default: from_now
  auto runner = annal::make_process_runner<pipeline::manager>(store, router, checkpoint, options);
  std::jthread follower([&](std::stop_token stop) { runner.run(stop); });
  // ... until shutdown: follower.request_stop(); the destructor joins.
  // [process-runner]
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (annal_test_process::types_of(store, "video-v1").empty() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  follower.request_stop();
  follower.join();
  CHECK(annal_test_process::types_of(store, "video-v1") ==
        std::vector<std::string>{"test.video_published"});
  CHECK(runner.load("v1").ended);
  CHECK(checkpoint.load() == runner.checkpoint());
}
