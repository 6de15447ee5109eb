// Repository scenarios every snapshot store goes through, whatever it keeps snapshots in.
#pragma once

#include <string>

#include <catch2/catch.hpp>

#include <annal/codec/fingerprint.hpp>
#include <annal/snapshot/snapshot_store.hpp>

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
  REQUIRE(snapshots.load("acc-1", {}).has_value());
  CHECK(snapshots.load("acc-1", {})->version == 10);
  CHECK(snapshots.load("acc-1", {})->fingerprint == annal::schema_fingerprint_v<ledger::account>);
  CHECK(repo.load("acc-1").snapshot_version == 10);
}

}  // namespace test
