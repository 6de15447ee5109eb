// The scale-out curve through Kafka (issue #20): a 4-partition topic caught up into one memory read
// model per partition, by kafka_group_projector members and by plain librdkafka consumers.
//
// The topic: N events of a bank (S accounts; each account's first event bank.opened, then
// bank.deposited, every fifth one bank.withdrawn) written once by kafka_publisher to librdkafka's
// mock cluster (3 in-process brokers over TCP: they share the machine's cores with the consumers).
// The projection is proj::balances (tests/projection/domain.hpp).
//   kafka_group/floor/W  W threads, each a plain librdkafka consumer given fixed partitions by
//                        rd_kafka_assign (partition p to thread p mod W: no group, no rebalance),
//                        gathering up to B messages a poll as the projector does and applying each
//                        partition's share in one update (the same decode and handler calls)
//   kafka_group/annal/W  W threads, each a kafka_group_projector member of one fresh group
// Both start every partition at offset 0 and stop when each read model's checkpoint reaches its
// partition's end offset. The time is from the moment every partition is assigned (the floor:
// before its rd_kafka_assign calls; the group: when the last member's assignment arrives, each
// member waiting for it in on_assigned, so the group's join, about 3 s in the mock coordinator as
// group.initial.rebalance.delay.ms in a broker, is left out) to that end: manual time, one
// iteration per repetition. A group that did not form in one rebalance (a member joined late) or
// rebalanced while measuring is dropped and a new one tried (counter "attempts"). Every run must
// end with the expected balances, or the benchmark stops with an error. "vs floor" compares the
// same W; W = 1 is the coordination overhead (<= 1.1x).
//
// Environment:
//   ANNAL_BENCH_KAFKA_GROUP_EVENTS    events in the topic (default 48000: the mock broker keeps
//   about
//                                     5 MB a partition and drops older messages, about 13,500 of
//                                     these a partition; the fixture refuses a topic that lost any)
//   ANNAL_BENCH_KAFKA_GROUP_ACCOUNTS  streams (default 4000)
//   ANNAL_BENCH_KAFKA_GROUP_BATCH     messages gathered per poll, both variants (default 1024)
// Run (interleaved repetitions; medians.py prints the medians and ratios):
//   build/<dir>/bench/kafka_group/annal_bench_kafka_group --benchmark_repetitions=5
//     --benchmark_enable_random_interleaving=true --benchmark_out=kafka_group.json  (one line)
//   bench/kafka_group/medians.py kafka_group.json
#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <annal/kafka/group_projector.hpp>
#include <annal/kafka/publisher.hpp>
#include <annal/projection/detail/apply.hpp>
#include <annal/projection/read_model.hpp>
#include <annal/store/memory.hpp>

#include "common/ratio_reporter.hpp"
#include "kafka/mock_cluster.hpp"
#include "projection/domain.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using model = annal::memory_read_model<proj::balances>;

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? static_cast<std::size_t>(std::stoull(v)) : fallback;
}

const std::size_t events = env_size("ANNAL_BENCH_KAFKA_GROUP_EVENTS", 48'000);
const std::size_t accounts = env_size("ANNAL_BENCH_KAFKA_GROUP_ACCOUNTS", 4'000);
const std::size_t batch = env_size("ANNAL_BENCH_KAFKA_GROUP_BATCH", 1024);
constexpr std::int32_t partitions = 4;
const std::string topic = "bank";

// What every run must end with, summed over the partitions' read models.
struct digest {
  std::size_t accounts = 0;
  long total = 0;
  std::uint64_t deposits = 0;
  bool operator==(const digest&) const = default;
  std::string text() const {
    return std::to_string(accounts) + " accounts, total " + std::to_string(total) + ", " +
           std::to_string(deposits) + " deposits";
  }
};

digest digest_of(const proj::balances& b) {
  digest d{b.balance.size(), 0, b.deposits};
  for (const auto& [account, cents] : b.balance) d.total += cents;
  return d;
}

// The topic, written once per process; a failure skips every benchmark with its message.
struct fixture {
  annal_test_kafka::mock_cluster cluster{3};
  std::array<std::int64_t, partitions> end{};  // each partition's end offset
  digest expected;
  std::string failure;
  int runs = 0;  // numbers each run's group id

  fixture() {
    try {
      cluster.create_topic(topic, partitions);
      annal::memory_store store;
      proj::balances direct;
      for (std::size_t i = 0; i < events; ++i) {
        const std::size_t account = i % accounts;
        const std::size_t round = i / accounts;
        const long cents = static_cast<long>(i % 997) + 1;
        const std::string stream = "account-" + std::to_string(account);
        annal::envelope_header h;
        h.stream_id = stream;
        if (round == 0) {
          proj::append(store, stream, bank::opened{stream});
          direct.on(bank::opened{stream}, h);
        } else if (round % 5 == 0) {
          proj::append(store, stream, bank::withdrawn{cents});
          direct.on(bank::withdrawn{cents}, h);
        } else {
          proj::append(store, stream, bank::deposited{cents});
          direct.on(bank::deposited{cents}, h);
        }
      }
      expected = digest_of(direct);
      annal::memory_checkpoint checkpoint;
      annal::kafka_publisher publisher(
          store, checkpoint,
          {.topic = topic,
           .properties = {{"bootstrap.servers", cluster.bootstrap_servers()}, {"linger.ms", "5"}}});
      if (publisher.publish_available() != events) throw std::runtime_error("publish fell short");
      find_ends();
    } catch (const std::exception& e) {
      failure = std::string("the topic could not be written: ") + e.what();
    }
  }

  void find_ends() {
    char why[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", cluster.bootstrap_servers().c_str(), why,
                      sizeof why);
    const annal::detail::kafka::handle_ptr rk(
        rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why));
    std::int64_t sum = 0;
    for (std::int32_t p = 0; p < partitions; ++p) {
      std::int64_t low = 0;
      if (rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &low, &end[p], 10000))
        throw std::runtime_error("no watermark for partition " + std::to_string(p));
      sum += end[p] - low;
    }
    if (sum != static_cast<std::int64_t>(events))
      throw std::runtime_error("the topic holds " + std::to_string(sum) + " messages, not " +
                               std::to_string(events) +
                               " (the mock broker dropped the oldest: lower the event count)");
  }
};

fixture& data() {
  static fixture f;
  return f;
}

// The CPU time of every thread of the process: on a loaded machine it tells the work done apart
// from the time other processes held the cores.
double process_cpu() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// One run's shared state: the read models, which partitions reached their end, the clock.
struct run_state {
  std::array<model, partitions> models;
  std::array<std::atomic<bool>, partitions> finished{};
  std::atomic<int> done{0};
  std::atomic<bool> stop{false};
  clock_type::time_point start{}, end{};
  double cpu_start = 0, cpu_end = 0;  // the process's CPU time (brokers included), in seconds
  std::mutex mutex;                   // guards failure, and the start barrier
  std::condition_variable started;
  int assigned = 0;
  bool go = false;
  std::string failure;
  std::atomic<int> rebalances{0};  // revocations while measuring: the run is retried
  std::atomic<bool> retry{false};  // the group did not form at once, or rebalanced: try again
  std::atomic<std::uint64_t> duplicates{0};
  double cpu_ns_per_event = 0;

  // After a batch: counts partition p as done once its model holds everything.
  void check_end(std::int32_t p) {
    const fixture& f = data();
    if (finished[p].load() || models[p].checkpoint() < static_cast<std::uint64_t>(f.end[p])) return;
    if (finished[p].exchange(true)) return;
    if (++done == partitions) {
      end = clock_type::now();
      cpu_end = process_cpu();
      stop = true;
    }
  }

  void fail(const std::string& why) {
    {
      std::lock_guard lock(mutex);
      if (failure.empty()) failure = why;
    }
    stop = true;
    started.notify_all();
  }

  // Ends a repetition: the manual time, or the error; true when the balances are right.
  bool finish(benchmark::State& state) {
    digest sum;
    for (const model& m : models) {
      const digest d = m.read([](const proj::balances& b, std::uint64_t) { return digest_of(b); });
      sum.accounts += d.accounts;
      sum.total += d.total;
      sum.deposits += d.deposits;
    }
    if (failure.empty() && !(sum == data().expected))
      failure = "the read models hold " + sum.text() + ", expected " + data().expected.text();
    if (!failure.empty()) {
      state.SkipWithError(failure.c_str());
      return false;
    }
    state.SetIterationTime(std::chrono::duration<double>(end - start).count());
    cpu_ns_per_event = (cpu_end - cpu_start) * 1e9 / static_cast<double>(events);
    return true;
  }
};

void report(benchmark::State& state, const run_state* last) {
  state.counters["items"] = static_cast<double>(events);
  state.counters["workers"] = static_cast<double>(state.range(0));
  if (last) {
    state.counters["rebalances"] = last->rebalances.load();
    state.counters["duplicates"] = static_cast<double>(last->duplicates.load());
    state.counters["cpu_ns/event"] = last->cpu_ns_per_event;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events));
}

annal::kafka_properties consumer_properties() {
  return {{"bootstrap.servers", data().cluster.bootstrap_servers()}};
}

// The floor's consumer: the projector's settings, partitions assigned by hand.
annal::detail::kafka::handle_ptr plain_consumer(const std::string& group) {
  char why[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  annal::kafka_properties all = consumer_properties();
  all.insert(all.end(), {{"group.id", group},  // librdkafka's assign needs one; never joined
                         {"enable.auto.commit", "false"},
                         {"enable.auto.offset.store", "false"},
                         {"enable.partition.eof", "false"},
                         {"auto.offset.reset", "error"}});
  for (const auto& [k, v] : all)
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), why, sizeof why) != RD_KAFKA_CONF_OK)
      throw std::runtime_error(why);
  annal::detail::kafka::handle_ptr rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why));
  if (!rk) throw std::runtime_error(why);
  rd_kafka_poll_set_consumer(rk.get());
  return rk;
}

// One floor thread: assigns its partitions from offset 0, then polls and applies as the projector
// does, without the group, the rebalance callback or the offset checks.
void floor_worker(run_state& run, rd_kafka_t* rk, const std::vector<std::int32_t>& mine) {
  using annal::detail::kafka::message_ptr;
  const annal::detail::kafka::partition_list_ptr list(
      rd_kafka_topic_partition_list_new(static_cast<int>(mine.size())));
  for (std::int32_t p : mine)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = 0;
  if (const auto err = rd_kafka_assign(rk, list.get()))
    return run.fail(std::string("assign: ") + rd_kafka_err2str(err));
  std::array<std::vector<message_ptr>, partitions> pending;
  annal::recorded_event event;
  try {
    while (!run.stop) {
      std::size_t gathered = 0;
      for (int wait = 100; gathered < batch; wait = 0) {
        message_ptr m(rd_kafka_consumer_poll(rk, wait));
        if (!m) break;
        if (m->err) throw std::runtime_error(rd_kafka_message_errstr(m.get()));
        pending[m->partition].push_back(std::move(m));
        ++gathered;
      }
      for (std::int32_t p : mine) {
        if (pending[p].empty()) continue;
        run.models[p].update([&](proj::balances& b, std::uint64_t& checkpoint) {
          for (const message_ptr& m : pending[p]) {
            annal::detail::kafka::decode_message(*m, topic, event);
            annal::detail::project_record<proj::balances, annal::binary_codec>(b, event);
            checkpoint = static_cast<std::uint64_t>(m->offset) + 1;
          }
        });
        pending[p].clear();
        run.check_end(p);
      }
    }
  } catch (const std::exception& e) {
    run.fail(std::string("floor consumer: ") + e.what());
  }
}

void group_floor(benchmark::State& state) {
  fixture& f = data();
  if (!f.failure.empty()) return state.SkipWithError(f.failure.c_str());
  const int workers = static_cast<int>(state.range(0));
  std::unique_ptr<run_state> run;
  for (auto _ : state) {
    run = std::make_unique<run_state>();
    std::vector<annal::detail::kafka::handle_ptr> consumers;
    std::vector<std::vector<std::int32_t>> shares(static_cast<std::size_t>(workers));
    for (std::int32_t p = 0; p < partitions; ++p)
      shares[static_cast<std::size_t>(p % workers)].push_back(p);
    for (int w = 0; w < workers; ++w) {
      consumers.push_back(plain_consumer("floor-" + std::to_string(++f.runs)));
      // A member is connected to the cluster long before its assignment (the group's join): the
      // floor's consumer asks its partitions' leaders for their offsets first, as a warm-up.
      for (std::int32_t p : shares[static_cast<std::size_t>(w)]) {
        std::int64_t low = 0, high = 0;
        rd_kafka_query_watermark_offsets(consumers.back().get(), topic.c_str(), p, &low, &high,
                                         10000);
      }
    }
    run->start = clock_type::now();
    run->cpu_start = process_cpu();
    {
      std::vector<std::jthread> threads;
      for (int w = 0; w < workers; ++w)
        threads.emplace_back([&, w] {
          floor_worker(*run, consumers[static_cast<std::size_t>(w)].get(),
                       shares[static_cast<std::size_t>(w)]);
        });
    }
    for (auto& c : consumers) rd_kafka_consumer_close(c.get());
    if (!run->finish(state)) break;
  }
  report(state, run.get());
}

// One member: polls until every partition is done; on_assigned holds the member until the whole
// group has its assignment, so the clock starts with every partition owned.
void group_member(run_state& run, const std::string& group) {
  try {
    annal::kafka_group_projector<model> member{
        {.topic = topic,
         .group_id = group,
         .properties = consumer_properties(),
         .batch_size = batch,
         .on_assigned =
             [&](const std::vector<std::int32_t>& got) {
               if (run.stop) return;
               std::unique_lock lock(run.mutex);
               run.assigned += static_cast<int>(got.size());
               if (run.assigned >= partitions && !run.go) {
                 run.go = true;
                 run.start = clock_type::now();
                 run.cpu_start = process_cpu();
                 run.started.notify_all();
               }
               // A member that joined after the group formed makes the coordinator rebalance,
               // which waits for these callbacks to return: give up well before the session
               // ends, and let the caller try again with a new group.
               if (!run.started.wait_for(lock, std::chrono::seconds(8),
                                         [&] { return run.go || run.stop.load(); })) {
                 run.retry = true;
                 run.stop = true;
                 run.started.notify_all();
               }
             },
         .on_revoked =
             [&](const std::vector<std::int32_t>&) {
               // A rebalance while measuring: the run is not the steady group it should be.
               if (run.go && !run.stop) {
                 ++run.rebalances;
                 run.retry = true;
                 run.stop = true;
               }
             }},
        [&](std::int32_t p) -> model& { return run.models.at(static_cast<std::size_t>(p)); }};
    while (!run.stop) {
      member.poll();
      for (std::int32_t p : member.assigned()) run.check_end(p);
    }
    run.duplicates += member.duplicates_skipped();
  } catch (const std::exception& e) {
    run.fail(std::string("group member: ") + e.what());
  }
}

void group_annal(benchmark::State& state) {
  fixture& f = data();
  if (!f.failure.empty()) return state.SkipWithError(f.failure.c_str());
  const int workers = static_cast<int>(state.range(0));
  std::unique_ptr<run_state> run;
  int attempts = 0;
  for (auto _ : state) {
    for (attempts = 1;; ++attempts) {
      run = std::make_unique<run_state>();
      const std::string group = "annal-" + std::to_string(++f.runs);
      {
        std::vector<std::jthread> threads;
        for (int w = 0; w < workers; ++w) threads.emplace_back([&] { group_member(*run, group); });
      }
      if (!run->retry || !run->failure.empty()) break;
      if (attempts == 5) {
        run->failure = "the group did not form in one rebalance, nor stay stable, in 5 attempts";
        break;
      }
    }
    if (!run->finish(state)) break;
  }
  report(state, run.get());
  state.counters["attempts"] = attempts;
}

}  // namespace

BENCHMARK(group_floor)
    ->Name("kafka_group/floor")
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(group_annal)
    ->Name("kafka_group/annal")
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

ANNAL_BENCH_MAIN()
