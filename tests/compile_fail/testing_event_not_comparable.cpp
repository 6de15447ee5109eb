// An expected event that has neither operator== nor Hana reflection cannot be compared; the error
// says which two ways fix it.
#include <annal/testing/given_when_then.hpp>

#include <boost/hana/define_struct.hpp>

namespace bank {
#ifdef ANNAL_COMPILE_FAIL
struct deposited {
  long cents;
};
#else
struct deposited {
  BOOST_HANA_DEFINE_STRUCT(deposited, (long, cents));
};
#endif
ANNAL_EVENT(deposited, "bank.deposited", 1)

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

// expect: cannot compare this type; give it operator== or declare its fields with
// BOOST_HANA_DEFINE_STRUCT expect:
// type_has_neither_operator_equals_nor_hana_reflection<bank::deposited> first:
// type_has_neither_operator_equals_nor_hana_reflection<bank::deposited>
void scenario_under_test() {
  annal::testing::scenario<bank::account>().when(bank::deposit{1}).then(bank::deposited{1});
}

int main() {}
