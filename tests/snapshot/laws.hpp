// The laws every snapshot store obeys, run against each store by the snapshot tests.
#pragma once

#include <annal/snapshot/snapshot_store.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace test {

inline annal::snapshot_record record(std::string stream, std::uint64_t version,
                                     std::uint64_t fingerprint = 7, std::uint32_t revision = 0,
                                     std::string aggregate = "bank.account") {
  annal::snapshot_record r;
  r.aggregate_name = std::move(aggregate);
  r.stream_id = std::move(stream);
  r.version = version;
  r.event_time = annal::time_point{std::chrono::seconds{static_cast<long>(version)}};
  r.fingerprint = fingerprint;
  r.revision = revision;
  r.state = r.aggregate_name + " state@" + std::to_string(version);
  return r;
}

// The aggregate name the laws save under unless they say otherwise.
inline constexpr std::string_view account_name = "bank.account";

// The laws every snapshot store obeys.
template <class Store>
void check_snapshot_store_laws(Store& store) {
  STATIC_REQUIRE(annal::snapshot_store<Store>);
  CHECK_FALSE(store.load(account_name, "none", {}).has_value());

  for (std::uint64_t v : {10u, 30u, 20u}) store.save(record("s-1", v));
  store.save(record("s-2", 5));

  // The newest, whatever the order of saves.
  REQUIRE(store.load(account_name, "s-1", {}).has_value());
  CHECK(store.load(account_name, "s-1", {})->version == 30);
  CHECK(store.load(account_name, "s-1", {})->state == "bank.account state@30");
  CHECK(store.load(account_name, "s-2", {})->version == 5);

  // Bounded by version and by time: time travel starts from the newest one before the point.
  CHECK(store.load(account_name, "s-1", {25, annal::time_point::max()})->version == 20);
  CHECK(
      store.load(account_name, "s-1", {30, annal::time_point{std::chrono::seconds{15}}})->version ==
      10);
  CHECK_FALSE(store.load(account_name, "s-1", {9, annal::time_point::max()}).has_value());

  // Same version: replaced.
  auto again = record("s-1", 30);
  again.state = "replaced";
  store.save(again);
  CHECK(store.load(account_name, "s-1", {})->state == "replaced");
  CHECK(store.list(account_name, "s-1").size() == 3);

  // A new fingerprint drops those no code can read any more.
  store.save(record("s-1", 40, 8));
  CHECK(store.list(account_name, "s-1").size() == 1);
  CHECK(store.load(account_name, "s-1", {35, annal::time_point::max()}) == std::nullopt);
  store.save(record("s-1", 50, 8, 1));
  CHECK(store.list(account_name, "s-1").size() == 1);
  CHECK(store.load(account_name, "s-1", {})->revision == 1);

  // Two aggregates on one stream keep separate snapshots: one's saves never replace, drop or trim
  // the other's, and a load finds only its own.
  CHECK_FALSE(store.load("bank.audit", "s-1", {}).has_value());
  store.save(record("s-1", 50, 8, 1, "bank.audit"));
  store.save(record("s-1", 60, 9, 0, "bank.audit"));  // another fingerprint: drops audit's 50 only
  CHECK(store.load(account_name, "s-1", {})->state == "bank.account state@50");
  CHECK(store.load(account_name, "s-1", {})->aggregate_name == account_name);
  CHECK(store.load("bank.audit", "s-1", {})->state == "bank.audit state@60");
  CHECK(store.load("bank.audit", "s-1", {})->aggregate_name == "bank.audit");
  CHECK(store.load("bank.audit", "s-1", {})->fingerprint == 9);
  CHECK_FALSE(store.load("bank.audit", "s-1", {55, annal::time_point::max()}).has_value());
  CHECK(store.list(account_name, "s-1").size() == 1);
  CHECK(store.list("bank.audit", "s-1").size() == 1);
  store.save(record("s-1", 70, 8, 1));  // account's next one
  CHECK(store.load("bank.audit", "s-1", {})->version == 60);
  CHECK(store.load(account_name, "s-1", {65, annal::time_point::max()})->version == 50);
  CHECK_FALSE(store.load("bank.account.x", "s-1", {}).has_value());  // names match whole
  CHECK_FALSE(store.load("bank", "s-1", {}).has_value());

  // A snapshot without an aggregate name is refused.
  CHECK_THROWS_AS(store.save(record("s-1", 80, 8, 1, "")), annal::error);
}

// Retention counts per aggregate and stream: another aggregate's snapshots on the stream take
// none of its places.
template <class Store>
void check_retention(Store& store) {
  for (std::uint64_t v = 1; v <= 10; ++v) {
    store.save(record("r", v * 100));
    if (v <= 2) store.save(record("r", v * 100 + 1, 7, 0, "bank.audit"));
  }
  const auto kept = store.list(account_name, "r");
  REQUIRE(kept.size() == 3);
  CHECK(kept.front().version == 800);
  CHECK(kept.back().version == 1000);
  const auto audit = store.list("bank.audit", "r");
  REQUIRE(audit.size() == 2);
  CHECK(audit.front().version == 101);
  CHECK(audit.back().version == 201);
}

}  // namespace test
