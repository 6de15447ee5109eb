// Archiving PostgreSQL into a file log: the checks every SQL store passes (sql_archive_checks.hpp)
// on the test server, and a kill -9 of a process archiving while another appends.
#include <catch2/catch.hpp>

#include <filesystem>

#include <annal/file/log.hpp>
#include <annal/postgres/store.hpp>
#include <annal/store/archive.hpp>

#include "recovery/sql_archive_checks.hpp"
#include "sql/postgres_fixture.hpp"
#include "store/store_test_support.hpp"

TEST_CASE("PostgreSQL archive: round trip by position", "[postgres][archive]") {
  annal_test_store::scratch_dir dir;
  annal_test::postgres_fixture pg;
  sql_archive_test::check_round_trip(pg.store(), dir.path() / "archive");
}

TEST_CASE("PostgreSQL archive: by age", "[postgres][archive]") {
  annal_test_store::scratch_dir dir;
  annal_test::postgres_fixture pg;
  sql_archive_test::check_by_age(pg.store(), dir.path() / "archive");
}

TEST_CASE("PostgreSQL archive: a run stopped before deleting is finished by the next",
          "[postgres][archive]") {
  annal_test_store::scratch_dir dir;
  annal_test::postgres_fixture pg;
  sql_archive_test::check_resume(pg.store(), dir.path() / "archive");
}

TEST_CASE("PostgreSQL archive: bad input", "[postgres][archive]") {
  annal_test_store::scratch_dir dir;
  annal_test::postgres_fixture pg;
  sql_archive_test::check_bad_input(pg.store(), dir.path());
}

TEST_CASE("PostgreSQL archive: appends go on while archiving", "[postgres][archive]") {
  annal_test_store::scratch_dir dir;
  annal_test::postgres_fixture pg;
  sql_archive_test::check_concurrent_appends(pg.store(), dir.path() / "archive");
}

TEST_CASE("PostgreSQL: a row deleted behind the store's back stops reads before it",
          "[postgres][archive]") {
  annal_test::postgres_fixture pg;
  const std::string events = "\"" + pg.store().options().schema + "\".events";
  sql_archive_test::check_gap_stops_reads(pg.store(), [&](std::uint64_t position) {
    pg.store().transact([&](annal::postgres_transaction& tx) {
      tx.exec("DELETE FROM " + events + " WHERE position = $1",
              static_cast<std::int64_t>(position));
    });
  });
}
