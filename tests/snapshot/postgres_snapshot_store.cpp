// Tests for snapshot/postgres_snapshot_store.hpp: the snapshot store laws, a repository over the
// PostgreSQL event store with its snapshots beside the events, stale and corrupt rows, bad input.
#include <annal/postgres/snapshot_store.hpp>
#include <annal/snapshot/snapshotter.hpp>
#include <annal/store/repository.hpp>

#include <catch2/catch.hpp>

#include <string>

#include "common/invalid_option.hpp"
#include "snapshot/laws.hpp"
#include "snapshot/ledger.hpp"
#include "snapshot/scenarios.hpp"
#include "snapshot/temp_dir.hpp"
#include "sql/postgres_fixture.hpp"

namespace {

using test::open_and_deposit;

void exec(annal::postgres_store& store, const std::string& sql) {
  store.transact([&](annal::postgres_transaction& tx) { tx.exec(sql); });
}

}  // namespace

TEST_CASE("PostgreSQL snapshot store obeys the snapshot store laws",
          "[snapshot][store][postgres]") {
  annal_test::postgres_fixture f;
  annal::postgres_snapshot_store store{f.store()};
  store.migrate();
  store.migrate();  // idempotent
  test::check_snapshot_store_laws(store);

  annal_test::postgres_fixture g;
  annal::postgres_snapshot_store small{g.store(), {3}};
  small.migrate();
  test::check_retention(small);
}

TEST_CASE("PostgreSQL snapshot store keeps any bytes and exact times",
          "[snapshot][store][postgres]") {
  annal_test::postgres_fixture f;
  annal::postgres_snapshot_store store{f.store()};
  store.migrate();
  auto r = test::record("bytes", 3, ~std::uint64_t{0}, 0xffffffffu);
  r.state = std::string("\0\x01\xff\x80 zero and high bytes\0", 24);
  r.event_time = annal::time_point{std::chrono::nanoseconds{1'700'000'000'123'456'789}};
  store.save(r);
  const auto loaded = store.load(test::account_name, "bytes", {});
  REQUIRE(loaded.has_value());
  CHECK(loaded->state == r.state);
  CHECK(loaded->event_time == r.event_time);
  CHECK(loaded->fingerprint == r.fingerprint);
  CHECK(loaded->revision == r.revision);
  // A time bound one nanosecond before the snapshot excludes it.
  CHECK_FALSE(
      store.load(test::account_name, "bytes", {10, r.event_time - std::chrono::nanoseconds{1}})
          .has_value());
}

TEST_CASE("PostgreSQL snapshot store on its own connection string", "[snapshot][store][postgres]") {
  annal::postgres_options options = annal_test::fresh_postgres_options();
  annal::postgres_snapshot_store store{options};
  store.migrate();  // creates the schema too: no event store ever migrated it
  store.save(test::record("alone", 4));
  CHECK(store.load(test::account_name, "alone", {})->version == 4);
  annal::postgres_snapshot_store again{options};
  CHECK(again.load(test::account_name, "alone", {})->state == "bank.account state@4");
}

TEST_CASE("PostgreSQL snapshot store rejects bad input naming the stream",
          "[snapshot][store][postgres][bad-input]") {
  annal_test::postgres_fixture f;
  annal::postgres_snapshot_store store{f.store()};
  CHECK_THROWS_WITH(store.load(test::account_name, "s-1", {}),
                    Catch::Contains("s-1") && Catch::Contains("snapshots") &&
                        Catch::Contains("migrate()"));  // not migrated yet
  store.migrate();
  CHECK_THROWS_WITH(store.save(test::record("zero-version", 0)),
                    Catch::Contains("zero-version") && Catch::Contains("version 0"));
  CHECK_THROWS_AS(store.save(test::record("", 1)), annal::error);
  CHECK_THROWS_AS(store.load(test::account_name, std::string("nul\0id", 6), {}), annal::error);
}

TEST_CASE("a repository on PostgreSQL snapshots survives a reopen",
          "[snapshot][repository][postgres]") {
  annal_test::postgres_fixture f;
  {
    // [postgres-snapshots]
    annal::postgres_snapshot_store snapshots{f.store()};  // beside the events, in their schema
    snapshots.migrate();
    annal::snapshotter snap{snapshots, annal::snapshot_every{5}};
    auto accounts = annal::make_repository<ledger::account>(f.store(), snap);
    // [postgres-snapshots]
    open_and_deposit(accounts, "acc-1", 11);
  }
  f.reopen();
  annal::postgres_snapshot_store snapshots{f.store()};
  annal::snapshotter snap{snapshots, annal::snapshot_never{}};
  auto repo = annal::make_repository<ledger::account>(f.store(), snap);
  const auto loaded = repo.load("acc-1");
  CHECK(loaded.snapshot_version == 10);
  CHECK(loaded.events_replayed == 2);
  CHECK(loaded.state.balance == 66);
  CHECK(repo.load("acc-1", annal::at_version{7}).snapshot_version == 5);
}

TEST_CASE("a PostgreSQL snapshot of another fingerprint is ignored and rebuilt",
          "[snapshot][repository][postgres]") {
  annal_test::postgres_fixture f;
  annal::postgres_snapshot_store snapshots{f.store()};
  snapshots.migrate();
  annal::snapshotter snap{snapshots, annal::snapshot_never{}};
  auto repo = annal::make_repository<ledger::account>(f.store(), snap);
  open_and_deposit(repo, "acc-1", 9);
  test::check_stale_fingerprint_is_rebuilt(repo, snapshots);
  CHECK(snapshots.list("ledger.account", "acc-1").size() == 1);  // the stale one is gone
}

TEST_CASE("PostgreSQL snapshot store: two aggregates on one stream keep their own snapshots",
          "[snapshot][repository][postgres][identity]") {
  annal_test::postgres_fixture f;
  annal::postgres_snapshot_store snapshots{f.store()};
  snapshots.migrate();
  test::check_two_aggregates_keep_their_own_snapshots(f.store(), snapshots);
}

TEST_CASE("PostgreSQL snapshot store upgrades a table from before aggregate names",
          "[snapshot][store][postgres][identity][migrate]") {
  annal_test::postgres_fixture f;
  const std::string schema = annal::detail::pg::quote_ident(f.options().schema);
  // The table as annal created it before snapshots named their aggregate, with one row.
  exec(f.store(), "CREATE SCHEMA IF NOT EXISTS " + schema);
  exec(f.store(),
       "CREATE TABLE " + schema +
           ".snapshots (stream_id text NOT NULL, version bigint NOT NULL CHECK (version > 0),"
           " event_time_ns bigint NOT NULL, fingerprint bigint NOT NULL,"
           " revision bigint NOT NULL, state bytea NOT NULL,"
           " taken_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (stream_id, version))");
  exec(f.store(),
       "INSERT INTO " + schema + ".snapshots VALUES ('acc-1', 10, 0, 7, 0, '\\x00', now())");

  annal::postgres_snapshot_store store{f.store()};
  CHECK_THROWS_WITH(store.load(test::account_name, "acc-1", {}),
                    Catch::Contains("predates aggregate names") && Catch::Contains("migrate()"));
  test::captured_log log;
  store.migrate();
  REQUIRE(log.infos().size() == 1);
  CHECK_THAT(log.infos()[0], Catch::Contains("dropped 1 snapshots"));
  CHECK_FALSE(store.load(test::account_name, "acc-1", {}).has_value());
  store.migrate();  // upgraded once
  CHECK(log.infos().size() == 1);
  test::check_snapshot_store_laws(store);
}

TEST_CASE("corrupt PostgreSQL snapshot rows are ignored with a warning",
          "[snapshot][repository][postgres][corrupt]") {
  annal_test::postgres_fixture f;
  annal::postgres_snapshot_store snapshots{f.store()};
  snapshots.migrate();
  annal::snapshotter snap{snapshots, annal::snapshot_every{4}};
  auto repo = annal::make_repository<ledger::account>(f.store(), snap);
  open_and_deposit(repo, "acc-1", 7);  // snapshots at 4 and 8
  REQUIRE(repo.load("acc-1").snapshot_version == 8);
  const std::string table = annal::detail::pg::quote_ident(f.options().schema) + ".snapshots";

  SECTION("state bytes that do not decode: the snapshotter warns and replays") {
    exec(f.store(), "UPDATE " + table + " SET state = '\\x01'::bytea WHERE version = 8");
    test::captured_log log;
    const auto loaded = repo.load("acc-1");
    CHECK(loaded.snapshot_version == 0);
    CHECK(loaded.events_replayed == 8);
    CHECK(loaded.state.balance == 28);
    REQUIRE(log.warnings().size() == 1);
    CHECK_THAT(log.warnings()[0], Catch::Contains("corrupt snapshot") && Catch::Contains("acc-1"));
    CHECK(repo.load("acc-1").snapshot_version == 8);  // saved again at once
  }
  SECTION("a row no snapshot could be: the store warns and uses the older one") {
    exec(f.store(), "UPDATE " + table + " SET revision = -1 WHERE version = 8");
    test::captured_log log;
    const auto loaded = repo.load("acc-1");
    CHECK(loaded.snapshot_version == 4);
    CHECK(loaded.state.balance == 28);
    REQUIRE_FALSE(log.warnings().empty());
    CHECK_THAT(log.warnings()[0], Catch::Contains("corrupt snapshot row") &&
                                      Catch::Contains("acc-1") && Catch::Contains("revision -1"));
  }
}

TEST_CASE("PostgreSQL snapshot store refuses to keep zero snapshots, naming the option",
          "[snapshot][store][postgres][options]") {
  annal_test::postgres_fixture f;
  CHECK_THROWS_MATCHES(annal::postgres_snapshot_store(f.store(), {0}), annal::error,
                       annal_test::names_invalid_option("snapshot_retention::keep", "0"));
  CHECK_THROWS_MATCHES(annal::postgres_snapshot_store(f.options(), {0}), annal::error,
                       annal_test::names_invalid_option("snapshot_retention::keep", "0"));
}
