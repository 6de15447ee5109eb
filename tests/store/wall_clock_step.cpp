// A wait for appends lasts as long as it was asked to when the wall clock is stepped during it (NTP
// correcting a clock that was an hour off): every store measures its waits on the steady clock.
// Runs with tests/common/clock_shift.cpp preloaded, which steps this process's wall clock.
#include <catch2/catch.hpp>

#include <annal/file/log.hpp>
#include <annal/store/memory.hpp>
#ifdef ANNAL_TEST_HAVE_SQLITE
#include <annal/sqlite/store.hpp>
#endif

#include "store/store_test_support.hpp"
#include "store/wall_clock_step.hpp"

using annal_test::check_wait_survives_a_step_back;

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
