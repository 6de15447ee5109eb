// The consumer's second translation unit: it too leaves the file log's machinery to the library.
#include "journal.hpp"

namespace journal {

void write_entries(annal::file_log& log, const std::string& stream, int n) {
  annal::repository<page, annal::file_log> pages{log};
  for (int i = 0; i < n; ++i) pages.handle(stream, write{"entry " + std::to_string(i)});
}

}  // namespace journal
