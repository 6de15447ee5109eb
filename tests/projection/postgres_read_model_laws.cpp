// The read model laws (read_model_laws.hpp) on postgres_read_model, against the test server.
#include <annal/postgres/read_model.hpp>

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "common/bank_domain.hpp"
#include "projection/read_model_laws.hpp"
#include "sql/postgres_fixture.hpp"

namespace {

// The projection the laws run: a total of deposits in a one-row table.
struct deposit_total_sql : annal::postgres_projection {
  using events = annal::events<bank::deposited>;
  void migrate(annal::postgres_transaction& tx) {
    tx.exec("CREATE TABLE IF NOT EXISTS total (one boolean PRIMARY KEY, cents bigint NOT NULL)");
    tx.exec("INSERT INTO total VALUES (true, 0) ON CONFLICT DO NOTHING");
  }
  void on(const bank::deposited& e) { sql().exec("UPDATE total SET cents = cents + $1", e.cents); }
};

struct postgres_subject {
  using store_type = annal::postgres_read_model<deposit_total_sql>;
  static constexpr bool persistent = true;
  static constexpr bool rolls_back_batch = true;      // one batch, one transaction
  static constexpr bool replace_swaps_model = false;  // replace sets the checkpoint; tables stay

  // A new store object and read model over the same schema: what survives is what the server holds.
  std::unique_ptr<store_type> open() {
    fixture.reopen();
    auto model = std::make_unique<store_type>(
        fixture.store(), annal::postgres_read_model_options{
                             .name = "total", .schema = fixture.options().schema + "_total"});
    model->migrate();
    return model;
  }
  static void add(deposit_total_sql& m, long cents) { m.on(bank::deposited{cents}); }
  static long total(const store_type& store) {
    return static_cast<long>(store.query([](annal::postgres_transaction& tx, std::uint64_t) {
      return tx.exec("SELECT cents FROM total").get_int(0, 0);
    }));
  }
  static deposit_total_sql with_total(long) { return {}; }

  annal_test::postgres_fixture fixture;
};

}  // namespace

TEST_CASE("a PostgreSQL read model obeys the read model laws",
          "[projection][read_model][laws][postgres]") {
  postgres_subject subject;
  test::check_read_model_laws(subject);
}
