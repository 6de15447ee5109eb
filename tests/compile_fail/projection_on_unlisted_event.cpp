// An `on` handler for an event the projection does not list would never be called: readers deliver
// listed events only. It is a compile error naming the projection.
#include <annal/projection/projection.hpp>

#include <map>
#include <string>

namespace shop {
struct ordered {
  long cents;
};
struct refunded {
  long cents;
};
ANNAL_EVENT(ordered, "shop.ordered", 1)
ANNAL_EVENT(refunded, "shop.refunded", 1)

struct revenue {
#ifdef ANNAL_COMPILE_FAIL
  using events = annal::events<ordered>;
#else
  using events = annal::events<ordered, refunded>;
#endif
  std::map<std::string, long> by_customer;
  void on(const ordered& e, const annal::envelope_header& h) {
    by_customer[h.stream_id] += e.cents;
  }
  void on(const refunded& e, const annal::envelope_header& h) {
    by_customer[h.stream_id] -= e.cents;
  }
};
}  // namespace shop

// expect: the projection has an `on` handler for an event that its `events` list does not name
// expect: has_a_handler_for_an_event_its_events_list_does_not_name<shop::revenue>
// first: has_a_handler_for_an_event_its_events_list_does_not_name<shop::revenue>
static_assert(annal::check_projection<shop::revenue>());

int main() {}
