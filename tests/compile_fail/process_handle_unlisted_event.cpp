// A process manager with a `handle` for an event its `events` list does not name fails to compile:
// the runner delivers listed events only, so the handler would never be called.
#include <annal/process/runner.hpp>
#include <annal/store/checkpoint.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/repository.hpp>

#include <boost/hana/define_struct.hpp>

#include <string>

namespace shop {
struct ordered {
  BOOST_HANA_DEFINE_STRUCT(ordered, (std::string, order));
};
struct paid {
  BOOST_HANA_DEFINE_STRUCT(paid, (std::string, order));
};
struct noted {
  BOOST_HANA_DEFINE_STRUCT(noted, (int, n));
};
ANNAL_EVENT(ordered, "shop.ordered", 1)
ANNAL_EVENT(paid, "shop.paid", 1)
ANNAL_EVENT(noted, "shop.noted", 1)

struct fulfilment {
  static constexpr std::string_view name = "fulfilment";
  using events = annal::events<ordered>;
  using starts_with = annal::events<ordered>;
  using state_events = annal::events<noted>;
  using commands = annal::commands<>;
  void apply(const noted&) {}
  static std::string instance_of(const ordered& e) { return e.order; }
  annal::process_step<fulfilment> handle(const ordered&) const { return {}; }
#ifdef ANNAL_COMPILE_FAIL
  annal::process_step<fulfilment> handle(const paid&) const { return {}; }
#endif
};
}  // namespace shop

// expect: has_a_handler_for_an_event_its_events_list_does_not_name<shop::fulfilment>
// expect: the process manager has a `handle` for an event that its `events` list does not name
// first: has_a_handler_for_an_event_its_events_list_does_not_name<shop::fulfilment>
int main() {
  static_assert(annal::check_process_manager<shop::fulfilment>());
}
