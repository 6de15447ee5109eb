// librdkafka's built-in mock cluster for the tests: real Kafka protocol over TCP, brokers
// in-process.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <annal/kafka/detail/handle.hpp>
#include <annal/store/checkpoint.hpp>
#include <annal/store/memory.hpp>

namespace annal_test_kafka {

// Kafka's Produce request key, for rd_kafka_mock_push_request_errors.
inline constexpr std::int16_t produce_api = 0;

// A cluster of `brokers` mock brokers owned by a throwaway client handle, as rdkafka_mock.h asks.
class mock_cluster {
 public:
  explicit mock_cluster(int brokers = 3) {
    char why[512] = "";
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    // The owner never connects anywhere: its "no bootstrap.servers" notice is noise.
    rd_kafka_conf_set(conf, "log_level", "4", why, sizeof why);
    owner_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why));
    if (!owner_) throw std::runtime_error(std::string("mock cluster owner: ") + why);
    cluster_ = rd_kafka_mock_cluster_new(owner_.get(), brokers);
    if (!cluster_) throw std::runtime_error("rd_kafka_mock_cluster_new failed");
  }
  ~mock_cluster() { rd_kafka_mock_cluster_destroy(cluster_); }
  mock_cluster(const mock_cluster&) = delete;
  mock_cluster& operator=(const mock_cluster&) = delete;

  std::string bootstrap_servers() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  void create_topic(const std::string& name, int partitions, int replication = 3) {
    if (rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, replication))
      throw std::runtime_error("mock topic " + name + " was not created");
  }
  rd_kafka_mock_cluster_t* get() const { return cluster_; }

 private:
  annal::detail::kafka::handle_ptr owner_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

// A plain librdkafka producer, for records annal did not write.
class raw_producer {
 public:
  explicit raw_producer(const mock_cluster& cluster) {
    annal::detail::kafka::conf_ptr conf(rd_kafka_conf_new());
    char why[512];
    rd_kafka_conf_set(conf.get(), "bootstrap.servers", cluster.bootstrap_servers().c_str(), why,
                      sizeof why);
    producer_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.release(), why, sizeof why));
    if (!producer_) throw std::runtime_error(std::string("raw producer: ") + why);
  }
  // Sends one record to `partition` with the given headers and waits for it.
  void send(const std::string& topic, std::int32_t partition, const std::string& key,
            const std::vector<std::pair<std::string, std::string>>& headers) {
    std::vector<rd_kafka_vu_t> vu(4 + headers.size());
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = topic.c_str();
    vu[1].vtype = RD_KAFKA_VTYPE_PARTITION;
    vu[1].u.i32 = partition;
    vu[2].vtype = RD_KAFKA_VTYPE_KEY;
    vu[2].u.mem = {const_cast<char*>(key.data()), key.size()};
    vu[3].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[3].u.mem = {const_cast<char*>("x"), 1};
    for (std::size_t i = 0; i < headers.size(); ++i) {
      vu[4 + i].vtype = RD_KAFKA_VTYPE_HEADER;
      vu[4 + i].u.header = {headers[i].first.c_str(), headers[i].second.data(),
                            static_cast<ssize_t>(headers[i].second.size())};
    }
    if (rd_kafka_error_t* e = rd_kafka_produceva(producer_.get(), vu.data(), vu.size())) {
      const std::string why = rd_kafka_error_string(e);
      rd_kafka_error_destroy(e);
      throw std::runtime_error("raw producer: " + why);
    }
    if (rd_kafka_flush(producer_.get(), 10000) != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw std::runtime_error("raw producer: the record was not delivered in 10 s");
  }

 private:
  annal::detail::kafka::handle_ptr producer_;
};

// Events in several streams, interleaved in global order, with every envelope field set and
// payloads that hold NUL and non-UTF-8 bytes.
inline void append_events(annal::memory_store& store, int streams, int per_stream,
                          int first_round = 0) {
  for (int round = first_round; round < first_round + per_stream; ++round)
    for (int s = 0; s < streams; ++s) {
      annal::event_data e;
      e.id = annal::new_event_id();
      e.type = round % 2 ? "order.shipped" : "order.placed";
      e.schema_version = 1 + static_cast<std::uint32_t>(round % 3);
      e.payload = std::string("pay\0load\xff", 9) + std::to_string(round);
      e.correlation_id = annal::new_event_id();
      if (round % 2) e.causation_id = annal::new_event_id();
      if (s % 2) e.meta = {{"user", "ada \"the\" admin"}, {"tenant", "t\n1"}};
      store.append("order-" + std::to_string(s), annal::expected_version::any(), std::span(&e, 1));
    }
}

inline std::vector<annal::recorded_event> stored(const annal::memory_store& store) {
  std::vector<annal::recorded_event> all;
  store.read_all(1, [&](const annal::recorded_event& e) { all.push_back(e); });
  return all;
}

// A checkpoint that records every save and lets a test wait for one, instead of sleeping.
class watched_checkpoint {
 public:
  std::optional<std::uint64_t> load() const {
    std::lock_guard lock(mutex_);
    return saves_.empty() ? std::nullopt : std::optional(saves_.back());
  }
  void save(std::uint64_t position) {
    {
      std::lock_guard lock(mutex_);
      saves_.push_back(position);
    }
    saved_.notify_all();
  }
  bool wait_for(std::uint64_t position, std::chrono::seconds timeout) const {
    std::unique_lock lock(mutex_);
    return saved_.wait_for(lock, timeout,
                           [&] { return !saves_.empty() && saves_.back() >= position; });
  }
  std::vector<std::uint64_t> saves() const {
    std::lock_guard lock(mutex_);
    return saves_;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable saved_;
  std::vector<std::uint64_t> saves_;
};

}  // namespace annal_test_kafka
