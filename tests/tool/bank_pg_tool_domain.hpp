// The bank domain of the typed tool's tests with a projection whose read model is a PostgreSQL
// table (annal::postgres_read_model): what `reconcile --model postgresql://...` compares.
#pragma once

#include <annal/core/envelope.hpp>
#include <annal/core/event_list.hpp>
#include <annal/postgres/read_model.hpp>

#include "tool/bank_tool_domain.hpp"

namespace bank {

// Each account's balance, one row per account in the read model's schema; found as
// `balance_rows`, its type name.
// [pg-tool-projection]
struct balance_rows : annal::postgres_projection {
  using events = annal::events<deposited, withdrawn>;

  void migrate(annal::postgres_transaction& tx) {
    tx.exec(
        "CREATE TABLE IF NOT EXISTS balances (account text PRIMARY KEY, cents bigint NOT NULL)");
  }
  void on(const deposited& e, const annal::envelope_header& h) { add(h.stream_id, e.cents); }
  void on(const withdrawn& e, const annal::envelope_header& h) { add(h.stream_id, -e.cents); }

 private:
  void add(std::string_view account, long cents) const {
    sql().exec(
        "INSERT INTO balances VALUES ($1, $2) "
        "ON CONFLICT (account) DO UPDATE SET cents = balances.cents + excluded.cents",
        account, cents);
  }
};
// [pg-tool-projection]

}  // namespace bank
