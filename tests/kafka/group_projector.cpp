// kafka_group_projector against librdkafka's mock cluster: partitions shared by group members,
// offsets kept by the read models, rebalances, unreadable messages and bad input.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <annal/file/read_model.hpp>
#include <annal/kafka/group_projector.hpp>
#include <annal/kafka/publisher.hpp>
#include <annal/kafka/replay.hpp>
#include <annal/projection/projector.hpp>
#include <annal/projection/read_model.hpp>

#include "kafka/mock_cluster.hpp"
#include "projection/domain.hpp"
#include "projection/unreadable_log.hpp"
#include "snapshot/temp_dir.hpp"

using namespace annal_test_kafka;

namespace {

// How often each event was applied, and each stream's versions in the order they were applied:
// what exactly-once and per-stream order are checked against.
struct tally {
  using events = annal::events<bank::opened, bank::deposited, bank::withdrawn>;
  std::map<annal::event_id, int> applied;
  std::map<std::string, std::vector<std::uint64_t>> versions;

  void count(const annal::envelope_header& h) {
    ++applied[h.id];
    versions[h.stream_id].push_back(h.stream_version);
  }
  void on(const bank::opened&, const annal::envelope_header& h) { count(h); }
  void on(const bank::deposited&, const annal::envelope_header& h) { count(h); }
  void on(const bank::withdrawn&, const annal::envelope_header& h) { count(h); }
};

using tally_model = annal::memory_read_model<tally>;
using tally_projector = annal::kafka_group_projector<tally_model>;
using balances_model = annal::memory_read_model<proj::balances>;
using balances_projector = annal::kafka_group_projector<balances_model>;

// Low timeouts so that the mock cluster's rebalances take seconds, not minutes.
annal::kafka_group_options group_options(const mock_cluster& cluster, const std::string& topic,
                                         const std::string& group = "balances") {
  return {.topic = topic,
          .group_id = group,
          .properties = {{"bootstrap.servers", cluster.bootstrap_servers()},
                         {"session.timeout.ms", "6000"},
                         {"heartbeat.interval.ms", "500"},
                         {"topic.metadata.refresh.interval.ms", "1000"}},
          .poll_interval = std::chrono::milliseconds(50)};
}

// Bank events: each round opens, deposits to or withdraws from every account.
void append_bank(annal::memory_store& store, int accounts, int rounds, int first_round = 0) {
  for (int round = first_round; round < first_round + rounds; ++round)
    for (int a = 0; a < accounts; ++a) {
      const std::string stream = "acc-" + std::to_string(a);
      if (round == 0)
        proj::append(store, stream, bank::opened{stream});
      else if (round % 3 == 2)
        proj::append(store, stream, bank::withdrawn{round + a});
      else
        proj::append(store, stream, bank::deposited{10L * round + a});
    }
}

annal::kafka_publisher_options publisher_options(const mock_cluster& cluster,
                                                 const std::string& topic) {
  return {.topic = topic, .properties = {{"bootstrap.servers", cluster.bootstrap_servers()}}};
}

std::map<std::int32_t, std::int64_t> end_offsets(const mock_cluster& cluster,
                                                 const std::string& topic) {
  return annal::kafka_replay(
             {.topic = topic, .properties = {{"bootstrap.servers", cluster.bootstrap_servers()}}})
      .end_offsets();
}

proj::balances plain_balances(const annal::memory_store& store) {
  balances_model model;
  annal::projector{store, model}.catch_up();
  return model.copy().first;
}

// Calls poll_all until done() holds; false after `limit` (the mock cluster's rebalances take
// seconds).
bool poll_until(const std::function<bool()>& done, const std::function<void()>& poll_all,
                std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    poll_all();
  }
  return true;
}

// Polls until poll() throws an annal::error, and returns it.
template <class P>
annal::error poll_until_error(P& projector) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      projector.poll();
    } catch (const annal::error& e) {
      return e;
    }
  }
  FAIL("poll() went on for a minute without an error");
  throw std::logic_error("unreachable");
}

// The read models of one topic's partitions, one each, shared by every member as a database
// would be.
template <class M>
struct partition_models {
  std::map<std::int32_t, M> models;
  explicit partition_models(int partitions) {
    for (std::int32_t p = 0; p < partitions; ++p) models.try_emplace(p);
  }
  std::function<M&(std::int32_t)> model_of() {
    return [this](std::int32_t p) -> M& { return models.at(p); };
  }
  std::uint64_t checkpoint_sum() const {
    std::uint64_t sum = 0;
    for (const auto& [p, m] : models) sum += m.checkpoint();
    return sum;
  }
};

std::uint64_t sum(const std::map<std::int32_t, std::int64_t>& offsets) {
  std::uint64_t total = 0;
  for (const auto& [p, o] : offsets) total += static_cast<std::uint64_t>(o);
  return total;
}

// Every stored event applied exactly once over all partitions, each stream's versions in order.
void check_exactly_once(const partition_models<tally_model>& parts,
                        const annal::memory_store& store) {
  std::map<annal::event_id, int> applied;
  std::map<std::string, std::vector<std::uint64_t>> versions;
  for (const auto& [p, model] : parts.models) {
    const tally t = model.copy().first;
    for (const auto& [id, n] : t.applied) applied[id] += n;
    for (const auto& [stream, v] : t.versions) {
      INFO("stream " << stream << " in partition " << p);
      CHECK(versions.emplace(stream, v).second);  // one partition per stream
    }
  }
  const auto all = stored(store);
  std::map<std::string, std::uint64_t> last;
  for (const auto& e : all) {
    INFO("position " << e.position);
    CHECK(applied[e.id] == 1);
    last[e.stream_id] = e.stream_version;
  }
  CHECK(applied.size() == all.size());  // nothing applied that the store does not hold
  for (const auto& [stream, n] : last) {
    std::vector<std::uint64_t> expected(n);
    for (std::uint64_t v = 0; v < n; ++v) expected[v] = v + 1;
    INFO("stream " << stream);
    CHECK(versions[stream] == expected);
  }
}

std::set<std::int32_t> union_of(const std::vector<std::unique_ptr<tally_projector>>& members,
                                bool& overlap, bool& some_idle) {
  std::set<std::int32_t> all;
  overlap = false;
  some_idle = false;
  for (const auto& m : members) {
    const auto a = m->assigned();
    if (a.empty()) some_idle = true;
    for (const auto p : a) overlap |= !all.insert(p).second;
  }
  return all;
}

}  // namespace

TEST_CASE("kafka_group_projector: one member's partition models add up to the plain projection",
          "[kafka][group]") {
  mock_cluster cluster(3);
  cluster.create_topic("bank", 4);
  annal::memory_store store;
  annal::memory_checkpoint published;
  annal::kafka_publisher publisher(store, published, publisher_options(cluster, "bank"));
  append_bank(store, 9, 6);
  publisher.publish_available();

  partition_models<balances_model> parts(4);
  balances_projector member(group_options(cluster, "bank"), parts.model_of());
  const auto ends = end_offsets(cluster, "bank");
  REQUIRE(sum(ends) == 54);
  REQUIRE(poll_until([&] { return parts.checkpoint_sum() == 54; }, [&] { member.poll(); }));
  CHECK(member.assigned() == std::vector<std::int32_t>{0, 1, 2, 3});
  CHECK(member.duplicates_skipped() == 0);

  proj::balances together;
  std::size_t accounts = 0;
  for (auto& [p, model] : parts.models) {
    INFO("partition " << p);
    CHECK(model.checkpoint() == static_cast<std::uint64_t>(ends.at(p)));
    proj::balances b = model.copy().first;
    accounts += b.balance.size();
    together.merge(std::move(b));
  }
  const proj::balances expected = plain_balances(store);
  CHECK(accounts == 9);  // no account in two partitions
  CHECK(together.balance == expected.balance);
  CHECK(together.deposits == expected.deposits);
}

TEST_CASE("kafka_group_projector applies each event once while members join and leave",
          "[kafka][group][rebalance]") {
  mock_cluster cluster(3);
  cluster.create_topic("bank", 4);
  annal::memory_store store;
  annal::memory_checkpoint published;
  annal::kafka_publisher publisher(store, published, publisher_options(cluster, "bank"));
  partition_models<tally_model> parts(4);
  auto options = group_options(cluster, "bank");
  // librdkafka's default (range, round robin) rebalances eagerly; cooperative-sticky incrementally.
  const std::string strategy =
      GENERATE(as<std::string>{}, "range,roundrobin", "cooperative-sticky");
  INFO("partition.assignment.strategy " << strategy);
  options.properties.emplace_back("partition.assignment.strategy", strategy);
  int assignments = 0, empty_changes = 0;
  options.on_assigned = [&](const std::vector<std::int32_t>& p) {
    if (p.empty()) ++empty_changes;
    ++assignments;
  };
  options.on_revoked = [&](const std::vector<std::int32_t>& p) { empty_changes += p.empty(); };
  test::captured_log log;

  int round = 0;
  std::vector<std::unique_ptr<tally_projector>> members;
  const auto poll_all = [&] {
    append_bank(store, 8, 1, round++);  // events keep coming during every rebalance
    publisher.publish_available();
    for (auto& m : members) m->poll();
  };
  // Until the live members share all four partitions, each holding at least one.
  const auto settled = [&] {
    bool overlap = false, some_idle = false;
    const auto all = union_of(members, overlap, some_idle);
    return all.size() == 4 && !overlap && !some_idle;
  };

  members.push_back(std::make_unique<tally_projector>(options, parts.model_of()));
  REQUIRE(poll_until(settled, poll_all));
  members.push_back(std::make_unique<tally_projector>(options, parts.model_of()));
  REQUIRE(poll_until(settled, poll_all));
  members.push_back(std::make_unique<tally_projector>(options, parts.model_of()));
  REQUIRE(poll_until(settled, poll_all));
  std::uint64_t skipped = members[1]->duplicates_skipped();
  members.erase(members.begin() + 1);  // leaves the group: the others take its partitions over
  REQUIRE(poll_until(settled, poll_all));
  members.push_back(std::make_unique<tally_projector>(options, parts.model_of()));
  REQUIRE(poll_until(settled, poll_all));
  CHECK(assignments >= 5);
  // Never more members than partitions: no member said it stands by, though a cooperative
  // rebalance's first step gives a joining member nothing; and no callback was told of no change.
  for (const auto& line : log.infos()) CHECK_THAT(line, !Catch::Contains("stands by"));
  CHECK(empty_changes == 0);

  const auto ends = end_offsets(cluster, "bank");
  REQUIRE(sum(ends) == store.last_position());
  REQUIRE(poll_until([&] { return parts.checkpoint_sum() == store.last_position(); },
                     [&] {
                       for (auto& m : members) m->poll();
                     }));
  for (const auto& [p, model] : parts.models) {
    INFO("partition " << p);
    CHECK(model.checkpoint() == static_cast<std::uint64_t>(ends.at(p)));
  }
  // Each new owner started at the offset its read model held: none fetched from further back.
  for (const auto& m : members) skipped += m->duplicates_skipped();
  CHECK(skipped == 0);
  check_exactly_once(parts, store);
}

// librdkafka heartbeats from its own thread, so a member that stops polling keeps its session; past
// max.poll.interval.ms it leaves the group, and what it had fetched must not be applied again.
TEST_CASE("kafka_group_projector: a member that stopped polling applies nothing twice when woken",
          "[kafka][group][zombie]") {
  mock_cluster cluster(3);
  cluster.create_topic("bank", 1);
  annal::memory_store store;
  annal::memory_checkpoint published;
  annal::kafka_publisher publisher(store, published, publisher_options(cluster, "bank"));
  partition_models<tally_model> parts(1);
  auto options = group_options(cluster, "bank");
  options.properties.emplace_back("max.poll.interval.ms", "6000");
  test::captured_log log;
  int round = 0;
  const auto publish_more = [&] {
    append_bank(store, 3, 1, round++);
    publisher.publish_available();
  };

  tally_projector paused(options, parts.model_of());
  REQUIRE(poll_until([&] { return !paused.assigned().empty(); },
                     [&] {
                       publish_more();
                       paused.poll();
                     }));
  // Only the new member is polled: the paused one's queue fills with what is published meanwhile.
  tally_projector active(options, parts.model_of());
  REQUIRE(poll_until([&] { return !active.assigned().empty(); },
                     [&] {
                       publish_more();
                       active.poll();
                     }));
  REQUIRE(poll_until([&] { return parts.models.at(0).checkpoint() == store.last_position(); },
                     [&] { active.poll(); }));
  publish_more();
  // Woken, it learns it was dropped from the group, and both go on to the end.
  REQUIRE(poll_until([&] { return parts.models.at(0).checkpoint() == store.last_position(); },
                     [&] {
                       paused.poll();
                       active.poll();
                     }));
  check_exactly_once(parts, store);
}

TEST_CASE("kafka_group_projector: the read model's offset decides, ahead or behind",
          "[kafka][group][offsets]") {
  mock_cluster cluster(3);
  cluster.create_topic("bank", 1);
  annal::memory_store store;
  annal::memory_checkpoint published;
  annal::kafka_publisher publisher(store, published, publisher_options(cluster, "bank"));
  partition_models<tally_model> parts(1);
  tally_model& model = parts.models.at(0);
  tally_projector member(group_options(cluster, "bank"), parts.model_of());
  REQUIRE(poll_until([&] { return !member.assigned().empty(); }, [&] { member.poll(); }));

  // On one partition, offset i holds position i + 1: the state after the first k offsets is the
  // plain projection of the first k positions.
  append_bank(store, 2, 3);  // 6 events
  tally first_four;
  for (const auto& e : stored(store))
    if (e.position <= 4) {
      ++first_four.applied[e.id];
      first_four.versions[e.stream_id].push_back(e.stream_version);
    }
  publisher.publish_available();

  SECTION("ahead: what another member applied is skipped, and counted") {
    // As if another member had applied offsets 0..3 while this one had them fetched.
    model.replace(first_four, 4);
    const bool went_on =
        poll_until([&] { return model.checkpoint() == 6; }, [&] { member.poll(); });
    INFO("checkpoint " << model.checkpoint() << ", end offset "
                       << end_offsets(cluster, "bank").at(0));
    REQUIRE(went_on);
    CHECK(member.duplicates_skipped() >= 1);
    CHECK(member.duplicates_skipped() <= 4);
  }
  SECTION("behind: fetched again from the stored offset") {
    const bool went_on =
        poll_until([&] { return model.checkpoint() == 6; }, [&] { member.poll(); });
    INFO("checkpoint " << model.checkpoint() << ", end offset "
                       << end_offsets(cluster, "bank").at(0));
    REQUIRE(went_on);
    // A restore to an older commit: offsets 4 and 5 are no longer applied.
    model.replace(first_four, 4);
    append_bank(store, 2, 1, 3);
    publisher.publish_available();
    REQUIRE(poll_until([&] { return model.checkpoint() == 8; }, [&] { member.poll(); }));
    CHECK(member.duplicates_skipped() == 0);
  }
  CHECK(static_cast<std::uint64_t>(end_offsets(cluster, "bank").at(0)) == model.checkpoint());
  check_exactly_once(parts, store);
}

TEST_CASE("kafka_group_projector stops before an event it lists but cannot read, offset kept",
          "[kafka][group][unreadable]") {
  mock_cluster cluster(3);
  cluster.create_topic("bank", 1);
  annal::memory_store store;
  annal::memory_checkpoint published;
  annal::kafka_publisher publisher(store, published, publisher_options(cluster, "bank"));
  proj::write_unreadable_log(store);
  publisher.publish_available();

  SECTION("memory read model: the events before it stay applied") {
    partition_models<balances_model> parts(1);
    balances_model& model = parts.models.at(0);
    {
      balances_projector member(group_options(cluster, "bank"), parts.model_of());
      proj::check_names_the_unreadable(poll_until_error(member));
      CHECK(model.checkpoint() == 3);
      // Polled on, it meets the same event again.
      proj::check_names_the_unreadable(poll_until_error(member));
      CHECK(model.checkpoint() == 3);
    }
    // A new member (a restart) starts from the kept offset and stops there too: nothing skipped.
    balances_projector restarted(group_options(cluster, "bank"), parts.model_of());
    proj::check_names_the_unreadable(poll_until_error(restarted));
    CHECK(model.checkpoint() == 3);
    const proj::balances b = model.copy().first;
    CHECK(b.balance == std::map<std::string, long>{{"acc-1", 100}, {"acc-2", 0}});
  }
  SECTION("file read model: the failing batch is rolled back, the file keeps its commit") {
    test::temp_dir dir;
    const auto path = dir.path() / "bank-0.model";
    std::uint64_t before = 0;
    {
      annal::file_read_model<proj::balances> model(path);
      annal::kafka_group_projector<annal::file_read_model<proj::balances>> member(
          group_options(cluster, "bank"),
          [&](std::int32_t) -> annal::file_read_model<proj::balances>& { return model; });
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      std::optional<annal::error> failure;
      while (!failure && std::chrono::steady_clock::now() < deadline) {
        before = model.checkpoint();
        try {
          member.poll();
        } catch (const annal::error& e) {
          failure = e;
        }
      }
      REQUIRE(failure);
      proj::check_names_the_unreadable(*failure);
      CHECK(model.checkpoint() == before);  // what the failing update applied is not kept
      CHECK(before <= 3);
    }
    // The file holds the same commit; a new member on it stops at the same event.
    annal::file_read_model<proj::balances> reopened(path);
    CHECK(reopened.checkpoint() == before);
    annal::kafka_group_projector<annal::file_read_model<proj::balances>> restarted(
        group_options(cluster, "bank"),
        [&](std::int32_t) -> annal::file_read_model<proj::balances>& { return reopened; });
    proj::check_names_the_unreadable(poll_until_error(restarted));
    CHECK(reopened.checkpoint() <= 3);
    reopened.read([](const proj::balances& b, std::uint64_t checkpoint) {
      if (checkpoint == 3)
        CHECK(b.balance == std::map<std::string, long>{{"acc-1", 100}, {"acc-2", 0}});
    });
  }
}

TEST_CASE("kafka_group_projector names topic, partition and offset of a message without headers",
          "[kafka][group][decode]") {
  mock_cluster cluster(3);
  cluster.create_topic("bank", 1);
  annal::memory_store store;
  annal::memory_checkpoint published;
  annal::kafka_publisher publisher(store, published, publisher_options(cluster, "bank"));
  append_bank(store, 1, 2);  // offsets 0 and 1
  publisher.publish_available();
  raw_producer(cluster).send("bank", 0, "acc-0", {});  // no headers at all; offset 2

  partition_models<balances_model> parts(1);
  balances_projector member(group_options(cluster, "bank"), parts.model_of());
  for (int attempt = 0; attempt < 2; ++attempt) {
    INFO("attempt " << attempt);
    const annal::error e = poll_until_error(member);
    CHECK(e.code() == annal::errc::decode_error);
    CHECK_THAT(std::string(e.what()), Catch::Contains("topic 'bank' partition 0 offset 2"));
    CHECK(parts.models.at(0).checkpoint() == 2);
  }
}

TEST_CASE("kafka_group_projector: a member without a partition stands by, and takes over",
          "[kafka][group][standby]") {
  mock_cluster cluster(3);
  cluster.create_topic("bank", 2);
  annal::memory_store store;
  annal::memory_checkpoint published;
  annal::kafka_publisher publisher(store, published, publisher_options(cluster, "bank"));
  partition_models<tally_model> parts(2);
  test::captured_log log;
  auto options = group_options(cluster, "bank");
  const std::string strategy =
      GENERATE(as<std::string>{}, "range,roundrobin", "cooperative-sticky");
  INFO("partition.assignment.strategy " << strategy);
  options.properties.emplace_back("partition.assignment.strategy", strategy);
  const bool cooperative = strategy == "cooperative-sticky";

  std::vector<std::unique_ptr<tally_projector>> members;
  for (int i = 0; i < 3; ++i)
    members.push_back(std::make_unique<tally_projector>(options, parts.model_of()));
  int round = 0;
  const auto poll_all = [&] {
    append_bank(store, 6, 1, round++);
    publisher.publish_available();
    for (auto& m : members) m->poll();
  };
  // Two members hold a partition each, one holds none.
  const auto one_idle = [&] {
    int idle = 0;
    bool overlap = false, some_idle = false;
    const auto all = union_of(members, overlap, some_idle);
    for (const auto& m : members) idle += m->assigned().empty();
    return all.size() == 2 && !overlap && idle == 1;
  };
  const auto said_idle = [&] {
    for (const auto& line : log.infos())
      if (line.find("'balances': no partition of topic 'bank' is assigned to this worker") !=
          std::string::npos)
        return true;
    return false;
  };
  // A member that has not joined yet holds nothing either, without having been told so: wait for
  // the rebalance that gives the third member its empty share, which it must report. Under
  // cooperative rebalancing a joining member's first step is empty too, so the report comes only
  // once its share stayed empty for 30 s.
  REQUIRE(poll_until(one_idle, poll_all));
  if (cooperative) CHECK_FALSE(said_idle());
  REQUIRE(poll_until([&] { return one_idle() && said_idle(); }, poll_all,
                     std::chrono::seconds(cooperative ? 120 : 60)));
  CHECK(log.warnings().empty());

  std::size_t standby = 0;
  while (!members[standby]->assigned().empty()) ++standby;
  const std::size_t active = standby == 0 ? 1 : 0;
  members.erase(members.begin() + static_cast<std::ptrdiff_t>(active));
  if (active < standby) --standby;
  REQUIRE(poll_until(
      [&] {
        bool overlap = false, some_idle = false;
        return union_of(members, overlap, some_idle).size() == 2 && !overlap && !some_idle;
      },
      poll_all));
  CHECK(members[standby]->assigned().size() == 1);

  REQUIRE(poll_until([&] { return parts.checkpoint_sum() == store.last_position(); },
                     [&] {
                       for (auto& m : members) m->poll();
                     }));
  check_exactly_once(parts, store);
}

TEST_CASE("kafka_group_projector refuses bad input with errors naming it",
          "[kafka][group][config]") {
  mock_cluster cluster(1);
  cluster.create_topic("bank", 2, 1);
  partition_models<balances_model> parts(2);
  const auto refused = [&](annal::kafka_group_options options, const std::string& named) {
    INFO("expecting an error naming " << named);
    try {
      balances_projector member(std::move(options), parts.model_of());
      FAIL("accepted");
    } catch (const annal::error& e) {
      CHECK(e.code() == annal::errc::invalid_argument);
      CHECK_THAT(std::string(e.what()), Catch::Contains(named));
    }
  };
  auto options = group_options(cluster, "bank");
  options.topic = "";
  refused(options, "topic name is empty");
  options = group_options(cluster, "bank");
  options.group_id = "";
  refused(options, "group_id is empty");
  options = group_options(cluster, "bank");
  options.batch_size = 0;
  refused(options, "batch_size must be at least 1, not 0");
  for (const std::string property :
       {"group.id", "enable.auto.commit", "enable.auto.offset.store", "auto.offset.reset"}) {
    options = group_options(cluster, "bank");
    options.properties.emplace_back(property, "x");
    refused(options, "the property '" + property + "' is annal's to set");
  }
  CHECK_THROWS_WITH(balances_projector(group_options(cluster, "bank"), {}),
                    Catch::Contains("model_of is empty"));
}

TEST_CASE("kafka_group_projector refuses one read model for two partitions, and the group goes on",
          "[kafka][group][config]") {
  mock_cluster cluster(1);
  cluster.create_topic("bank", 2, 1);
  annal::memory_store store;
  annal::memory_checkpoint published;
  annal::kafka_publisher publisher(store, published, publisher_options(cluster, "bank"));
  append_bank(store, 4, 2);
  publisher.publish_available();
  auto options = group_options(cluster, "bank");
  // librdkafka's default (range, round robin) rebalances eagerly; cooperative-sticky incrementally.
  const std::string strategy =
      GENERATE(as<std::string>{}, "range,roundrobin", "cooperative-sticky");
  INFO("partition.assignment.strategy " << strategy);
  options.properties.emplace_back("partition.assignment.strategy", strategy);
  test::captured_log log;
  {
    balances_model shared;
    balances_projector member(options, [&](std::int32_t) -> balances_model& { return shared; });
    const annal::error e = poll_until_error(member);
    CHECK(e.code() == annal::errc::invalid_argument);
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("the same read model for partitions 0 and 1") ||
                         Catch::Contains("the same read model for partitions 1 and 0"));
    CHECK(shared.checkpoint() == 0);
  }  // leaves the group
  // The failed member let its partitions go: no call librdkafka refused, and the next member
  // (a fixed deployment) gets both and projects them.
  for (const auto& line : log.warnings())
    CHECK_THAT(line, !Catch::Contains("assign() call failed"));
  partition_models<balances_model> parts(2);
  balances_projector fixed(options, parts.model_of());
  REQUIRE(poll_until([&] { return parts.checkpoint_sum() == store.last_position(); },
                     [&] { fixed.poll(); }));
}

TEST_CASE("kafka_group_projector: a stored offset past the partition's end is an error naming it",
          "[kafka][group][offsets]") {
  mock_cluster cluster(1);
  cluster.create_topic("bank", 1, 1);
  annal::memory_store store;
  annal::memory_checkpoint published;
  annal::kafka_publisher publisher(store, published, publisher_options(cluster, "bank"));
  append_bank(store, 1, 3);
  publisher.publish_available();
  balances_model model{proj::balances{}, 100};  // e.g. a read model of another cluster's topic
  balances_projector member(group_options(cluster, "bank"),
                            [&](std::int32_t) -> balances_model& { return model; });
  const annal::error e = poll_until_error(member);
  INFO(e.what());
  CHECK(e.code() == annal::errc::invalid_argument);
  CHECK_THAT(std::string(e.what()), Catch::Contains("topic 'bank' partition 0"));
  CHECK(model.checkpoint() == 100);
}
