// The PostgreSQL store's wait for appends (its LISTEN/NOTIFY listener) while the wall clock is
// stepped an hour back: as the other stores' in wall_clock_step.cpp. Runs with
// tests/common/clock_shift.cpp preloaded; the server it starts inherits the shim, unshifted.
#include <catch2/catch.hpp>

#include <annal/postgres/store.hpp>

#include "sql/postgres_fixture.hpp"
#include "store/wall_clock_step.hpp"

TEST_CASE("a wait for appends survives a wall-clock step back: postgres store",
          "[store][clock][postgres]") {
  annal::postgres_store store(annal_test::fresh_postgres_options());
  store.migrate();
  annal_test::check_wait_survives_a_step_back(store, store);
}
