// A lending library with history: an old version of `borrowed`, and a retired `swapped` that split
// in two.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <annal/codec/upcast.hpp>
#include <annal/core/decision.hpp>
#include <annal/core/event.hpp>

namespace library {

struct added {
  int copies = 1;
};
ANNAL_EVENT(added, "library.added", 1);

// v1 did not record who borrowed.
struct borrowed_v1 {};
ANNAL_EVENT(borrowed_v1, "library.borrowed", 1);

struct returned;
// A copy handed from one member to another, in one event; since split into a return and a borrow.
struct swapped {
  std::string from;
  std::string to;
};
ANNAL_EVENT(swapped, "library.swapped", 1);

struct borrowed {
  using previous_versions = annal::events<borrowed_v1, swapped>;
  std::string member;
  friend bool operator==(const borrowed&, const borrowed&) = default;
};
ANNAL_EVENT(borrowed, "library.borrowed", 2);

struct returned {
  using previous_versions = annal::events<swapped>;
  std::string member;
  friend bool operator==(const returned&, const returned&) = default;
};
ANNAL_EVENT(returned, "library.returned", 1);

inline borrowed upcast(const borrowed_v1&) {
  return {"(unrecorded)"};
}
inline annal::upcast_result<returned, borrowed> upcast(const swapped& e) {
  return {returned{e.from}, borrowed{e.to}};
}

struct borrow {
  std::string member;
};

struct book {
  using events = annal::events<added, borrowed, returned>;
  int available = 0;
  void apply(const added& e) { available += e.copies; }
  void apply(const borrowed&) { --available; }
  void apply(const returned&) { ++available; }
};

inline annal::decision<book> decide(const book& b, const borrow& c) {
  if (b.available == 0) return annal::reject("no copy available");
  return borrowed{c.member};
}

// Read models: who holds how many copies, and how many loans were ever made.
struct holdings {
  using events = annal::events<borrowed, returned>;
  std::map<std::string, int> by_member;
  void on(const borrowed& e) { ++by_member[e.member]; }
  void on(const returned& e) {
    if (--by_member[e.member] == 0) by_member.erase(e.member);
  }
};
struct loans {
  using events = annal::events<borrowed>;
  std::map<std::string, std::uint64_t> per_book;
  void on(const borrowed&, const annal::envelope_header& h) { ++per_book[h.stream_id]; }
};

}  // namespace library

#include <boost/hana/adapt_struct.hpp>
BOOST_HANA_ADAPT_STRUCT(library::added, copies);
BOOST_HANA_ADAPT_STRUCT(library::borrowed_v1);
BOOST_HANA_ADAPT_STRUCT(library::swapped, from, to);
BOOST_HANA_ADAPT_STRUCT(library::borrowed, member);
BOOST_HANA_ADAPT_STRUCT(library::returned, member);
BOOST_HANA_ADAPT_STRUCT(library::book, available);
BOOST_HANA_ADAPT_STRUCT(library::holdings, by_member);
BOOST_HANA_ADAPT_STRUCT(library::loans, per_book);
