// A type in an aggregate's events list that declares no stored name fails with the fix in words.
#include <annal/core/aggregate.hpp>

struct opened {
  int id;
};
struct closed {
  int id;
};
ANNAL_EVENT(opened, "door.opened", 1)
#ifndef ANNAL_COMPILE_FAIL
ANNAL_EVENT(closed, "door.closed", 1)
#endif

struct door {
  using events = annal::events<opened, closed>;
  void apply(const opened&) {}
  void apply(const closed&) {}
};

// expect: every type in an aggregate's `events` list must be an event
// expect: ANNAL_EVENT\(type, \\"stored.name\\", version\)|ANNAL_EVENT\(type, "stored.name",
// version\) expect: aggregate_lists_a_type_that_is_not_an_event<door, closed> first:
// aggregate_lists_a_type_that_is_not_an_event<door, closed>
static_assert(annal::check_aggregate<door>());

int main() {}
