// docs/store.md, compiled and run: the event_store concept's calls, and a conformance fixture.
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <annal/file/log.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/tombstone.hpp>

#include "store/store_test_support.hpp"

namespace {

struct concept_tour {
  annal::append_result appended;
  std::size_t visited_stream = 0, visited_some = 0, visited_all = 0, visited_until_false = 0;
  std::uint64_t version = 0, last = 0;
};

// [concept]
template <annal::event_store Store>
concept_tour tour(Store& store, std::span<const annal::event_data> batch) {
  concept_tour t;
  auto visitor = [](const annal::recorded_event&) {};  // returns void: read on
  auto until_v2 = [](const annal::recorded_event& e) {
    return e.stream_version < 2;
  };  // false stops
  t.appended = store.append("order-17", annal::expected_version::no_stream(), batch);
  t.visited_stream = store.read_stream("order-17", 1, visitor);   // events visited
  t.visited_some = store.read_stream("order-17", 2, visitor, 1);  // from version 2, at most 1
  t.visited_all = store.read_all(1, visitor);                     // from position 1
  t.visited_until_false = store.read_all(1, until_v2);            // counts the one that said false
  t.version = store.stream_version("order-17");                   // 0 = no stream
  t.last = store.last_position();                                 // 0 = empty store
  return t;
}
// [concept]

std::vector<annal::event_data> three_events() {
  std::vector<annal::event_data> batch(3);
  for (auto& e : batch) {
    e.id = annal::new_event_id();
    e.type = "order.line_added";
    e.payload = "x";
  }
  return batch;
}

}  // namespace

TEST_CASE("docs/store.md: the calls of the event_store concept", "[docs][store]") {
  annal::memory_store store;
  STATIC_REQUIRE(annal::event_store<annal::memory_store>);
  STATIC_REQUIRE(annal::event_store<annal::file_log>);
  const auto batch = three_events();
  const concept_tour t = tour(store, batch);
  CHECK(t.appended.status == annal::append_status::appended);
  CHECK(t.appended.stream_version == 3);
  CHECK(t.visited_stream == 3);
  CHECK(t.visited_some == 1);
  CHECK(t.visited_all == 3);
  CHECK(t.visited_until_false == 2);
  CHECK(t.version == 3);
  CHECK(t.last == 3);
  CHECK(store.stream_version("nobody") == 0);
}

// [conformance]
#include "store/conformance.hpp"

struct my_fixture {
  annal_test_store::scratch_dir dir;  // default construction gives a fresh, empty store
  std::optional<annal::file_log> s{std::in_place, dir.path(), options()};
  annal::file_log& store() { return *s; }
  void reopen() {
    s.reset();
    s.emplace(dir.path(), options());
  }  // optional: close and reopen
  static annal::file_log_options options() {
    annal::file_log_options o;
    o.sync = annal::durability::none;
    return o;
  }
};

TEST_CASE("my_store conforms", "[store][mine]") {
  check_event_store_conformance<my_fixture>();
}
// [conformance]

namespace {
// [delete]
// The order is cancelled and its customer asked to be forgotten: close the stream for good.
annal::append_result cancel_for_good(annal::memory_store& store, std::uint64_t version) {
  return annal::delete_stream(store, "order-17", annal::expected_version::exact(version),
                              "cancelled; customer asked to be forgotten");
}
// [delete]
}  // namespace

TEST_CASE("docs/store.md: deleting a stream", "[docs][store][tombstone]") {
  annal::memory_store store;
  store.append("order-17", annal::expected_version::no_stream(), three_events());
  CHECK(cancel_for_good(store, 3).stream_version == 4);
  CHECK_THROWS_MATCHES(store.append("order-17", annal::expected_version::any(), three_events()),
                       annal::error,
                       Catch::Matchers::Predicate<annal::error>([](const annal::error& e) {
                         return e.code() == annal::errc::stream_deleted;
                       }));
  std::size_t kept = store.read_stream("order-17", 1, [](const annal::recorded_event&) {});
  CHECK(kept == 4);
}
