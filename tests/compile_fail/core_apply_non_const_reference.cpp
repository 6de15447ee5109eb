// An apply that takes the event by non-const reference is told apart from a missing apply, and the
// user's decide adds no follow-on error ("could not convert ... to decision<...>").
#include <annal/core/decider.hpp>
#include <annal/core/decision.hpp>

namespace bank {
struct deposited {
  long cents;
};
struct withdrawn {
  long cents;
};
ANNAL_EVENT(deposited, "bank.deposited", 1)
ANNAL_EVENT(withdrawn, "bank.withdrawn", 1)
struct withdraw {
  long cents;
};

struct account {
  using events = annal::events<deposited, withdrawn>;
  long balance = 0;
  void apply(const deposited& e) { balance += e.cents; }
#ifdef ANNAL_COMPILE_FAIL
  void apply(withdrawn& e) { balance -= e.cents; }
#else
  void apply(const withdrawn& e) { balance -= e.cents; }
#endif
};
inline annal::decision<account> decide(const account&, const withdraw& c) {
  return withdrawn{c.cents};
}
}  // namespace bank

// expect: takes the event by non-const reference
// first: aggregate_apply_takes_the_event_by_non_const_reference<bank::account, bank::withdrawn>
// reject: could not convert
// reject: no decide function
int main() {
  const auto d = annal::decide_command(bank::account{}, bank::withdraw{1});
  return d.rejected() ? 1 : 0;
}
