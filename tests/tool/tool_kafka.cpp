// The `annal` tool on kafka:// URLs, run as a program against librdkafka's mock cluster started in
// this process: info and events (a range, a stream, --type, --json, --follow) over a topic
// published twice (every event duplicated), copy from the topic into a file log, and each bad
// input (malformed URL, unknown topic, unreachable brokers, a topic as a write target) a one-line
// error with exit status 2.
#include <catch2/catch.hpp>

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include <annal/file/log.hpp>
#include <annal/kafka/publisher.hpp>
#include <annal/store/memory.hpp>

#include "kafka/mock_cluster.hpp"
#include "tool/run_tool.hpp"

using annal_test_tool::check_bad_input;
using annal_test_tool::contains;
using annal_test_tool::run_tool;
using annal_test_tool::scratch;
using annal_test_tool::tool_run;
namespace fs = std::filesystem;

namespace {

// What kafka_publisher puts on `topic` from `store`, from the checkpoint on.
void publish(const annal_test_kafka::mock_cluster& cluster, annal::memory_store& store,
             annal::memory_checkpoint& checkpoint, const std::string& topic) {
  annal::kafka_publisher publisher(
      store, checkpoint,
      {.topic = topic, .properties = {{"bootstrap.servers", cluster.bootstrap_servers()}}});
  publisher.publish_available();
}

// The sample's five events on a topic of three partitions, published twice (a restarted
// publisher's resends): every event is on the topic two times.
struct sample_topic {
  annal_test_kafka::mock_cluster cluster{1};
  annal::memory_store store;
  annal::memory_checkpoint checkpoint;
  std::string url;
  sample_topic() {
    cluster.create_topic("orders", 3, 1);
    annal_test_tool::write_sample(store);
    publish(cluster, store, checkpoint, "orders");
    annal::memory_checkpoint again;
    publish(cluster, store, again, "orders");
    url = "kafka://" + cluster.bootstrap_servers() + "/orders";
  }
};

}  // namespace

TEST_CASE("annal tool: info on a kafka:// topic counts each event once", "[tool][kafka]") {
  sample_topic topic;
  const tool_run text = run_tool({"info", topic.url});
  INFO(text.err);
  REQUIRE(text.status == 0);
  CHECK(contains(text.out, "store:          Kafka topic"));
  CHECK(contains(text.out, "topic:          orders"));
  CHECK(contains(text.out, "partitions:     3"));
  CHECK(contains(text.out, "events:         5 (5 duplicate messages skipped)"));
  CHECK(contains(text.out, "streams:        3"));
  CHECK(contains(text.out, "last position:  5"));

  const tool_run json = run_tool({"info", topic.url, "--json"});
  REQUIRE(json.status == 0);
  const auto o = boost::json::parse(json.out).as_object();
  CHECK(o.at("events").as_int64() == 5);
  CHECK(o.at("duplicates_skipped").as_int64() == 5);
  CHECK(o.at("partitions").as_int64() == 3);
  std::int64_t messages = 0;
  for (const auto& [partition, end] : o.at("end_offsets").as_object()) messages += end.as_int64();
  CHECK(messages == 10);
  CHECK(o.at("last_position").as_int64() == 5);
}

TEST_CASE("annal tool: events of a kafka:// topic, by range, stream and type, as the file log's",
          "[tool][kafka]") {
  sample_topic topic;
  // The same events in a file log: the topic's listing must be the log's, line for line.
  const scratch dir;
  {
    annal::file_log log(dir.path() / "log");
    for (const auto& e : annal_test_kafka::stored(topic.store)) {
      const annal::event_data one[] = {annal::as_event_data(e)};
      log.append(e.stream_id, annal::expected_version::any(), one);
    }
  }
  const std::string file = "file:" + (dir.path() / "log").string();
  const auto same = [&](const std::vector<std::string>& query) {
    std::vector<std::string> k{"events", topic.url}, f{"events", file};
    k.insert(k.end(), query.begin(), query.end());
    f.insert(f.end(), query.begin(), query.end());
    const tool_run from_kafka = run_tool(k), from_log = run_tool(f);
    INFO(from_kafka.err << from_log.err);
    REQUIRE(from_kafka.status == 0);
    REQUIRE(from_log.status == 0);
    return std::pair(from_kafka.lines(), from_log.lines());
  };
  SECTION("a range, in position order, each event once") {
    const auto [kafka, log] = same({"--from", "2", "--to", "4"});
    REQUIRE(kafka.size() == 3);
    CHECK(kafka[0].starts_with("2  account-1  2  withdrawn"));
    CHECK(kafka[1].starts_with("3  account-2  1  opened"));
    CHECK(kafka[2].starts_with("4  order-7  1  noted"));
    // The file log records its own append times: compare all but the time.
    for (std::size_t i = 0; i < kafka.size(); ++i)
      CHECK(kafka[i].substr(kafka[i].rfind("  ")) == log[i].substr(log[i].rfind("  ")));
  }
  SECTION("a stream, as JSON") {
    const tool_run r = run_tool({"events", topic.url, "--stream", "account-1", "--json"});
    REQUIRE(r.status == 0);
    const auto lines = r.json_lines();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].at("position").as_int64() == 1);
    CHECK(lines[0].at("payload").as_object().at("cents").as_int64() == 100);
    CHECK(lines[0].at("metadata").as_object().at("user").as_string() == "ann");
    CHECK(lines[1].at("type").as_string() == "withdrawn");
  }
  SECTION("--type, from the start") {
    const auto [kafka, log] = same({"--from", "1", "--type", "opened"});
    REQUIRE(kafka.size() == 1);
    CHECK(kafka[0].ends_with("hex:0102ff"));
    CHECK(log.size() == 1);
  }
  SECTION("a range beyond the end, and a stream not on the topic") {
    check_bad_input(run_tool({"events", topic.url, "--from", "9"}),
                    "--from 9 is beyond the end of Kafka topic 'orders' (last position 5)");
    check_bad_input(run_tool({"events", topic.url, "--stream", "nope"}),
                    "stream 'nope' is not on Kafka topic 'orders'");
  }
}

TEST_CASE("annal tool: events --follow on a kafka:// topic prints what is published, until SIGTERM",
          "[tool][kafka][follow]") {
  sample_topic topic;
  annal_test_tool::running_tool follower({"events", topic.url, "--from", "6", "--follow"});
  const annal::event_data later[] = {annal_test_tool::sample_event("deposited", R"({"cents":7})")};
  topic.store.append("account-1", annal::expected_version::any(), later);
  publish(topic.cluster, topic.store, topic.checkpoint, "orders");
  const tool_run seen =
      follower.wait_for([](const tool_run& r) { return contains(r.out, "6  account-1  3"); });
  INFO(seen.out << seen.err);
  REQUIRE(contains(seen.out, "6  account-1  3  deposited"));
  CHECK(seen.lines().size() == 1);
  CHECK(follower.stop(SIGTERM) == 0);
}

TEST_CASE("annal tool: copy from a kafka:// topic into a file log, and again (nothing twice)",
          "[tool][kafka][copy]") {
  sample_topic topic;
  const scratch dir;
  const std::string target = "file:" + (dir.path() / "copy").string();
  const tool_run first = run_tool({"copy", topic.url, target, "--json"});
  INFO(first.err);
  REQUIRE(first.status == 0);
  const auto o = boost::json::parse(first.out).as_object();
  CHECK(o.at("copied").as_int64() == 5);
  CHECK(o.at("created").as_bool());
  CHECK(o.at("last_position").as_int64() == 5);
  {
    annal::file_log copy(dir.path() / "copy");
    std::vector<annal::recorded_event> held;
    copy.read_all(1, [&](const annal::recorded_event& e) { held.push_back(e); });
    CHECK(held == annal_test_kafka::stored(topic.store));
  }
  const tool_run again = run_tool({"copy", topic.url, target});
  INFO(again.err);
  CHECK(again.status == 0);
  CHECK(contains(again.out, "copied 0 events"));
  CHECK(contains(again.out, "target at position 5"));
}

TEST_CASE("annal tool: bad kafka:// input is one line and exit 2, nothing written",
          "[tool][kafka][bad-input]") {
  sample_topic topic;
  const std::string brokers = topic.cluster.bootstrap_servers();
  check_bad_input(run_tool({"info", "kafka://" + brokers}), "names no topic");
  check_bad_input(run_tool({"info", "kafka://" + brokers + "/"}), "names no topic");
  check_bad_input(run_tool({"events", "kafka:///orders", "--from", "1"}), "names no broker");
  check_bad_input(run_tool({"info", "kafka://localhost/orders"}),
                  "broker 'localhost' is not host:port");
  check_bad_input(run_tool({"info", "kafka://" + brokers + "/missing"}),
                  "topic 'missing' does not exist");
  // Port 1 on the loopback: nothing listens; the wait is bounded by --kafka-timeout.
  const tool_run unreachable =
      run_tool({"info", "kafka://127.0.0.1:1/orders", "--kafka-timeout", "1"});
  check_bad_input(unreachable, "cannot read Kafka topic 'orders' from brokers 127.0.0.1:1");

  const scratch dir;
  const std::string log = (dir.path() / "log").string();
  check_bad_input(run_tool({"copy", "file:" + log, topic.url}), "a Kafka topic");
  check_bad_input(run_tool({"replicate", topic.url, "file:" + log}),
                  "replicate does not read a Kafka topic");
  check_bad_input(run_tool({"backup", topic.url, log}), "backup does not read a Kafka topic");
  check_bad_input(run_tool({"restore", topic.url, log}), "restore does not read a Kafka topic");
  check_bad_input(run_tool({"archive", topic.url, log, "--age", "1d"}),
                  "archive does not read a Kafka topic");
  check_bad_input(run_tool({"verify", topic.url}), "verify does not read a Kafka topic");
  CHECK_FALSE(fs::exists(log));
}
