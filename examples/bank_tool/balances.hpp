// The bank example's read model for its operator's tool: every account's balance, by stream.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <boost/hana/define_struct.hpp>

#include <annal/core/envelope.hpp>

#include "account.hpp"

namespace bank {

struct balances {
  using events = annal::events<deposited, withdrawn>;
  BOOST_HANA_DEFINE_STRUCT(balances, (std::map<std::string, std::int64_t>, cents));
  void on(const deposited& e, const annal::envelope_header& h) { cents[h.stream_id] += e.cents; }
  void on(const withdrawn& e, const annal::envelope_header& h) { cents[h.stream_id] -= e.cents; }
};

}  // namespace bank
