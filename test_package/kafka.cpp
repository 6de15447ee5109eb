// A consumer of annal::kafka: its headers compile and librdkafka links and runs.
#include <annal/kafka/publisher.hpp>
#include <annal/kafka/replay.hpp>
#include <annal/store/memory.hpp>

int main() {
  annal::memory_store store;
  annal::memory_checkpoint checkpoint;
  try {
    annal::kafka_publisher publisher(
        store, checkpoint, {.topic = "events", .properties = {{"no.such.property", "1"}}});
    return 1;
  } catch (const annal::error& e) {
    return e.code() == annal::errc::invalid_argument ? 0 : 1;  // librdkafka itself refused it
  }
}
