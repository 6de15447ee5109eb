// The erasure example's domain: customers whose names and e-mail addresses are personal data.
#pragma once

#include <cstdint>
#include <string>

#include <boost/hana/define_struct.hpp>

#include <annal/core/aggregate.hpp>
#include <annal/core/decision.hpp>
#include <annal/core/event.hpp>
#include <annal/privacy/personal.hpp>

namespace shop {

// Personal data is a personal<T> member: events hold it only sealed.
struct registered {
  BOOST_HANA_DEFINE_STRUCT(registered, (annal::personal<std::string>, name),
                           (annal::personal<std::string>, email));
};
struct ordered {
  BOOST_HANA_DEFINE_STRUCT(ordered, (std::int64_t, cents));
};
// The erasure request itself is an event: the log records when it was asked for and honoured.
struct forgotten {
  BOOST_HANA_DEFINE_STRUCT(forgotten, (std::string, reason));
};
ANNAL_EVENT(registered, "shop.customer.registered", 1)
ANNAL_EVENT(ordered, "shop.customer.ordered", 1)
ANNAL_EVENT(forgotten, "shop.customer.forgotten", 1)

struct customer {
  using events = annal::events<registered, ordered, forgotten>;

  bool is_registered = false;
  bool is_forgotten = false;
  annal::personal<std::string> name, email;  // kept sealed in state and snapshots too
  std::int64_t spent_cents = 0;
  int orders = 0;

  void apply(const registered& e) {
    is_registered = true;
    name = e.name;
    email = e.email;
  }
  void apply(const ordered& e) {
    spent_cents += e.cents;
    ++orders;
  }
  void apply(const forgotten&) { is_forgotten = true; }
};

// Commands carry personal data already sealed: the decider copies it and stays a pure function.
struct register_customer {
  annal::personal<std::string> name, email;
};
struct place_order {
  std::int64_t cents;
};
struct forget_customer {
  std::string reason;
};

inline annal::decision<customer> decide(const customer& c, const register_customer& cmd) {
  if (c.is_registered) return annal::reject("customer is already registered");
  return registered{cmd.name, cmd.email};
}

inline annal::decision<customer> decide(const customer& c, const place_order& cmd) {
  if (!c.is_registered) return annal::reject("no such customer");
  if (c.is_forgotten) return annal::reject("customer was forgotten");
  if (cmd.cents <= 0) return annal::reject("an order must cost something");
  return ordered{cmd.cents};
}

inline annal::decision<customer> decide(const customer& c, const forget_customer& cmd) {
  if (!c.is_registered) return annal::reject("no such customer");
  if (c.is_forgotten) return annal::reject("customer was forgotten already");
  return forgotten{cmd.reason};
}

}  // namespace shop
