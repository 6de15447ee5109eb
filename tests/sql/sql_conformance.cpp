// Both SQL backends against the event_store conformance suite every store passes.
#include <catch2/catch.hpp>

#include <memory>

#include "store/conformance.hpp"

#if defined(ANNAL_TEST_HAVE_SQLITE)
#include <annal/sqlite/store.hpp>

#include "sql/sql_test_support.hpp"

// The filtered-read laws the suite runs must meet the store's own filtered reads, not the fallback.
static_assert(annal::filtering_store<annal::sqlite_store>);

namespace {
// A fresh temporary file per construction; reopen() closes and opens the same file.
template <annal::durability Durability>
class sqlite_fixture {
 public:
  sqlite_fixture() { reopen(); }
  annal::sqlite_store& store() { return *store_; }
  void reopen() {
    store_.reset();
    annal::sqlite_options o;
    o.sync = Durability;
    store_ = std::make_unique<annal::sqlite_store>(dir_.path() / "events.db", o);
  }

 private:
  annal_test::temp_dir dir_;
  std::unique_ptr<annal::sqlite_store> store_;
};
}  // namespace

// Every durability the store accepts: durable and group are synchronous=FULL, none is NORMAL.
TEST_CASE("sqlite store conforms (durability::durable)", "[store][sqlite][conformance]") {
  check_event_store_conformance<sqlite_fixture<annal::durability::durable>>();
}

TEST_CASE("sqlite store conforms (durability::group)", "[store][sqlite][conformance]") {
  check_event_store_conformance<sqlite_fixture<annal::durability::group>>();
}

TEST_CASE("sqlite store conforms (durability::none)", "[store][sqlite][conformance]") {
  check_event_store_conformance<sqlite_fixture<annal::durability::none>>();
}
#endif

#if defined(ANNAL_TEST_HAVE_POSTGRES)
#include "sql/postgres_fixture.hpp"

static_assert(annal::filtering_store<annal::postgres_store>);

// bytea: the suite's payloads are arbitrary bytes, which only bytea stores exactly.
TEST_CASE("postgres store conforms (bytea payloads, fresh schema per section)",
          "[store][postgres][conformance]") {
  check_event_store_conformance<annal_test::postgres_fixture>();
}

// Both ways an append reaches the server: through group commit (above) and on its own.
TEST_CASE("postgres store conforms (group commit off)", "[store][postgres][conformance]") {
  check_event_store_conformance<annal_test::postgres_no_group_fixture>();
}
#endif
