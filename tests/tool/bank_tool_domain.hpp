// The bank domain (tests/common/bank_domain.hpp) as the typed tool's tests know it: an old version
// of `withdrawn` that upcasts, and two projections for rebuild, replay and reconcile.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <boost/hana/define_struct.hpp>

#include <annal/core/envelope.hpp>
#include <annal/core/event.hpp>
#include <annal/core/event_list.hpp>

#include "common/bank_domain.hpp"

namespace bank {

// What "bank.withdrawn" v1 stored: whole euros. Today's v2 counts cents.
struct withdrawn_v1 {
  BOOST_HANA_DEFINE_STRUCT(withdrawn_v1, (std::int32_t, euros));
};
ANNAL_EVENT(withdrawn_v1, "bank.withdrawn", 1);
inline withdrawn upcast(const withdrawn_v1& e) {
  return withdrawn{e.euros * 100L};
}

using all_events = annal::events<opened, deposited, withdrawn, closed>;

// Each account's balance; found as `balances`, its type name.
struct balances {
  using events = annal::events<deposited, withdrawn>;
  BOOST_HANA_DEFINE_STRUCT(balances, (std::map<std::string, long>, cents));
  void on(const deposited& e, const annal::envelope_header& h) { cents[h.stream_id] += e.cents; }
  void on(const withdrawn& e, const annal::envelope_header& h) { cents[h.stream_id] -= e.cents; }
};

// How many accounts were opened and closed; found by the name it declares.
struct account_count {
  static constexpr std::string_view tool_name = "accounts";
  using events = annal::events<opened, closed>;
  BOOST_HANA_DEFINE_STRUCT(account_count, (std::int64_t, opened_count),
                           (std::int64_t, closed_count));
  void on(const opened&) { ++opened_count; }
  void on(const closed&) { ++closed_count; }
};

}  // namespace bank

template <>
struct annal::previous_versions_of<bank::withdrawn> {
  using type = annal::events<bank::withdrawn_v1>;
};
