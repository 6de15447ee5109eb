// The recompute example's domain: account events, the buggy and the fixed running-totals
// projections, and a reactor that notifies customers of withdrawals.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <boost/hana/adapt_struct.hpp>
#include <boost/hana/define_struct.hpp>

#include <annal/annal.hpp>
#include <annal/projection/projection.hpp>

namespace ledger {

struct deposited {
  BOOST_HANA_DEFINE_STRUCT(deposited, (std::int64_t, cents));
};
struct withdrawn {
  BOOST_HANA_DEFINE_STRUCT(withdrawn, (std::int64_t, cents));
};
struct fee_charged {
  BOOST_HANA_DEFINE_STRUCT(fee_charged, (std::int64_t, cents));
};
ANNAL_EVENT(deposited, "ledger.deposited", 1);
ANNAL_EVENT(withdrawn, "ledger.withdrawn", 1);
ANNAL_EVENT(fee_charged, "ledger.fee_charged", 1);

// The read model both versions of the worker write: a running total per account.
struct totals {
  std::map<std::string, std::int64_t> balance;
  std::uint64_t applied = 0;  // events the model has seen
};

// [buggy]
// Version 1 of the worker: fees were meant to be taken off, but the handler adds them.
struct running_totals_v1 : totals {
  using events = annal::events<deposited, withdrawn, fee_charged>;
  void on(const deposited& e, const annal::envelope_header& h) {
    balance[h.stream_id] += e.cents, ++applied;
  }
  void on(const withdrawn& e, const annal::envelope_header& h) {
    balance[h.stream_id] -= e.cents, ++applied;
  }
  void on(const fee_charged& e, const annal::envelope_header& h) {
    balance[h.stream_id] += e.cents, ++applied;
  }
};
// [buggy]

// [fixed]
struct running_totals : totals {
  using events = annal::events<deposited, withdrawn, fee_charged>;
  void on(const deposited& e, const annal::envelope_header& h) {
    balance[h.stream_id] += e.cents, ++applied;
  }
  void on(const withdrawn& e, const annal::envelope_header& h) {
    balance[h.stream_id] -= e.cents, ++applied;
  }
  void on(const fee_charged& e, const annal::envelope_header& h) {
    balance[h.stream_id] -= e.cents, ++applied;
  }
  // Shards of a partitioned rebuild hold disjoint accounts; event counts add up.
  void merge(running_totals&& shard) {
    balance.merge(shard.balance);
    applied += shard.applied;
  }
};
// [fixed]

// [reactor]
// A side effect: tell the customer about each withdrawal. Never run by a replay or a rebuild.
struct withdrawal_notifier {
  using events = annal::events<withdrawn>;
  std::uint64_t sent = 0;
  void react(const withdrawn&, const annal::envelope_header&) { ++sent; }
};
// [reactor]

}  // namespace ledger

BOOST_HANA_ADAPT_STRUCT(ledger::running_totals_v1, balance, applied);
BOOST_HANA_ADAPT_STRUCT(ledger::running_totals, balance, applied);
