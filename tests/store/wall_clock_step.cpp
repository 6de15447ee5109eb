// A wait for appends lasts as long as it was asked to when the wall clock is stepped during it (NTP
// correcting a clock that was an hour off): every store measures its waits on the steady clock.
// Runs with tests/common/clock_shift.cpp preloaded, which steps this process's wall clock.
#include <dlfcn.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <span>
#include <thread>

#include <annal/file/log.hpp>
#include <annal/runtime/new_event_id.hpp>
#include <annal/store/memory.hpp>
#ifdef ANNAL_TEST_HAVE_SQLITE
#include <annal/sqlite/store.hpp>
#endif

#include "common/eventually.hpp"
#include "store/store_test_support.hpp"

using namespace std::chrono_literals;

namespace {

using step_function = void (*)(long);

step_function step_clock() {
  const auto step = reinterpret_cast<step_function>(dlsym(RTLD_DEFAULT, "annal_test_step_clock"));
  REQUIRE(step != nullptr);  // the preloaded shim: without it this test proves nothing
  return step;
}

// Waits 500 ms for an append that does not come, and steps the wall clock an hour back 100 ms in.
// A wait that does not end is woken by an append to `writer` (so that a failure fails, not hangs).
template <class Store, class Writer>
void check_wait_survives_a_step_back(const Store& store, Writer& writer) {
  const step_function step = step_clock();
  std::atomic<bool> done = false;
  bool appended = true;
  std::thread waiter([&] {
    appended = store.wait_for_append(store.last_position(), annal::clock::now() + 500ms);
    done = true;
  });
  std::this_thread::sleep_for(100ms);
  const auto before = annal::clock::now();
  step(-3600);
  CHECK(annal::clock::now() < before - 3500s);  // the step took
  const bool returned = annal_test::eventually([&] { return done.load(); }, 30s);
  step(0);
  if (!returned) {
    annal::event_data e;
    e.id = annal::new_event_id();
    e.type = "wake";
    writer.append("wake-1", annal::expected_version::any(), std::span(&e, 1));
  }
  waiter.join();
  CHECK(returned);
  CHECK_FALSE(appended);
}

}  // namespace

TEST_CASE("a wait for appends survives a wall-clock step back: memory store", "[store][clock]") {
  annal::memory_store store;
  check_wait_survives_a_step_back(store, store);
}

TEST_CASE("a wait for appends survives a wall-clock step back: file log and a read-only follower",
          "[store][clock][file_log]") {
  annal_test_store::scratch_dir dir;
  annal::file_log writer(dir.log());
  SECTION("the writer") {
    check_wait_survives_a_step_back(writer, writer);
  }
  SECTION("a read-only open") {
    annal::file_log_options o;
    o.read_only = true;
    annal::file_log follower(dir.log(), o);
    check_wait_survives_a_step_back(follower, writer);
  }
}

#ifdef ANNAL_TEST_HAVE_SQLITE
TEST_CASE("a wait for appends survives a wall-clock step back: sqlite store",
          "[store][clock][sqlite]") {
  annal_test_store::scratch_dir dir;
  annal::sqlite_store store(dir.path() / "events.db");
  check_wait_survives_a_step_back(store, store);
}
#endif
