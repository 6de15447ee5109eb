// A command without a decide function for the aggregate fails naming the aggregate and command.
#include <annal/core/decision.hpp>

namespace bank {
struct deposited {
  long cents;
};
ANNAL_EVENT(deposited, "bank.deposited", 1)

struct account {
  using events = annal::events<deposited>;
  long balance = 0;
  void apply(const deposited& e) { balance += e.cents; }
};

struct deposit {
  long cents;
};
struct withdraw {
  long cents;
};
annal::decision<account> decide(const account&, const deposit& c) {
  return deposited{c.cents};
}
#ifndef ANNAL_COMPILE_FAIL
annal::decision<account> decide(const account&, const withdraw&) {
  return annal::reject("no");
}
#endif
}  // namespace bank

// expect: the command has no decide function for this aggregate
// expect: aggregate_has_no_decide_for_command<bank::account, bank::withdraw>
// first: aggregate_has_no_decide_for_command<bank::account, bank::withdraw>
int main() {
  bank::account a;
  (void)annal::decide_command(a, bank::deposit{1});
  (void)annal::decide_command(a, bank::withdraw{1});
}
