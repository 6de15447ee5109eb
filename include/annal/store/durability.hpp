// How hard a store's append waits for the disk: one vocabulary for every store that has the choice.
#pragma once

#include <cstdint>

namespace annal {

// What an acknowledged append survives. Every value survives a crash of the process; they differ on
// a crash of the machine (power loss, kernel panic). Each store's options say what each value does
// there (docs/api.md, "Durability").
enum class durability : std::uint8_t {
  durable,  // the append returns after the store's log is synced: it survives power loss
  group,    // as durable; appends that arrive together may share one sync (the file log does)
  none,     // the append returns before a sync: a machine crash may lose the newest appends
};

}  // namespace annal
