// Log shipping with PostgreSQL on either side: a file log's events keep their positions, versions,
// ids and envelopes in PostgreSQL (times truncated to the microsecond), a synchronous file-log
// primary with a PostgreSQL standby, and back from PostgreSQL to a file log exactly.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <vector>

#include <annal/file/log.hpp>
#include <annal/postgres/store.hpp>
#include <annal/store/replication.hpp>

#include "recovery/recovery_support.hpp"
#include "sql/postgres_fixture.hpp"
#include "store/store_test_support.hpp"

using recovery_test::all_events;
using recovery_test::fill;

namespace {

annal::time_point to_micros(annal::time_point t) {
  return std::chrono::time_point_cast<std::chrono::microseconds>(t);
}

// Equal in every field, with recorded times compared as PostgreSQL keeps them.
void require_same_log_at_micros(std::vector<annal::recorded_event> a,
                                std::vector<annal::recorded_event> b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    INFO("position " << a[i].position);
    a[i].recorded_at = to_micros(a[i].recorded_at);
    b[i].recorded_at = to_micros(b[i].recorded_at);
    REQUIRE(a[i] == b[i]);
  }
}

}  // namespace

TEST_CASE("replication: file log to PostgreSQL and back", "[postgres][replication]") {
  annal_test_store::scratch_dir dir;
  annal::file_log primary(dir.path() / "primary");
  fill(primary, 300);
  annal_test::postgres_fixture pg;
  annal::replication_options o;
  o.batch_events = 64;
  CHECK(annal::replicator(primary, pg.store(), o).catch_up() == primary.last_position());
  require_same_log_at_micros(all_events(primary), all_events(pg.store()));

  // Resumed after more appends, by a replicator that knows nothing but the two stores.
  const std::uint64_t held = pg.store().last_position();
  fill(primary, 30, 5);
  pg.reopen();
  CHECK(annal::replicator(primary, pg.store()).catch_up() == primary.last_position() - held);
  require_same_log_at_micros(all_events(primary), all_events(pg.store()));

  // PostgreSQL's microseconds come back to a file log exactly.
  annal::file_log back(dir.path() / "back");
  annal::replicator(pg.store(), back).catch_up();
  const auto from_pg = all_events(pg.store());
  const auto in_back = all_events(back);
  REQUIRE(in_back.size() == from_pg.size());
  for (std::size_t i = 0; i < from_pg.size(); ++i) REQUIRE(in_back[i] == from_pg[i]);
}

TEST_CASE("replication: a synchronous file-log primary with a PostgreSQL standby",
          "[postgres][replication]") {
  annal_test_store::scratch_dir dir;
  annal::file_log primary(dir.path() / "primary");
  const annal::postgres_options options =
      annal_test::fresh_postgres_options(annal::postgres_payload_format::bytea);
  annal::postgres_store(options).migrate();
  annal::standby<annal::file_log, annal::postgres_store> standby(primary, {}, options);
  annal::synchronous_primary shipped(primary, standby);
  for (int i = 0; i < 30; ++i) {
    const std::uint64_t at = fill(shipped, 1, static_cast<unsigned>(i));
    REQUIRE(standby.store().last_position() >= at);
  }
  require_same_log_at_micros(all_events(primary), all_events(standby.store()));
}
