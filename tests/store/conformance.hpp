// The event_store conformance suite: the laws every backend must keep, run against each of them.
//
//   struct my_fixture {            // default-constructible: a fresh, empty store
//     auto& store();                // the store under test
//     void reopen();                // optional: close and reopen the same storage (enables the
//   };                              // durability sections)
//   TEST_CASE("my_store conforms", "[store][mine]") { check_event_store_conformance<my_fixture>();
//   }
//
// Catch2 reruns the test case once per SECTION, so each section gets its own fresh fixture.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/hana/define_struct.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <annal/core/decider.hpp>
#include <annal/core/error.hpp>
#include <annal/projection/projector.hpp>
#include <annal/projection/read_model.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/repository.hpp>

#include "filter_laws.hpp"

namespace annal_conformance {

using annal::append_status;
using annal::event_data;
using annal::expected_version;
using annal::recorded_event;

inline event_data make_event(std::string payload = "{}", std::string type = "test.happened") {
  event_data e;
  e.id = annal::new_event_id();
  e.type = std::move(type);
  e.payload = std::move(payload);
  return e;
}

inline std::vector<event_data> make_batch(std::size_t n, const std::string& tag = "e") {
  std::vector<event_data> batch;
  for (std::size_t i = 0; i < n; ++i) batch.push_back(make_event(tag + std::to_string(i)));
  return batch;
}

template <class Store>
std::vector<recorded_event> all_events(const Store& s, std::uint64_t from = 1) {
  std::vector<recorded_event> out;
  s.read_all(from, [&](const recorded_event& e) { out.push_back(e); });
  return out;
}

template <class Store>
std::vector<recorded_event> stream_events(const Store& s, std::string_view id,
                                          std::uint64_t from = 1) {
  std::vector<recorded_event> out;
  s.read_stream(id, from, [&](const recorded_event& e) { out.push_back(e); });
  return out;
}

// Runs `f` and checks that it throws annal::error with `code` and a message.
template <class F>
void require_error(F&& f, annal::errc code) {
  bool threw = false;
  try {
    f();
  } catch (const annal::error& e) {
    threw = true;
    CHECK(e.code() == annal::make_error_code(code));
    CHECK(std::string(e.what()).size() > 10);
    INFO(e.what());
  }
  CHECK(threw);
}

template <class Fixture>
concept reopenable = requires(Fixture& f) { f.reopen(); };

template <class Store>
concept waitable = requires(const Store& s, std::uint64_t after, annal::time_point deadline) {
  { s.wait_for_append(after, deadline) } -> std::same_as<bool>;
};

inline void check_same_event(const recorded_event& got, const event_data& sent) {
  CHECK(got.id == sent.id);
  CHECK(got.type == sent.type);
  CHECK(got.schema_version == sent.schema_version);
  CHECK(got.payload == sent.payload);
  CHECK(got.correlation_id == sent.correlation_id);
  CHECK(got.causation_id == sent.causation_id);
  CHECK(got.meta == sent.meta);
}

// A shelf of copies for the racing-commands section: taking the last copy is the race.
namespace shelf_domain {
struct stocked {
  BOOST_HANA_DEFINE_STRUCT(stocked, (std::int32_t, copies));
};
struct taken {
  BOOST_HANA_DEFINE_STRUCT(taken, (std::int32_t, by));
};
ANNAL_EVENT(stocked, "conformance.stocked", 1);
ANNAL_EVENT(taken, "conformance.taken", 1);

struct stock {
  std::int32_t copies;
};
struct take {
  std::int32_t by;
};
struct shelf {
  using events = annal::events<stocked, taken>;
  std::int32_t copies = 0;
  void apply(const stocked& e) { copies += e.copies; }
  void apply(const taken&) { --copies; }
};
inline annal::decision<shelf> decide(const shelf&, const stock& c) {
  return stocked{c.copies};
}
inline annal::decision<shelf> decide(const shelf& s, const take& c) {
  if (s.copies <= 0) return annal::reject("no copy available");
  return taken{c.by};
}
// A read model of the takings: a projection that lists `taken`.
struct takings {
  using events = annal::events<taken>;
  int count = 0;
  void on(const taken&) { ++count; }
};
}  // namespace shelf_domain

}  // namespace annal_conformance

template <class Fixture>
void check_event_store_conformance() {
  // Names are qualified: a test file may bring its own make_event or make_batch into scope.
  namespace ac = annal_conformance;
  using annal::append_status;
  using annal::errc;
  using annal::event_data;
  using annal::expected_version;
  using annal::recorded_event;
  Fixture fixture;
  const auto store = [&]() -> auto& { return fixture.store(); };
  static_assert(annal::event_store<std::remove_cvref_t<decltype(fixture.store())>>,
                "a conformance fixture's store() must return a model of annal::event_store");

  SECTION("a new store is empty") {
    CHECK(store().last_position() == 0);
    CHECK(store().stream_version("nothing") == 0);
    CHECK(ac::all_events(store()).empty());
    CHECK(ac::stream_events(store(), "nothing").empty());
  }

  SECTION("no_stream: the first append creates the stream, a second one conflicts") {
    const auto batch = ac::make_batch(3);
    const auto r = store().append("order-1", expected_version::no_stream(), batch);
    CHECK(r.status == append_status::appended);
    CHECK(r.ok());
    CHECK(r.stream_version == 3);
    CHECK(r.first_position == 1);
    CHECK(r.last_position == 3);
    const auto again = store().append("order-1", expected_version::no_stream(), ac::make_batch(1));
    CHECK(again.status == append_status::conflict);
    CHECK_FALSE(again.ok());
    CHECK(again.stream_version == 3);
    CHECK(again.first_position == 0);
    CHECK(again.last_position == 0);
    CHECK(store().last_position() == 3);
    CHECK(store().stream_version("order-1") == 3);
  }

  SECTION("exact: matches the current version, else conflicts with the actual one") {
    CHECK(store().append("s", expected_version::exact(0), ac::make_batch(2)).stream_version == 2);
    const auto ok = store().append("s", expected_version::exact(2), ac::make_batch(1));
    CHECK(ok.status == append_status::appended);
    CHECK(ok.stream_version == 3);
    for (std::uint64_t wrong : {0u, 2u, 4u, 100u}) {
      const auto r = store().append("s", expected_version::exact(wrong), ac::make_batch(2));
      CHECK(r.status == append_status::conflict);
      CHECK(r.stream_version == 3);
      CHECK(r.first_position == 0);
    }
    CHECK(store().last_position() == 3);
    CHECK(ac::stream_events(store(), "s").size() == 3);
    const auto none = store().append("fresh", expected_version::exact(5), ac::make_batch(1));
    CHECK(none.status == append_status::conflict);
    CHECK(none.stream_version == 0);
    CHECK(store().stream_version("fresh") == 0);
  }

  SECTION("any: appends whatever the version") {
    CHECK(store().append("s", expected_version::any(), ac::make_batch(1)).stream_version == 1);
    CHECK(store().append("s", expected_version::any(), ac::make_batch(2)).stream_version == 3);
    CHECK(store().last_position() == 3);
  }

  SECTION("a retried batch returns the original result and stores nothing twice") {
    store().append("other", expected_version::any(), ac::make_batch(2));
    const auto batch = ac::make_batch(3);
    const auto first = store().append("s", expected_version::no_stream(), batch);
    store().append("s", expected_version::any(), ac::make_batch(1));
    // The retry's expectation no longer holds; it is still the same batch, so it is a duplicate.
    const auto retry = store().append("s", expected_version::no_stream(), batch);
    CHECK(retry.status == append_status::duplicate);
    CHECK(retry.ok());
    CHECK(retry.stream_version == first.stream_version);
    CHECK(retry.first_position == first.first_position);
    CHECK(retry.last_position == first.last_position);
    CHECK(store().last_position() == 6);
    CHECK(store().stream_version("s") == 4);
    std::multiset<std::string> ids;
    for (const auto& e : ac::all_events(store())) ids.insert(boost::uuids::to_string(e.id));
    CHECK(ids.size() == 6);
    CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 6);
  }

  SECTION("a batch reusing some stored ids is refused and stores nothing") {
    const auto batch = ac::make_batch(2);
    store().append("s", expected_version::any(), batch);
    auto mixed = ac::make_batch(2);
    mixed.push_back(batch[0]);
    ac::require_error([&] { store().append("s", expected_version::any(), mixed); },
                      errc::duplicate_event_id);
    auto partial = batch;
    partial.push_back(ac::make_event());
    ac::require_error([&] { store().append("s", expected_version::any(), partial); },
                      errc::duplicate_event_id);
    ac::require_error([&] { store().append("elsewhere", expected_version::any(), batch); },
                      errc::duplicate_event_id);
    std::vector<event_data> twice{batch[1], batch[0]};
    ac::require_error([&] { store().append("s", expected_version::any(), twice); },
                      errc::duplicate_event_id);
    auto repeated = ac::make_batch(1);
    repeated.push_back(repeated[0]);
    ac::require_error([&] { store().append("s", expected_version::any(), repeated); },
                      errc::duplicate_event_id);
    CHECK(store().last_position() == 2);
    CHECK(store().stream_version("elsewhere") == 0);
  }

  SECTION("a tombstone closes its stream; retries of stored batches are still duplicates") {
    const auto before = ac::make_batch(2);
    store().append("s", expected_version::no_stream(), before);
    store().append("other", expected_version::any(), ac::make_batch(1));
    std::vector<event_data> tombstone{ac::make_event("{}", std::string(annal::tombstone_type))};
    const auto deleted = store().append("s", expected_version::exact(2), tombstone);
    CHECK(deleted.status == append_status::appended);
    CHECK(deleted.stream_version == 3);
    // Whatever the expectation, nothing more goes in; the error names the stream and version.
    for (const auto expect : {expected_version::any(), expected_version::exact(3),
                              expected_version::exact(2), expected_version::no_stream()}) {
      bool refused = false;
      try {
        store().append("s", expect, ac::make_batch(1));
      } catch (const annal::error& e) {
        refused = e.code() == annal::make_error_code(errc::stream_deleted);
        CHECK_THAT(e.what(), Catch::Contains("'s'") && Catch::Contains("version 3"));
      }
      CHECK(refused);
    }
    ac::require_error([&] { store().append("s", expected_version::any(), ac::make_batch(3)); },
                      errc::stream_deleted);
    // Deleting it again is no retry (a new id): refused too.
    const std::vector<event_data> again{ac::make_event("{}", std::string(annal::tombstone_type))};
    ac::require_error([&] { store().append("s", expected_version::any(), again); },
                      errc::stream_deleted);
    // Retries of what the stream holds are answered as before: nothing was lost, nothing doubled.
    const auto retry = store().append("s", expected_version::exact(2), tombstone);
    CHECK(retry.status == append_status::duplicate);
    CHECK(retry.first_position == deleted.first_position);
    CHECK(store().append("s", expected_version::no_stream(), before).status ==
          append_status::duplicate);
    CHECK(store().stream_version("s") == 3);
    CHECK(store().last_position() == 4);
    const auto kept = ac::stream_events(store(), "s");  // the history stays readable
    REQUIRE(kept.size() == 3);
    CHECK(kept.back().type == annal::tombstone_type);
    CHECK(store().append("other", expected_version::exact(1), ac::make_batch(1)).ok());
    // A tombstone ends its batch: one followed by another event is refused, and nothing stored.
    std::vector<event_data> followed{ac::make_event("{}", std::string(annal::tombstone_type)),
                                     ac::make_event()};
    ac::require_error([&] { store().append("third", expected_version::any(), followed); },
                      errc::invalid_argument);
    CHECK(store().stream_version("third") == 0);
    // A batch ending in a tombstone creates and deletes a stream at once.
    auto short_lived = ac::make_batch(2);
    short_lived.push_back(ac::make_event("{}", std::string(annal::tombstone_type)));
    CHECK(store().append("fourth", expected_version::no_stream(), short_lived).stream_version == 3);
    ac::require_error([&] { store().append("fourth", expected_version::any(), ac::make_batch(1)); },
                      errc::stream_deleted);
    if constexpr (ac::reopenable<Fixture>) {
      fixture.reopen();
      ac::require_error([&] { store().append("s", expected_version::any(), ac::make_batch(1)); },
                        errc::stream_deleted);
      ac::require_error(
          [&] { store().append("fourth", expected_version::exact(3), ac::make_batch(1)); },
          errc::stream_deleted);
      CHECK(store().append("s", expected_version::exact(2), tombstone).status ==
            append_status::duplicate);
      CHECK(store().append("other", expected_version::exact(2), ac::make_batch(1)).ok());
    }
  }

  SECTION("stream versions are 1-based and gapless; positions increase") {
    store().append("a", expected_version::any(), ac::make_batch(2));
    store().append("b", expected_version::any(), ac::make_batch(1));
    store().append("a", expected_version::any(), ac::make_batch(3));
    store().append("b", expected_version::any(), ac::make_batch(2));
    for (const char* id : {"a", "b"}) {
      const auto events = ac::stream_events(store(), id);
      REQUIRE(events.size() == store().stream_version(id));
      for (std::size_t i = 0; i < events.size(); ++i) {
        CHECK(events[i].stream_version == i + 1);
        CHECK(events[i].stream_id == id);
        if (i > 0) CHECK(events[i].position > events[i - 1].position);
      }
    }
    CHECK(store().stream_version("a") == 5);
    CHECK(store().stream_version("b") == 3);
    CHECK(store().last_position() == 8);
  }

  SECTION("read_stream: from a version, at most max_count, and a visitor may stop it") {
    store().append("s", expected_version::any(), ac::make_batch(6));
    store().append("t", expected_version::any(), ac::make_batch(2));
    std::vector<std::uint64_t> versions;
    const auto visit = [&](const recorded_event& e) { versions.push_back(e.stream_version); };
    CHECK(store().read_stream("s", 3, visit, 2) == 2);
    CHECK(versions == std::vector<std::uint64_t>{3, 4});
    versions.clear();
    CHECK(store().read_stream("s", 0, visit) == 6);
    CHECK(versions.front() == 1);
    versions.clear();
    CHECK(store().read_stream("s", 5, visit) == 2);
    CHECK(versions == std::vector<std::uint64_t>{5, 6});
    CHECK(store().read_stream("s", 7, visit) == 0);
    CHECK(store().read_stream("s", 1, visit, 0) == 0);
    CHECK(store().read_stream("missing", 1, visit) == 0);
    std::size_t seen = 0;
    CHECK(store().read_stream("s", 1, [&](const recorded_event&) { return ++seen < 2; }) == 2);
    CHECK(seen == 2);
  }

  SECTION("read_all: strictly increasing positions covering every event exactly once") {
    std::set<std::string> sent;
    for (int round = 0; round < 4; ++round)
      for (const char* id : {"x", "y", "z"}) {
        const auto batch = ac::make_batch(static_cast<std::size_t>(round % 3 + 1));
        for (const auto& e : batch) sent.insert(boost::uuids::to_string(e.id));
        store().append(id, expected_version::any(), batch);
      }
    const auto events = ac::all_events(store());
    REQUIRE(events.size() == sent.size());
    std::set<std::string> got;
    for (std::size_t i = 0; i < events.size(); ++i) {
      got.insert(boost::uuids::to_string(events[i].id));
      CHECK(events[i].position == i + 1);
      if (i > 0) CHECK(events[i].position > events[i - 1].position);
    }
    CHECK(got == sent);
    CHECK(store().last_position() == events.back().position);
    const auto tail = ac::all_events(store(), 5);
    REQUIRE(tail.size() == events.size() - 4);
    CHECK(tail.front().position == 5);
    std::size_t n = 0;
    CHECK(store().read_all(
              2, [&](const recorded_event&) { ++n; }, 3) == 3);
    CHECK(n == 3);
    CHECK(store().read_all(0, [&](const recorded_event& e) { return e.position < 4; }) == 4);
    CHECK(store().read_all(events.size() + 1, [](const recorded_event&) {}) == 0);
  }

  SECTION("events round-trip: type, schema version, payload bytes, metadata, ids") {
    static constexpr char bytes[] = "bin\0ary\xff\x01 payload";
    auto e = ac::make_event(std::string(bytes, sizeof bytes - 1), "shop.order_placed");
    e.schema_version = 7;
    e.correlation_id = annal::new_event_id();
    e.causation_id = annal::new_event_id();
    e.meta = {{"user", "ada"},
              {"tenant", "t-1"},
              {"quote", "\" and \\ and \n"},
              {"empty", ""},
              {"unicode", "ünï 😀"}};
    auto plain = ac::make_event("");
    store().append("s", expected_version::any(), std::vector{e, plain});
    const auto events = ac::stream_events(store(), "s");
    REQUIRE(events.size() == 2);
    ac::check_same_event(events[0], e);
    ac::check_same_event(events[1], plain);
    CHECK(events[1].correlation_id.is_nil());
    CHECK(events[1].meta.empty());
  }

  SECTION("large payloads round-trip") {
    std::string big(4u << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i)
      big[i] = static_cast<char>((i * 131 + i / 7) & 0xFF);
    auto e = ac::make_event(big);
    store().append("big", expected_version::any(), std::vector{e});
    store().append("small", expected_version::any(), ac::make_batch(1));
    const auto events = ac::stream_events(store(), "big");
    REQUIRE(events.size() == 1);
    CHECK(events[0].payload == big);
    CHECK(ac::all_events(store()).size() == 2);
  }

  SECTION("unicode stream ids, up to 256 bytes") {
    const std::vector<std::string> ids{"ストリーム-1", "Ünïcödé/über", "emoji-😀-🚀",
                                       std::string(256, 'a'), "ü" + std::string(254, 'b')};
    for (const auto& id : ids) store().append(id, expected_version::no_stream(), ac::make_batch(2));
    for (const auto& id : ids) {
      CHECK(store().stream_version(id) == 2);
      const auto events = ac::stream_events(store(), id);
      REQUIRE(events.size() == 2);
      CHECK(events[0].stream_id == id);
    }
  }

  SECTION("invalid stream ids are refused everywhere, and nothing is appended") {
    const std::vector<std::string> bad{"",
                                       std::string(257, 'a'),
                                       "bad\xff utf8",
                                       "over\xC0\xAFlong",
                                       std::string("nul\0inside", 10),
                                       "\xED\xA0\x80surrogate"};
    for (const auto& id : bad) {
      ac::require_error([&] { store().append(id, expected_version::any(), ac::make_batch(1)); },
                        errc::invalid_stream_id);
      ac::require_error([&] { (void)store().stream_version(id); }, errc::invalid_stream_id);
      ac::require_error([&] { store().read_stream(id, 1, [](const recorded_event&) {}); },
                        errc::invalid_stream_id);
    }
    CHECK(store().last_position() == 0);
  }

  SECTION("an empty batch, a nil id or an empty type is refused, and nothing is appended") {
    ac::require_error(
        [&] { store().append("s", expected_version::any(), std::vector<event_data>{}); },
        errc::invalid_argument);
    auto nil = ac::make_batch(2);
    nil[1].id = annal::event_id{};
    ac::require_error([&] { store().append("s", expected_version::any(), nil); },
                      errc::invalid_argument);
    auto untyped = ac::make_batch(1);
    untyped[0].type.clear();
    ac::require_error([&] { store().append("s", expected_version::any(), untyped); },
                      errc::invalid_argument);
    CHECK(store().last_position() == 0);
    CHECK(store().stream_version("s") == 0);
  }

  SECTION("recorded_at never decreases in position order") {
    for (int i = 0; i < 20; ++i)
      store().append(i % 2 ? "a" : "b", expected_version::any(), ac::make_batch(i % 3 + 1));
    const auto events = ac::all_events(store());
    REQUIRE(events.size() > 20);
    for (std::size_t i = 1; i < events.size(); ++i)
      CHECK(events[i].recorded_at >= events[i - 1].recorded_at);
    CHECK(events.front().recorded_at.time_since_epoch().count() > 0);
  }

  SECTION("a copy keeps the recorded_at it brings; an earlier one or a mixed batch is refused") {
    // Whole microseconds: the coarsest clock a store keeps (PostgreSQL's timestamptz).
    const annal::time_point t1{std::chrono::microseconds(1577836800123456)};
    const annal::time_point t2 = t1 + std::chrono::seconds(90);
    auto copied = ac::make_batch(2, "copy");
    for (auto& e : copied) e.recorded_at = t1;
    CHECK(store().append("a", expected_version::no_stream(), copied).status ==
          append_status::appended);
    auto same_instant = ac::make_batch(1, "same");
    same_instant[0].recorded_at = t1;  // not earlier: allowed
    store().append("b", expected_version::no_stream(), same_instant);
    auto later = ac::make_batch(1, "later");
    later[0].recorded_at = t2;
    store().append("a", expected_version::exact(2), later);
    auto events = ac::all_events(store());
    REQUIRE(events.size() == 4);
    CHECK(events[0].recorded_at == t1);
    CHECK(events[1].recorded_at == t1);
    CHECK(events[2].recorded_at == t1);
    CHECK(events[3].recorded_at == t2);

    auto earlier = ac::make_batch(1, "earlier");
    earlier[0].recorded_at = t1;
    ac::require_error([&] { store().append("c", expected_version::any(), earlier); },
                      errc::invalid_argument);
    auto mixed = ac::make_batch(2, "mixed");
    mixed[0].recorded_at = t2;
    mixed[1].recorded_at = t2 + std::chrono::seconds(1);
    ac::require_error([&] { store().append("c", expected_version::any(), mixed); },
                      errc::invalid_argument);
    mixed[1].recorded_at = {};  // one set, one not: mixed as well
    ac::require_error([&] { store().append("c", expected_version::any(), mixed); },
                      errc::invalid_argument);
    CHECK(store().last_position() == 4);
    CHECK(store().stream_version("c") == 0);

    // An event without a time of its own is recorded now, which is after t2.
    store().append("c", expected_version::any(), ac::make_batch(1, "now"));
    events = ac::all_events(store());
    REQUIRE(events.size() == 5);
    CHECK(events[4].recorded_at > t2);
  }

  SECTION("a retried copy is a duplicate, though later events were recorded since") {
    const annal::time_point t1{std::chrono::microseconds(1577836800123456)};
    auto copied = ac::make_batch(2, "copy");
    for (auto& e : copied) e.recorded_at = t1;
    const auto first = store().append("a", expected_version::no_stream(), copied);
    store().append("b", expected_version::any(), ac::make_batch(1, "now"));
    for (const auto expect : {expected_version::any(), expected_version::no_stream()}) {
      const auto again = store().append("a", expect, copied);
      CHECK(again.status == append_status::duplicate);
      CHECK(again.first_position == first.first_position);
    }
    CHECK(store().last_position() == 3);
  }

  SECTION("a copy from the future moves the store's clock forward, never back") {
    const annal::time_point ahead =
        std::chrono::time_point_cast<std::chrono::microseconds>(annal::clock::now()) +
        std::chrono::hours(1);
    auto copied = ac::make_batch(1, "ahead");
    copied[0].recorded_at = ahead;
    store().append("a", expected_version::any(), copied);
    store().append("a", expected_version::any(), ac::make_batch(1, "now"));
    const auto events = ac::all_events(store());
    REQUIRE(events.size() == 2);
    CHECK(events[0].recorded_at == ahead);
    CHECK(events[1].recorded_at == ahead);
  }

  SECTION("concurrent appenders to one stream: each version is won exactly once") {
    constexpr int threads = 4, per_thread = 12;
    std::atomic<int> conflicts{0};
    std::vector<std::vector<std::uint64_t>> won(threads);
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (int done = 0; done < per_thread;) {
          const std::uint64_t v = store().stream_version("shared");
          const auto r = store().append("shared", expected_version::exact(v), ac::make_batch(1));
          if (r.status == append_status::appended) {
            won[t].push_back(r.stream_version);
            ++done;
          } else {
            ++conflicts;
          }
        }
      });
    for (auto& th : pool) th.join();
    std::vector<std::uint64_t> versions;
    for (const auto& w : won) versions.insert(versions.end(), w.begin(), w.end());
    std::sort(versions.begin(), versions.end());
    REQUIRE(versions.size() == threads * per_thread);
    for (std::size_t i = 0; i < versions.size(); ++i) CHECK(versions[i] == i + 1);
    CHECK(store().stream_version("shared") == threads * per_thread);
    CHECK(store().last_position() == threads * per_thread);
    const auto events = ac::stream_events(store(), "shared");
    REQUIRE(events.size() == threads * per_thread);
    for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i].stream_version == i + 1);
  }

  SECTION("a conflict names a version that the next read already shows") {
    constexpr int threads = 4, per_thread = 12;
    std::atomic<int> conflicts{0}, unreadable{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        for (int done = 0; done < per_thread;) {
          const std::uint64_t v = store().stream_version("race");
          const auto r = store().append("race", expected_version::exact(v), ac::make_batch(1));
          if (r.status == append_status::appended) {
            ++done;
            continue;
          }
          ++conflicts;
          // Read-your-writes for the version a conflict names: a reload decides on that state.
          std::uint64_t read = 0;
          store().read_stream("race", 1, [&](const recorded_event&) { ++read; });
          if (store().stream_version("race") < r.stream_version || read < r.stream_version)
            ++unreadable;
        }
      });
    for (auto& th : pool) th.join();
    CHECK(unreadable == 0);
    CHECK(store().stream_version("race") == threads * per_thread);
  }

  SECTION("racing commands: the loser decides again on the state that beat it") {
    namespace shelf = ac::shelf_domain;
    constexpr int threads = 4, copies = 24;
    using store_t = std::remove_cvref_t<decltype(fixture.store())>;
    annal::repository_options options;
    // Each conflict a command meets names a newer version than it decided on, and only `copies`
    // takes can succeed: so this many retries always suffice when a reload shows what beat it.
    options.max_conflict_retries = copies;
    annal::repository<shelf::shelf, store_t> shelves{store(), options};
    REQUIRE(shelves.handle("book", shelf::stock{copies}).accepted());
    std::atomic<int> taken{0}, rejected{0}, conflicted{0}, wrong_reason{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (;;) {
          const auto r = shelves.handle("book", shelf::take{t});
          if (r.accepted()) {
            ++taken;
          } else if (r.rejected()) {
            if (r.rejection->reason != "no copy available") ++wrong_reason;
            ++rejected;
            return;
          } else {
            ++conflicted;
            return;
          }
        }
      });
    for (auto& th : pool) th.join();
    CHECK(conflicted == 0);
    CHECK(wrong_reason == 0);
    CHECK(taken == copies);
    CHECK(rejected == threads);
    const auto final_state = shelves.load("book");
    CHECK(final_state.state.copies == 0);
    CHECK(final_state.version == 1 + copies);
  }

  // The read rule (docs/projection.md): what a reader lists but cannot read stops it, whatever
  // store it reads. Here a newer program's `taken` v2 sits between two readable events.
  SECTION("a listed event at a schema version the reader cannot read stops it, checkpoint kept") {
    namespace shelf = ac::shelf_domain;
    using store_t = std::remove_cvref_t<decltype(fixture.store())>;
    annal::repository<shelf::shelf, store_t> shelves{store()};
    REQUIRE(shelves.handle("book", shelf::stock{3}).accepted());
    REQUIRE(shelves.handle("book", shelf::take{1}).accepted());
    event_data newer = annal::detail::encode_event<annal::binary_codec>(shelf::taken{2},
                                                                        annal::new_event_id(), {});
    newer.schema_version = 2;
    REQUIRE(store().append("book", expected_version::exact(2), std::span(&newer, 1)).ok());
    REQUIRE(shelves.handle("other", shelf::stock{1}).accepted());

    annal::memory_read_model<shelf::takings> model;
    annal::projector projector{store(), model};
    for (int run = 0; run < 2; ++run) {  // a second run stops at the same place
      ac::require_error([&] { projector.catch_up(); }, errc::unknown_event_type);
      CHECK(model.checkpoint() == 2);
      model.read([](const shelf::takings& t, std::uint64_t) { CHECK(t.count == 1); });
    }
    ac::require_error([&] { (void)shelves.load("book"); }, errc::unknown_event_type);
    CHECK(shelves.load("other").state.copies == 1);  // other streams are readable
  }

  SECTION("concurrent appenders to different streams: everything is stored") {
    constexpr int threads = 4, batches = 10, size = 3;
    std::vector<std::thread> pool;
    std::atomic<int> failures{0};
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const std::string id = "stream-" + std::to_string(t);
        for (int b = 0; b < batches; ++b) {
          const auto r = store().append(id, expected_version::exact(std::uint64_t(b) * size),
                                        ac::make_batch(size));
          if (r.status != append_status::appended) ++failures;
        }
      });
    for (auto& th : pool) th.join();
    CHECK(failures == 0);
    CHECK(store().last_position() == threads * batches * size);
    for (int t = 0; t < threads; ++t)
      CHECK(store().stream_version("stream-" + std::to_string(t)) == batches * size);
    const auto events = ac::all_events(store());
    REQUIRE(events.size() == threads * batches * size);
    for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i].position == i + 1);
  }

  SECTION("reads running beside appends see whole, ordered prefixes") {
    constexpr int total = 60;
    std::atomic<bool> done{false};
    std::atomic<int> bad_reads{0};
    std::thread reader([&] {
      while (!done.load()) {
        std::uint64_t expect = 1;
        store().read_all(1, [&](const recorded_event& e) {
          if (e.position != expect++) ++bad_reads;
        });
        std::uint64_t version = 0;
        store().read_stream("r", 1, [&](const recorded_event& e) {
          if (e.stream_version != ++version) ++bad_reads;
        });
        if (store().stream_version("r") < version) ++bad_reads;
      }
    });
    for (int i = 0; i < total; ++i) store().append("r", expected_version::any(), ac::make_batch(2));
    done = true;
    reader.join();
    CHECK(bad_reads == 0);
    CHECK(store().last_position() == 2 * total);
  }

  if constexpr (ac::waitable<std::remove_cvref_t<decltype(fixture.store())>>) {
    SECTION("wait_for_append wakes on an append and times out without one") {
      using namespace std::chrono_literals;
      CHECK_FALSE(store().wait_for_append(0, annal::clock::now() + 20ms));
      std::thread writer([&] {
        std::this_thread::sleep_for(20ms);
        store().append("w", expected_version::any(), ac::make_batch(1));
      });
      CHECK(store().wait_for_append(0, annal::clock::now() + 10s));
      writer.join();
      CHECK(store().wait_for_append(0, annal::clock::now()));
      CHECK_FALSE(store().wait_for_append(1, annal::clock::now() + 10ms));
    }
  }

  ac::check_filtered_reads(fixture);

  if constexpr (ac::reopenable<Fixture>) {
    SECTION("everything survives a reopen, and appending goes on where it stopped") {
      auto e = ac::make_event("keep me");
      e.meta = {{"k", "v"}};
      e.correlation_id = annal::new_event_id();
      const auto batch = ac::make_batch(3);
      store().append("a", expected_version::any(), std::vector{e});
      const auto first = store().append("b", expected_version::any(), batch);
      store().append("a", expected_version::any(), ac::make_batch(2));
      const auto before = ac::all_events(store());
      fixture.reopen();
      const auto after = ac::all_events(store());
      REQUIRE(after.size() == before.size());
      for (std::size_t i = 0; i < after.size(); ++i) {
        CHECK(after[i].id == before[i].id);
        CHECK(after[i].position == before[i].position);
        CHECK(after[i].stream_id == before[i].stream_id);
        CHECK(after[i].stream_version == before[i].stream_version);
        CHECK(after[i].payload == before[i].payload);
        CHECK(after[i].meta == before[i].meta);
        CHECK(after[i].recorded_at == before[i].recorded_at);
      }
      ac::check_same_event(ac::stream_events(store(), "a").front(), e);
      CHECK(store().stream_version("a") == 3);
      CHECK(store().last_position() == 6);
      const auto retry = store().append("b", expected_version::no_stream(), batch);
      CHECK(retry.status == append_status::duplicate);
      CHECK(retry.first_position == first.first_position);
      ac::require_error([&] { store().append("c", expected_version::any(), std::vector{e}); },
                        errc::duplicate_event_id);
      const auto next = store().append("a", expected_version::exact(3), ac::make_batch(1));
      CHECK(next.status == append_status::appended);
      CHECK(next.stream_version == 4);
      CHECK(next.first_position == 7);
      const auto conflict = store().append("b", expected_version::exact(1), ac::make_batch(1));
      CHECK(conflict.status == append_status::conflict);
      CHECK(conflict.stream_version == 3);
      const auto events = ac::all_events(store());
      for (std::size_t i = 1; i < events.size(); ++i)
        CHECK(events[i].recorded_at >= events[i - 1].recorded_at);
    }

    SECTION("after a reopen, a copy earlier than the last recorded event is still refused") {
      const annal::time_point t1{std::chrono::microseconds(1577836800123456)};
      auto copied = ac::make_batch(1, "copy");
      copied[0].recorded_at = t1 + std::chrono::seconds(5);
      store().append("a", expected_version::any(), copied);
      fixture.reopen();
      auto earlier = ac::make_batch(1, "earlier");
      earlier[0].recorded_at = t1;
      ac::require_error([&] { store().append("a", expected_version::any(), earlier); },
                        errc::invalid_argument);
      CHECK(store().last_position() == 1);
      CHECK(ac::all_events(store()).front().recorded_at == t1 + std::chrono::seconds(5));
    }

    SECTION("an empty store reopens empty") {
      fixture.reopen();
      CHECK(store().last_position() == 0);
      CHECK(store().append("s", expected_version::no_stream(), ac::make_batch(1)).first_position ==
            1);
    }
  }
}
