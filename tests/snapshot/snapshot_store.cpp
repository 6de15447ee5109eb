// Tests for snapshot/memory_snapshot_store.hpp and snapshot/file_snapshot_store.hpp: one law
// checker run against both stores, then the file store's checksum and atomic replacement.
#include <annal/snapshot/file_snapshot_store.hpp>
#include <annal/snapshot/memory_snapshot_store.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "snapshot/temp_dir.hpp"

namespace {

annal::snapshot_record record(std::string stream, std::uint64_t version, std::uint64_t fingerprint = 7,
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

}  // namespace

TEST_CASE("memory snapshot store obeys the snapshot store laws", "[snapshot][store][memory]") {
  annal::memory_snapshot_store store;
  check_snapshot_store_laws(store);
  annal::memory_snapshot_store small{{3}};
  check_retention(small);
}

TEST_CASE("file snapshot store obeys the snapshot store laws", "[snapshot][store][file]") {
  test::temp_dir dir;
  annal::file_snapshot_store store{dir.path()};
  check_snapshot_store_laws(store);
  annal::file_snapshot_store small{dir.path() / "small", {3}};
  check_retention(small);
}

TEST_CASE("file snapshot store survives a reopen and leaves no temp file", "[snapshot][store][file]") {
  test::temp_dir dir;
  {
    annal::file_snapshot_store store{dir.path()};
    store.save(record("acc/1 é", 12));
  }
  annal::file_snapshot_store reopened{dir.path()};
  REQUIRE(reopened.load("acc/1 é", {}).has_value());
  CHECK(reopened.load("acc/1 é", {})->state == "state@12");
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    CHECK(entry.path().extension() == ".snap");
}

TEST_CASE("file snapshot store keeps long stream ids apart", "[snapshot][store][file]") {
  test::temp_dir dir;
  annal::file_snapshot_store store{dir.path()};
  const std::string a(200, 'a');
  const std::string b = std::string(199, 'a') + "b";
  store.save(record(a, 1));
  store.save(record(b, 2));
  CHECK(store.load(a, {})->version == 1);
  CHECK(store.load(b, {})->version == 2);
}

TEST_CASE("a corrupt snapshot file is detected by its checksum and ignored with a warning",
          "[snapshot][store][file][corrupt]") {
  test::temp_dir dir;
  test::captured_log log;
  annal::file_snapshot_store store{dir.path()};
  store.save(record("acc-1", 10));
  const auto path = store.path_of("acc-1");

  SECTION("a flipped byte") {
    std::string bytes = *annal::detail::read_whole_file(path);
    bytes[bytes.size() - 3] ^= 0x40;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    CHECK(std::filesystem::file_size(path) == bytes.size());
  }
  SECTION("a truncated file") {
    std::filesystem::resize_file(path, 10);
    CHECK(std::filesystem::file_size(path) == 10);
  }
  SECTION("garbage") {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << "not a snapshot at all, not at all";
    CHECK(std::filesystem::file_size(path) == 33);
  }
  CHECK_FALSE(store.load("acc-1", {}).has_value());
  REQUIRE(log.warnings().size() == 1);
  CHECK_THAT(log.warnings().front(), Catch::Contains("corrupt snapshot file") &&
                                         Catch::Contains("'acc-1'") &&
                                         Catch::Contains("rebuilt from events"));
  // The next save replaces the damaged file.
  store.save(record("acc-1", 20));
  CHECK(store.load("acc-1", {})->version == 20);
}
