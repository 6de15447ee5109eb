// docs/kafka.md's consumer-group section, compiled and run: two members of one group share a
// PostgreSQL projection of a published store, each partition's offset kept in its read model.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <stop_token>
#include <string>
#include <thread>

#include <annal/kafka/group_projector.hpp>
#include <annal/kafka/publisher.hpp>
#include <annal/postgres/read_model.hpp>
#include <annal/projection/projector.hpp>

#include "common/eventually.hpp"
#include "kafka/mock_cluster.hpp"
#include "projection/domain.hpp"
#include "projection/lease_ledger.hpp"
#include "sql/postgres_fixture.hpp"

using namespace std::chrono_literals;
using lease_ledger::ledger_sql;

using annal_test::eventually;

namespace {

// -1 until the query's tables exist (the first member to get a partition creates them).
std::int64_t scalar(annal::postgres_store& store, const std::string& sql) {
  try {
    return store.transact(
        [&](annal::postgres_transaction& tx) { return tx.exec(sql).get_int(0, 0); });
  } catch (const annal::error&) {
    return -1;
  }
}

}  // namespace

TEST_CASE("docs/kafka.md: a consumer group shares a PostgreSQL projection",
          "[docs][kafka][postgres]") {
  annal_test::postgres_fixture f;
  annal_test_kafka::mock_cluster cluster(3);
  cluster.create_topic("bank.events", 4);
  const std::string brokers = cluster.bootstrap_servers();  // e.g. "kafka1:9092,kafka2:9092"
  annal::postgres_store& store = f.store();
  for (int a = 0; a < 12; ++a) {
    proj::append(store, "acc-" + std::to_string(a), bank::opened{"x"});
    for (int d = 1; d <= 5; ++d)
      proj::append(store, "acc-" + std::to_string(a), bank::deposited{d});
  }
  annal::memory_checkpoint published;
  annal::kafka_publisher publisher(
      store, published, {.topic = "bank.events", .properties = {{"bootstrap.servers", brokers}}});
  REQUIRE(publisher.publish_available() == 72);
  const std::string schema = f.options().schema + "_ledger";

  // [group]
  using model = annal::postgres_read_model<ledger_sql>;
  auto options_of = [&](std::int32_t partition) {
    return annal::postgres_read_model_options{
        .name = "ledger/" + std::to_string(partition),  // one checkpoint row each: the offset
        .schema = schema,                               // one set of tables
        .idle_timeout = 45s};  // a member paused mid-batch gives the partition's row up
  };
  model{store, options_of(0)}.migrate();  // the tables, once, before joining the group
  std::map<std::int32_t, model> models;   // one per partition this member is given
  annal::kafka_group_projector live(
      {.topic = "bank.events",
       .group_id = "ledger",  // the same in every process of the deployment
       .properties = {{"bootstrap.servers", brokers}}},
      [&](std::int32_t partition) -> model& {
        return models.try_emplace(partition, store, options_of(partition)).first->second;
      });
  std::jthread worker([&](std::stop_token stop) { live.run(stop); });
  // [group]

  // A second member of the group, as another process would run it.
  std::map<std::int32_t, model> other_models;
  annal::kafka_group_projector<model> other(
      {.topic = "bank.events",
       .group_id = "ledger",
       .properties = {{"bootstrap.servers", brokers},
                      {"session.timeout.ms", "6000"},
                      {"heartbeat.interval.ms", "500"}}},
      [&](std::int32_t partition) -> model& {
        return other_models.try_emplace(partition, store, options_of(partition)).first->second;
      });
  std::jthread other_worker([&](std::stop_token stop) { other.run(stop); });

  // Every partition applied to its end offset (the checkpoints add up to the 72 messages), once.
  REQUIRE(eventually([&] {
    return scalar(store, "SELECT coalesce(sum(position), 0) FROM " + f.options().schema +
                             ".checkpoints WHERE name LIKE 'ledger/%'") == 72;
  }));
  CHECK(scalar(store, "SELECT count(*) FROM " + schema + ".lines") == 72);
  REQUIRE(eventually([&] { return live.assigned().size() + other.assigned().size() == 4; }));
  std::set<std::int32_t> all;
  for (const auto* member : {&live, &other})
    for (std::int32_t p : member->assigned()) CHECK(all.insert(p).second);  // no partition twice
  CHECK(all == std::set<std::int32_t>{0, 1, 2, 3});
  worker.request_stop();
  other_worker.request_stop();

  annal::postgres_read_model<ledger_sql> plain{store, {.name = "plain", .schema = schema + "_p"}};
  plain.migrate();
  annal::projector{store, plain}.catch_up();
  CHECK(lease_ledger::digest(store, schema) == lease_ledger::digest(store, schema + "_p"));
}
