// A typed operator's tool over the bank domain: the five-line main.cpp docs/tool.md quotes.
// [bank-tool]
#include <annal/tool.hpp>

#include "bank_tool_domain.hpp"  // your events and projections

int main(int argc, char** argv) {
  return annal::tool::main<bank::all_events, bank::balances, bank::account_count>(argc, argv);
}
// [bank-tool]
