// A `react` handler for an event the reactor does not list would never be called: it is a compile
// error naming the reactor, as for projections. Two such handlers are caught as well as one.
#include <annal/projection/reactor.hpp>
#include <annal/store/memory.hpp>

#include <vector>

namespace shop {
struct ordered {
  long cents;
};
struct refunded {
  long cents;
};
struct shipped {
  long parcel;
};
ANNAL_EVENT(ordered, "shop.ordered", 1)
ANNAL_EVENT(refunded, "shop.refunded", 1)
ANNAL_EVENT(shipped, "shop.shipped", 1)

struct mailer {
#ifdef ANNAL_COMPILE_FAIL
  using events = annal::events<ordered>;
#else
  using events = annal::events<ordered, refunded, shipped>;
#endif
  std::vector<long> sent;
  void react(const ordered& e) { sent.push_back(e.cents); }
  void react(const refunded& e) { sent.push_back(-e.cents); }
  void react(const shipped& e) { sent.push_back(e.parcel); }
};
}  // namespace shop

// expect: the reactor has a `react` handler for an event that its `events` list does not name
// expect: has_a_handler_for_an_event_its_events_list_does_not_name<shop::mailer>
// first: has_a_handler_for_an_event_its_events_list_does_not_name<shop::mailer>
static_assert(annal::detail::check_reactor<shop::mailer>());

int main() {}
