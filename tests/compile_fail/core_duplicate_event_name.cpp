// Two events with one stored name in one aggregate's list is a compile error.
#include <annal/core/aggregate.hpp>

struct opened {
  int id;
};
struct renamed {
  int id;
};
ANNAL_EVENT(opened, "shop.opened", 1)
#ifdef ANNAL_COMPILE_FAIL
ANNAL_EVENT(renamed, "shop.opened", 1)
#else
ANNAL_EVENT(renamed, "shop.renamed", 1)
#endif

struct shop {
  using events = annal::events<opened, renamed>;
  void apply(const opened&) {}
  void apply(const renamed&) {}
};

// expect: two events in the aggregate's `events` list share one stored name
// expect: aggregate_lists_two_events_with_one_stored_name<shop, opened, renamed
// first: aggregate_lists_two_events_with_one_stored_name<shop, opened, renamed
static_assert(annal::check_aggregate<shop>());
#ifdef ANNAL_COMPILE_FAIL
static_assert(!annal::aggregate<shop>);
#else
static_assert(annal::aggregate<shop>);
#endif

int main() {}
