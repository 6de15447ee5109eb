// Mixing the two modes, first file: compiled header-only (no ANNAL_SEPARATE_COMPILATION), so it
// instantiates the file log itself; mixed_separate.cpp declares it and <annal/src.hpp> defines it.
#include <filesystem>
#include <string>

#include <annal/file/log.hpp>
#include <annal/runtime/new_event_id.hpp>

int append_from_header_only_file(annal::file_log& log);
int read_from_separate_file(const annal::file_log& log);

int append_from_header_only_file(annal::file_log& log) {
  annal::event_data e;
  e.id = annal::new_event_id();
  e.type = "mixed.appended";
  e.payload = "payload";
  return log.append("mixed-1", annal::expected_version::any(), {&e, 1}).ok() ? 0 : 1;
}

int main(int argc, char** argv) {
  const std::filesystem::path dir = argc > 1 ? argv[1] : "mixed-modes-data";
  std::filesystem::remove_all(dir);
  int failures = 0;
  {
    annal::file_log log{dir};  // opened here, header-only
    failures += append_from_header_only_file(log);
    failures += read_from_separate_file(log);  // read there, separately compiled
  }
  annal::file_log reopened{dir};  // the recovery of whichever definition the linker kept
  failures += reopened.last_position() == 2 ? 0 : 1;
  return failures;
}
