// A reflected aggregate over the bank events, snapshottable, for the snapshot and projection tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/hana/adapt_struct.hpp>

#include "common/bank_domain.hpp"

namespace ledger {

struct account {
  using events = annal::events<bank::opened, bank::deposited, bank::withdrawn>;
  // [aggregate-name]
  static constexpr std::string_view aggregate_name = "ledger.account";
  // [aggregate-name]
  std::string id;
  long balance = 0;
  std::uint64_t operations = 0;

  void apply(const bank::opened& e) { id = e.id; }
  void apply(const bank::deposited& e) { balance += e.cents, ++operations; }
  void apply(const bank::withdrawn& e) { balance -= e.cents, ++operations; }
};

inline annal::decision<account> decide(const account&, const bank::open& c) {
  return bank::opened{c.id};
}
inline annal::decision<account> decide(const account&, const bank::deposit& c) {
  return bank::deposited{c.cents};
}
inline annal::decision<account> decide(const account& s, const bank::withdraw& c) {
  if (c.cents > s.balance) return annal::reject("insufficient funds");
  return bank::withdrawn{c.cents};
}

// The same aggregate (it inherits account's name) with new apply logic: the revision tells old
// snapshots apart.
// [revision]
struct account_v2 : account {
  using events = account::events;
  static constexpr std::uint32_t snapshot_revision = 2;
};
// [revision]

// Another aggregate over the same stream, with account's layout but its own apply logic: the
// deposits of 5 or more. Equal fingerprints, so only the aggregate's identity tells the snapshots
// of the two apart. It declares no name: its identity comes from the C++ type name.
struct large_deposits {
  using events = account::events;
  std::string id;
  long balance = 0;
  std::uint64_t operations = 0;

  void apply(const bank::opened& e) { id = e.id; }
  void apply(const bank::deposited& e) {
    if (e.cents >= 5) balance += e.cents, ++operations;
  }
  void apply(const bank::withdrawn&) {}
};

}  // namespace ledger

BOOST_HANA_ADAPT_STRUCT(ledger::account, id, balance, operations);
BOOST_HANA_ADAPT_STRUCT(ledger::account_v2, id, balance, operations);
BOOST_HANA_ADAPT_STRUCT(ledger::large_deposits, id, balance, operations);
