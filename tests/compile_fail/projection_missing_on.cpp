// A projection without a handler for one of its events fails with a sentence naming both types.
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
  using events = annal::events<ordered, refunded>;
  std::map<std::string, long> by_customer;
  void on(const ordered& e, const annal::envelope_header& h) {
    by_customer[h.stream_id] += e.cents;
  }
#ifndef ANNAL_COMPILE_FAIL
  void on(const refunded& e, const annal::envelope_header& h) {
    by_customer[h.stream_id] -= e.cents;
  }
#endif
};
}  // namespace shop

// expect: the projection has no handler for an event in its `events` list
// expect: projection_has_no_on_handler_for_event<shop::revenue, shop::refunded>
// first: projection_has_no_on_handler_for_event<shop::revenue, shop::refunded>
static_assert(annal::check_projection<shop::revenue>());

int main() {}
