// A reflected aggregate over the bank events, snapshottable, for the snapshot and projection tests.
#pragma once

#include <cstdint>
#include <string>

#include <boost/hana/adapt_struct.hpp>

#include "common/bank_domain.hpp"

namespace ledger {

struct account {
  using events = annal::events<bank::opened, bank::deposited, bank::withdrawn>;
  std::string id;
  long balance = 0;
  std::uint64_t operations = 0;

  void apply(const bank::opened& e) { id = e.id; }
  void apply(const bank::deposited& e) { balance += e.cents, ++operations; }
  void apply(const bank::withdrawn& e) { balance -= e.cents, ++operations; }
};

inline annal::decision<account> decide(const account&, const bank::open& c) { return bank::opened{c.id}; }
inline annal::decision<account> decide(const account&, const bank::deposit& c) {
  return bank::deposited{c.cents};
}
inline annal::decision<account> decide(const account& s, const bank::withdraw& c) {
  if (c.cents > s.balance) return annal::reject("insufficient funds");
  return bank::withdrawn{c.cents};
}

// The same members and events with new apply logic: the revision tells old snapshots apart.
// [revision]
struct account_v2 : account {
  using events = account::events;
  static constexpr std::uint32_t snapshot_revision = 2;
};
// [revision]

}  // namespace ledger

BOOST_HANA_ADAPT_STRUCT(ledger::account, id, balance, operations);
BOOST_HANA_ADAPT_STRUCT(ledger::account_v2, id, balance, operations);
