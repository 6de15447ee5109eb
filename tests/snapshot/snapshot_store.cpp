// Tests for snapshot/memory_snapshot_store.hpp and snapshot/file_snapshot_store.hpp: one law
// checker run against both stores, then the file store's checksum and atomic replacement.
#include <annal/file/snapshot_store.hpp>
#include <annal/snapshot/memory_snapshot_store.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/invalid_option.hpp"
#include "snapshot/laws.hpp"
#include "snapshot/temp_dir.hpp"

TEST_CASE("memory snapshot store obeys the snapshot store laws", "[snapshot][store][memory]") {
  annal::memory_snapshot_store store;
  test::check_snapshot_store_laws(store);
  annal::memory_snapshot_store small{{3}};
  test::check_retention(small);
}

TEST_CASE("file snapshot store obeys the snapshot store laws", "[snapshot][store][file]") {
  test::temp_dir dir;
  annal::file_snapshot_store store{dir.path()};
  test::check_snapshot_store_laws(store);
  annal::file_snapshot_store small{dir.path() / "small", {3}};
  test::check_retention(small);
}

TEST_CASE("file snapshot store survives a reopen and leaves no temp file",
          "[snapshot][store][file]") {
  test::temp_dir dir;
  {
    annal::file_snapshot_store store{dir.path()};
    store.save(test::record("acc/1 é", 12));
  }
  annal::file_snapshot_store reopened{dir.path()};
  REQUIRE(reopened.load(test::account_name, "acc/1 é", {}).has_value());
  CHECK(reopened.load(test::account_name, "acc/1 é", {})->state == "bank.account state@12");
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    CHECK(entry.path().extension() == ".snap");
}

TEST_CASE("file snapshot store keeps long stream ids apart", "[snapshot][store][file]") {
  test::temp_dir dir;
  annal::file_snapshot_store store{dir.path()};
  const std::string a(200, 'a');
  const std::string b = std::string(199, 'a') + "b";
  store.save(test::record(a, 1));
  store.save(test::record(b, 2));
  CHECK(store.load(test::account_name, a, {})->version == 1);
  CHECK(store.load(test::account_name, b, {})->version == 2);
}

TEST_CASE("a corrupt snapshot file is detected by its checksum and ignored with a warning",
          "[snapshot][store][file][corrupt]") {
  test::temp_dir dir;
  test::captured_log log;
  annal::file_snapshot_store store{dir.path()};
  store.save(test::record("acc-1", 10));
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
  std::string why = "";
  SECTION("another stream's valid file under this stream's name") {
    store.save(test::record("acc-2", 7));
    std::filesystem::copy_file(store.path_of("acc-2"), path,
                               std::filesystem::copy_options::overwrite_existing);
    CHECK(annal::detail::read_checked_file(path, annal::detail::snapshot_file_magic).status ==
          annal::detail::checked_file::state::ok);
    why = "holds the snapshots of stream 'acc-2'";
  }
  SECTION("records out of order, checksum intact") {
    store.save(test::record("acc-1", 20));
    annal::detail::snapshot_file file;
    file.stream_id = "acc-1";
    file.snapshots = {test::record("acc-1", 20), test::record("acc-1", 10)};
    annal::detail::write_checked_file(path, annal::detail::snapshot_file_magic,
                                      annal::detail::encode_snapshot_file(file));
    CHECK(annal::detail::read_checked_file(path, annal::detail::snapshot_file_magic).status ==
          annal::detail::checked_file::state::ok);
    why = "out of order";
  }
  CHECK_FALSE(store.load(test::account_name, "acc-1", {}).has_value());
  REQUIRE(log.warnings().size() == 1);
  CHECK_THAT(log.warnings().front(),
             Catch::Contains("corrupt snapshot file") && Catch::Contains("'acc-1'") &&
                 Catch::Contains("rebuilt from events") && Catch::Contains(why));
  // The next save replaces the damaged file.
  store.save(test::record("acc-1", 20));
  CHECK(store.load(test::account_name, "acc-1", {})->version == 20);
}

TEST_CASE(
    "a snapshot file from before aggregate names is ignored with an info message and replaced",
    "[snapshot][store][file][identity]") {
  test::temp_dir dir;
  annal::file_snapshot_store store{dir.path()};
  // The version 1 layout: the stream id, then per snapshot no aggregate name.
  std::string body;
  annal::detail::put_u64(body, 5);
  body += "acc-1";
  annal::detail::put_u64(body, 1);
  annal::detail::put_u64(body, 10);
  annal::detail::put_u64(body, 0);
  annal::detail::put_u64(body, 7);
  annal::detail::put_u32(body, 0);
  annal::detail::put_u64(body, 5);
  body += "state";
  annal::detail::write_checked_file(store.path_of("acc-1"), "ANNSNAP1", body);

  test::captured_log log;
  CHECK_FALSE(store.load(test::account_name, "acc-1", {}).has_value());
  CHECK(log.warnings().empty());
  REQUIRE(log.infos().size() == 1);
  CHECK_THAT(log.infos()[0],
             Catch::Contains("older annal without aggregate names") && Catch::Contains("'acc-1'"));
  store.save(test::record("acc-1", 20));
  CHECK(store.load(test::account_name, "acc-1", {})->version == 20);
  CHECK(log.infos().size() == 1);
  CHECK(log.warnings().empty());
}

TEST_CASE("a snapshot store refuses to keep zero snapshots, naming the option",
          "[snapshot][store][options]") {
  CHECK_THROWS_MATCHES(annal::memory_snapshot_store{{0}}, annal::error,
                       annal_test::names_invalid_option("snapshot_retention::keep", "0"));
  test::temp_dir dir;
  CHECK_THROWS_MATCHES((annal::file_snapshot_store{dir.path(), {0}}), annal::error,
                       annal_test::names_invalid_option("snapshot_retention::keep", "0"));
}
