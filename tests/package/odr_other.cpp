// ODR check, second translation unit: the umbrella header again, using a store and the clock.
#include <annal/annal.hpp>

int odr_other() {
  annal::memory_store store;
  return static_cast<int>(store.last_position());
}
