// Walking raw segment bytes record by record, past damage: what a cut counts and a salvage reads.
#pragma once

#include <cstdint>

#include <annal/file/detail/format.hpp>
#include <annal/file/detail/reader.hpp>

namespace annal::detail::file_log {

// Walks bytes [from, end) of the reader's file: each intact record (whole, its checksum and sizes
// sound) goes to on_record(offset, const record_view&), good only during the call; each stretch
// between them that holds none goes to on_damaged(offset, size). After a bad byte the walk goes on
// at the next offset where an intact record starts. Chain and positions are the caller's to judge.
template <class IO, class OnRecord, class OnDamaged>
void walk_records(chunk_reader<IO>& reader, std::uint64_t from, std::uint64_t end,
                  OnRecord&& on_record, OnDamaged&& on_damaged) {
  std::uint64_t damaged_from = from;
  bool in_damage = false;
  for (std::uint64_t at = from; at < end;) {
    const char* rec =
        at + record_header_size <= end ? reader.fetch(at, record_header_size) : nullptr;
    const std::uint32_t claimed = rec ? claimed_size(rec, record_header_size) : 0;
    record_view r;
    if (claimed != 0 && at + claimed <= end && (rec = reader.fetch(at, claimed)) &&
        !check_record(rec, claimed, r)) {
      if (in_damage) on_damaged(damaged_from, at - damaged_from);
      in_damage = false;
      on_record(at, r);
      at += claimed;
    } else {
      if (!in_damage) damaged_from = at;
      in_damage = true;
      ++at;
    }
  }
  if (in_damage) on_damaged(damaged_from, end - damaged_from);
}

}  // namespace annal::detail::file_log
