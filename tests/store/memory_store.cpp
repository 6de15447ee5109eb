// The memory store: the conformance suite, and what only the memory store promises.
#include <catch2/catch.hpp>

#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include <annal/store/memory.hpp>

#include "store/conformance.hpp"
#include "store/store_test_support.hpp"

using annal_test_store::memory_fixture;

TEST_CASE("memory_store models event_store", "[store][memory]") {
  STATIC_REQUIRE(annal::event_store<annal::memory_store>);
  STATIC_REQUIRE(!annal::event_store<int>);
}

TEST_CASE("memory_store conforms", "[store][memory]") {
  check_event_store_conformance<memory_fixture>();
}

TEST_CASE("memory_store: a visitor may append to the store it reads", "[store][memory]") {
  using namespace annal_conformance;
  annal::memory_store store;
  store.append("s", expected_version::any(), make_batch(3));
  std::size_t visited = store.read_all(1, [&](const recorded_event& e) {
    store.append("echo", expected_version::any(), std::vector{make_event(e.payload)});
  });
  CHECK(visited == 3);
  CHECK(store.stream_version("echo") == 3);
  CHECK(store.last_position() == 6);
}

TEST_CASE("recorded events compare equal only when every field is", "[store][recorded_event]") {
  annal::recorded_event a;
  a.stream_id = "order-1";
  a.stream_version = 2;
  a.position = 7;
  a.id = annal::new_event_id();
  a.recorded_at = annal::clock::now();
  a.correlation_id = annal::new_event_id();
  a.causation_id = annal::new_event_id();
  a.meta = {{"user", "ada"}};
  a.type = "order.placed";
  a.schema_version = 3;
  a.payload = "{}";
  CHECK(a == annal::recorded_event(a));
  const std::vector<std::function<void(annal::recorded_event&)>> changes = {
      [](auto& e) { e.stream_id += "x"; },
      [](auto& e) { ++e.stream_version; },
      [](auto& e) { ++e.position; },
      [](auto& e) { e.id = annal::new_event_id(); },
      [](auto& e) { e.recorded_at += std::chrono::microseconds(1); },
      [](auto& e) { e.correlation_id = annal::new_event_id(); },
      [](auto& e) { e.causation_id = annal::new_event_id(); },
      [](auto& e) { e.meta["tenant"] = "t1"; },
      [](auto& e) { e.type += "x"; },
      [](auto& e) { ++e.schema_version; },
      [](auto& e) { e.payload += " "; },
  };
  for (const auto& change : changes) {
    annal::recorded_event b = a;
    change(b);
    CHECK_FALSE(a == b);
  }
}
