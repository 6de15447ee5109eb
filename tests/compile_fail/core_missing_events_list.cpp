// An aggregate must declare its events list; the error says what to add.
#include <annal/core/aggregate.hpp>

struct started {
  int id;
};
ANNAL_EVENT(started, "job.started", 1)

struct job {
#ifndef ANNAL_COMPILE_FAIL
  using events = annal::events<started>;
#endif
  void apply(const started&) {}
};

// expect: an aggregate must declare its events: add `using events = annal::events<your_event,
// ...>;` expect: aggregate_declares_no_events_list<job>
static_assert(annal::check_aggregate<job>());

int main() {}
