// A process step that sends a command its manager does not list fails to compile, naming both.
#include <annal/process/process_manager.hpp>

#include <boost/hana/define_struct.hpp>

#include <string>

namespace shop {
struct ordered {
  BOOST_HANA_DEFINE_STRUCT(ordered, (std::string, order));
};
struct noted {
  BOOST_HANA_DEFINE_STRUCT(noted, (int, n));
};
ANNAL_EVENT(ordered, "shop.ordered", 1)
ANNAL_EVENT(noted, "shop.noted", 1)
struct ship {
  std::string order;
};
struct refund {
  std::string order;
};

struct fulfilment {
  static constexpr std::string_view name = "fulfilment";
  using events = annal::events<ordered>;
  using starts_with = annal::events<ordered>;
  using state_events = annal::events<noted>;
  using commands = annal::commands<ship>;
  void apply(const noted&) {}
  static std::string instance_of(const ordered& e) { return e.order; }
  annal::process_step<fulfilment> handle(const ordered& e) const {
#ifdef ANNAL_COMPILE_FAIL
    return annal::process_step<fulfilment>{}.send("payment-" + e.order, refund{e.order});
#else
    return annal::process_step<fulfilment>{}.send("shipment-" + e.order, ship{e.order});
#endif
  }
};
}  // namespace shop

// expect: process_step_sends_a_command_its_commands_list_does_not_name<shop::fulfilment,
// shop::refund> expect: process_step::send takes a command of the manager's `commands` list first:
// process_step_sends_a_command_its_commands_list_does_not_name<shop::fulfilment, shop::refund>
int main() {
  static_assert(annal::check_process_manager<shop::fulfilment>());
  (void)shop::fulfilment{}.handle(shop::ordered{"o-1"});
}
