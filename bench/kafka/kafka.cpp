// kafka_publisher beside a plain librdkafka producer loop sending the same records with the same
// configuration. Both talk to librdkafka's mock cluster (3 in-process brokers over TCP), which
// shares the machine's cores with the client: figures are for comparison, not for capacity
// planning.
#include <benchmark/benchmark.h>

#include <atomic>
#include <charconv>
#include <map>
#include <memory>
#include <string>

#include <annal/kafka/publisher.hpp>

#include "common/ratio_reporter.hpp"
#include "kafka/mock_cluster.hpp"

namespace {

const std::string payload = R"({"account":"acc-42","amount":1250,"currency":"EUR","memo":"rent"})";

annal_test_kafka::mock_cluster& cluster() {
  static annal_test_kafka::mock_cluster c(3);
  return c;
}

// One store per event count, 100 streams, filled once.
const annal::memory_store& store_of(std::int64_t n) {
  static std::map<std::int64_t, std::unique_ptr<annal::memory_store>> stores;
  auto& store = stores[n];
  if (!store) {
    store = std::make_unique<annal::memory_store>();
    for (std::int64_t i = 0; i < n; ++i) {
      annal::event_data e;
      e.id = annal::new_event_id();
      e.type = "money_deposited";
      e.payload = payload;
      e.correlation_id = annal::new_event_id();
      e.meta = {{"user", "ada"}};
      store->append("account-" + std::to_string(i % 100), annal::expected_version::any(),
                    std::span(&e, 1));
    }
  }
  return *store;
}

// A fresh topic per run, so both variants write into equally empty partitions.
std::string fresh_topic() {
  static int n = 0;
  std::string name = "bench-" + std::to_string(n++);
  cluster().create_topic(name, 8);
  return name;
}

std::atomic<int> undelivered{0};

const annal::kafka_properties same_config{{"linger.ms", "5"}};

void kafka_publish_annal(benchmark::State& state) {
  const auto& store = store_of(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    const std::string topic = fresh_topic();
    annal::memory_checkpoint checkpoint;
    annal::kafka_publisher_options options{
        .topic = topic, .properties = {{"bootstrap.servers", cluster().bootstrap_servers()}}};
    options.properties.insert(options.properties.end(), same_config.begin(), same_config.end());
    state.ResumeTiming();
    annal::kafka_publisher publisher(store, checkpoint, options);
    if (publisher.publish_available() != static_cast<std::uint64_t>(state.range(0)))
      state.SkipWithError("not everything was published");
  }
  state.counters["items"] = static_cast<double>(state.range(0));
}

// Hand-written header values in stack buffers: no allocation per record.
struct text {
  char data[40];
  std::size_t size;
};

template <class Int>
text decimal(Int v) {
  text t;
  t.size = static_cast<std::size_t>(std::to_chars(t.data, t.data + sizeof t.data, v).ptr - t.data);
  return t;
}

text uuid_text(const annal::event_id& id) {
  constexpr char hex[] = "0123456789abcdef";
  text t{{}, 0};
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) t.data[t.size++] = '-';
    t.data[t.size++] = hex[id.data[i] >> 4];
    t.data[t.size++] = hex[id.data[i] & 0xf];
  }
  return t;
}

void json_of(const annal::metadata& meta, std::string& out) {
  out = "{";
  for (const auto& [k, v] : meta) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += k;
    out += "\":\"";
    out += v;
    out += '"';
  }
  out += '}';
}

// The plain loop: same producer settings, same key, value and headers, a delivery callback that
// counts failures, polled every 1024 records, one flush at the end; no checkpoint, no per-record
// bookkeeping.
void kafka_publish_floor(benchmark::State& state) {
  const auto& store = store_of(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    const std::string topic = fresh_topic();
    state.ResumeTiming();
    char why[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    for (const auto& [k, v] :
         annal::kafka_properties{{"partitioner", "murmur2_random"},
                                 {"bootstrap.servers", cluster().bootstrap_servers()},
                                 {"linger.ms", "5"},
                                 {"enable.idempotence", "true"},
                                 {"acks", "all"}})
      rd_kafka_conf_set(conf, k.c_str(), v.c_str(), why, sizeof why);
    // Delivery reports, counted: the least a loop needs to know its records arrived.
    rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void*) {
      if (m->err) ++undelivered;
    });
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
    std::string meta;
    std::size_t produced = 0;
    store.read_all(1, [&](const annal::recorded_event& e) {
      const text id = uuid_text(e.id), version = decimal(e.stream_version),
                 position = decimal(e.position), schema = decimal(e.schema_version),
                 corr = uuid_text(e.correlation_id), cause = uuid_text(e.causation_id),
                 at = decimal(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  e.recorded_at.time_since_epoch())
                                  .count());
      json_of(e.meta, meta);
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(e.recorded_at.time_since_epoch())
              .count();
      while (
          rd_kafka_producev(
              rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_KEY(e.stream_id.data(), e.stream_id.size()),
              RD_KAFKA_V_VALUE(const_cast<char*>(e.payload.data()), e.payload.size()),
              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(ms),
              RD_KAFKA_V_HEADER("annal.event_id", id.data, static_cast<ssize_t>(id.size)),
              RD_KAFKA_V_HEADER("annal.type", e.type.data(), static_cast<ssize_t>(e.type.size())),
              RD_KAFKA_V_HEADER("annal.schema_version", schema.data,
                                static_cast<ssize_t>(schema.size)),
              RD_KAFKA_V_HEADER("annal.stream_id", e.stream_id.data(),
                                static_cast<ssize_t>(e.stream_id.size())),
              RD_KAFKA_V_HEADER("annal.stream_version", version.data,
                                static_cast<ssize_t>(version.size)),
              RD_KAFKA_V_HEADER("annal.position", position.data,
                                static_cast<ssize_t>(position.size)),
              RD_KAFKA_V_HEADER("annal.correlation_id", corr.data, static_cast<ssize_t>(corr.size)),
              RD_KAFKA_V_HEADER("annal.causation_id", cause.data, static_cast<ssize_t>(cause.size)),
              RD_KAFKA_V_HEADER("annal.recorded_at", at.data, static_cast<ssize_t>(at.size)),
              RD_KAFKA_V_HEADER("annal.metadata", meta.data(), static_cast<ssize_t>(meta.size())),
              RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(rk, 50);
      if (++produced % 1024 == 0) rd_kafka_poll(rk, 0);  // serve the reports as they come
    });
    while (rd_kafka_outq_len(rk) > 0) rd_kafka_flush(rk, 1000);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
    if (undelivered) state.SkipWithError("records were not delivered");
  }
  state.counters["items"] = static_cast<double>(state.range(0));
}

}  // namespace

BENCHMARK(kafka_publish_annal)
    ->Name("kafka_publish/annal")
    ->Arg(20000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(kafka_publish_floor)
    ->Name("kafka_publish/floor")
    ->Arg(20000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

ANNAL_BENCH_MAIN()
