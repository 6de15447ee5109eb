// docs/store.md, compiled and run: the event_store concept's calls, and a conformance fixture.
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include <annal/file/log.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/filter.hpp>
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

// [filter]
// Every payment and refund of the order streams from `from` on, 500 at a time; returns where to
// start next time, which is past the events the filter left out.
template <annal::event_store Store>
std::uint64_t read_payments(const Store& store, std::uint64_t from, std::vector<std::string>& out) {
  const annal::event_filter payments{.types = {"order.paid", "order.refunded"},
                                     .stream_prefixes = {"order-"}};
  for (;;) {
    const annal::read_progress r = annal::read_filtered(
        store, from, payments,
        [&](const annal::recorded_event& e) { out.push_back(e.stream_id + " " + e.type); }, 500);
    from = r.next_position;
    if (r.visited < 500) return from;  // caught up with what is stored
  }
}
// [filter]

std::vector<annal::event_data> typed(std::initializer_list<const char*> types) {
  std::vector<annal::event_data> batch;
  for (const char* t : types) {
    annal::event_data e;
    e.id = annal::new_event_id();
    e.type = t;
    e.payload = "x";
    batch.push_back(std::move(e));
  }
  return batch;
}

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

TEMPLATE_TEST_CASE("docs/store.md: a filtered read and where it leaves off",
                   "[docs][store][filter]", annal::memory_store, annal::file_log) {
  annal_test_store::scratch_dir dir;
  auto store = [&] {
    if constexpr (std::is_same_v<TestType, annal::file_log>)
      return annal::file_log(dir.path());
    else
      return annal::memory_store{};
  }();
  store.append("order-1", annal::expected_version::any(),
               typed({"order.placed", "order.paid", "order.shipped"}));
  store.append("basket-1", annal::expected_version::any(), typed({"order.paid"}));
  store.append("order-2", annal::expected_version::any(),
               typed({"order.placed", "order.refunded"}));
  for (int i = 0; i < 600; ++i)
    store.append("order-3", annal::expected_version::any(), typed({"order.paid"}));
  store.append("order-4", annal::expected_version::any(), typed({"order.placed"}));
  std::vector<std::string> out;
  CHECK(read_payments(store, 1, out) == store.last_position() + 1);
  REQUIRE(out.size() == 602);
  CHECK(out[0] == "order-1 order.paid");
  CHECK(out[1] == "order-2 order.refunded");
  CHECK(out[2] == "order-3 order.paid");
  // Nothing new: the next call reads nothing and starts where this one ended.
  out.clear();
  CHECK(read_payments(store, store.last_position() + 1, out) == store.last_position() + 1);
  CHECK(out.empty());
}
