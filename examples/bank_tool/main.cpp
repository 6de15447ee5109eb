// The bank's operator's tool: `annal` with the bank's events decoded and its projection by name.
#include <annal/tool.hpp>

#include "balances.hpp"

int main(int argc, char** argv) {
  return annal::tool::main<bank::account::events, bank::balances>(argc, argv);
}
