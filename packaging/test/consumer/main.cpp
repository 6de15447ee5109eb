// Test scaffolding: the user's program of docs/consuming.md, on annal::sqlite and annal::kafka.
#include <annal/annal.hpp>
#include <annal/kafka/publisher.hpp>
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

// librdkafka refuses an unknown property: it is linked and runs.
bool kafka_links(annal::sqlite_store& store) {
  annal::memory_checkpoint checkpoint;
  try {
    annal::kafka_publisher publisher(
        store, checkpoint, {.topic = "events", .properties = {{"no.such.property", "1"}}});
    return false;
  } catch (const annal::error& e) {
    return e.code() == annal::errc::invalid_argument;
  }
}

int main(int, char** argv) {
  const auto file = std::filesystem::path(argv[0]).parent_path() / "my_service.db";
  std::filesystem::remove(file);
  annal::sqlite_store store(file);
  annal::repository<counter::counter, annal::sqlite_store> counters{store};
  counters.handle("c", counter::increment{});
  const bool counted = counters.handle("c", counter::increment{}).state.value == 2;
  return counted && kafka_links(store) ? 0 : 1;
}
