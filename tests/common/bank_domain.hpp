// A small bank domain for tests: events, two aggregates (apply members / evolve functions),
// commands.
#pragma once

#include <annal/core/decider.hpp>
#include <boost/hana/define_struct.hpp>
#include <string>

namespace bank {

// Events carry Hana reflection so the testing fixture can print and compare them field by field.
struct opened {
  BOOST_HANA_DEFINE_STRUCT(opened, (std::string, id));
};
struct deposited {
  BOOST_HANA_DEFINE_STRUCT(deposited, (long, cents));
};
struct withdrawn {
  BOOST_HANA_DEFINE_STRUCT(withdrawn, (long, cents));
};
struct closed {
  BOOST_HANA_DEFINE_STRUCT(closed, (std::string, reason));
};
ANNAL_EVENT(opened, "bank.opened", 1);
ANNAL_EVENT(deposited, "bank.deposited", 1);
ANNAL_EVENT(withdrawn, "bank.withdrawn", 2);
ANNAL_EVENT(closed, "bank.closed", 1);

// Commands.
struct open {
  std::string id;
};
struct deposit {
  long cents;
};
struct withdraw {
  long cents;
};
struct close {};

// Object style: apply members, free decide functions, the default annal::rejection.
struct account {
  using events = annal::events<opened, deposited, withdrawn, closed>;
  std::string id;
  long balance = 0;
  bool is_open = false;

  void apply(const opened& e) {
    id = e.id;
    is_open = true;
  }
  void apply(const deposited& e) { balance += e.cents; }
  void apply(const withdrawn& e) { balance -= e.cents; }
  void apply(const closed&) { is_open = false; }
};

inline annal::decision<account> decide(const account& s, const open& c) {
  if (s.is_open) return annal::reject("already open");
  return opened{c.id};
}
inline annal::decision<account> decide(const account& s, const deposit& c) {
  if (!s.is_open) return annal::reject("account not open");
  if (c.cents <= 0) return annal::reject("amount must be positive");
  return deposited{c.cents};
}
inline annal::decision<account> decide(const account& s, const withdraw& c) {
  if (!s.is_open) return annal::reject("account not open");
  if (c.cents > s.balance) return annal::reject("insufficient funds");
  return withdrawn{c.cents};
}
// Closing pays out what is left, then closes: two events from one command.
inline annal::decision<account> decide(const account& s, const close&) {
  if (!s.is_open) return {};  // closing a closed account changes nothing
  if (s.balance > 0) return annal::emit(withdrawn{s.balance}, closed{"requested"});
  return closed{"requested"};
}

// [wallet]
// Functional style: evolve free functions, a member decide, a custom rejection enum.
enum class refusal { not_open, insufficient_funds };

struct wallet {
  using events = annal::events<opened, deposited, withdrawn>;
  using rejection = refusal;
  long balance = 0;
  bool is_open = false;

  // Declared here, defined after the evolve functions: deciding folds state, which needs them.
  annal::decision<wallet> decide(const deposit& c) const;
  annal::decision<wallet> decide(const withdraw& c) const;
};

inline wallet evolve(wallet s, const opened&) {
  s.is_open = true;
  return s;
}
inline wallet evolve(wallet s, const deposited& e) {
  s.balance += e.cents;
  return s;
}
inline wallet evolve(wallet s, const withdrawn& e) {
  s.balance -= e.cents;
  return s;
}

inline annal::decision<wallet> wallet::decide(const deposit& c) const {
  if (!is_open) return refusal::not_open;
  return deposited{c.cents};
}
inline annal::decision<wallet> wallet::decide(const withdraw& c) const {
  if (!is_open) return refusal::not_open;
  if (c.cents > balance) return refusal::insufficient_funds;
  return withdrawn{c.cents};
}
// [wallet]

}  // namespace bank
