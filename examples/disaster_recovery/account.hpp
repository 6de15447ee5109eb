// The disaster_recovery example's domain: bank accounts, and the interest job a bad deploy broke.
#pragma once

#include <cstdint>
#include <string>

#include <boost/hana/define_struct.hpp>

#include <annal/core/aggregate.hpp>
#include <annal/core/decision.hpp>
#include <annal/core/event.hpp>

namespace bank {

struct opened {
  BOOST_HANA_DEFINE_STRUCT(opened, (std::string, owner));
};
struct deposited {
  BOOST_HANA_DEFINE_STRUCT(deposited, (std::int64_t, cents));
};
struct withdrawn {
  BOOST_HANA_DEFINE_STRUCT(withdrawn, (std::int64_t, cents));
};
struct interest_paid {
  BOOST_HANA_DEFINE_STRUCT(interest_paid, (std::int64_t, cents));
};
ANNAL_EVENT(opened, "bank.opened", 1)
ANNAL_EVENT(deposited, "bank.deposited", 1)
ANNAL_EVENT(withdrawn, "bank.withdrawn", 1)
ANNAL_EVENT(interest_paid, "bank.interest_paid", 1)

struct account {
  using events = annal::events<opened, deposited, withdrawn, interest_paid>;

  bool is_open = false;
  std::int64_t balance = 0;

  void apply(const opened&) { is_open = true; }
  void apply(const deposited& e) { balance += e.cents; }
  void apply(const withdrawn& e) { balance -= e.cents; }
  void apply(const interest_paid& e) { balance += e.cents; }
};

struct open {
  std::string owner;
};
struct deposit {
  std::int64_t cents;
};
struct withdraw {
  std::int64_t cents;
};
// The interest job's command: the rate is in basis points (1/100 of a percent).
struct pay_interest {
  std::int64_t basis_points;
};

inline annal::decision<account> decide(const account& a, const open& c) {
  if (a.is_open) return annal::reject("account is already open");
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

inline annal::decision<account> decide(const account& a, const pay_interest& c) {
  if (!a.is_open) return annal::reject("account is not open");
  return interest_paid{a.balance * c.basis_points / 10'000};
}

}  // namespace bank
