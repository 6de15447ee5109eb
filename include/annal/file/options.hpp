// How a file log syncs, sizes its segments and recovers, and the report of what opening found.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <annal/core/detail/chrono.hpp>
#include <annal/store/durability.hpp>

namespace annal {

struct file_log_options {
  // durable: append returns after fdatasync; a sync started after an append covers it too.
  // group: as durable, one sync at a time, whose leader waits group_commit_window for company.
  // none: append returns after write(); a machine crash may lose the newest events.
  durability sync = durability::durable;
  // A new segment starts when the next batch would take the current one past this many bytes.
  std::uint64_t segment_size = std::uint64_t{64} << 20;
  // Open a log that is damaged in the middle by cutting it there (the cut bytes are kept beside it
  // as *.cut files, and recovery() says what was cut). Without it such a log refuses to open.
  bool repair = false;
  bool create_if_missing = true;
  // Open as one of any number of readers beside the directory's one writer, in this process or
  // others: no lock is taken and nothing is ever written; reads follow what the writer publishes
  // (acknowledged events only) and append throws errc::invalid_argument. The directory must exist.
  bool read_only = false;
  // Check each record's checksum when reading it. Turning it off speeds up scans by trusting bytes
  // that were checked when they were written or scanned at open; positions and record structure
  // are still checked.
  bool verify_reads = true;
  // Scan and check every record at open, as a repair does, instead of taking sealed segments from
  // their index files (RocksDB's paranoid_checks): damage anywhere then refuses the open, at the
  // cost of reading the whole log. Off, only the newest segment and each sealed segment's last
  // record are checked at open, and damage elsewhere is found by the reader that meets it.
  bool verify_on_open = false;
  std::chrono::microseconds group_commit_window{50};
};

// What opening a file log found and did.
struct file_log_recovery {
  std::uint64_t events = 0;    // events in the log after opening
  std::uint32_t segments = 0;  // segment files after opening
  bool cut = false;            // whether anything was cut off the end
  std::string reason;          // why, e.g. "checksum mismatch" at the first bad record
  std::string segment;         // where the cut was made
  std::uint64_t offset = 0;
  std::uint64_t bytes_cut = 0;           // from that segment and every later one
  std::uint64_t intact_records_cut = 0;  // checksummed records lost to a repair (0 for a torn tail)
  // Events in the cut bytes: the intact records, and the damaged one if a record starts at the bad
  // spot (a torn tail of zeros or garbage holds none).
  std::uint64_t events_cut = 0;
  std::uint64_t first_position_cut = 0;  // the first position that is no longer in the log
  // Files holding the cut bytes, "00000003.log.cut" (or "00000003.log.2.cut" beside an earlier
  // cut): a segment's cut end, or a segment moved aside whole. annal::read_cut_file reads them.
  std::vector<std::string> saved_as;
  std::uint32_t segments_indexed = 0;  // sealed segments taken from their index files, not scanned
  std::vector<std::string> index_ignored;  // "00000002.idx: why" for each index file not used
  // Sealed segments scanned for want of a usable index file, whose index file was written again.
  std::uint32_t segments_reindexed = 0;
  std::chrono::nanoseconds open_time{};
};

}  // namespace annal
