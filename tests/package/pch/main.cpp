// The PCH test program: the memory store here, the file log and SQLite in store.cpp.
#include "ledger.hpp"

int main(int, char** argv) {
  annal::memory_store memory;
  annal::repository<ledger::account, annal::memory_store> accounts{memory};
  accounts.handle("a", ledger::credit{3});
  const bool in_memory = accounts.handle("a", ledger::credit{4}).state.balance == 7;
  const auto dir = std::filesystem::path(argv[0]).parent_path() / "ledger-data";
  std::filesystem::remove_all(dir);
  return in_memory && ledger::stores_count(dir) ? 0 : 1;
}
