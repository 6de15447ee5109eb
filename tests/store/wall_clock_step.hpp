// A store's wait for appends, checked while the wall clock is stepped an hour back (NTP
// correcting a clock that was an hour off): it must last as long as it was asked to. Needs
// tests/common/clock_shift.cpp preloaded, which steps this process's wall clock.
#pragma once

#include <dlfcn.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <span>
#include <thread>

#include <annal/core/record.hpp>
#include <annal/runtime/new_event_id.hpp>

#include "common/eventually.hpp"

namespace annal_test {

using step_function = void (*)(long);

inline step_function step_clock() {
  const auto step = reinterpret_cast<step_function>(dlsym(RTLD_DEFAULT, "annal_test_step_clock"));
  REQUIRE(step != nullptr);  // the preloaded shim: without it this test proves nothing
  return step;
}

// Waits 500 ms for an append that does not come, and steps the wall clock an hour back 100 ms in.
// A wait that does not end is woken by an append to `writer` (so that a failure fails, not hangs).
template <class Store, class Writer>
void check_wait_survives_a_step_back(const Store& store, Writer& writer) {
  using namespace std::chrono_literals;
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
    e.payload = "{}";  // a JSON object: every store takes it
    writer.append("wake-1", annal::expected_version::any(), std::span(&e, 1));
  }
  waiter.join();
  CHECK(returned);
  CHECK_FALSE(appended);
}

}  // namespace annal_test
