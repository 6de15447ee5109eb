// A program in annal's separately compiled mode: both files use the file log, whose machinery is
// compiled once into annal_compiled, and this one the memory store too. Exits 0 when what one file
// wrote the other reads back.
#include <cstdio>
#include <filesystem>

#include "journal.hpp"

int main(int argc, char** argv) {
  const std::filesystem::path dir = argc > 1 ? argv[1] : "journal-data";
  std::filesystem::remove_all(dir);
  annal::file_log log{dir};
  journal::write_entries(log, "page-1", 3);
  annal::repository<journal::page, annal::file_log> pages{log};
  const auto loaded = pages.load("page-1");
  std::printf("page-1 has %llu lines at version %llu\n",
              static_cast<unsigned long long>(loaded.state.lines),
              static_cast<unsigned long long>(loaded.version));
  annal::memory_store scratch;  // its append, too, is the library's
  annal::repository<journal::page, annal::memory_store> drafts{scratch};
  const bool drafted = drafts.handle("draft-1", journal::write{"draft"}).accepted();
  return loaded.state.lines == 3 && log.last_position() == 3 && drafted ? 0 : 1;
}
