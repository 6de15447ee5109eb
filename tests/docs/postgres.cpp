// docs/postgres.md, compiled and run against a throwaway server (tests/common/postgres_server.hpp):
// connecting, appending with an expectation, reading, waiting, and a projection's rows and
// checkpoint in one transaction.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <boost/hana/define_struct.hpp>

#include <annal/codec/json.hpp>
#include <annal/postgres/store.hpp>

#include "common/postgres_server.hpp"

namespace {

struct deposit_payload {
  BOOST_HANA_DEFINE_STRUCT(deposit_payload, (std::int64_t, cents));
};

std::int64_t amount(const annal::recorded_event& e) {
  return annal::json_codec::decode<deposit_payload>(e.payload).cents;
}

struct example_result {
  annal::append_result appended;
  std::vector<std::uint64_t> read;
  bool woken = false;
};

example_result orders_example(const std::string& conninfo,
                              std::span<const annal::event_data> events, std::uint64_t from,
                              std::uint64_t last_seen) {
  example_result out;
  auto handle = [&](const annal::recorded_event& e) { out.read.push_back(e.position); };
  // [postgres]
  annal::postgres_options options;
  options.connection = conninfo;  // e.g. "host=db.internal dbname=orders user=orders password=..."
  options.schema = "annal";       // one schema per store
  options.payload_format = annal::postgres_payload_format::jsonb;  // default; json or bytea also
  annal::postgres_store store(options);  // connects (connection_error if not)
  store.migrate();                       // explicit, idempotent

  auto r = store.append("order-17", annal::expected_version::exact(3), events);
  if (r.status == annal::append_status::conflict) {
    // r.stream_version is the actual version
  }

  store.read_all(from, [&](const annal::recorded_event& e) { handle(e); });
  // Sleeps on LISTEN/NOTIFY until an event after last_seen is readable, or 30 s pass.
  store.wait_for_append(last_seen, annal::clock::now() + std::chrono::seconds(30));

  // A projection: its rows and its checkpoint in one transaction.
  store.transact([&](annal::postgres_transaction& tx) {
    const auto from = tx.load_checkpoint("balances") + 1;  // row-locked until commit
    std::uint64_t last = 0;
    store.read_all(from, [&](const annal::recorded_event& e) {
      tx.exec("UPDATE balances SET amount = amount + $1 WHERE account = $2", amount(e),
              e.stream_id);
      last = e.position;
    });
    if (last) tx.save_checkpoint("balances", last);
  });
  // [postgres]
  out.appended = r;
  out.woken = store.wait_for_append(last_seen, annal::clock::now());
  return out;
}

std::vector<annal::event_data> deposits(std::vector<std::int64_t> cents) {
  std::vector<annal::event_data> batch;
  for (const auto c : cents) {
    annal::event_data e;
    e.id = annal::new_event_id();
    e.type = "order.paid";
    e.payload = annal::json_codec::encode(deposit_payload{c});
    batch.push_back(std::move(e));
  }
  return batch;
}

}  // namespace

TEST_CASE("docs/postgres.md: append, read, wait, and a projection in one transaction",
          "[docs][postgres]") {
  annal_test::postgres_server server;
  const std::string conninfo = server.conninfo();
  {  // order-17 is at version 3, and the projection's table exists
    annal::postgres_options options;
    options.connection = conninfo;
    annal::postgres_store store(options);
    store.migrate();
    REQUIRE(
        store.append("order-17", annal::expected_version::no_stream(), deposits({1, 2, 3})).ok());
    store.transact([](annal::postgres_transaction& tx) {
      tx.exec("CREATE TABLE balances (account text PRIMARY KEY, amount bigint NOT NULL)");
      tx.exec("INSERT INTO balances VALUES ($1, 0)", std::string("order-17"));
    });
  }

  const auto result = orders_example(conninfo, deposits({10, 20}), 1, 0);
  CHECK(result.appended.status == annal::append_status::appended);
  CHECK(result.appended.stream_version == 5);
  CHECK(result.read == std::vector<std::uint64_t>{1, 2, 3, 4, 5});
  CHECK(result.woken);

  annal::postgres_options options;
  options.connection = conninfo;
  annal::postgres_store store(options);
  CHECK(store.load_checkpoint("balances") == 5);
  const auto balance = store.transact([](annal::postgres_transaction& tx) {
    return tx.exec("SELECT amount FROM balances WHERE account = $1", std::string("order-17"))
        .get_int(0, 0);
  });
  CHECK(balance == 1 + 2 + 3 + 10 + 20);

  // Run again with the same expectation: a conflict, a value, naming the actual version; the
  // projection has nothing new and keeps its checkpoint.
  // (last_seen 4: the page's wait returns at once instead of waiting out its 30 seconds.)
  const auto again = orders_example(conninfo, deposits({7}), 6, 4);
  CHECK(again.appended.status == annal::append_status::conflict);
  CHECK(again.appended.stream_version == 5);
  CHECK(again.read.empty());
  CHECK(again.woken);
  CHECK(store.load_checkpoint("balances") == 5);
}
