// Projections, reactors and helpers over the bank events, shared by the projection tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/hana/adapt_struct.hpp>

#include <annal/codec/binary.hpp>
#include <annal/core/envelope.hpp>
#include <annal/store/event_store.hpp>

#include "common/bank_domain.hpp"
#include "common/encoded.hpp"

namespace proj {

// Balance per account: the read model a bank shows its customers.
// [projection]
struct balances {
  using events = annal::events<bank::opened, bank::deposited, bank::withdrawn>;
  std::map<std::string, long> balance;
  std::uint64_t deposits = 0;

  void on(const bank::opened&, const annal::envelope_header& h) { balance[h.stream_id] = 0; }
  void on(const bank::deposited& e, const annal::envelope_header& h) {
    balance[h.stream_id] += e.cents;
    ++deposits;
  }
  void on(const bank::withdrawn& e, const annal::envelope_header& h) {
    balance[h.stream_id] -= e.cents;
  }
  // Shards of a partitioned run hold disjoint accounts; the counts add up.
  void merge(balances&& shard) {
    balance.merge(shard.balance);
    deposits += shard.deposits;
  }
};
// [projection]

// Records, per stream, whether versions arrived in order: what partitioning must preserve.
struct ordering {
  using events = annal::events<bank::opened, bank::deposited, bank::withdrawn>;
  std::map<std::string, std::uint64_t> last_version;
  std::uint64_t out_of_order = 0;

  void check(const annal::envelope_header& h) {
    auto& last = last_version[h.stream_id];
    if (h.stream_version != last + 1) ++out_of_order;
    last = h.stream_version;
  }
  void on(const bank::opened&, const annal::envelope_header& h) { check(h); }
  void on(const bank::deposited&, const annal::envelope_header& h) { check(h); }
  void on(const bank::withdrawn&, const annal::envelope_header& h) { check(h); }
  void merge(ordering&& shard) {
    last_version.merge(shard.last_version);
    out_of_order += shard.out_of_order;
  }
};

// Throws on a deposit of 13 cents while `armed`: a bug in a handler.
inline std::atomic<bool> armed{true};
struct fragile {
  using events = annal::events<bank::deposited>;
  long total = 0;
  std::uint64_t seen = 0;
  void on(const bank::deposited& e) {
    if (e.cents == 13 && armed.load()) throw std::runtime_error("thirteen is unlucky");
    total += e.cents;
    ++seen;
  }
};

// Sends an "email" per deposit: a side effect.
struct mailer {
  using events = annal::events<bank::deposited>;
  std::vector<std::string> sent;
  void react(const bank::deposited& e, const annal::envelope_header& h) {
    sent.push_back(h.stream_id + ":" + std::to_string(e.cents));
  }
};

// Both kinds at once: not a projection, so no rebuild can run it.
struct confused {
  using events = annal::events<bank::deposited>;
  void on(const bank::deposited&) {}
  void react(const bank::deposited&) {}
};

template <class E>
annal::event_data encode(const E& e) {
  return annal_test::encoded(e);
}

template <class Store, class... E>
void append(Store& store, const std::string& stream, const E&... e) {
  const annal::event_data batch[] = {encode(e)...};
  store.append(stream, annal::expected_version::any(), batch);
}

}  // namespace proj

BOOST_HANA_ADAPT_STRUCT(proj::balances, balance, deposits);
BOOST_HANA_ADAPT_STRUCT(proj::ordering, last_version, out_of_order);
BOOST_HANA_ADAPT_STRUCT(proj::fragile, total, seen);
