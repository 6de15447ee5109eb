// Snapshotting an aggregate whose members are not reflected fails with a sentence saying what to
// add.
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
  void apply(const ordered& e) { cents += e.cents; }
};
}  // namespace shop

#ifndef ANNAL_COMPILE_FAIL
BOOST_HANA_ADAPT_STRUCT(shop::basket, cents);
#endif

// expect: a snapshotted aggregate must be reflected
// expect: aggregate_state_is_not_reflected_so_it_cannot_be_snapshotted<shop::basket>
// first: aggregate_state_is_not_reflected_so_it_cannot_be_snapshotted<shop::basket>
int main() {
  annal::memory_store store;
  annal::memory_snapshot_store snapshots;
  annal::snapshotter snap{snapshots, annal::snapshot_every{100}};
  auto baskets = annal::make_repository<shop::basket>(store, snap);
  (void)baskets.load("basket-1");
}
