// A consumer of annal::sqlite: appends to and reads back a SQLite database, so sqlite3 links.
#include <annal/annal.hpp>
#include <annal/sqlite/store.hpp>

#include <filesystem>

#include <boost/hana/define_struct.hpp>

namespace counter {
struct incremented {
  BOOST_HANA_DEFINE_STRUCT(incremented, (int, by));
};
ANNAL_EVENT(incremented, "counter.incremented", 1)
struct counter {
  using events = annal::events<incremented>;
  int value = 0;
  void apply(const incremented& e) { value += e.by; }
};
struct increment {};
inline annal::decision<counter> decide(const counter&, const increment&) {
  return incremented{1};
}
}  // namespace counter

int main(int, char** argv) {
  const auto file = std::filesystem::path(argv[0]).parent_path() / "test_sqlite.db";
  std::filesystem::remove(file);
  annal::sqlite_store store(file);
  annal::repository<counter::counter, annal::sqlite_store> counters{store};
  counters.handle("c", counter::increment{});
  return counters.handle("c", counter::increment{}).state.value == 2 ? 0 : 1;
}
