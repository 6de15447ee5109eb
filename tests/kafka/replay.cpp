// kafka_replay against librdkafka's mock cluster: bounded and continuous replays, resuming by
// offsets, deduplication, and messages that are not annal events.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <annal/kafka/detail/record.hpp>
#include <annal/kafka/publisher.hpp>
#include <annal/kafka/replay.hpp>
#include <annal/store/replication.hpp>

#include "common/invalid_option.hpp"
#include "kafka/mock_cluster.hpp"

using namespace annal_test_kafka;

namespace {

void publish(const mock_cluster& cluster, annal::memory_store& store,
             annal::memory_checkpoint& checkpoint, const std::string& topic) {
  annal::kafka_publisher publisher(
      store, checkpoint,
      {.topic = topic, .properties = {{"bootstrap.servers", cluster.bootstrap_servers()}}});
  publisher.publish_available();
}

annal::kafka_replay_options replay_options(const mock_cluster& cluster, const std::string& topic) {
  return {.topic = topic, .properties = {{"bootstrap.servers", cluster.bootstrap_servers()}}};
}

// The headers annal would write for one event.
std::vector<std::pair<std::string, std::string>> annal_headers(const annal::recorded_event& e) {
  annal::detail::kafka::header_encoder encoder;
  encoder.encode(e);
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i < annal::detail::kafka::header_names.size(); ++i)
    out.emplace_back(annal::detail::kafka::header_names[i], encoder.value(i));
  return out;
}

// The positions follow() hands over until it has `n`, each checked to come once.
std::set<std::uint64_t> follow_positions(annal::kafka_replay& replay, std::size_t n) {
  std::set<std::uint64_t> followed;
  replay.follow(
      [&](const annal::recorded_event& e) {
        CHECK(followed.insert(e.position).second);
        return followed.size() < n;
      },
      std::stop_token{});
  return followed;
}

annal::recorded_event sample_event() {
  annal::recorded_event e;
  e.stream_id = "order-1";
  e.stream_version = 1;
  e.position = 1;
  e.id = annal::new_event_id();
  e.type = "order.placed";
  e.recorded_at = annal::clock::now();
  e.meta = {{"user", "ada"}};
  return e;
}

}  // namespace

TEST_CASE("kafka_replay is bounded by the end offsets it saw, and resumes from next_offsets()",
          "[kafka][replay]") {
  mock_cluster cluster(3);
  cluster.create_topic("events", 4);
  annal::memory_store store;
  annal::memory_checkpoint checkpoint;
  append_events(store, 4, 10);
  publish(cluster, store, checkpoint, "events");

  annal::kafka_replay first(replay_options(cluster, "events"));
  append_events(store, 4, 5, 10);
  publish(cluster, store, checkpoint, "events");  // after the bound was taken

  std::set<std::uint64_t> seen;
  CHECK(first.replay_to_end([&](const annal::recorded_event& e) { seen.insert(e.position); }) ==
        40);
  CHECK(seen.size() == 40);
  CHECK(*seen.rbegin() == 40);
  CHECK(first.next_offsets() == first.end_offsets());
  const auto resume_at = first.next_offsets();

  // What the bound left out is handed over by follow() on the same replay, none lost, none twice.
  const std::set<std::uint64_t> followed = follow_positions(first, 20);
  REQUIRE(followed.size() == 20);
  CHECK(*followed.begin() == 41);
  CHECK(*followed.rbegin() == 60);

  auto options = replay_options(cluster, "events");
  options.from_offsets = resume_at;
  annal::kafka_replay rest(options);
  std::set<std::uint64_t> later;
  CHECK(rest.replay_to_end([&](const annal::recorded_event& e) { later.insert(e.position); }) ==
        20);
  REQUIRE(later.size() == 20);
  CHECK(*later.begin() == 41);
  CHECK(*later.rbegin() == 60);
}

TEST_CASE("kafka_replay stops when the visitor returns false, and follow() waits for new messages",
          "[kafka][replay]") {
  mock_cluster cluster(3);
  cluster.create_topic("events", 2);
  annal::memory_store store;
  annal::memory_checkpoint checkpoint;
  append_events(store, 2, 5);
  publish(cluster, store, checkpoint, "events");

  annal::kafka_replay replay(replay_options(cluster, "events"));
  int n = 0;
  CHECK(replay.replay_to_end([&](const annal::recorded_event&) { return ++n < 3; }) == 3);

  // follow() hands over what arrives after the end offsets too.
  append_events(store, 2, 5, 5);
  publish(cluster, store, checkpoint, "events");
  std::set<std::uint64_t> positions;
  std::stop_source never;
  replay.follow(
      [&](const annal::recorded_event& e) {
        positions.insert(e.position);
        return positions.size() < 17;
      },
      never.get_token());
  CHECK(positions.size() == 17);  // the 3 seen before are not handed over again
}

// The publisher sends in position order, but partitions reach a consumer in any interleaving.
TEST_CASE("kafka_replay in position order hands a bounded replay over in the store's order",
          "[kafka][replay]") {
  mock_cluster cluster(3);
  cluster.create_topic("events", 4);
  annal::memory_store store;
  annal::memory_checkpoint checkpoint;
  append_events(store, 7, 12);  // 84 events of 7 streams over 4 partitions
  publish(cluster, store, checkpoint, "events");
  const auto all = stored(store);

  for (const std::size_t held : {std::size_t{4096}, std::size_t{1}, std::size_t{3}}) {
    INFO("held_per_partition " << held);
    auto options = replay_options(cluster, "events");
    options.in_position_order = true;
    options.held_per_partition = held;  // 1 and 3 pause partitions that run ahead
    annal::kafka_replay replay(options);
    std::vector<annal::recorded_event> got;
    CHECK(replay.replay_to_end([&](const annal::recorded_event& e) { got.push_back(e); }) == 84);
    REQUIRE(got.size() == all.size());
    for (std::size_t i = 0; i < all.size(); ++i) CHECK(got[i] == all[i]);
    CHECK(replay.next_offsets() == replay.end_offsets());
  }

  // Stopped early, it has handed over exactly the first events of the global order, and both a
  // resumed replay and follow() carry on with the rest, none lost, none twice.
  auto options = replay_options(cluster, "events");
  options.in_position_order = true;
  options.held_per_partition = 2;
  annal::kafka_replay first(options);
  std::vector<std::uint64_t> positions;
  CHECK(first.replay_to_end([&](const annal::recorded_event& e) {
    positions.push_back(e.position);
    return positions.size() < 30;
  }) == 30);
  std::vector<std::uint64_t> expected(30);
  std::iota(expected.begin(), expected.end(), 1);
  CHECK(positions == expected);

  auto rest_options = options;
  rest_options.from_offsets = first.next_offsets();
  annal::kafka_replay rest(rest_options);
  std::vector<std::uint64_t> later;
  CHECK(rest.replay_to_end([&](const annal::recorded_event& e) { later.push_back(e.position); }) ==
        54);
  expected.resize(54);
  std::iota(expected.begin(), expected.end(), 31);
  CHECK(later == expected);

  const std::set<std::uint64_t> followed = follow_positions(first, 54);
  REQUIRE(followed.size() == 54);
  CHECK(*followed.begin() == 31);
  CHECK(*followed.rbegin() == 84);
}

// Log shipping through Kafka: the publisher puts the primary's log on a topic, a replay in position
// order hands it to a replica_writer, and the standby holds the same log; a second replay from the
// topic's start copies only what the standby lacks.
TEST_CASE("a standby fed through Kafka holds the primary's log, and resumes", "[kafka][replay]") {
  mock_cluster cluster(3);
  cluster.create_topic("shipped", 4);
  annal::memory_store primary;
  annal::memory_checkpoint checkpoint;
  append_events(primary, 5, 6);
  publish(cluster, primary, checkpoint, "shipped");

  annal::memory_store standby;
  std::optional<annal::replica_writer<annal::memory_store>> kept;
  const auto ship = [&] {
    auto options = replay_options(cluster, "shipped");
    options.in_position_order = true;
    std::size_t written = 0;
    // [ship]
    annal::replica_writer writer(standby);
    annal::kafka_replay replay(options);  // options.in_position_order = true
    replay.replay_to_end(
        [&](const annal::recorded_event& e) { written += writer.write(std::span(&e, 1)); });
    // [ship]
    kept.emplace(writer);
    return written;
  };
  CHECK(ship() == 30);
  CHECK(stored(standby) == stored(primary));

  append_events(primary, 5, 2, 6);
  publish(cluster, primary, checkpoint, "shipped");
  CHECK(ship() == 10);  // the first 30 are on the standby already: skipped, not refused
  CHECK(stored(standby) == stored(primary));
  CHECK(kept->next_position() == 41);
}

TEST_CASE("kafka_replay of an empty topic ends at once", "[kafka][replay]") {
  mock_cluster cluster(3);
  cluster.create_topic("empty", 3);
  annal::kafka_replay replay(replay_options(cluster, "empty"));
  CHECK(replay.replay_to_end([](const annal::recorded_event&) {}) == 0);
}

TEST_CASE("kafka_replay names topic, partition and offset of a message that is not an annal event",
          "[kafka][replay][decode]") {
  mock_cluster cluster(3);
  raw_producer producer(cluster);
  const annal::recorded_event event = sample_event();
  const auto good = annal_headers(event);
  const auto with = [&](const std::string& name, const std::string& value) {
    auto headers = good;
    for (auto& [n, v] : headers)
      if (n == name) v = value;
    return headers;
  };
  const auto without = [&](const std::string& name) {
    auto headers = good;
    std::erase_if(headers, [&](const auto& h) { return h.first == name; });
    return headers;
  };
  struct garbled_case {
    std::string key;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string expected;
  };
  const std::vector<garbled_case> cases{
      {"order-1", {}, "it has no headers"},
      {"order-1", without("annal.position"), "header 'annal.position' is missing"},
      {"order-1", with("annal.position", "12x"), "header 'annal.position' holds '12x'"},
      {"order-1", with("annal.stream_version", "0"), "header 'annal.stream_version' holds '0'"},
      {"order-1", with("annal.stream_version", "99999999999999999999999"), "annal.stream_version"},
      {"order-1", with("annal.event_id", std::string("\xff\x00zz", 4)),
       "holds '\\xff\\x00zz', not a uuid"},
      {"order-1", with("annal.event_id", "00000000-0000-0000-0000-000000000000"), "nil uuid"},
      {"order-1", with("annal.metadata", "{\"user\":1}"), "not a JSON object of strings"},
      {"order-1", with("annal.metadata", "{"), "annal.metadata"},
      {"order-1", with("annal.recorded_at", "yesterday"), "annal.recorded_at"},
      {"order-1", with("annal.stream_id", std::string("a\0b", 3)), "not a stream id"},
      {"order-2", good, "its key 'order-2' differs"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string topic = "garbled-" + std::to_string(i);
    cluster.create_topic(topic, 3);
    producer.send(topic, 2, cases[i].key, cases[i].headers);
    auto options = replay_options(cluster, topic);
    options.in_position_order = i % 2 == 1;  // held first, then decoded: the same answer
    annal::kafka_replay replay(options);
    // The bad message is not passed: the same replay, called again, meets it again, and so
    // would a later replay from next_offsets().
    for (int attempt = 0; attempt < 2; ++attempt) {
      try {
        replay.replay_to_end([](const annal::recorded_event&) {});
        FAIL("case " << i << " was accepted (attempt " << attempt << ")");
      } catch (const annal::error& e) {
        INFO("case " << i << ", attempt " << attempt << ": " << e.what());
        CHECK(e.code() == annal::errc::decode_error);
        const std::string what = e.what();
        CHECK(what.find("topic '" + topic + "' partition 2 offset 0") != std::string::npos);
        CHECK(what.find(cases[i].expected) != std::string::npos);
      }
      CHECK(replay.next_offsets().at(2) == RD_KAFKA_OFFSET_BEGINNING);
    }
  }

  // The unchanged headers decode, as a control for the cases above.
  cluster.create_topic("control", 1);
  producer.send("control", 0, "order-1", good);
  annal::kafka_replay replay(replay_options(cluster, "control"));
  std::vector<annal::recorded_event> got;
  replay.replay_to_end([&](const annal::recorded_event& e) { got.push_back(e); });
  REQUIRE(got.size() == 1);
  CHECK(got[0].id == event.id);
  CHECK(got[0].recorded_at == event.recorded_at);
  CHECK(got[0].meta == event.meta);
  CHECK(got[0].payload == "x");
}

TEST_CASE("header value parsers take any bytes without crashing", "[kafka][replay][decode]") {
  std::mt19937 random(7);
  std::uniform_int_distribution<int> byte(0, 255), length(0, 48);
  for (int i = 0; i < 20000; ++i) {
    std::string s(static_cast<std::size_t>(length(random)), '\0');
    for (char& c : s) c = static_cast<char>(byte(random));
    (void)annal::detail::kafka::parse_uuid(s);
    (void)annal::detail::kafka::parse_decimal<std::uint64_t>(s);
    (void)annal::detail::kafka::parse_decimal<std::int64_t>(s);
    (void)annal::detail::kafka::parse_metadata(s);
    (void)annal::detail::kafka::shown_bytes(s);
  }
  CHECK(annal::detail::kafka::parse_decimal<std::uint64_t>("+1") == std::nullopt);
  CHECK(annal::detail::kafka::parse_decimal<std::uint64_t>("-1") == std::nullopt);
  CHECK(annal::detail::kafka::parse_decimal<std::uint64_t>("18446744073709551615") ==
        std::uint64_t{18446744073709551615u});
  CHECK(annal::detail::kafka::parse_uuid("0123456789abcdef0123456789abcdef0123") == std::nullopt);
}

TEST_CASE("kafka_replay refuses bad configuration and unknown topics", "[kafka][replay][config]") {
  mock_cluster cluster(1);
  cluster.create_topic("events", 2, 1);
  auto options = replay_options(cluster, "events");
  options.properties.emplace_back("fetch.max.bytes", "lots");
  try {
    annal::kafka_replay replay(options);
    FAIL("accepted fetch.max.bytes=lots");
  } catch (const annal::error& e) {
    CHECK(e.code() == annal::errc::invalid_argument);
    CHECK(std::string(e.what()).find("'fetch.max.bytes' = 'lots' is refused: Invalid value") !=
          std::string::npos);
  }
  try {
    annal::kafka_replay replay(replay_options(cluster, "no-such-topic"));
    FAIL("replayed a topic that does not exist");
  } catch (const annal::error& e) {
    CHECK(e.code() == annal::errc::invalid_argument);
    CHECK(std::string(e.what()).find("topic 'no-such-topic' does not exist") != std::string::npos);
  }
  options = replay_options(cluster, "events");
  options.from_offsets = {{5, 0}};
  CHECK_THROWS_WITH(annal::kafka_replay(options), Catch::Contains("names partition 5"));
  options = replay_options(cluster, "events");
  options.held_per_partition = 0;  // used to be raised to 1 without a word
  CHECK_THROWS_MATCHES(annal::kafka_replay(options), annal::error,
                       annal_test::names_invalid_option("held_per_partition", "0"));
}

TEST_CASE("kafka_replay honours a stop request and closes while the brokers are unreachable",
          "[kafka][replay]") {
  mock_cluster cluster(3);
  cluster.create_topic("events", 2);
  annal::memory_store store;
  annal::memory_checkpoint checkpoint;
  append_events(store, 2, 3);
  publish(cluster, store, checkpoint, "events");
  std::atomic<int> logged{0};  // librdkafka logs the refused connections from its own threads
  annal::set_log_handler([&](annal::log_level, std::string_view) { ++logged; });
  struct restore_log {
    ~restore_log() { annal::set_log_handler({}); }
  } restore;
  {
    annal::kafka_replay replay(replay_options(cluster, "events"));
    for (int broker = 1; broker <= 3; ++broker)
      rd_kafka_mock_broker_set_down(cluster.get(), broker);
    std::stop_source stop;
    stop.request_stop();
    CHECK(replay.replay_to_end([](const annal::recorded_event&) {}, stop.get_token()) == 0);
    CHECK(replay.follow([](const annal::recorded_event&) {}, stop.get_token()) == 0);
  }  // the destructor closes the consumer without a reachable broker, and returns
  SUCCEED("closed");
}
