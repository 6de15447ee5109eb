// A consumer of the installed package: one event, one aggregate, the in-memory store.
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

template <class Store>
bool counts_to_two(Store& store) {
  annal::repository<counter::counter, Store> counters{store};
  counters.handle("c", counter::increment{});
  return counters.handle("c", counter::increment{}).state.value == 2;
}

int main(int, char** argv) {
  annal::memory_store memory;
  const auto file = std::filesystem::path(argv[0]).parent_path() / "consumer.db";
  std::filesystem::remove(file);
  annal::sqlite_store sqlite(file);
  return counts_to_two(memory) && counts_to_two(sqlite) ? 0 : 1;
}
