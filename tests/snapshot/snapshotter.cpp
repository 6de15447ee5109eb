// Tests for snapshot/snapshotter.hpp and snapshot/policy.hpp: repositories that load from
// snapshots, policies, stale fingerprints and revisions, corrupt snapshots, time travel.
#include <annal/file/snapshot_store.hpp>
#include <annal/snapshot/memory_snapshot_store.hpp>
#include <annal/snapshot/policy.hpp>
#include <annal/snapshot/snapshotter.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/repository.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "snapshot/ledger.hpp"
#include "snapshot/scenarios.hpp"
#include "snapshot/temp_dir.hpp"

using namespace std::chrono_literals;

namespace {

using test::open_and_deposit;

ledger::account replayed(annal::memory_store& store, const std::string& id) {
  return annal::repository<ledger::account, annal::memory_store>{store}.load(id).state;
}

// A snapshot store whose saves fail, as a full disk would make them.
struct failing_snapshot_store {
  void save(const annal::snapshot_record&) {
    throw annal::error(annal::errc::io_error, "disk full");
  }
  std::optional<annal::snapshot_record> load(std::string_view, std::string_view,
                                             annal::snapshot_query) const {
    return {};
  }
};

}  // namespace

TEST_CASE("policies decide from the snapshot context", "[snapshot][policy]") {
  annal::snapshot_context c{"s", 25, 20, 5, 3ms};
  CHECK_FALSE(annal::snapshot_every{10}(c));
  c.version = 30;
  CHECK(annal::snapshot_every{10}(c));
  CHECK_FALSE(annal::snapshot_every{0}(c));
  CHECK(annal::snapshot_when_slow{2ms}(c));
  CHECK_FALSE(annal::snapshot_when_slow{5ms}(c));
  CHECK(annal::snapshot_if{[](const annal::snapshot_context& x) { return x.events_replayed >= 5; }}(
      c));
  CHECK_FALSE(annal::snapshot_never{}(c));
  CHECK(annal::snapshot_any_of{annal::snapshot_never{}, annal::snapshot_when_slow{1ms}}(c));
  STATIC_REQUIRE(
      annal::snapshot_policy<annal::snapshot_any_of<annal::snapshot_every, annal::snapshot_never>>);
  STATIC_REQUIRE_FALSE(annal::snapshot_policy<int>);
}

TEST_CASE("every N events: snapshots at N, 2N..., loads fold only the tail",
          "[snapshot][repository]") {
  annal::memory_store store;
  // [snapshot-repository]
  annal::memory_snapshot_store snapshots;
  annal::snapshotter snap{snapshots, annal::snapshot_every{10}};
  auto repo = annal::make_repository<ledger::account>(store, snap);
  // [snapshot-repository]

  open_and_deposit(repo, "acc-1", 24);  // versions 1..25
  const auto kept = snapshots.list("ledger.account", "acc-1");
  REQUIRE(kept.size() == 2);
  CHECK(kept[0].version == 10);
  CHECK(kept[1].version == 20);
  CHECK(kept[1].fingerprint == annal::schema_fingerprint_v<ledger::account>);

  const auto loaded = repo.load("acc-1");
  CHECK(loaded.version == 25);
  CHECK(loaded.snapshot_version == 20);
  CHECK(loaded.events_replayed == 5);
  CHECK(loaded.state.balance == replayed(store, "acc-1").balance);
  CHECK(loaded.state.balance == 24 * 25 / 2);
  CHECK(loaded.state.id == "acc-1");
}

TEST_CASE("a snapshot from a changed schema or revision is ignored and replaced, no user action",
          "[snapshot][repository][fingerprint]") {
  annal::memory_store store;
  annal::memory_snapshot_store snapshots;
  annal::snapshotter snap{snapshots, annal::snapshot_never{}};
  auto repo = annal::make_repository<ledger::account>(store, snap);
  open_and_deposit(repo, "acc-1", 9);

  SECTION("fingerprint") {
    test::check_stale_fingerprint_is_rebuilt(repo, snapshots);
  }
  SECTION("revision") {
    annal::snapshotter every{snapshots, annal::snapshot_every{5}};
    auto v1 = annal::make_repository<ledger::account>(store, every);
    CHECK(v1.load("acc-1").version == 10);  // crosses 5 and 10: snapshot at 10, revision 0
    REQUIRE(snapshots.load("ledger.account", "acc-1", {})->revision == 0);

    annal::snapshotter never{snapshots, annal::snapshot_never{}};
    auto v2 = annal::make_repository<ledger::account_v2>(store, never);
    const auto loaded = v2.load("acc-1");
    CHECK(loaded.snapshot_version == 0);
    CHECK(loaded.events_replayed == 10);
    CHECK(snapshots.load("ledger.account", "acc-1", {})->revision == 2);
    CHECK(v2.load("acc-1").snapshot_version == 10);
  }
}

TEST_CASE("two aggregates on one stream keep their own snapshots",
          "[snapshot][repository][identity]") {
  annal::memory_store store;
  SECTION("memory") {
    annal::memory_snapshot_store snapshots;
    test::check_two_aggregates_keep_their_own_snapshots(store, snapshots);
  }
  SECTION("file") {
    test::temp_dir dir;
    annal::file_snapshot_store snapshots{dir.path()};
    test::check_two_aggregates_keep_their_own_snapshots(store, snapshots);
  }
}

TEST_CASE("a corrupt snapshot is ignored with a warning and rebuilt from events",
          "[snapshot][repository][corrupt]") {
  test::temp_dir dir;
  annal::memory_store store;
  annal::file_snapshot_store snapshots{dir.path()};
  annal::snapshotter snap{snapshots, annal::snapshot_every{4}};
  auto repo = annal::make_repository<ledger::account>(store, snap);
  open_and_deposit(repo, "acc-1", 7);  // snapshots at 4 and 8
  REQUIRE(repo.load("acc-1").snapshot_version == 8);

  const auto path = snapshots.path_of("acc-1");
  std::string bytes = *annal::detail::read_whole_file(path);
  bytes[bytes.size() / 2] ^= 0x01;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;

  test::captured_log log;
  const auto loaded = repo.load("acc-1");
  CHECK(loaded.snapshot_version == 0);
  CHECK(loaded.events_replayed == 8);
  CHECK(loaded.state.balance == 28);
  REQUIRE(log.warnings().size() == 1);
  CHECK_THAT(log.warnings()[0], Catch::Contains("corrupt snapshot") && Catch::Contains("acc-1"));
  // The next policy point writes a good file again.
  REQUIRE(repo.handle("acc-1", bank::deposit{100}).accepted());
  REQUIRE(repo.handle("acc-1", bank::deposit{100}).accepted());
  REQUIRE(repo.handle("acc-1", bank::deposit{100}).accepted());
  REQUIRE(repo.handle("acc-1", bank::deposit{100}).accepted());
  CHECK(repo.load("acc-1").snapshot_version == 12);
  CHECK(log.warnings().size() == 1);
}

TEST_CASE("undecodable snapshot bytes under a matching fingerprint are ignored with a warning",
          "[snapshot][repository][corrupt]") {
  annal::memory_store store;
  annal::memory_snapshot_store snapshots;
  annal::snapshotter snap{snapshots, annal::snapshot_never{}};
  auto repo = annal::make_repository<ledger::account>(store, snap);
  open_and_deposit(repo, "acc-1", 3);
  annal::snapshot_record bad;
  bad.aggregate_name = "ledger.account";
  bad.stream_id = "acc-1";
  bad.version = 4;
  bad.fingerprint = annal::schema_fingerprint_v<ledger::account>;
  bad.state = "\x01";
  snapshots.save(bad);

  test::captured_log log;
  const auto loaded = repo.load("acc-1");
  CHECK(loaded.events_replayed == 4);
  CHECK(loaded.state.balance == 6);
  CHECK(log.warnings().size() == 1);
  CHECK(repo.load("acc-1").snapshot_version == 4);
}

TEST_CASE("time travel starts from the newest snapshot before the point",
          "[snapshot][repository][time]") {
  annal::memory_store store;
  annal::memory_snapshot_store snapshots;
  annal::snapshotter snap{snapshots, annal::snapshot_every{10}};
  auto repo = annal::make_repository<ledger::account>(store, snap);
  open_and_deposit(repo, "acc-1", 20);  // versions 1..21; snapshots at 10, 20
  std::this_thread::sleep_for(2ms);
  const annal::time_point middle = annal::clock::now();
  std::this_thread::sleep_for(2ms);
  for (int i = 0; i < 15; ++i)
    REQUIRE(repo.handle("acc-1", bank::deposit{1000}).accepted());  // 22..36

  const auto plain = annal::repository<ledger::account, annal::memory_store>{store};
  for (std::uint64_t v : {1u, 5u, 10u, 15u, 20u, 25u, 30u, 36u}) {
    INFO("version " << v);
    const auto expected = plain.load("acc-1", annal::at_version{v});
    const auto loaded = repo.load("acc-1", annal::at_version{v});
    CHECK(loaded.version == v);
    CHECK(loaded.state.balance == expected.state.balance);
    CHECK(loaded.snapshot_version == v / 10 * 10);
  }
  // [time-travel]
  const auto at_middle = repo.load("acc-1", annal::at_time{middle});
  // [time-travel]
  CHECK(at_middle.version == 21);
  CHECK(at_middle.snapshot_version == 20);
  CHECK(at_middle.events_replayed == 1);
  CHECK(at_middle.state.balance == plain.load("acc-1", annal::at_time{middle}).state.balance);
}

TEST_CASE("slow loads and predicates take snapshots", "[snapshot][repository][policy]") {
  annal::memory_store store;
  {
    annal::repository<ledger::account, annal::memory_store> plain{store};
    open_and_deposit(plain, "acc-1", 50);
  }
  annal::memory_snapshot_store snapshots;
  SECTION("when slow") {
    annal::snapshotter snap{snapshots, annal::snapshot_when_slow{0ns}};
    auto repo = annal::make_repository<ledger::account>(store, snap);
    CHECK(repo.load("acc-1").snapshot_version == 0);
    CHECK(repo.load("acc-1").snapshot_version == 51);
  }
  SECTION("predicate") {
    // [snapshot-predicate]
    annal::snapshotter snap{snapshots, annal::snapshot_if{[](const annal::snapshot_context& c) {
                              return c.stream_id == "acc-1" && c.events_replayed > 40;
                            }}};
    // [snapshot-predicate]
    auto repo = annal::make_repository<ledger::account>(store, snap);
    CHECK(repo.load("acc-1").events_replayed == 51);
    CHECK(repo.load("acc-1").events_replayed == 0);
  }
}

TEST_CASE("a failed snapshot save is a warning, never a failed command", "[snapshot][repository]") {
  annal::memory_store store;
  failing_snapshot_store snapshots;
  STATIC_REQUIRE(annal::snapshot_store<failing_snapshot_store>);
  annal::snapshotter snap{snapshots, annal::snapshot_every{1}};
  auto repo = annal::make_repository<ledger::account>(store, snap);
  test::captured_log log;
  CHECK(repo.handle("acc-1", bank::open{"acc-1"}).accepted());
  CHECK(store.stream_version("acc-1") == 1);
  REQUIRE_FALSE(log.warnings().empty());
  CHECK_THAT(log.warnings()[0], Catch::Contains("not saved") && Catch::Contains("disk full"));
}

TEST_CASE("snapshottable requires a reflected aggregate", "[snapshot][concept]") {
  STATIC_REQUIRE(annal::snapshottable<ledger::account>);
  STATIC_REQUIRE_FALSE(annal::snapshottable<bank::account>);
}

TEST_CASE("a snapshot beyond the end of its stream is ignored with a warning",
          "[snapshot][repository][corrupt]") {
  annal::memory_snapshot_store snapshots;
  annal::snapshotter snap{snapshots, annal::snapshot_every{5}};
  {
    annal::memory_store first;
    auto repo = annal::make_repository<ledger::account>(first, snap);
    open_and_deposit(repo, "acc-1", 9);
  }
  annal::memory_store second;  // a fresh event store beside the old snapshots
  auto repo = annal::make_repository<ledger::account>(second, snap);
  test::captured_log log;
  open_and_deposit(repo, "acc-1", 2);
  const auto loaded = repo.load("acc-1");
  CHECK(loaded.version == 3);
  CHECK(loaded.state.balance == 3);
  CHECK(loaded.snapshot_version == 0);
  REQUIRE_FALSE(log.warnings().empty());
  CHECK_THAT(log.warnings()[0], Catch::Contains("the stream is shorter"));
}
