// The memory store: the conformance suite, and what only the memory store promises.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

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
