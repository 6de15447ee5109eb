// Appending to a standby fails at compile time with a sentence: only its primary writes to it.
#include <annal/store/memory.hpp>
#include <annal/store/replication.hpp>

#include <vector>

int main() {
  annal::memory_store primary;
  annal::standby<annal::memory_store, annal::memory_store> standby(primary, {});
  std::vector<annal::event_data> batch(1);
#ifdef ANNAL_COMPILE_FAIL
  standby.append("s", annal::expected_version::any(), batch);
#else
  standby.promote().append("s", annal::expected_version::any(), batch);
#endif
}

// expect: a standby only reads until it is promoted: call promote\(\) and append to the store it
// returns
