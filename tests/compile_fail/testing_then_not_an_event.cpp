// then(x) with an x the aggregate cannot emit (not in its `events` list) fails with a sentence.
#include <annal/testing/given_when_then.hpp>

namespace bank {
struct deposited {
  long cents;
  friend bool operator==(const deposited&, const deposited&) = default;
};
struct withdrawn {  // an event, but not one the account lists
  long cents;
};
ANNAL_EVENT(deposited, "bank.deposited", 1)
ANNAL_EVENT(withdrawn, "bank.withdrawn", 1)

struct account {
  using events = annal::events<deposited>;
  long balance = 0;
  void apply(const deposited& e) { balance += e.cents; }
};

struct deposit {
  long cents;
};
inline annal::decision<account> decide(const account&, const deposit& c) {
  return deposited{c.cents};
}
}  // namespace bank

// expect: an expected event is not in the aggregate's `events` list
// expect: expected_event_is_not_in_the_aggregates_events_list<bank::account, bank::withdrawn>
// first: expected_event_is_not_in_the_aggregates_events_list<bank::account, bank::withdrawn>
void scenario_under_test() {
#ifdef ANNAL_COMPILE_FAIL
  annal::testing::scenario<bank::account>().when(bank::deposit{1}).then(bank::withdrawn{1});
#else
  annal::testing::scenario<bank::account>().when(bank::deposit{1}).then(bank::deposited{1});
#endif
}

int main() {}
