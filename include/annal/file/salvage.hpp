// Reading back what a file log cut off at open (its *.cut files), and appending it to a store
// again.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <annal/core/error.hpp>
#include <annal/detail/validate.hpp>
#include <annal/file/detail/format.hpp>
#include <annal/file/detail/reader.hpp>
#include <annal/file/detail/walk.hpp>
#include <annal/file/posix_io.hpp>
#include <annal/store/event_store.hpp>

namespace annal {

// One intact record of a *.cut file.
struct cut_record {
  recorded_event event;      // as it was stored: position, stream version, ids, recorded_at
  std::uint64_t offset = 0;  // of the record in the .cut file
  bool batch_end = false;    // the last record of the batch it was appended in
  // Damaged bytes lie right before it: its batch may have begun in them.
  bool follows_damage = false;
};

// Bytes of a *.cut file that hold no intact record (the damage a cut was made for, or torn bytes).
struct cut_file_damage {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

struct cut_file_report {
  std::uint64_t records = 0;             // intact records handed out
  std::vector<cut_file_damage> damaged;  // in file order
};

// Reads a *.cut file left by a cut at open (recovery().saved_as): a segment's cut end, or a segment
// moved aside whole, header and all. Hands each intact record (checksummed whole) to
// on_record(const cut_record&) in file order, which may return false to stop; damaged bytes are
// skipped and reported with their offsets. Records are not checked against each other or a log:
// a stale copy of an older record comes back too, and re-appending it is a duplicate.
template <class F>
cut_file_report read_cut_file(const std::filesystem::path& path, F&& on_record) {
  namespace fl = detail::file_log;
  posix_io io;
  const std::string name = path.string();
  const int fd = io.open(name.c_str(), O_RDONLY, 0);
  if (fd < 0)
    throw error(errc::io_error,
                "reading the cut file " + name + ": " + std::system_category().message(-fd));
  struct closer {
    posix_io& io;
    int fd;
    ~closer() { io.close(fd); }
  } closing{io, fd};
  const std::int64_t size = io.file_size(fd);
  if (size < 0)
    throw error(errc::io_error, "reading the size of the cut file " + name + ": " +
                                    std::system_category().message(static_cast<int>(-size)));
  fl::chunk_reader<posix_io> reader(io, 1024 * 1024);
  reader.reset(fd, &name);
  const auto end = static_cast<std::uint64_t>(size);
  // A segment moved aside whole starts with its header; a segment's cut end starts at a record.
  std::uint64_t from = 0;
  if (const char* head = reader.fetch(0, fl::segment_header_size);
      head && std::memcmp(head, fl::segment_magic, sizeof fl::segment_magic) == 0)
    from = fl::segment_header_size;

  cut_file_report report;
  bool after_damage = false;
  const auto damage = [&](std::uint64_t offset, std::uint64_t bytes) {
    after_damage = true;
    if (!report.damaged.empty() &&
        report.damaged.back().offset + report.damaged.back().size == offset)
      report.damaged.back().size += bytes;
    else
      report.damaged.push_back({offset, bytes});
  };
  cut_record out;
  bool going = true;
  fl::walk_records(
      reader, from, end,
      [&](std::uint64_t offset, const fl::record_view& r) {
        if (!going) return;
        if (fl::decode_record(r, out.event)) return damage(offset, r.size);
        out.offset = offset;
        out.batch_end = r.batch_end();
        out.follows_damage = std::exchange(after_damage, false);
        ++report.records;
        going = detail::visit_continue(on_record, std::as_const(out));
      },
      [&](std::uint64_t offset, std::uint64_t bytes) {
        if (going) damage(offset, bytes);
      });
  return report;
}

struct reimport_report {
  std::uint64_t appended = 0;    // events stored again
  std::uint64_t duplicates = 0;  // events the store held already (same ids): nothing stored twice
  std::uint64_t moved = 0;       // of those appended, events stored at another stream version
  // Of those appended, events of batches right after damaged bytes: such a batch may have begun in
  // them (check them with read_cut_file, which flags them follows_damage).
  std::uint64_t after_damage = 0;
  std::uint64_t skipped = 0;  // intact records of batches whose last record is not intact
  std::vector<std::pair<std::string, cut_file_damage>> damaged;  // file, bytes
};

// Appends the intact events of *.cut files (in the order given: recovery().saved_as is in log
// order) to `store`, batch by batch as they were first appended, with their original ids and
// envelopes. A batch already stored is a duplicate, so running it twice, or on a store that holds
// some of them, stores nothing twice. A batch cut short by damage (its last record, or a record
// between, is not intact) is skipped: appending part of it would split what was one atomic append;
// read_cut_file still hands out its records. Appends use expected_version::any(): events keep
// their order within each stream, and their stream versions if nothing was appended to their
// streams since the cut. recorded_at is the time of the new append.
template <event_store S>
reimport_report reimport_cut_files(S& store, std::span<const std::filesystem::path> files) {
  reimport_report report;
  std::vector<event_data> batch;
  std::vector<std::uint64_t> versions;  // each batch record's original stream version
  std::string stream;
  bool uncertain = false;  // the batch being gathered follows damaged bytes
  const auto drop = [&] {
    report.skipped += batch.size();
    batch.clear();
    versions.clear();
  };
  for (const std::filesystem::path& file : files) {
    const cut_file_report read = read_cut_file(file, [&](const cut_record& r) {
      const recorded_event& e = r.event;
      // A record that does not continue the batch (damage between them, another stream or a gap
      // in the versions) leaves the batch before it incomplete.
      if (!batch.empty() &&
          (r.follows_damage || e.stream_id != stream || e.stream_version != versions.back() + 1))
        drop();
      if (batch.empty()) {
        stream = e.stream_id;
        uncertain = r.follows_damage;
      }
      batch.push_back(as_event_data(e));
      versions.push_back(e.stream_version);
      if (!r.batch_end) return;
      const append_result a = store.append(stream, expected_version::any(), batch);
      if (a.status == append_status::duplicate) {
        report.duplicates += batch.size();
      } else {
        report.appended += batch.size();
        if (a.stream_version != versions.back()) report.moved += batch.size();
        if (uncertain) report.after_damage += batch.size();
      }
      batch.clear();
      versions.clear();
    });
    for (const cut_file_damage& d : read.damaged) report.damaged.emplace_back(file.string(), d);
    // A batch never spans files: a segment ends with a whole batch.
    drop();
  }
  return report;
}

}  // namespace annal
