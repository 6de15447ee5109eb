// A partitioned projector over PostgreSQL read models: K checkpoint rows beside one set of tables,
// each partition committing its rows and its checkpoint in one transaction.
#include <annal/postgres/read_model.hpp>
#include <annal/projection/partitioned_runner.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <deque>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/eventually.hpp"
#include "projection/domain.hpp"
#include "sql/postgres_fixture.hpp"

using namespace std::chrono_literals;

using annal_test::eventually;

namespace {

// One row per event keyed by position (an event applied twice fails on the key), and a balance per
// account. Throws on a deposit of 13 cents while armed, after its row is written.
std::atomic<bool> thirteen_fails{false};
struct ledger_sql : annal::postgres_projection {
  using events = annal::events<bank::opened, bank::deposited>;

  void migrate(annal::postgres_transaction& tx) {
    tx.exec(
        "CREATE TABLE IF NOT EXISTS lines (position bigint PRIMARY KEY, account text NOT NULL,"
        " version bigint NOT NULL, cents bigint NOT NULL)");
  }
  void on(const bank::opened&, const annal::envelope_header& h) { write(h, 0); }
  void on(const bank::deposited& e, const annal::envelope_header& h) {
    write(h, e.cents);
    if (e.cents == 13 && thirteen_fails.load()) throw std::runtime_error("thirteen is unlucky");
  }
  void write(const annal::envelope_header& h, long cents) {
    sql().exec("INSERT INTO lines VALUES ($1, $2, $3, $4)", h.position, h.stream_id,
               h.stream_version, cents);
  }
};

std::int64_t scalar(annal::postgres_read_model<ledger_sql>& model, const std::string& sql) {
  return model.query(
      [&](annal::postgres_transaction& tx, std::uint64_t) { return tx.exec(sql).get_int(0, 0); });
}

}  // namespace

TEST_CASE("a partitioned projector commits each partition's rows with its own checkpoint row",
          "[projection][postgres][partitioned_runner]") {
  annal_test::postgres_fixture f;
  const std::string schema = f.options().schema + "_ledger";
  constexpr std::size_t k = 3;
  std::deque<annal::postgres_read_model<ledger_sql>> models;
  std::vector<annal::postgres_read_model<ledger_sql>*> parts;
  for (std::size_t p = 0; p < k; ++p) {
    // Distinct names (one checkpoint row each), one schema (the same tables).
    models.emplace_back(f.store(), annal::postgres_read_model_options{
                                       .name = "ledger-" + std::to_string(p), .schema = schema});
    models.back().migrate();
    parts.push_back(&models.back());
  }
  for (int a = 0; a < 12; ++a)
    proj::append(f.store(), "acc-" + std::to_string(a), bank::opened{"x"});

  annal::partitioned_projector live{f.store(), parts, {.batch_size = 16}};
  {
    std::jthread running([&](std::stop_token stop) { live.run(stop); });
    std::jthread writer([&] {
      for (int d = 1; d <= 20; ++d)
        for (int a = 0; a < 12; ++a)
          proj::append(f.store(), "acc-" + std::to_string(a), bank::deposited{d});
    });
    writer.join();
    REQUIRE(eventually([&] { return live.checkpoint() == f.store().last_position(); }));
  }
  const std::uint64_t last = f.store().last_position();
  CHECK(last == 12 + 240);
  for (std::size_t p = 0; p < k; ++p)
    CHECK(f.store().load_checkpoint("ledger-" + std::to_string(p)) == last);
  CHECK(scalar(models[0], "SELECT count(*) FROM lines") == static_cast<std::int64_t>(last));
  // Each stream's rows came in order: versions 1..21 at increasing positions.
  CHECK(scalar(models[0],
               "SELECT count(*) FROM (SELECT account, version, row_number() OVER "
               "(PARTITION BY account ORDER BY position) AS n FROM lines) r WHERE n <> version") ==
        0);

  // A failing handler rolls back its partition's batch, rows and checkpoint together; the other
  // partitions stop, and a fixed run applies everything exactly once (the key would refuse twice).
  proj::append(f.store(), "acc-5", bank::deposited{13});
  for (int a = 0; a < 12; ++a)
    proj::append(f.store(), "acc-" + std::to_string(a), bank::deposited{1});
  thirteen_fails = true;
  CHECK_THROWS_WITH(live.catch_up(), Catch::Contains("acc-5") && Catch::Contains("thirteen"));
  const std::size_t bad = annal::partition_of("acc-5", k);
  CHECK(live.checkpoint(bad) == last);  // the whole batch of 13 events rolled back
  thirteen_fails = false;
  live.catch_up();
  CHECK(live.checkpoint() == last + 13);
  CHECK(scalar(models[0], "SELECT count(*) FROM lines") == static_cast<std::int64_t>(last + 13));
}

// Read models kept in the store they read hold a connection per batch while reading through
// another: a pool that cannot serve both would leave every worker waiting for ever. Refused.
TEST_CASE("read models in the store they read need a pool above the batches at once",
          "[projection][postgres][partitioned_runner]") {
  annal::postgres_options o =
      annal_test::fresh_postgres_options(annal::postgres_payload_format::bytea);
  o.pool_size = 3;
  annal::postgres_store store{o};
  store.migrate();
  const std::string schema = o.schema + "_ledger";
  std::deque<annal::postgres_read_model<ledger_sql>> models;
  std::vector<annal::postgres_read_model<ledger_sql>*> parts;
  for (std::size_t p = 0; p < 3; ++p) {
    models.emplace_back(store, annal::postgres_read_model_options{
                                   .name = "pool-" + std::to_string(p), .schema = schema});
    models.back().migrate();
    parts.push_back(&models.back());
  }
  CHECK_THROWS_WITH((annal::partitioned_projector{store, parts}),
                    Catch::Contains("partitioned_projector: 3 read models kept in the store they "
                                    "read need a connection pool of at least 4 (pool_size is 3)"));
  parts.pop_back();  // two partitions: three connections serve them
  annal::partitioned_projector two{store, parts};
  proj::append(store, "acc-1", bank::opened{"x"});
  two.catch_up();
  CHECK(two.checkpoint() == store.last_position());

  o = annal_test::fresh_postgres_options(annal::postgres_payload_format::bytea);
  o.pool_size = 1;
  annal::postgres_store single{o};
  single.migrate();
  annal::postgres_read_model<ledger_sql> one{
      single, annal::postgres_read_model_options{.name = "one", .schema = o.schema + "_ledger"}};
  one.migrate();
  CHECK_THROWS_WITH((annal::projector{single, one}),
                    Catch::Contains("projector: a read model kept in the store it reads needs a "
                                    "connection pool of at least 2 (pool_size is 1)"));
}
