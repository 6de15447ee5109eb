// A typed tool over the bank domain with a projection kept in PostgreSQL (balance_rows) beside one
// kept in memory or a file (balances): tests/tool/reconcile_postgres.cpp runs it.
#include <annal/tool.hpp>

#include "tool/bank_pg_tool_domain.hpp"

int main(int argc, char** argv) {
  return annal::tool::main<bank::all_events, bank::balances, bank::balance_rows>(argc, argv);
}
