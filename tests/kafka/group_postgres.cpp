// kafka_group_projector over PostgreSQL read models: a batch whose connection the server ended (a
// member left it idle past idle_timeout) is fetched again and applied once, not a failure.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include <annal/kafka/group_projector.hpp>
#include <annal/kafka/publisher.hpp>
#include <annal/postgres/read_model.hpp>

#include "common/eventually.hpp"
#include "kafka/mock_cluster.hpp"
#include "projection/domain.hpp"
#include "projection/lease_ledger.hpp"
#include "sql/postgres_fixture.hpp"

using namespace std::chrono_literals;

namespace {

// The ledger, whose first handled event stalls its batch for longer than the idle timeout, as a
// member paused in the middle of a batch would.
struct once_stalled_ledger : lease_ledger::ledger_sql {
  static inline std::atomic<int> stalls{0};
  void on(const bank::opened& e, const annal::envelope_header& h) {
    ledger_sql::on(e, h);
    stall();
  }
  void on(const bank::deposited& e, const annal::envelope_header& h) {
    ledger_sql::on(e, h);
    stall();
  }
  static void stall() {
    if (stalls.exchange(0) > 0) std::this_thread::sleep_for(1500ms);
  }
};

std::int64_t scalar(annal::postgres_store& store, const std::string& sql) {
  return store.transact(
      [&](annal::postgres_transaction& tx) { return tx.exec(sql).get_int(0, 0); });
}

}  // namespace

TEST_CASE("a group member's batch cut off by idle_timeout is fetched again and applied once",
          "[kafka][postgres]") {
  annal_test::postgres_fixture f;
  annal_test_kafka::mock_cluster cluster(1);
  cluster.create_topic("bank.events", 1, 1);
  annal::postgres_store& store = f.store();
  for (int a = 0; a < 4; ++a) {
    proj::append(store, "acc-" + std::to_string(a), bank::opened{"x"});
    for (int d = 1; d <= 4; ++d)
      proj::append(store, "acc-" + std::to_string(a), bank::deposited{d});
  }
  annal::memory_checkpoint published;
  annal::kafka_publisher publisher(
      store, published,
      {.topic = "bank.events", .properties = {{"bootstrap.servers", cluster.bootstrap_servers()}}});
  REQUIRE(publisher.publish_available() == 20);

  std::mutex logged_mutex;
  std::string logged;
  annal::set_log_handler([&](annal::log_level, std::string_view message) {
    const std::lock_guard lock(logged_mutex);
    logged.append(message).append("\n");
  });
  using model = annal::postgres_read_model<once_stalled_ledger>;
  const std::string schema = f.options().schema + "_ledger";
  const auto options_of = [&](std::int32_t p) {
    return annal::postgres_read_model_options{
        .name = "ledger/" + std::to_string(p), .schema = schema, .idle_timeout = 300ms};
  };
  model{store, options_of(0)}.migrate();
  std::map<std::int32_t, model> models;
  annal::kafka_group_projector<model> member(
      {.topic = "bank.events",
       .group_id = "ledger",
       .properties = {{"bootstrap.servers", cluster.bootstrap_servers()}}},
      [&](std::int32_t p) -> model& {
        return models.try_emplace(p, store, options_of(p)).first->second;
      });
  once_stalled_ledger::stalls = 1;
  std::size_t applied = 0;
  REQUIRE(annal_test::eventually([&] {
    applied += member.poll();  // never throws: the lost batch is fetched again
    return scalar(store, "SELECT position FROM " + f.options().schema +
                             ".checkpoints WHERE name = 'ledger/0'") == 20;
  }));
  annal::set_log_handler(nullptr);
  CHECK(once_stalled_ledger::stalls == 0);  // the stall happened
  CHECK_THAT(logged, Catch::Contains("connection was lost"));
  CHECK(applied == 20);  // the cut-off batch counted nothing
  CHECK(scalar(store, "SELECT count(*) FROM " + schema + ".lines") == 20);
  CHECK(member.duplicates_skipped() == 0);
}
