// A process manager that cannot say which instance an event belongs to fails to compile, naming
// the manager and the event.
#include <annal/process/process_manager.hpp>

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
  using events = annal::events<ordered, paid>;
  using starts_with = annal::events<ordered>;
  using state_events = annal::events<noted>;
  using commands = annal::commands<>;
  void apply(const noted&) {}
  static std::string instance_of(const ordered& e) { return e.order; }
#ifndef ANNAL_COMPILE_FAIL
  static std::string instance_of(const paid& e) { return e.order; }
#endif
  annal::process_step<fulfilment> handle(const ordered&) const { return {}; }
  annal::process_step<fulfilment> handle(const paid&) const { return {}; }
};
}  // namespace shop

// expect: process_manager_cannot_find_the_instance_of_event<shop::fulfilment, shop::paid>
// expect: write `static std::string instance_of\(const Event&\)`
// first: process_manager_cannot_find_the_instance_of_event<shop::fulfilment, shop::paid>
int main() {
  static_assert(annal::check_process_manager<shop::fulfilment>());
}
