// Tests for core/aggregate.hpp: the aggregate concept, apply members vs evolve functions.
#include <annal/core/aggregate.hpp>
#include <catch2/catch.hpp>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>

#include "common/bank_domain.hpp"

// [apply-member]
namespace door {
struct opened {
  int by;
};
struct closed {
  int by;
};
ANNAL_EVENT(opened, "door.opened", 1);
ANNAL_EVENT(closed, "door.closed", 1);

// Object style: the state changes itself, one apply member per event.
struct door {
  using events = annal::events<opened, closed>;
  bool is_open = false;
  int last_user = 0;

  void apply(const opened& e) {
    is_open = true;
    last_user = e.by;
  }
  void apply(const closed& e) {
    is_open = false;
    last_user = e.by;
  }
};
}  // namespace door
// [apply-member]

// [evolve-free]
namespace counter {
struct incremented {
  int by;
};
ANNAL_EVENT(incremented, "counter.incremented", 1);

// Functional style: an immutable value in, a new value out, found by argument-dependent lookup.
struct counter {
  using events = annal::events<incremented>;
  int value = 0;
};

inline counter evolve(counter state, const incremented& e) {
  state.value += e.by;
  return state;
}
}  // namespace counter
// [evolve-free]

namespace bad {
using door::closed;
using door::opened;
struct stray {  // not an event
  int x;
};

struct no_events_list {
  void apply(const opened&) {}
};
struct events_not_a_list {
  using events = std::tuple<opened, closed>;
  void apply(const opened&) {}
  void apply(const closed&) {}
};
struct lists_a_non_event {
  using events = annal::events<opened, stray>;
  void apply(const opened&) {}
  void apply(const stray&) {}
};
struct lists_an_event_twice {
  using events = annal::events<opened, closed, opened>;
  void apply(const opened&) {}
  void apply(const closed&) {}
};
struct opened_too {
  int by;
};
ANNAL_EVENT(opened_too, "door.opened", 2);
struct two_events_one_name {
  using events = annal::events<opened, opened_too>;
  void apply(const opened&) {}
  void apply(const opened_too&) {}
};
struct missing_apply {
  using events = annal::events<opened, closed>;
  void apply(const opened&) {}
};
struct apply_takes_mutable_event {
  using events = annal::events<opened>;
  void apply(opened&) {}
};
struct evolve_returns_void {
  using events = annal::events<opened>;
};
inline void evolve(evolve_returns_void, const opened&) {}
struct evolve_returns_other {
  using events = annal::events<opened>;
};
inline int evolve(evolve_returns_other, const opened&) {
  return 0;
}
struct no_default_constructor {
  explicit no_default_constructor(int) {}
  using events = annal::events<opened>;
  void apply(const opened&) {}
};
struct not_copyable {
  not_copyable() = default;
  not_copyable(const not_copyable&) = delete;
  using events = annal::events<opened>;
  void apply(const opened&) {}
};
}  // namespace bad

namespace both {
struct pinged {
  int n;
};
ANNAL_EVENT(pinged, "both.pinged", 1);
// Has an apply member and an evolve function: the member is the one used.
struct state {
  using events = annal::events<pinged>;
  int via_apply = 0;
  int via_evolve = 0;
  void apply(const pinged& e) { via_apply += e.n; }
};
inline state evolve(state s, const pinged& e) {
  s.via_evolve += e.n;
  return s;
}
}  // namespace both

TEST_CASE("aggregates with apply members or evolve functions satisfy the concept",
          "[core][aggregate]") {
  STATIC_REQUIRE(annal::aggregate<door::door>);
  STATIC_REQUIRE(annal::aggregate<counter::counter>);
  STATIC_REQUIRE(annal::aggregate<bank::account>);
  STATIC_REQUIRE(annal::aggregate<bank::wallet>);
  STATIC_REQUIRE(annal::check_aggregate<door::door>());
  STATIC_REQUIRE(annal::check_aggregate<counter::counter>());
  STATIC_REQUIRE(annal::applies_to<door::door, door::opened>);
  STATIC_REQUIRE(annal::applies_to<counter::counter, counter::incremented>);
  STATIC_REQUIRE(!annal::applies_to<counter::counter, door::opened>);
  STATIC_REQUIRE(!annal::applies_to<door::door, counter::incremented>);
}

TEST_CASE("each broken rule makes a type not an aggregate", "[core][aggregate]") {
  STATIC_REQUIRE(!annal::aggregate<bad::no_events_list>);
  STATIC_REQUIRE(!annal::aggregate<bad::events_not_a_list>);
  STATIC_REQUIRE(!annal::aggregate<bad::lists_a_non_event>);
  STATIC_REQUIRE(!annal::aggregate<bad::lists_an_event_twice>);
  STATIC_REQUIRE(!annal::aggregate<bad::two_events_one_name>);
  STATIC_REQUIRE(!annal::aggregate<bad::missing_apply>);
  STATIC_REQUIRE(!annal::aggregate<bad::apply_takes_mutable_event>);
  STATIC_REQUIRE(!annal::aggregate<bad::evolve_returns_void>);
  STATIC_REQUIRE(!annal::aggregate<bad::evolve_returns_other>);
  STATIC_REQUIRE(!annal::aggregate<bad::no_default_constructor>);
  STATIC_REQUIRE(!annal::aggregate<bad::not_copyable>);
  STATIC_REQUIRE(!annal::aggregate<door::door&>);
  STATIC_REQUIRE(!annal::aggregate<int>);
}

TEST_CASE("the aggregate's event list and variant are exposed", "[core][aggregate]") {
  STATIC_REQUIRE(std::is_same_v<annal::aggregate_events_t<door::door>,
                                annal::events<door::opened, door::closed>>);
  STATIC_REQUIRE(std::is_same_v<annal::aggregate_event_t<door::door>,
                                std::variant<door::opened, door::closed>>);
}

TEST_CASE("apply_event uses the apply member or the evolve function", "[core][aggregate]") {
  door::door d;
  annal::apply_event(d, door::opened{7});
  CHECK(d.is_open);
  CHECK(d.last_user == 7);
  annal::apply_event(d, door::closed{8});
  CHECK_FALSE(d.is_open);
  CHECK(d.last_user == 8);

  counter::counter c;
  annal::apply_event(c, counter::incremented{2});
  annal::apply_event(c, counter::incremented{3});
  CHECK(c.value == 5);
}

TEST_CASE("an apply member takes precedence over an evolve function", "[core][aggregate]") {
  both::state s;
  annal::apply_event(s, both::pinged{4});
  CHECK(s.via_apply == 4);
  CHECK(s.via_evolve == 0);
}
