// Worker processes share one projection as a Kafka consumer group while 64 writers append: one
// killed during catch-up, one during live processing, one paused past its session (a zombie) and
// woken; each partition's offset lives in its PostgreSQL read model, and every event takes effect
// once: the ledger ends equal to a single process's projection of the store.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <annal/kafka/group_projector.hpp>
#include <annal/kafka/publisher.hpp>
#include <annal/projection/projector.hpp>
#include <annal/store/checkpoint.hpp>

#include "common/child_process.hpp"
#include "common/eventually.hpp"
#include "kafka/mock_cluster.hpp"
#include "projection/domain.hpp"
#include "projection/lease_ledger.hpp"
#include "sql/postgres_fixture.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using ledger_model = annal::postgres_read_model<lease_ledger::ledger_sql>;

template <class F>
bool eventually(F&& done, std::chrono::milliseconds limit = 180s) {
  return annal_test::eventually(std::forward<F>(done), limit);
}

// One group_worker process, and what its output says.
class worker_process : public annal_test::child_process {
 public:
  worker_process(const std::vector<std::string>& args, fs::path output)
      : child_process(ANNAL_GROUP_WORKER_PATH, args, std::move(output)) {}

  // The partitions the worker's last rebalance lines say it holds.
  std::set<std::int32_t> held() const {
    std::set<std::int32_t> out;
    std::istringstream lines(output());
    for (std::string line; std::getline(lines, line);) {
      std::istringstream words(line);
      std::string what;
      words >> what;
      if (what != "assigned" && what != "revoked") continue;
      for (std::int32_t p = 0; words >> p;)
        if (what == "assigned")
          out.insert(p);
        else
          out.erase(p);
    }
    return out;
  }
  std::size_t lines_starting(const std::string& word) const {
    std::size_t n = 0;
    std::istringstream lines(output());
    for (std::string line; std::getline(lines, line);)
      if (line.rfind(word, 0) == 0) ++n;
    return n;
  }
  // The count the worker printed at a clean exit.
  std::uint64_t duplicates_skipped() const {
    const std::string out = output();
    const auto at = out.find("duplicates_skipped ");
    return at == std::string::npos ? 0 : std::stoull(out.substr(at + 19));
  }
};

// The topic's end offsets, asked of the cluster each call.
class watermarks {
 public:
  watermarks(const std::string& bootstrap, std::string topic) : topic_(std::move(topic)) {
    annal::detail::kafka::conf_ptr conf(rd_kafka_conf_new());
    char why[512] = "";
    rd_kafka_conf_set(conf.get(), "bootstrap.servers", bootstrap.c_str(), why, sizeof why);
    handle_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.release(), why, sizeof why));
    if (!handle_) throw std::runtime_error(std::string("watermark client: ") + why);
  }
  std::int64_t end_of(std::int32_t partition) const {
    std::int64_t low = 0, high = 0;
    if (const auto err = rd_kafka_query_watermark_offsets(handle_.get(), topic_.c_str(), partition,
                                                          &low, &high, 10000))
      throw std::runtime_error(std::string("watermarks: ") + rd_kafka_err2str(err));
    return high;
  }

 private:
  std::string topic_;
  annal::detail::kafka::handle_ptr handle_;
};

std::int64_t scalar(annal::postgres_store& store, const std::string& sql) {
  return store.transact(
      [&](annal::postgres_transaction& tx) { return tx.exec(sql).get_int(0, 0); });
}

std::string ledger_name(std::int32_t p) {
  return "ledger/" + std::to_string(p);
}

}  // namespace

TEST_CASE("a member whose fetched batch another member already applied skips it in the read model",
          "[kafka][group][postgres]") {
  annal_test::postgres_fixture f;
  annal::postgres_store& store = f.store();
  const std::string schema = f.options().schema + "_ledger";
  annal_test_kafka::mock_cluster cluster(1);
  constexpr int partitions = 3;
  cluster.create_topic("zombie", partitions, 1);
  annal::memory_checkpoint published;
  annal::kafka_publisher publisher(
      store, published,
      {.topic = "zombie", .properties = {{"bootstrap.servers", cluster.bootstrap_servers()}}});
  const auto append = [&](int from, int to) {
    for (int a = from; a < to; ++a) {
      proj::append(store, "acct-" + std::to_string(a), bank::opened{"x"});
      proj::append(store, "acct-" + std::to_string(a), bank::deposited{a});
    }
    publisher.publish_available();
  };

  // Two members' read models over the same rows and checkpoints, as two processes would have.
  using models = std::map<std::int32_t, std::unique_ptr<ledger_model>>;
  const auto model_of = [&](models& m) {
    return [&](std::int32_t p) -> ledger_model& {
      auto& model = m[p];
      if (!model) {
        model = std::make_unique<ledger_model>(
            store, annal::postgres_read_model_options{.name = ledger_name(p), .schema = schema});
        model->migrate();
      }
      return *model;
    };
  };
  models late_models, ahead_models;
  // Two groups, so each member holds every partition: the late one is assigned while the topic is
  // empty and keeps offset 0 as its fetch position, like a member paused before it applied a batch.
  const auto options = [&](const std::string& group) {
    return annal::kafka_group_options{
        .topic = "zombie",
        .group_id = group,
        .properties = {{"bootstrap.servers", cluster.bootstrap_servers()}}};
  };
  annal::kafka_group_projector<ledger_model> late(options("late"), model_of(late_models));
  annal::kafka_group_projector<ledger_model> ahead(options("ahead"), model_of(ahead_models));
  REQUIRE(eventually([&] {
    late.poll();
    return late.assigned().size() == partitions;
  }));
  REQUIRE(eventually([&] {
    ahead.poll();
    return ahead.assigned().size() == partitions;
  }));

  const auto checkpoints = [&] {
    std::uint64_t sum = 0;
    for (std::int32_t p = 0; p < partitions; ++p) sum += store.load_checkpoint(ledger_name(p));
    return sum;
  };
  const auto rows = [&] { return scalar(store, "SELECT count(*) FROM " + schema + ".lines"); };
  append(0, 20);  // 40 events
  REQUIRE(eventually([&] {
    ahead.poll();
    return checkpoints() == 40;
  }));
  CHECK(rows() == 40);
  append(20, 30);  // 20 more, which nobody applied yet
  // The late member fetches from offset 0: what the other applied is skipped inside its update (an
  // insert would break the ledger's primary key), the rest applied.
  REQUIRE(eventually([&] {
    late.poll();
    return checkpoints() == 60;
  }));
  CHECK(late.duplicates_skipped() > 0);
  CHECK(late.duplicates_skipped() <= 40);
  CHECK(ahead.duplicates_skipped() == 0);
  CHECK(rows() == 60);
  // In turn the other member fetches what the late one applied, now below the stored offsets.
  REQUIRE(eventually([&] {
    ahead.poll();
    return ahead.duplicates_skipped() > 0;
  }));
  CHECK(ahead.duplicates_skipped() <= 20);
  CHECK(rows() == 60);

  ledger_model single{store, {.name = "single", .schema = f.options().schema + "_single"}};
  single.migrate();
  annal::projector{store, single}.catch_up();
  CHECK(lease_ledger::digest(store, schema) ==
        lease_ledger::digest(store, f.options().schema + "_single"));
}

TEST_CASE("worker processes share a projection through a consumer group: killed, paused, woken",
          "[kafka][group][postgres][processes]") {
  annal_test::postgres_fixture f;
  annal::postgres_store& store = f.store();
  const std::string schema = f.options().schema + "_ledger";  // the workers' ledger
  constexpr std::int32_t partitions = 6;
  annal_test_kafka::mock_cluster cluster(3);
  cluster.create_topic("bank", partitions);
  const watermarks ends(cluster.bootstrap_servers(), "bank");
  std::string dir_pattern = (fs::temp_directory_path() / "annal-group-XXXXXX").string();
  REQUIRE(::mkdtemp(dir_pattern.data()) != nullptr);
  const fs::path dir = dir_pattern;

  const auto rows = [&] { return scalar(store, "SELECT count(*) FROM " + schema + ".lines"); };
  const auto checkpoint_of = [&](std::int32_t p) {
    return static_cast<std::int64_t>(store.load_checkpoint(ledger_name(p)));
  };
  const auto published = [&] {
    std::int64_t sum = 0;
    for (std::int32_t p = 0; p < partitions; ++p) sum += ends.end_of(p);
    return sum;
  };
  const auto caught_up = [&] {
    for (std::int32_t p = 0; p < partitions; ++p)
      if (checkpoint_of(p) != ends.end_of(p)) return false;
    return true;
  };
  const auto held_by = [](std::initializer_list<const worker_process*> workers) {
    std::set<std::int32_t> all;
    for (const worker_process* w : workers) all.merge(w->held());
    return all;
  };

  // The backlog, published before any worker starts: 16 writers, 8 accounts each.
  {
    std::vector<std::jthread> threads;
    for (int w = 0; w < 16; ++w)
      threads.emplace_back([&, w] {
        for (int a = 0; a < 8; ++a)
          proj::append(store, "early-" + std::to_string(w) + "-" + std::to_string(a),
                       bank::opened{"x"});
        for (int d = 1; d <= 20; ++d)
          for (int a = 0; a < 8; ++a)
            proj::append(store, "early-" + std::to_string(w) + "-" + std::to_string(a),
                         bank::deposited{d});
      });
  }
  annal::memory_checkpoint publisher_checkpoint;
  annal::kafka_publisher publisher(
      store, publisher_checkpoint,
      {.topic = "bank", .properties = {{"bootstrap.servers", cluster.bootstrap_servers()}}});
  const std::uint64_t backlog = publisher.publish_available();
  REQUIRE(backlog == store.last_position());
  std::exception_ptr publisher_failure;
  std::jthread publishing([&](std::stop_token stop) {
    try {
      publisher.run(stop);
    } catch (...) {
      publisher_failure = std::current_exception();
    }
  });

  const auto start = [&](const std::string& name) {
    return std::make_unique<worker_process>(
        std::vector<std::string>{cluster.bootstrap_servers(), f.options().connection,
                                 f.options().schema, "ledger", "bank"},
        dir / (name + ".out"));
  };
  auto w0 = start("w0");
  auto w1 = start("w1");
  auto w2 = start("w2");
  // w0 dies as soon as Kafka gives it partitions: during its catch-up of the backlog.
  REQUIRE(eventually([&] { return !w0->held().empty(); }));
  const int killed_catching_up = w0->kill();
  CHECK((WIFSIGNALED(killed_catching_up) && WTERMSIG(killed_catching_up) == SIGKILL));
  INFO("rows when w0 was killed: " << rows() << " of a backlog of " << backlog);

  // Live writers, appending until told to stop; w3 joins, and dies while they append. They are
  // paced because the mock broker keeps only the last 5 MB of each partition: a partition left
  // without a member through session timeouts must not lose its unread events (the projector
  // would rightly stop at a deleted offset).
  std::vector<std::jthread> writers;
  for (int w = 0; w < 64; ++w)  // the 64 writers
    writers.emplace_back([&, w](std::stop_token stop) {
      const std::string account = "live-" + std::to_string(w);
      proj::append(store, account, bank::opened{"x"});
      for (int d = 1; d <= 10 || !stop.stop_requested(); ++d) {
        proj::append(store, account, bank::deposited{d});
        std::this_thread::sleep_for(250ms);
      }
    });
  auto w3 = start("w3");
  REQUIRE(eventually([&] { return !w3->held().empty(); }));
  const std::int64_t rows_w3_joined = rows();
  REQUIRE(eventually([&] { return rows() > rows_w3_joined + 200; }));  // live processing
  const int killed_live = w3->kill();
  CHECK((WIFSIGNALED(killed_live) && WTERMSIG(killed_live) == SIGKILL));

  // The dead members' sessions end and the survivors hold every partition between them.
  REQUIRE(eventually([&] {
    const auto held = held_by({w1.get(), w2.get()});
    return held.size() == partitions && !w1->held().empty() && !w2->held().empty();
  }));

  // w1 paused past its session while the writers go on, until w2 is given its partitions, then
  // woken: w1 loses its partitions to the group and rejoins. What it had fetched and not applied
  // is below the offsets w2 stored, and skipped inside w1's update. A pause that lands inside one
  // of w1's transactions holds that partition's checkpoint row: w2 waits on it, and when w1 wakes
  // and commits, w2's batch is the one below the stored offset. Either way a member skips a batch;
  // whether w1 gets to its fetched messages before its client notices the lost session is a race,
  // so the pause is tried again until one of them skipped.
  const auto skipped = [](const worker_process& w) {
    std::uint64_t n = 0;
    std::istringstream lines(w.output());
    for (std::string line; std::getline(lines, line);)
      if (line.rfind("skipped ", 0) == 0) n = std::stoull(line.substr(8));
    return n;
  };
  bool zombie_batch_skipped = false;
  for (int attempt = 0; attempt < 4 && !zombie_batch_skipped; ++attempt) {
    const std::uint64_t skipped_before = skipped(*w1) + skipped(*w2);
    const std::size_t w2_assignments = w2->lines_starting("assigned");
    const std::size_t w1_revocations = w1->lines_starting("revoked");
    w1->signal(SIGSTOP);
    REQUIRE(eventually([&] {
      return w2->lines_starting("assigned") > w2_assignments && w2->held().size() == partitions;
    }));
    const std::int64_t rows_at_takeover = rows();
    // Long enough for w2 to apply what was appended during the pause, unless w1's lock holds it.
    eventually([&] { return rows() > rows_at_takeover + 1000; }, 20s);
    w1->signal(SIGCONT);
    REQUIRE(eventually([&] { return w1->lines_starting("revoked") > w1_revocations; }));
    REQUIRE(eventually([&] {
      return !w1->held().empty() && !w2->held().empty() &&
             held_by({w1.get(), w2.get()}).size() == partitions;
    }));
    zombie_batch_skipped = skipped(*w1) + skipped(*w2) > skipped_before;
  }
  INFO("w1's output:\n" << w1->output());
  INFO("w2's output:\n" << w2->output());
  CHECK(zombie_batch_skipped);

  // Writers stop; the publisher sends the rest; the group applies every partition to its end.
  for (auto& w : writers) w.request_stop();
  writers.clear();  // joins
  REQUIRE(
      eventually([&] { return published() == static_cast<std::int64_t>(store.last_position()); }));
  publishing.request_stop();
  publishing.join();
  REQUIRE(!publisher_failure);
  REQUIRE(eventually([&] { return caught_up(); }));

  CHECK(w1->stop() == 0);
  CHECK(w2->stop() == 0);
  CHECK(w1->duplicates_skipped() + w2->duplicates_skipped() > 0);

  // Every event applied exactly once (its position is the rows' primary key; a worker that broke
  // it would have exited with the error), and the ledger equals a single process's projection.
  const auto events = static_cast<std::int64_t>(store.last_position());
  CHECK(published() == events);  // no event sent twice
  CHECK(rows() == events);
  ledger_model single{store, {.name = "single", .schema = f.options().schema + "_single"}};
  single.migrate();
  annal::projector{store, single}.catch_up();
  CHECK(lease_ledger::digest(store, schema) ==
        lease_ledger::digest(store, f.options().schema + "_single"));
  fs::remove_all(dir);
}
