// Repository scenarios every snapshot store goes through, whatever it keeps snapshots in.
#pragma once

#include <string>

#include <catch2/catch.hpp>

#include <annal/codec/fingerprint.hpp>
#include <annal/snapshot/snapshot_store.hpp>
#include <annal/snapshot/snapshotter.hpp>
#include <annal/store/repository.hpp>

#include "snapshot/ledger.hpp"
#include "snapshot/temp_dir.hpp"

namespace test {

// Opens account `id` and deposits 1, 2, ... `deposits` through the repository.
template <class Repo>
void open_and_deposit(Repo& repo, const std::string& id, int deposits) {
  REQUIRE(repo.handle(id, bank::open{id}).accepted());
  for (int i = 1; i <= deposits; ++i) REQUIRE(repo.handle(id, bank::deposit{i}).accepted());
}

// "acc-1" holds 10 events (opened, 9 deposits). A snapshot of another schema fingerprint is
// ignored with an info message, the state is rebuilt from the events, and it is re-snapshotted
// at once with the code's fingerprint, though the policy never asks.
template <class Repo, class Snapshots>
void check_stale_fingerprint_is_rebuilt(Repo& repo, Snapshots& snapshots) {
  annal::snapshot_record wrong;
  wrong.aggregate_name = "ledger.account";
  wrong.stream_id = "acc-1";
  wrong.version = 8;
  wrong.fingerprint = annal::schema_fingerprint_v<ledger::account> ^ 1;
  wrong.state = "bytes some older layout wrote";
  snapshots.save(wrong);

  captured_log log;
  const auto loaded = repo.load("acc-1");
  CHECK(loaded.snapshot_version == 0);
  CHECK(loaded.events_replayed == 10);
  CHECK(loaded.state.balance == 45);
  CHECK_FALSE(log.infos().empty());
  REQUIRE(snapshots.load("ledger.account", "acc-1", {}).has_value());
  CHECK(snapshots.load("ledger.account", "acc-1", {})->version == 10);
  CHECK(snapshots.load("ledger.account", "acc-1", {})->fingerprint ==
        annal::schema_fingerprint_v<ledger::account>);
  CHECK(repo.load("acc-1").snapshot_version == 10);
}

// Two aggregates with one state layout read one stream, each through its own snapshotter on one
// snapshot store: each loads its own state and keeps its own snapshots, in either order.
template <class EventStore, class Snapshots>
void check_two_aggregates_keep_their_own_snapshots(EventStore& store, Snapshots& snapshots) {
  STATIC_REQUIRE(annal::schema_fingerprint_v<ledger::account> ==
                 annal::schema_fingerprint_v<ledger::large_deposits>);
  annal::snapshotter every_5{snapshots, annal::snapshot_every{5}};
  auto accounts = annal::make_repository<ledger::account>(store, every_5);
  auto large = annal::make_repository<ledger::large_deposits>(store, every_5);
  open_and_deposit(accounts, "acc-1", 9);  // versions 1..10: account snapshots at 5 and 10

  const auto first = large.load("acc-1");
  CHECK(first.snapshot_version == 0);
  CHECK(first.state.balance == 5 + 6 + 7 + 8 + 9);
  CHECK(first.state.operations == 5);

  const auto second = large.load("acc-1");  // now from its own snapshot at 10
  CHECK(second.snapshot_version == 10);
  CHECK(second.state.balance == 35);
  const auto account = accounts.load("acc-1");  // its own snapshot is still there
  CHECK(account.snapshot_version == 10);
  CHECK(account.state.balance == 45);
  CHECK(account.state.operations == 9);
  CHECK(snapshots.list("ledger.account", "acc-1").size() == 2);  // 5 and 10
  REQUIRE(snapshots.list("ledger::large_deposits", "acc-1").size() == 1);
  CHECK(snapshots.list("ledger::large_deposits", "acc-1")[0].version == 10);

  // Time travel too: each from its own older snapshot, or from the events.
  CHECK(accounts.load("acc-1", annal::at_version{7}).state.balance == 1 + 2 + 3 + 4 + 5 + 6);
  CHECK(large.load("acc-1", annal::at_version{7}).state.balance == 5 + 6);
}

}  // namespace test
