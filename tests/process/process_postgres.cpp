// The process manager runner on PostgreSQL, with and without group commit: the same checks as on
// the embedded stores (process_checks.hpp).
#include <catch2/catch.hpp>

#include "process/process_checks.hpp"
#include "sql/postgres_fixture.hpp"

TEMPLATE_TEST_CASE("a process manager on PostgreSQL", "[process][postgres]",
                   annal_test::postgres_fixture, annal_test::postgres_no_group_fixture) {
  annal_test_process::check_process_manager_on_store<TestType>();
}
