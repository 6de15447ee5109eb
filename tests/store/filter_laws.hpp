// The laws of filtered reads (store/filter.hpp), run by the conformance suite against every store:
// a filtered read hands out exactly what reading everything and testing each event would, in
// order, and its next_position never skips an event that matches.
#pragma once

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <annal/core/error.hpp>
#include <annal/runtime/new_event_id.hpp>
#include <annal/store/filter.hpp>

namespace annal_conformance {

// What a filtered read must return: every event, tested one by one.
template <class Store>
std::vector<annal::recorded_event> expected_matches(const Store& s, const annal::event_filter& f,
                                                    std::uint64_t from = 1) {
  std::vector<annal::recorded_event> out;
  s.read_all(from, [&](const annal::recorded_event& e) {
    if (f.matches(e.stream_id, e.type)) out.push_back(e);
  });
  return out;
}

// Reads the filter's events `per_read` at a time from `from`, checking each read's progress.
template <class Store>
std::vector<annal::recorded_event> read_in_steps(const Store& s, const annal::event_filter& f,
                                                 std::size_t per_read, std::uint64_t from = 1) {
  std::vector<annal::recorded_event> out;
  std::uint64_t next = from;
  for (int guard = 0; guard < 100000; ++guard) {
    std::vector<annal::recorded_event> got;
    const annal::read_progress r = annal::read_filtered(
        s, next, f, [&](const annal::recorded_event& e) { got.push_back(e); }, per_read);
    REQUIRE(r.visited == got.size());
    REQUIRE(r.visited <= per_read);
    if (!got.empty()) {
      CHECK(got.front().position >= next);
      CHECK(r.next_position > got.back().position);
    }
    CHECK(r.next_position >= std::max<std::uint64_t>(next, 1));
    out.insert(out.end(), got.begin(), got.end());
    if (r.visited < per_read) {
      // It stopped short, so it reached the end of what was stored.
      CHECK(r.next_position == std::max<std::uint64_t>(s.last_position() + 1, next));
      return out;
    }
    // A full read ends right after its last event: nothing after it is skipped.
    CHECK(r.next_position == got.back().position + 1);
    next = r.next_position;
  }
  FAIL("a filtered read did not reach the end of the log");
  return out;
}

inline std::vector<std::uint64_t> positions_of(const std::vector<annal::recorded_event>& events) {
  std::vector<std::uint64_t> out;
  for (const auto& e : events) out.push_back(e.position);
  return out;
}

// Appends 240 events of types a, b, c (c rare) to streams order-N, orders-N and invoice-N,
// interleaved, in batches of 1 to 3: enough for a file log with small segments to span several.
template <class Store>
void append_mixed_log(Store& s) {
  for (int i = 0; i < 120; ++i) {
    std::vector<annal::event_data> batch;
    for (int k = 0; k <= i % 3 && batch.size() < 3; ++k) {
      annal::event_data e;
      e.id = annal::new_event_id();
      const int n = i * 3 + k;
      e.type = n % 37 == 0 ? "shop.c" : n % 3 == 0 ? "shop.b" : "shop.a";
      e.schema_version = n % 5 == 0 ? 2 : 1;
      e.payload = "p" + std::to_string(n);
      batch.push_back(std::move(e));
    }
    const char* kind = i % 4 == 0 ? "invoice-" : i % 4 == 1 ? "orders-" : "order-";
    s.append(kind + std::to_string(i % 7), annal::expected_version::any(), batch);
  }
}

template <class Fixture>
void check_filtered_reads(Fixture& fixture) {
  using annal::event_filter;
  using annal::recorded_event;
  const auto store = [&]() -> auto& { return fixture.store(); };

  SECTION("filtered reads: exactly the matching events, in order, at any batch size") {
    append_mixed_log(store());
    const std::vector<event_filter> filters = {
        {},
        {{"shop.b"}, {}},
        {{"shop.a", "shop.c"}, {}},
        {{"shop.c"}, {}},
        {{}, {"order-"}},
        {{}, {"invoice-", "order-3"}},
        {{"shop.c", "shop.b"}, {"orders-", "invoice-"}},
        {{"shop.none"}, {}},
        {{}, {"nobody-"}},
    };
    for (std::size_t i = 0; i < filters.size(); ++i) {
      INFO("filter " << i);
      const auto want = positions_of(expected_matches(store(), filters[i]));
      for (std::size_t per_read : {std::size_t{1}, std::size_t{7}, std::size_t{1000}})
        CHECK(positions_of(read_in_steps(store(), filters[i], per_read)) == want);
      const auto tail = positions_of(expected_matches(store(), filters[i], 100));
      CHECK(positions_of(read_in_steps(store(), filters[i], 5, 100)) == tail);
    }
    // Whole events come back, not just their positions.
    std::vector<recorded_event> got;
    annal::read_filtered(store(), 1, event_filter{{"shop.c"}, {}},
                         [&](const recorded_event& e) { got.push_back(e); });
    CHECK(got == expected_matches(store(), event_filter{{"shop.c"}, {}}));
    CHECK(got.size() == 7);
  }

  SECTION("filtered reads: nothing matching, past the end, and a visitor that stops") {
    append_mixed_log(store());
    const std::uint64_t last = store().last_position();
    const auto none = annal::read_filtered(store(), 1, event_filter{{"shop.none"}, {}},
                                           [](const recorded_event&) { FAIL("visited"); });
    CHECK(none == annal::read_progress{0, last + 1});
    const auto beyond = annal::read_filtered(store(), last + 5, event_filter{{"shop.a"}, {}},
                                             [](const recorded_event&) { FAIL("visited"); });
    CHECK(beyond.visited == 0);
    CHECK(beyond.next_position == last + 5);
    std::vector<std::uint64_t> seen;
    const auto stopped = annal::read_filtered(store(), 0, event_filter{{"shop.b"}, {}},
                                              [&](const recorded_event& e) {
                                                seen.push_back(e.position);
                                                return seen.size() < 3;
                                              });
    REQUIRE(seen.size() == 3);
    CHECK(stopped == annal::read_progress{3, seen.back() + 1});
    const auto zero = annal::read_filtered(
        store(), 4, event_filter{{"shop.a"}, {}}, [](const recorded_event&) { FAIL("visited"); },
        0);
    CHECK(zero == annal::read_progress{0, 4});
  }

  SECTION("filtered reads beside appends skip nothing") {
    // A reader that keeps next_position as its checkpoint while three threads append: every match
    // is read once, whatever order the appends commit in.
    const event_filter wanted{{"shop.wanted"}, {"w-"}};
    std::atomic<int> running{3};
    std::vector<std::thread> writers;
    for (int w = 0; w < 3; ++w)
      writers.emplace_back([&, w] {
        for (int i = 0; i < 150; ++i) {
          annal::event_data e;
          e.id = annal::new_event_id();
          e.type = i % 3 == 0 ? "shop.wanted" : "shop.other";
          e.payload = "x";
          store().append("w-" + std::to_string(w), annal::expected_version::any(), std::vector{e});
        }
        --running;
      });
    std::vector<std::uint64_t> got;
    std::uint64_t next = 1;
    for (bool last = false; !last;) {
      last = running == 0;  // one more read after the writers are done
      next =
          annal::read_filtered(
              store(), next, wanted, [&](const recorded_event& e) { got.push_back(e.position); }, 5)
              .next_position;
    }
    for (auto& t : writers) t.join();
    next = annal::read_filtered(store(), next, wanted, [&](const recorded_event& e) {
             got.push_back(e.position);
           }).next_position;
    CHECK(got == positions_of(expected_matches(store(), wanted)));
    CHECK(got.size() == 150);
    CHECK(next == store().last_position() + 1);
  }

  SECTION("filtered reads: an empty type name or prefix is refused, naming what was wrong") {
    append_mixed_log(store());
    for (const event_filter& bad : {event_filter{{"shop.a", ""}, {}}, event_filter{{}, {""}}}) {
      bool threw = false;
      try {
        annal::read_filtered(store(), 1, bad, [](const recorded_event&) { FAIL("visited"); });
      } catch (const annal::error& e) {
        threw = true;
        CHECK(e.code() == annal::make_error_code(annal::errc::invalid_argument));
        CHECK_THAT(e.what(), Catch::Contains("event_filter"));
      }
      CHECK(threw);
    }
  }

  SECTION("filtered reads: type names and prefixes match literally, byte for byte") {
    // Characters that SQL patterns, quoting, arrays or ranges treat specially, and prefixes whose
    // byte range has no upper bound or ends inside a UTF-8 character.
    const std::vector<std::string> types = {"a%b", "aXb",  "a_b",  "a\\b", "a'b", "a\"b",
                                            "a,b", "{ab}", "NULL", "ab",   "a"};
    const std::vector<std::string> streams = {"x%-1",
                                              "xy-1",
                                              "x_-1",
                                              "x\\-1",
                                              "x'-1",
                                              "X%-1",
                                              "ab-1",
                                              "ab\xc3\xbf",
                                              "ac",
                                              "{x}",
                                              "\xc3\xa9t\xc3\xa9-1"};
    for (const std::string& stream : streams)
      for (const std::string& type : types) {
        annal::event_data e;
        e.id = annal::new_event_id();
        e.type = type;
        e.payload = "{}";
        store().append(stream, annal::expected_version::any(), std::vector{e});
      }
    const std::vector<event_filter> filters = {
        {{"a%b"}, {}},
        {{"a_b"}, {}},
        {{"a\\b", "a'b", "a\"b"}, {}},
        {{"a,b", "{ab}", "NULL"}, {}},
        {{"a%b", "a%b"}, {}},  // listed twice, read once
        {{}, {"x%"}},
        {{}, {"x_"}},
        {{}, {"x\\"}},
        {{}, {"x'"}},
        {{}, {"{"}},
        {{"a_b"}, {"x%", "x_"}},
        {{}, {"ab\xff"}},     // 0xFF is in no UTF-8 stream id
        {{}, {"ab\xc3"}},     // half a character: "ab\xc3\xbf" starts with it
        {{"ab"}, {"\xc3"}},   // "\xc3\xa9t\xc3\xa9-1" too
        {{}, {"\xff\xff"}},   // no upper bound at all
        {{"\xc3"}, {}},       // a type no stored event can have
        {{"\xc3", "a"}, {}},  // beside one that it can
        {{std::string("a\0b", 3)}, {}},
        {{"a\"b", "a"}, {"ab", "x'-"}},
        {},  // everything
    };
    for (std::size_t i = 0; i < filters.size(); ++i) {
      INFO("filter " << i);
      const auto want = positions_of(expected_matches(store(), filters[i]));
      CHECK(positions_of(read_in_steps(store(), filters[i], 4)) == want);
      CHECK(positions_of(read_in_steps(store(), filters[i], 1000)) == want);
    }
    // The expectations themselves: literal, not patterns.
    CHECK(expected_matches(store(), filters[0]).size() == streams.size());
    CHECK(expected_matches(store(), filters[5]).size() == types.size());
    CHECK(expected_matches(store(), filters[12]).size() == types.size());
    CHECK(expected_matches(store(), filters[13]).size() == 1);
    CHECK(expected_matches(store(), filters[11]).empty());
    CHECK(expected_matches(store(), filters[14]).empty());
  }

  SECTION("filtered reads: tombstones are events of their own type") {
    append_mixed_log(store());
    annal::event_data tombstone;
    tombstone.id = annal::new_event_id();
    tombstone.type = std::string(annal::tombstone_type);
    tombstone.payload = "{}";
    store().append("order-2", annal::expected_version::any(), std::vector{tombstone});
    const event_filter deletes{{std::string(annal::tombstone_type)}, {}};
    const auto got = read_in_steps(store(), deletes, 10);
    REQUIRE(got.size() == 1);
    CHECK(got.front().stream_id == "order-2");
  }

  if constexpr (requires { fixture.reopen(); }) {
    SECTION("filtered reads: the same after a reopen, and for events appended after it") {
      append_mixed_log(store());
      const event_filter f{{"shop.c", "shop.b"}, {"order-"}};
      const auto before = positions_of(read_in_steps(store(), f, 4));
      fixture.reopen();
      CHECK(positions_of(read_in_steps(store(), f, 4)) == before);
      append_mixed_log(store());
      CHECK(positions_of(read_in_steps(store(), f, 4)) ==
            positions_of(expected_matches(store(), f)));
      fixture.reopen();
      CHECK(positions_of(read_in_steps(store(), f, 1000)) ==
            positions_of(expected_matches(store(), f)));
    }
  }
}

}  // namespace annal_conformance
