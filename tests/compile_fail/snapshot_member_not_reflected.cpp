// A snapshotted aggregate whose BOOST_HANA_ADAPT_STRUCT leaves out a data member fails to compile,
// naming the aggregate: that member would vanish from snapshots and come back at its default.
#include <annal/snapshot/memory_snapshot_store.hpp>
#include <annal/snapshot/snapshotter.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/repository.hpp>

#include <boost/hana/adapt_struct.hpp>
#include <boost/hana/define_struct.hpp>

namespace shop {
struct ordered {
  BOOST_HANA_DEFINE_STRUCT(ordered, (long, cents));
};
ANNAL_EVENT(ordered, "shop.ordered", 1)

struct basket {
  using events = annal::events<ordered>;
  long cents = 0;
  int items = 0;
  void apply(const ordered& e) { cents += e.cents, ++items; }
};
}  // namespace shop

#ifdef ANNAL_COMPILE_FAIL
BOOST_HANA_ADAPT_STRUCT(shop::basket, cents);
#else
BOOST_HANA_ADAPT_STRUCT(shop::basket, cents, items);
#endif

// expect: every data member must be listed in BOOST_HANA_ADAPT_STRUCT / BOOST_HANA_DEFINE_STRUCT
// expect: reflection_leaves_out_a_data_member<shop::basket, 1
// first: reflection_leaves_out_a_data_member<shop::basket, 1
int main() {
  annal::memory_store store;
  annal::memory_snapshot_store snapshots;
  annal::snapshotter snap{snapshots, annal::snapshot_every{100}};
  auto baskets = annal::make_repository<shop::basket>(store, snap);
  (void)baskets.load("basket-1");
}
