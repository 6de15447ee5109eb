// Rebuilding a process manager as a projection fails at compile time: its commands would be sent
// again on replay.
#include <annal/process/process_manager.hpp>
#include <annal/projection/rebuild.hpp>
#include <annal/store/memory.hpp>

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

struct order_count {
  using events = annal::events<ordered>;
  long n = 0;
  void on(const ordered&) { ++n; }
};

struct fulfilment {
  static constexpr std::string_view name = "fulfilment";
  using events = annal::events<ordered>;
  using starts_with = annal::events<ordered>;
  using state_events = annal::events<noted>;
  using commands = annal::commands<>;
  void apply(const noted&) {}
  static std::string instance_of(const ordered& e) { return e.order; }
  annal::process_step<fulfilment> handle(const ordered&) const { return {}; }
};
}  // namespace shop

#ifdef ANNAL_COMPILE_FAIL
using rebuilt_type = shop::fulfilment;
#else
using rebuilt_type = shop::order_count;
#endif

// expect: it is a process manager, and projectors, replays and rebuilds never run one
// expect: a_process_manager_is_never_replayed_or_rebuilt<shop::fulfilment>
// first: a_process_manager_is_never_replayed_or_rebuilt<shop::fulfilment>
int main() {
  annal::memory_store store;
  (void)annal::rebuild<rebuilt_type>(store);
}
