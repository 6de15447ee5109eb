// kafka_publisher against librdkafka's mock cluster: what is published, when the checkpoint moves,
// what a broker failure does and how a restart recovers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>
#include <tuple>
#include <vector>

#include <annal/kafka/publisher.hpp>
#include <annal/kafka/replay.hpp>
#include <annal/store/repository.hpp>
#include <annal/store/tombstone.hpp>

#include "common/encoded.hpp"
#include "kafka/mock_cluster.hpp"
#include "testing/library_domain.hpp"

using namespace annal_test_kafka;

namespace {

struct replayed {
  annal::recorded_event event;
  std::int32_t partition;
  std::int64_t offset;
};

std::vector<replayed> replay_all(const mock_cluster& cluster, const std::string& topic,
                                 bool dedupe = false) {
  annal::kafka_replay replay({.topic = topic,
                              .properties = {{"bootstrap.servers", cluster.bootstrap_servers()}},
                              .dedupe_by_event_id = dedupe});
  std::vector<replayed> out;
  replay.replay_to_end([&](const annal::recorded_event& e) {
    out.push_back({e, replay.partition(), replay.offset()});
  });
  return out;
}

// Appends every replayed record to `copy`, each stream in order (its partition keeps the order).
void replay_into(annal::memory_store& copy, const mock_cluster& cluster, const std::string& topic) {
  for (const auto& [e, partition, offset] : replay_all(cluster, topic)) {
    const annal::event_data data = annal::as_event_data(e);
    copy.append(e.stream_id, annal::expected_version::exact(e.stream_version - 1),
                std::span(&data, 1));
  }
}

annal::kafka_publisher_options options_for(const mock_cluster& cluster, const std::string& topic,
                                           annal::kafka_properties extra = {}) {
  annal::kafka_publisher_options options{
      .topic = topic, .properties = {{"bootstrap.servers", cluster.bootstrap_servers()}}};
  options.properties.insert(options.properties.end(), extra.begin(), extra.end());
  return options;
}

// What a projection does with an at-least-once feed: apply a stream's next version, ignore the
// rest.
std::map<std::string, std::uint64_t> apply_in_version_order(const std::vector<replayed>& records) {
  std::map<std::string, std::uint64_t> applied;
  for (const auto& r : records) {
    auto& version = applied[r.event.stream_id];
    if (r.event.stream_version == version + 1) version = r.event.stream_version;
  }
  return applied;
}

}  // namespace

TEST_CASE("kafka_publisher publishes every event as stored, one stream per partition, in order",
          "[kafka][publisher]") {
  mock_cluster cluster(3);
  cluster.create_topic("events", 4);
  annal::memory_store store;
  append_events(store, 7, 15);
  annal::memory_checkpoint checkpoint;

  annal::kafka_publisher publisher(store, checkpoint, options_for(cluster, "events"));
  CHECK(publisher.publish_available() == 105);
  CHECK(publisher.checkpoint() == 105);
  CHECK(checkpoint.load() == 105u);
  CHECK(publisher.in_flight() == 0);
  CHECK(publisher.publish_available() == 0);  // nothing new

  const auto expected = stored(store);
  const auto records = replay_all(cluster, "events");
  REQUIRE(records.size() == expected.size());

  std::map<std::string, std::int32_t> partition_of;
  std::map<std::string, std::uint64_t> last_version;
  std::set<std::int32_t> partitions;
  for (const auto& r : records) {
    // Headers round-trip: each event comes back equal to the stored one, field for field.
    REQUIRE(r.event.position >= 1);
    REQUIRE(r.event.position <= expected.size());
    CHECK(r.event == expected[r.event.position - 1]);
    // Kafka's per-key rule: a stream lives in one partition, in version order.
    const auto [it, first] = partition_of.emplace(r.event.stream_id, r.partition);
    CHECK(it->second == r.partition);
    CHECK(r.event.stream_version == last_version[r.event.stream_id] + 1);
    last_version[r.event.stream_id] = r.event.stream_version;
    partitions.insert(r.partition);
  }
  CHECK(partitions.size() > 1);
  // Global order is recoverable from the position header.
  std::vector<std::uint64_t> positions;
  for (const auto& r : records) positions.push_back(r.event.position);
  std::sort(positions.begin(), positions.end());
  for (std::size_t i = 0; i < positions.size(); ++i) CHECK(positions[i] == i + 1);
}

TEST_CASE("kafka_publisher resumes from a saved checkpoint", "[kafka][publisher]") {
  mock_cluster cluster(3);
  cluster.create_topic("events", 3);
  annal::memory_store store;
  append_events(store, 3, 10);
  annal::memory_checkpoint checkpoint(20);  // the first 20 went out earlier

  annal::kafka_publisher publisher(store, checkpoint, options_for(cluster, "events"));
  CHECK(publisher.checkpoint() == 20);
  CHECK(publisher.publish_available() == 10);
  const auto records = replay_all(cluster, "events");
  REQUIRE(records.size() == 10);
  for (const auto& r : records) CHECK(r.event.position > 20);
}

TEST_CASE("kafka_publisher saves a checkpoint only over records the cluster holds",
          "[kafka][publisher]") {
  mock_cluster cluster(3);
  cluster.create_topic("events", 4);
  annal::memory_store store;
  append_events(store, 5, 12);

  // Each save is checked against what a consumer can read back at that moment.
  struct verifying_checkpoint {
    const mock_cluster* cluster;
    std::vector<std::uint64_t> saves;
    std::optional<std::uint64_t> load() const { return std::nullopt; }
    void save(std::uint64_t position) {
      std::set<std::uint64_t> held;
      for (const auto& r : replay_all(*cluster, "events")) held.insert(r.event.position);
      for (std::uint64_t p = 1; p <= position; ++p) REQUIRE(held.contains(p));
      saves.push_back(position);
    }
  } checkpoint{&cluster, {}};

  auto options = options_for(cluster, "events");
  options.batch_size = 8;
  annal::kafka_publisher publisher(store, checkpoint, options);
  CHECK(publisher.publish_available() == 60);
  REQUIRE(!checkpoint.saves.empty());
  CHECK(std::is_sorted(checkpoint.saves.begin(), checkpoint.saves.end()));
  CHECK(checkpoint.saves.back() == 60);
}

TEST_CASE("a produce error stops the publisher; a restart resends from the checkpoint",
          "[kafka][publisher]") {
  mock_cluster cluster(3);
  cluster.create_topic("events", 4);
  annal::memory_store store;
  append_events(store, 4, 10);
  annal::memory_checkpoint checkpoint;
  {
    annal::kafka_publisher publisher(store, checkpoint, options_for(cluster, "events"));
    CHECK(publisher.publish_available() == 40);
  }
  append_events(store, 4, 10, 10);

  // The brokers refuse the next produce requests with an error no retry can fix.
  std::vector<rd_kafka_resp_err_t> refusals(50, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  rd_kafka_mock_push_request_errors_array(cluster.get(), produce_api, refusals.size(),
                                          refusals.data());
  {
    annal::kafka_publisher publisher(store, checkpoint, options_for(cluster, "events"));
    try {
      publisher.publish_available();
      FAIL("publish_available() did not report the refused records");
    } catch (const annal::error& e) {
      CHECK(e.code() == annal::errc::connection_error);
      const std::string what = e.what();
      INFO(what);
      CHECK(what.find("topic 'events'") != std::string::npos);
      CHECK(what.find("stream 'order-") != std::string::npos);
      CHECK(what.find("position ") != std::string::npos);
      CHECK(what.find("uthoriz") !=
            std::string::npos);  // librdkafka's words for the broker's error
    }
    // The checkpoint stays before the failed event: nothing after it counts as delivered.
    CHECK(publisher.checkpoint() >= 40);
    CHECK(publisher.checkpoint() < 80);
    CHECK(checkpoint.load() == publisher.checkpoint());
    CHECK_THROWS_MATCHES(publisher.publish_available(), annal::error,
                         Catch::Predicate<annal::error>([](const annal::error& e) {
                           return e.code() == annal::errc::store_failed;
                         }));
  }

  rd_kafka_mock_clear_request_errors(cluster.get(), produce_api);
  annal::kafka_publisher restarted(store, checkpoint, options_for(cluster, "events"));
  restarted.publish_available();
  CHECK(restarted.checkpoint() == 80);

  // Nothing lost; duplicates possible, removed by event id.
  const auto expected = stored(store);
  const auto all = replay_all(cluster, "events");
  CHECK(all.size() >= 80);
  const auto unique = replay_all(cluster, "events", true);
  REQUIRE(unique.size() == 80);
  {
    annal::kafka_replay replay({.topic = "events",
                                .properties = {{"bootstrap.servers", cluster.bootstrap_servers()}},
                                .dedupe_by_event_id = true});
    CHECK(replay.replay_to_end([](const annal::recorded_event&) {}) == 80);
    CHECK(replay.duplicates_skipped() == all.size() - 80);
  }
  std::set<std::uint64_t> positions;
  for (const auto& r : unique) {
    positions.insert(r.event.position);
    CHECK(r.event == expected[r.event.position - 1]);
  }
  CHECK(positions.size() == 80);
  // Applying each stream's next version only, the resent tail completes every stream.
  for (const auto& [stream, version] : apply_in_version_order(all)) CHECK(version == 20);
}

TEST_CASE(
    "with every broker down the publisher times out, keeps its checkpoint, and a restart catches "
    "up",
    "[kafka][publisher]") {
  mock_cluster cluster(3);
  cluster.create_topic("events", 4);
  annal::memory_store store;
  append_events(store, 3, 5);
  annal::memory_checkpoint checkpoint;
  // A short delivery timeout so that the test does not wait librdkafka's default five minutes.
  const annal::kafka_properties quick{{"message.timeout.ms", "1500"}};
  {
    annal::kafka_publisher publisher(store, checkpoint, options_for(cluster, "events"));
    CHECK(publisher.publish_available() == 15);
  }
  append_events(store, 3, 5, 5);
  // librdkafka reports the refused connections through annal's log; they are expected here.
  std::atomic<int> logged{0};  // librdkafka logs from its own threads
  annal::set_log_handler([&](annal::log_level, std::string_view) { ++logged; });
  struct restore_log {
    ~restore_log() { annal::set_log_handler({}); }
  } restore;
  for (int broker = 1; broker <= 3; ++broker) rd_kafka_mock_broker_set_down(cluster.get(), broker);
  {
    annal::kafka_publisher publisher(store, checkpoint, options_for(cluster, "events", quick));
    try {
      publisher.publish_available();
      FAIL("publish_available() did not report the undelivered records");
    } catch (const annal::error& e) {
      CHECK(e.code() == annal::errc::connection_error);
      const std::string what = e.what();
      INFO(what);
      CHECK(what.find("position 16") != std::string::npos);
      CHECK(what.find("topic 'events'") != std::string::npos);
      CHECK(what.find("resends from position 16") != std::string::npos);
    }
    CHECK(publisher.checkpoint() == 15);
    CHECK(checkpoint.load() == 15u);
  }
  CHECK(logged > 0);
  for (int broker = 1; broker <= 3; ++broker) rd_kafka_mock_broker_set_up(cluster.get(), broker);
  annal::kafka_publisher restarted(store, checkpoint, options_for(cluster, "events"));
  CHECK(restarted.publish_available() == 15);
  CHECK(restarted.checkpoint() == 30);
  CHECK(replay_all(cluster, "events", true).size() == 30);
}

TEST_CASE("kafka_publisher::run follows the store live and stops on request",
          "[kafka][publisher]") {
  mock_cluster cluster(3);
  cluster.create_topic("events", 4);
  annal::memory_store store;
  append_events(store, 2, 5);
  watched_checkpoint checkpoint;
  annal::kafka_publisher publisher(store, checkpoint, options_for(cluster, "events"));
  {
    std::jthread runner([&](std::stop_token stop) { publisher.run(stop); });
    REQUIRE(checkpoint.wait_for(10, std::chrono::seconds(30)));
    append_events(store, 2, 5, 5);  // while it runs
    REQUIRE(checkpoint.wait_for(20, std::chrono::seconds(30)));
  }  // stop requested and joined
  CHECK(publisher.checkpoint() == 20);
  CHECK(publisher.in_flight() == 0);
  const auto records = replay_all(cluster, "events");
  CHECK(records.size() == 20);
}

TEST_CASE("kafka_publisher refuses bad configuration with librdkafka's words",
          "[kafka][publisher][config]") {
  mock_cluster cluster(1);
  annal::memory_store store;
  annal::memory_checkpoint checkpoint;
  const auto refused = [&](annal::kafka_properties properties, std::string_view expected) {
    try {
      annal::kafka_publisher publisher(store, checkpoint,
                                       options_for(cluster, "events", properties));
      FAIL("accepted " << properties.front().first);
    } catch (const annal::error& e) {
      CHECK(e.code() == annal::errc::invalid_argument);
      INFO(e.what());
      CHECK(std::string_view(e.what()).find(expected) != std::string_view::npos);
    }
  };
  refused({{"no.such.property", "1"}}, "'no.such.property'");
  refused({{"no.such.property", "1"}}, "No such configuration property");
  refused({{"linger.ms", "soon"}}, "'linger.ms' = 'soon'");
  refused({{"compression.codec", "zip"}}, "Invalid value");
  refused({{"enable.idempotence", "false"}}, "enable.idempotence must stay true");
  refused({{"acks", "1"}}, "acks must stay 'all'");
  CHECK_THROWS_WITH(annal::kafka_publisher(store, checkpoint, {.topic = ""}),
                    Catch::Contains("topic name is empty"));
  auto options = options_for(cluster, "events");
  options.batch_size = 0;
  CHECK_THROWS_WITH(annal::kafka_publisher(store, checkpoint, options),
                    Catch::Contains("batch_size"));
  options = options_for(cluster, "events");
  options.max_unconfirmed = 0;
  CHECK_THROWS_WITH(annal::kafka_publisher(store, checkpoint, options),
                    Catch::Contains("max_unconfirmed must be at least 1"));
}

TEST_CASE("kafka_publisher keeps at most max_unconfirmed events beyond its checkpoint",
          "[kafka][publisher]") {
  mock_cluster cluster(1);
  cluster.create_topic("events", 2, 1);
  annal::memory_store store;
  append_events(store, 4, 50);
  watched_checkpoint checkpoint;
  auto options = options_for(cluster, "events");
  options.max_unconfirmed = 5;  // batch_size stays 1024: one store read hands over all 200
  annal::kafka_publisher publisher(store, checkpoint, options);
  CHECK(publisher.publish_available() == 200);
  CHECK(publisher.checkpoint() == 200);
  // With at most 5 events beyond it, each save moves the checkpoint over at most 5.
  const std::vector<std::uint64_t> saves = checkpoint.saves();
  REQUIRE(saves.size() >= 200 / 5);
  std::uint64_t before = 0;
  for (const std::uint64_t saved : saves) {
    CHECK(saved > before);
    CHECK(saved - before <= 5);
    before = saved;
  }
  CHECK(replay_all(cluster, "events", true).size() == 200);
}

TEST_CASE("kafka_replay remembers the last dedupe_window ids of each partition",
          "[kafka][replay][dedupe]") {
  mock_cluster cluster(1);
  cluster.create_topic("events", 1, 1);
  annal::memory_store store;
  append_events(store, 5, 10);
  annal::memory_checkpoint first;
  annal::kafka_publisher(store, first, options_for(cluster, "events")).publish_available();
  // A publisher restarted from an older checkpoint sends positions 41..50 a second time: the copy
  // of position p follows 50 - p events handed over after the original.
  annal::memory_checkpoint older(40);
  annal::kafka_publisher(store, older, options_for(cluster, "events")).publish_available();

  const auto replay_with = [&](std::size_t window) {
    annal::kafka_replay replay({.topic = "events",
                                .properties = {{"bootstrap.servers", cluster.bootstrap_servers()}},
                                .dedupe_by_event_id = true,
                                .dedupe_window = window});
    std::vector<std::uint64_t> positions;
    replay.replay_to_end([&](const annal::recorded_event& e) { positions.push_back(e.position); });
    return std::tuple(positions, replay.duplicates_skipped(), replay.remembered_ids());
  };
  {
    const auto [positions, skipped, remembered] = replay_with(100);
    CHECK(positions.size() == 50);
    CHECK(skipped == 10);
    CHECK(remembered == 50);
  }
  {
    // Nine events came after the original of 41 and before its copy: a window of 10 (41 and those
    // nine) catches every copy, holding 10 ids.
    const auto [positions, skipped, remembered] = replay_with(10);
    CHECK(positions.size() == 50);
    CHECK(skipped == 10);
    CHECK(remembered == 10);
  }
  {
    // A window of 9 has forgotten 41 when its copy comes; the copy, handed over again, pushes 42
    // out before its copy comes, and so on: the whole resent run comes twice, as at least once
    // allows. Nothing is lost, and memory stays at 9 ids.
    const auto [positions, skipped, remembered] = replay_with(9);
    REQUIRE(positions.size() == 60);
    CHECK(skipped == 0);
    CHECK(remembered == 9);
    std::vector<std::uint64_t> resent(positions.begin() + 50, positions.end());
    CHECK(resent == std::vector<std::uint64_t>{41, 42, 43, 44, 45, 46, 47, 48, 49, 50});
  }
  CHECK_THROWS_WITH(replay_with(0), Catch::Contains("dedupe_window is 0"));
}

TEST_CASE("kafka_replay's dedupe memory is bounded per partition", "[kafka][replay][dedupe]") {
  mock_cluster cluster(1);
  cluster.create_topic("events", 4, 1);
  annal::memory_store store;
  append_events(store, 8, 25);
  annal::memory_checkpoint checkpoint;
  annal::kafka_publisher(store, checkpoint, options_for(cluster, "events")).publish_available();
  annal::kafka_replay replay({.topic = "events",
                              .properties = {{"bootstrap.servers", cluster.bootstrap_servers()}},
                              .dedupe_by_event_id = true,
                              .dedupe_window = 7});
  std::map<std::int32_t, std::size_t> per_partition;
  CHECK(replay.replay_to_end(
            [&](const annal::recorded_event&) { ++per_partition[replay.partition()]; }) == 200);
  std::size_t bound = 0;
  for (const auto& [partition, n] : per_partition) bound += std::min<std::size_t>(n, 7);
  CHECK(per_partition.size() > 1);
  CHECK(replay.remembered_ids() == bound);
}

TEST_CASE("a tombstone travels through Kafka: the copy of a deleted stream is deleted too",
          "[kafka][replay][tombstone]") {
  mock_cluster cluster(1);
  cluster.create_topic("events", 2, 1);
  annal::memory_store store;
  append_events(store, 2, 2);
  REQUIRE(annal::delete_stream(store, "order-1", annal::expected_version::exact(2), "closed").ok());
  annal::memory_checkpoint checkpoint;
  annal::kafka_publisher(store, checkpoint, options_for(cluster, "events")).publish_available();

  annal::memory_store copy;
  replay_into(copy, cluster, "events");
  REQUIRE(copy.last_position() == 5);
  CHECK(copy.stream_version("order-1") == 3);
  std::vector<annal::event_data> more(1);
  more[0].id = annal::new_event_id();
  more[0].type = "order.noted";
  CHECK_THROWS_WITH(copy.append("order-1", annal::expected_version::any(), more),
                    Catch::Contains("'order-1' is deleted"));
  CHECK(copy.append("order-0", annal::expected_version::exact(2), more).ok());
}

// Kafka carries records as stored; a copy replayed into another store reads them through the same
// upcasts as the original (tests/projection/upcast_paths.cpp covers the other read paths).
TEST_CASE("old records replayed through Kafka into another store are upcast when read",
          "[kafka][replay][upcast]") {
  mock_cluster cluster(1);
  cluster.create_topic("events", 2, 1);
  annal::memory_store store;
  const annal::event_data old[] = {annal_test::encoded(library::added{2}),
                                   annal_test::encoded(library::borrowed_v1{}),
                                   annal_test::encoded(library::swapped{"ann", "bob"})};
  store.append("book-1", annal::expected_version::no_stream(), old);
  annal::memory_checkpoint checkpoint;
  annal::kafka_publisher(store, checkpoint, options_for(cluster, "events")).publish_available();

  annal::memory_store copy;
  replay_into(copy, cluster, "events");
  annal::repository<library::book, annal::memory_store> books{copy};
  CHECK(books.load("book-1").state.available == 1);  // 2 - 1 + 1 - 1
  const auto history = books.history("book-1");
  REQUIRE(history.size() == 4);
  CHECK(std::get<library::borrowed>(history[1].event) == library::borrowed{"(unrecorded)"});
  CHECK(std::get<library::returned>(history[2].event) == library::returned{"ann"});
  CHECK(std::get<library::borrowed>(history[3].event) == library::borrowed{"bob"});
}
