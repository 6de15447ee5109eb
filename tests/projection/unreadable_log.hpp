// A log with one event a reader lists but cannot read, and the check that an error names it: what
// every reader of the read side (tests/projection/unreadable.cpp) and the Kafka group projector
// must stop at.
#pragma once

#include <catch2/catch.hpp>

#include <span>
#include <string>

#include <annal/core/error.hpp>

#include "projection/domain.hpp"

namespace proj {

// A deposit as a newer program writes it: schema version 2, which this build does not declare.
inline annal::event_data deposited_v2(long cents) {
  annal::event_data d = encode(bank::deposited{cents});
  d.schema_version = 2;
  return d;
}

// acc-1 opened and 100 deposited, acc-2 opened, then acc-2's deposit at schema version 2 (its
// version 2, position 4; offset 3 on a one-partition topic), then acc-1's deposit of 5.
template <class Store>
void write_unreadable_log(Store& store) {
  append(store, "acc-1", bank::opened{"ada"}, bank::deposited{100});
  append(store, "acc-2", bank::opened{"bob"});
  const annal::event_data newer = deposited_v2(7);
  store.append("acc-2", annal::expected_version::any(), std::span(&newer, 1));
  append(store, "acc-1", bank::deposited{5});
}

// The error names the unreadable record: its stream and version, its type and schema version, and
// the versions this build reads.
inline void check_names_the_unreadable(const annal::error& e) {
  CHECK(e.code() == annal::errc::unknown_event_type);
  const std::string what = e.what();
  CHECK_THAT(what, Catch::Contains("stream 'acc-2' version 2"));
  CHECK_THAT(what, Catch::Contains("'bank.deposited' v2"));
  CHECK_THAT(what, Catch::Contains("reads only schema version(s) 1"));
}

}  // namespace proj
