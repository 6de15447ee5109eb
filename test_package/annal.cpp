// A consumer of annal::annal: one event, one aggregate, two commands on the in-memory store.
#include <annal/annal.hpp>

#include <boost/hana/define_struct.hpp>

namespace counter {
struct incremented {
  BOOST_HANA_DEFINE_STRUCT(incremented, (int, by));
};
ANNAL_EVENT(incremented, "counter.incremented", 1)
struct counter {
  using events = annal::events<incremented>;
  int value = 0;
  void apply(const incremented& e) { value += e.by; }
};
struct increment {};
inline annal::decision<counter> decide(const counter&, const increment&) {
  return incremented{1};
}
}  // namespace counter

int main() {
  annal::memory_store store;
  annal::repository<counter::counter, annal::memory_store> counters{store};
  counters.handle("c", counter::increment{});
  return counters.handle("c", counter::increment{}).state.value == 2 ? 0 : 1;
}
