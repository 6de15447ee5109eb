// The separately compiled consumer's events, aggregate and command.
#pragma once

#include <cstdint>
#include <string>

#include <boost/hana/define_struct.hpp>

#include <annal/annal.hpp>

namespace journal {

struct written {
  BOOST_HANA_DEFINE_STRUCT(written, (std::string, text));
};
ANNAL_EVENT(written, "journal.written", 1)

struct page {
  using events = annal::events<written>;
  std::uint64_t lines = 0;
  void apply(const written&) { ++lines; }
};

struct write {
  std::string text;
};
inline annal::decision<page> decide(const page&, const write& c) {
  return written{c.text};
}

// Writes `n` entries into `stream` of `log` through a repository (entries.cpp).
void write_entries(annal::file_log& log, const std::string& stream, int n);

}  // namespace journal
