// then_rejected(x) with an x that is neither the aggregate's rejection type nor a predicate on it
// fails with a sentence.
#include <annal/testing/given_when_then.hpp>

namespace bank {
struct deposited {
  long cents;
};
ANNAL_EVENT(deposited, "bank.deposited", 1)

enum class refusal { not_open };

struct wallet {
  using events = annal::events<deposited>;
  using rejection = refusal;  // so annal::reject("...") is the wrong type here
  void apply(const deposited&) {}
};

struct deposit {
  long cents;
};
inline annal::decision<wallet> decide(const wallet&, const deposit&) {
  return refusal::not_open;
}
}  // namespace bank

// expect: then_rejected\(x\) takes a value of the aggregate's rejection type or a predicate
// expect: expected_rejection_is_neither_the_aggregates_rejection_nor_a_predicate<bank::wallet,
// annal::rejection> first:
// expected_rejection_is_neither_the_aggregates_rejection_nor_a_predicate<bank::wallet,
// annal::rejection>
void scenario_under_test() {
#ifdef ANNAL_COMPILE_FAIL
  annal::testing::scenario<bank::wallet>()
      .when(bank::deposit{1})
      .then_rejected(annal::reject("not open"));
#else
  annal::testing::scenario<bank::wallet>()
      .when(bank::deposit{1})
      .then_rejected(bank::refusal::not_open);
#endif
}

int main() {}
