// A process manager listing a command that no repository of its router takes fails to compile when
// its runner is built, naming the command.
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
struct shipped {
  BOOST_HANA_DEFINE_STRUCT(shipped, (std::string, order));
};
struct noted {
  BOOST_HANA_DEFINE_STRUCT(noted, (int, n));
};
ANNAL_EVENT(ordered, "shop.ordered", 1)
ANNAL_EVENT(shipped, "shop.shipped", 1)
ANNAL_EVENT(noted, "shop.noted", 1)

struct shipment {
  using events = annal::events<shipped>;
  void apply(const shipped&) {}
};
struct ship {
  std::string order;
};
struct refund {
  std::string order;
};
inline annal::decision<shipment> decide(const shipment&, const ship& c) {
  return shipped{c.order};
}

struct fulfilment {
  static constexpr std::string_view name = "fulfilment";
  using events = annal::events<ordered>;
  using starts_with = annal::events<ordered>;
  using state_events = annal::events<noted>;
#ifdef ANNAL_COMPILE_FAIL
  using commands = annal::commands<ship, refund>;
#else
  using commands = annal::commands<ship>;
#endif
  void apply(const noted&) {}
  static std::string instance_of(const ordered& e) { return e.order; }
  annal::process_step<fulfilment> handle(const ordered& e) const {
    return annal::process_step<fulfilment>{}.send("shipment-" + e.order, ship{e.order});
  }
};
}  // namespace shop

// expect: no_repository_of_the_router_takes_command<shop::fulfilment, shop::refund>
// expect: a command in the process manager's `commands` list is taken by no repository
// first: no_repository_of_the_router_takes_command<shop::fulfilment, shop::refund>
int main() {
  annal::memory_store store;
  annal::repository<shop::shipment, annal::memory_store> shipments(store);
  annal::command_router router{shipments};
  annal::memory_checkpoint checkpoint;
  annal::process_runner<shop::fulfilment, annal::memory_store, annal::memory_checkpoint,
                        decltype(router)>
      runner(store, router, checkpoint);
  runner.catch_up();
}
