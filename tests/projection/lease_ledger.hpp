// The projection the lease tests share with their worker program: a row per event keyed by its
// position, so an event applied twice is refused by the primary key, and a digest of those rows.
#pragma once

#include <string>

#include <annal/postgres/read_model.hpp>

#include "common/bank_domain.hpp"

namespace lease_ledger {

struct ledger_sql : annal::postgres_projection {
  using events = annal::events<bank::opened, bank::deposited>;

  void migrate(annal::postgres_transaction& tx) {
    tx.exec(
        "CREATE TABLE IF NOT EXISTS lines (position bigint PRIMARY KEY, account text NOT NULL,"
        " version bigint NOT NULL, cents bigint NOT NULL)");
  }
  void on(const bank::opened&, const annal::envelope_header& h) { write(h, 0); }
  void on(const bank::deposited& e, const annal::envelope_header& h) { write(h, e.cents); }
  void write(const annal::envelope_header& h, long cents) {
    sql().exec("INSERT INTO lines VALUES ($1, $2, $3, $4)", h.position, h.stream_id,
               h.stream_version, cents);
  }
};

// The md5 of every row of `schema`.lines in position order: equal digests, equal read models.
inline std::string digest(annal::postgres_store& store, const std::string& schema) {
  return store.transact([&](annal::postgres_transaction& tx) {
    return std::string(
        tx.exec("SELECT md5(coalesce(string_agg(position || ':' || account || ':' || version || "
                "':' || cents, ',' ORDER BY position), '')) FROM " +
                annal::detail::pg::quote_ident(schema) + ".lines")
            .get(0, 0));
  });
}

}  // namespace lease_ledger
