// The events and aggregate the two translation units of the PCH test program share.
#pragma once

#include <cstdint>
#include <filesystem>

#include <annal/annal.hpp>
#include <boost/hana/define_struct.hpp>

namespace ledger {
struct credited {
  BOOST_HANA_DEFINE_STRUCT(credited, (std::int64_t, cents));
};
ANNAL_EVENT(credited, "ledger.credited", 1)
struct account {
  using events = annal::events<credited>;
  std::int64_t balance = 0;
  void apply(const credited& e) { balance += e.cents; }
};
struct credit {
  std::int64_t cents;
};
inline annal::decision<account> decide(const account&, const credit& c) {
  return credited{c.cents};
}

// Credits 3 and 4 cents to one account in a file log and in SQLite under `dir`; true when both
// end at 7 (store.cpp).
bool stores_count(const std::filesystem::path& dir);
}  // namespace ledger
