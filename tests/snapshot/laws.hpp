// The laws every snapshot store obeys, run against each store by the snapshot tests.
#pragma once

#include <annal/snapshot/snapshot_store.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

namespace test {

inline annal::snapshot_record record(std::string stream, std::uint64_t version, std::uint64_t fingerprint = 7,
                              std::uint32_t revision = 0) {
  annal::snapshot_record r;
  r.stream_id = std::move(stream);
  r.version = version;
  r.event_time = annal::time_point{std::chrono::seconds{static_cast<long>(version)}};
  r.fingerprint = fingerprint;
  r.revision = revision;
  r.state = "state@" + std::to_string(version);
  return r;
}

// The laws every snapshot store obeys.
template <class Store>
void check_snapshot_store_laws(Store& store) {
  STATIC_REQUIRE(annal::snapshot_store<Store>);
  CHECK_FALSE(store.load("none", {}).has_value());

  for (std::uint64_t v : {10u, 30u, 20u}) store.save(record("s-1", v));
  store.save(record("s-2", 5));

  // The newest, whatever the order of saves.
  REQUIRE(store.load("s-1", {}).has_value());
  CHECK(store.load("s-1", {})->version == 30);
  CHECK(store.load("s-1", {})->state == "state@30");
  CHECK(store.load("s-2", {})->version == 5);

  // Bounded by version and by time: time travel starts from the newest one before the point.
  CHECK(store.load("s-1", {25, annal::time_point::max()})->version == 20);
  CHECK(store.load("s-1", {30, annal::time_point{std::chrono::seconds{15}}})->version == 10);
  CHECK_FALSE(store.load("s-1", {9, annal::time_point::max()}).has_value());

  // Same version: replaced.
  auto again = record("s-1", 30);
  again.state = "replaced";
  store.save(again);
  CHECK(store.load("s-1", {})->state == "replaced");
  CHECK(store.list("s-1").size() == 3);

  // A new fingerprint drops those no code can read any more.
  store.save(record("s-1", 40, 8));
  CHECK(store.list("s-1").size() == 1);
  CHECK(store.load("s-1", {35, annal::time_point::max()}) == std::nullopt);
  store.save(record("s-1", 50, 8, 1));
  CHECK(store.list("s-1").size() == 1);
  CHECK(store.load("s-1", {})->revision == 1);
}

template <class Store>
void check_retention(Store& store) {
  for (std::uint64_t v = 1; v <= 10; ++v) store.save(record("r", v * 100));
  const auto kept = store.list("r");
  REQUIRE(kept.size() == 3);
  CHECK(kept.front().version == 800);
  CHECK(kept.back().version == 1000);
}

}  // namespace test
