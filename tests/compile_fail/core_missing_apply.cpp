// An aggregate without an apply for one of its events fails with a sentence naming both types.
#include <annal/core/aggregate.hpp>
#include <annal/core/hydrate.hpp>

#include <vector>

namespace bank {
struct deposited {
  long cents;
};
struct withdrawn {
  long cents;
};
ANNAL_EVENT(deposited, "bank.deposited", 1)
ANNAL_EVENT(withdrawn, "bank.withdrawn", 1)

struct account {
  using events = annal::events<deposited, withdrawn>;
  long balance = 0;
  void apply(const deposited& e) { balance += e.cents; }
#ifndef ANNAL_COMPILE_FAIL
  void apply(const withdrawn& e) { balance -= e.cents; }
#endif
};
}  // namespace bank

// expect: the aggregate has no apply function for an event in its `events` list
// expect: aggregate_has_no_apply_for_event<bank::account, bank::withdrawn>
// first: aggregate_has_no_apply_for_event<bank::account, bank::withdrawn>
static_assert(annal::check_aggregate<bank::account>());

int main() {}
