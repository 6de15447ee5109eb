// The PCH test program's second translation unit: the file log and the SQLite store.
#include <annal/sqlite/store.hpp>

#include "ledger.hpp"

namespace ledger {
namespace {
template <class Store>
bool counts_to_seven(Store& store) {
  annal::repository<account, Store> accounts{store};
  accounts.handle("a", credit{3});
  return accounts.handle("a", credit{4}).state.balance == 7;
}
}  // namespace

bool stores_count(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  annal::file_log log{dir / "log"};
  annal::sqlite_store sqlite{dir / "ledger.db"};
  return counts_to_seven(log) && counts_to_seven(sqlite);
}
}  // namespace ledger
