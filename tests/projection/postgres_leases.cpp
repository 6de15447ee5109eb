// One projection shared by several workers through segment leases in PostgreSQL: claims, fair
// shares, takeover of an expired lease, the fence refusing a taken-over worker's batch, bad rows.
#include <annal/postgres/leased_projector.hpp>
#include <annal/postgres/segment_leases.hpp>
#include <annal/projection/projector.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "common/eventually.hpp"
#include "projection/domain.hpp"
#include "projection/lease_ledger.hpp"
#include "sql/postgres_fixture.hpp"

using namespace std::chrono_literals;
using lease_ledger::ledger_sql;

using annal_test::eventually;

namespace {

void append_accounts(annal::postgres_store& store, int accounts, int deposits) {
  for (int a = 0; a < accounts; ++a)
    proj::append(store, "acc-" + std::to_string(a), bank::opened{"x"});
  for (int d = 1; d <= deposits; ++d)
    for (int a = 0; a < accounts; ++a)
      proj::append(store, "acc-" + std::to_string(a), bank::deposited{d});
}

std::int64_t scalar(annal::postgres_store& store, const std::string& sql) {
  return store.transact(
      [&](annal::postgres_transaction& tx) { return tx.exec(sql).get_int(0, 0); });
}

annal::postgres_leased_projector_options ledger_options(const std::string& schema, std::size_t k,
                                                        std::string owner,
                                                        std::chrono::milliseconds lease = 10s) {
  return {.name = "ledger",
          .schema = schema,
          .segments = k,
          .lease = {.owner = std::move(owner), .lease = lease, .renew_interval = lease / 4},
          .projector = {.batch_size = 16}};
}

}  // namespace

TEST_CASE("one leased worker claims every segment and projects what a plain projector does",
          "[projection][postgres][leases]") {
  annal_test::postgres_fixture f;
  const std::string schema = f.options().schema + "_ledger";
  append_accounts(f.store(), 10, 5);
  // [postgres_leased_projector]
  annal::postgres_leased_projector<ledger_sql> live{
      f.store(), {.name = "ledger", .schema = schema, .segments = 4, .lease = {.lease = 10s}}};
  std::jthread worker([&](std::stop_token stop) { live.run(stop); });  // in every process
  // [postgres_leased_projector]
  REQUIRE(eventually([&] { return live.checkpoint() == f.store().last_position(); }));
  CHECK(live.owned() == std::vector<std::size_t>{0, 1, 2, 3});
  worker.request_stop();
  worker.join();
  CHECK(live.owned().empty());  // a clean stop releases
  CHECK(scalar(f.store(), "SELECT count(*) FROM " + f.options().schema +
                              ".segment_leases WHERE owner IS NOT NULL") == 0);

  annal::postgres_read_model<ledger_sql> plain{
      f.store(), {.name = "plain", .schema = f.options().schema + "_plain"}};
  plain.migrate();
  annal::projector{f.store(), plain}.catch_up();
  const std::int64_t events = static_cast<std::int64_t>(f.store().last_position());
  CHECK(scalar(f.store(), "SELECT count(*) FROM " + schema + ".lines") == events);
  CHECK(lease_ledger::digest(f.store(), schema) ==
        lease_ledger::digest(f.store(), f.options().schema + "_plain"));
}

TEST_CASE("two leased workers split the segments fairly and the survivor takes all on a stop",
          "[projection][postgres][leases]") {
  annal_test::postgres_fixture f;
  const std::string schema = f.options().schema + "_ledger";
  append_accounts(f.store(), 12, 3);
  annal::postgres_leased_projector<ledger_sql> a{f.store(), ledger_options(schema, 4, "worker-a")};
  annal::postgres_leased_projector<ledger_sql> b{f.store(), ledger_options(schema, 4, "worker-b")};
  std::jthread run_a([&](std::stop_token stop) { a.run(stop); });
  REQUIRE(eventually([&] { return a.owned().size() == 4; }));
  std::jthread run_b([&](std::stop_token stop) { b.run(stop); });
  // a releases two between batches once b's heartbeat counts; b claims them.
  REQUIRE(eventually([&] { return a.owned().size() == 2 && b.owned().size() == 2; }));
  append_accounts(f.store(), 12, 2);
  REQUIRE(eventually([&] { return a.checkpoint() == f.store().last_position(); }));
  run_b.request_stop();
  run_b.join();
  REQUIRE(eventually([&] { return a.owned().size() == 4; }));
  append_accounts(f.store(), 3, 1);
  REQUIRE(eventually([&] { return a.checkpoint() == f.store().last_position(); }));
  run_a.request_stop();
  run_a.join();
  CHECK(scalar(f.store(), "SELECT count(*) FROM " + schema + ".lines") ==
        static_cast<std::int64_t>(f.store().last_position()));
}

TEST_CASE("a worker whose lease expired is taken over and its next batch is refused by the fence",
          "[projection][postgres][leases]") {
  annal_test::postgres_fixture f;
  const std::string schema = f.options().schema + "_ledger";
  append_accounts(f.store(), 8, 2);
  // The zombie claims every segment, projects, then stops renewing (as if paused).
  annal::postgres_leased_projector<ledger_sql> zombie{f.store(),
                                                      ledger_options(schema, 2, "zombie", 1s)};
  zombie.maintain();
  REQUIRE(zombie.owned() == std::vector<std::size_t>{0, 1});
  while (zombie.step(0) != 0) continue;
  while (zombie.step(1) != 0) continue;
  const std::int64_t before = zombie.leases().token(0).value();

  annal::postgres_leased_projector<ledger_sql> heir{f.store(),
                                                    ledger_options(schema, 2, "heir", 1s)};
  // Once the zombie's lease and heartbeat expire on the database's clock, the heir takes both.
  REQUIRE(eventually([&] {
    heir.maintain();
    return heir.owned().size() == 2;
  }));
  CHECK(heir.leases().token(0).value() == before + 1);

  append_accounts(f.store(), 8, 1);
  const std::uint64_t checkpoint = zombie.model(0).checkpoint();
  const std::string message = "lease of segment 0 of projection 'ledger' was taken over (token " +
                              std::to_string(before) + ", now " + std::to_string(before + 1) + ")";
  CHECK_THROWS_WITH(zombie.step(0), Catch::Contains(message));
  CHECK_FALSE(zombie.leases().owns(0));               // it stops working on segment 0 at once
  CHECK(zombie.model(0).checkpoint() == checkpoint);  // nothing of the batch was written
  CHECK(zombie.leases().owns(1));  // until its own renewal finds segment 1 lost too
  const annal::postgres_segment_changes changes = zombie.maintain();
  CHECK(changes.lost == std::vector<std::size_t>{1});
  CHECK(zombie.owned().empty());  // fair share: the heir holds one, and will give one back

  while (heir.step(0) != 0) continue;
  while (heir.step(1) != 0) continue;
  const std::int64_t events = static_cast<std::int64_t>(f.store().last_position());
  CHECK(scalar(f.store(), "SELECT count(*) FROM " + schema + ".lines") == events);
}

TEST_CASE("a fence that throws rolls the read model's batch back whole",
          "[projection][postgres][leases]") {
  annal_test::postgres_fixture f;
  annal::postgres_read_model<ledger_sql> model{
      f.store(), {.name = "fenced", .schema = f.options().schema + "_fenced"}};
  model.migrate();
  append_accounts(f.store(), 2, 1);
  bool applied = false;
  CHECK_THROWS_WITH(model.update(
                        [&](ledger_sql& p, std::uint64_t& checkpoint) {
                          p.sql().exec("INSERT INTO lines VALUES (1, 'acc-0', 1, 0)");
                          checkpoint = 1;
                          applied = true;
                        },
                        [](annal::postgres_transaction&) {
                          throw annal::error(annal::errc::store_locked, "fenced out");
                        }),
                    "fenced out");
  CHECK_FALSE(applied);  // the fence runs before the batch
  CHECK(model.checkpoint() == 0);
  model.update([&](ledger_sql&, std::uint64_t& checkpoint) { checkpoint = 1; },
               [](annal::postgres_transaction& tx) { tx.exec("SELECT 1"); });
  CHECK(model.checkpoint() == 1);
}

TEST_CASE("segment leases refuse another deployment's K and rows edited by hand",
          "[projection][postgres][leases]") {
  annal_test::postgres_fixture f;
  const std::string table = f.options().schema + ".segment_leases";
  annal::postgres_segment_leases first{f.store(), "ledger", 4, {.owner = "a"}};
  first.maintain();
  CHECK(first.owned().size() == 4);

  CHECK_THROWS_WITH((annal::postgres_segment_leases{f.store(), "ledger", 3}),
                    Catch::Contains("projection 'ledger' has segment leases for K=4") &&
                        Catch::Contains("started with K=3") &&
                        Catch::Contains("two deployments with different K"));
  // Another projection keeps its own rows and K.
  annal::postgres_segment_leases other{f.store(), "other", 3};
  CHECK(other.segments() == 3);

  const auto edited = [&](const std::string& edit, const std::string& undo,
                          const std::string& expected) {
    scalar(f.store(), "WITH e AS (" + edit + " RETURNING 1) SELECT count(*) FROM e");
    CHECK_THROWS_WITH(first.maintain(), Catch::Contains(expected));
    CHECK_THROWS_WITH((annal::postgres_segment_leases{f.store(), "ledger", 4}),
                      Catch::Contains(expected));
    scalar(f.store(), "WITH e AS (" + undo + " RETURNING 1) SELECT count(*) FROM e");
    first.maintain();  // accepted again, nothing repaired behind the operator's back
  };
  edited("UPDATE " + table + " SET segment = 7 WHERE projection = 'ledger' AND segment = 3",
         "UPDATE " + table + " SET segment = 3 WHERE projection = 'ledger' AND segment = 7",
         "segment lease row (projection 'ledger', segment 7) in \"" + f.options().schema +
             "\".segment_leases is outside segments 0..3");
  edited("UPDATE " + table + " SET segment = 9 WHERE projection = 'ledger' AND segment = 2",
         "UPDATE " + table + " SET segment = 2 WHERE projection = 'ledger' AND segment = 9",
         "is outside segments 0..3");
  edited("UPDATE " + table + " SET token = NULL WHERE projection = 'ledger' AND segment = 1",
         "UPDATE " + table + " SET token = 1 WHERE projection = 'ledger' AND segment = 1",
         "segment lease row (projection 'ledger', segment 1) in \"" + f.options().schema +
             "\".segment_leases holds a NULL");
  edited("UPDATE " + table + " SET token = -5 WHERE projection = 'ledger' AND segment = 0",
         "UPDATE " + table + " SET token = 1 WHERE projection = 'ledger' AND segment = 0",
         "segment 0) in \"" + f.options().schema + "\".segment_leases has a negative token (-5)");
  edited("DELETE FROM " + table + " WHERE projection = 'ledger' AND segment = 2",
         "INSERT INTO " + table + " VALUES ('ledger', 2, 4, NULL, now(), 1)",
         "projection 'ledger' has no segment lease row for segment 2 of K=4");
  edited("UPDATE " + table + " SET segments = NULL WHERE projection = 'ledger' AND segment = 0",
         "UPDATE " + table + " SET segments = 4 WHERE projection = 'ledger' AND segment = 0",
         "segment 0) in \"" + f.options().schema + "\".segment_leases holds a NULL");

  CHECK_THROWS_WITH(
      (annal::postgres_segment_leases{f.store(), "ledger", 4, {.lease = 1s, .renew_interval = 1s}}),
      Catch::Contains("renew_interval (1000 ms) must be positive and below lease"));
  CHECK_THROWS_WITH((annal::postgres_segment_leases{f.store(), "ledger", 0}),
                    Catch::Contains("projection 'ledger' needs 1 to 1000000 segments, not 0"));
}
