// Mixing the two modes, second file: compiled with ANNAL_SEPARATE_COMPILATION, so it leaves the
// file log's machinery to <annal/src.hpp>; a file log opened by the header-only file is used here.
#include <string>

#include <annal/file/log.hpp>
#include <annal/runtime/new_event_id.hpp>

int read_from_separate_file(const annal::file_log& log);

int read_from_separate_file(const annal::file_log& log) {
  int seen = 0;
  log.read_stream("mixed-1", 1, [&](const annal::recorded_event& e) {
    if (e.type == "mixed.appended" && e.payload == "payload") ++seen;
  });
  // The store is const here; appending goes through the same object the other file opened.
  annal::event_data e;
  e.id = annal::new_event_id();
  e.type = "mixed.appended";
  e.payload = "payload";
  const bool appended = const_cast<annal::file_log&>(log)
                            .append("mixed-1", annal::expected_version::exact(1), {&e, 1})
                            .ok();
  return seen == 1 && appended ? 0 : 1;
}
