// The process manager runner on the memory store, the file log in each durability mode, and SQLite.
#include <catch2/catch.hpp>

#include "process/process_checks.hpp"
#include "store/store_test_support.hpp"

#ifdef ANNAL_TEST_WITH_SQLITE
#include <annal/sqlite/store.hpp>
#endif

namespace {
#ifdef ANNAL_TEST_WITH_SQLITE
struct sqlite_fixture {
  annal_test_store::scratch_dir dir;
  annal::sqlite_store s{(dir.path() / "events.db").string()};
  annal::sqlite_store& store() { return s; }
};
#endif
}  // namespace

TEMPLATE_TEST_CASE("a process manager on every store", "[process]",
                   annal_test_store::memory_fixture,
                   annal_test_store::file_log_fixture<annal::durability::durable>,
                   annal_test_store::file_log_fixture<annal::durability::none>) {
  annal_test_process::check_process_manager_on_store<TestType>();
}

#ifdef ANNAL_TEST_WITH_SQLITE
TEST_CASE("a process manager on SQLite", "[process][sqlite]") {
  annal_test_process::check_process_manager_on_store<sqlite_fixture>();
}
#endif
