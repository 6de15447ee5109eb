// The bank example's domain: an account's events, commands, state and decisions.
#pragma once

#include <cstdint>
#include <string>

#include <boost/hana/define_struct.hpp>

#include <annal/core/aggregate.hpp>
#include <annal/core/decision.hpp>
#include <annal/core/event.hpp>

namespace bank {

// [events]
struct opened {
  BOOST_HANA_DEFINE_STRUCT(opened, (std::string, owner));
};
struct deposited {
  BOOST_HANA_DEFINE_STRUCT(deposited, (std::int64_t, cents));
};
struct withdrawn {
  BOOST_HANA_DEFINE_STRUCT(withdrawn, (std::int64_t, cents));
};
ANNAL_EVENT(opened, "bank.opened", 1)
ANNAL_EVENT(deposited, "bank.deposited", 1)
ANNAL_EVENT(withdrawn, "bank.withdrawn", 1)
// [events]

// [aggregate]
struct account {
  using events = annal::events<opened, deposited, withdrawn>;

  bool is_open = false;
  std::string owner;
  std::int64_t balance = 0;

  void apply(const opened& e) {
    is_open = true;
    owner = e.owner;
  }
  void apply(const deposited& e) { balance += e.cents; }
  void apply(const withdrawn& e) { balance -= e.cents; }
};
// [aggregate]

// [commands]
struct open {
  std::string owner;
};
struct deposit {
  std::int64_t cents;
};
struct withdraw {
  std::int64_t cents;
};

inline annal::decision<account> decide(const account& a, const open& c) {
  if (a.is_open) return annal::reject("account is already open");
  if (c.owner.empty()) return annal::reject("an account needs an owner");
  return opened{c.owner};
}

inline annal::decision<account> decide(const account& a, const deposit& c) {
  if (!a.is_open) return annal::reject("account is not open");
  if (c.cents <= 0) return annal::reject("a deposit must be positive");
  return deposited{c.cents};
}

inline annal::decision<account> decide(const account& a, const withdraw& c) {
  if (!a.is_open) return annal::reject("account is not open");
  if (c.cents <= 0) return annal::reject("a withdrawal must be positive");
  if (c.cents > a.balance) return annal::reject("insufficient funds");
  return withdrawn{c.cents};
}
// [commands]

}  // namespace bank
