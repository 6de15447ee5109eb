// docs/kafka.md, compiled and run against the mock cluster: publish a store, follow it, replay it.
#include <catch2/catch.hpp>

#include <span>
#include <string>
#include <thread>

#include <annal/kafka/publisher.hpp>
#include <annal/kafka/replay.hpp>

#include "kafka/mock_cluster.hpp"

TEST_CASE("docs/kafka.md: publish, run, replay into another store", "[docs][kafka]") {
  annal_test_kafka::mock_cluster cluster(3);
  cluster.create_topic("orders.events", 6);
  const std::string brokers = cluster.bootstrap_servers();  // e.g. "kafka1:9092,kafka2:9092"
  annal::memory_store store;
  annal_test_kafka::append_events(store, 3, 4);
  annal_test_kafka::watched_checkpoint checkpoint;  // e.g. annal::file_checkpoint

  // [publish]
  annal::kafka_publisher_options options{
      .topic = "orders.events",
      .properties = {{"bootstrap.servers", brokers}, {"linger.ms", "5"}},
  };
  annal::kafka_publisher publisher(store, checkpoint, options);
  publisher.publish_available();  // returns once the brokers confirmed every record
  // [publish]
  CHECK(publisher.checkpoint() == 12);

  {
    // [run]
    std::jthread worker([&](std::stop_token stop) { publisher.run(stop); });
    // ... appends to `store` are published as they happen, until worker.request_stop()
    // [run]
    annal_test_kafka::append_events(store, 3, 1, 4);
    REQUIRE(checkpoint.wait_for(15, std::chrono::seconds(30)));
  }

  // [replay]
  annal::kafka_replay replay({
      .topic = "orders.events",
      .properties = {{"bootstrap.servers", brokers}},
      .dedupe_by_event_id = true,  // the publisher is at least once
      .in_position_order = true,   // the copy keeps the original's global order
  });
  annal::memory_store copy;
  replay.replay_to_end([&](const annal::recorded_event& e) {
    const annal::event_data data = annal::as_event_data(e);  // same id: a repeat is a duplicate
    copy.append(e.stream_id, annal::expected_version::exact(e.stream_version - 1),
                std::span(&data, 1));
  });
  // [replay]
  CHECK(copy.last_position() == 15);
  const auto original = annal_test_kafka::stored(store), copied = annal_test_kafka::stored(copy);
  REQUIRE(copied.size() == original.size());
  for (std::size_t i = 0; i < original.size(); ++i) CHECK(copied[i].id == original[i].id);
  for (int s = 0; s < 3; ++s) CHECK(copy.stream_version("order-" + std::to_string(s)) == 5);
}
