// Online, incremental, verified backups of a file log into a directory that opens as a log.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <annal/core/error.hpp>
#include <annal/detail/atomic_file.hpp>
#include <annal/file/detail/backup_files.hpp>
#include <annal/file/detail/format.hpp>
#include <annal/file/detail/segment_index.hpp>
#include <annal/file/log.hpp>
#include <annal/store/recovery.hpp>

namespace annal {

// The position readers see and where its batch ends: every position up to it is published (durable
// in durable and group modes), and the bytes before that end never change while the log is open.
// The append lock is held too, for the time: no batch is then between reading the clock for its
// recorded_at and entering the index, so if every written batch is published, later ones are
// recorded at `now` or after. Writers wait for it only as long as for one append's write.
template <class IO>
template <class F>
void basic_file_log<IO>::consistent_cut(F&& cut) const {
  throw_if_failed();
  follow_writer();
  std::unique_lock<std::mutex> appending;
  if (!options_.read_only) appending = std::unique_lock(append_mutex_);
  std::shared_lock lock(index_mutex_);
  const time_point now = clock::now();
  const std::uint64_t position = visible_.load(std::memory_order_acquire);
  // A read-only open cannot see the writer's batches in flight: their times are unknown.
  const time_point as_of =
      !options_.read_only && written_.load(std::memory_order_acquire) == position ? now
                                                                                  : time_point{};
  if (position == 0) {
    cut(position, segments_.front().number, std::uint64_t{detail::file_log::segment_header_size},
        as_of);
    return;
  }
  const slot& s = slots_[position - 1];
  const std::uint64_t end = position < slots_.size() && slots_[position].segment == s.segment
                                ? slots_[position].offset
                                : segments_[s.segment].size;
  cut(position, segments_[s.segment].number, end, as_of);
}

namespace detail::file_log {

// The log's consistent cut as a chain point; taken_at_ns is 0 when only the events' own times can
// say how far the cut reaches (see take_time).
template <class IO>
chain_point cut_of(const basic_file_log<IO>& log) {
  // A backup or restore copies segments from the first; an archived log's first ones are in its
  // archive, which is itself a checked backup of them.
  if (const std::uint64_t horizon = log.archive_horizon(); horizon != 0)
    throw error(errc::archived,
                "file log " + log.directory().string() + " has positions 1 to " +
                    std::to_string(horizon) + " in its archive " +
                    log.archive_directory().string() +
                    ": backups and restores copy a log from its first position; the archive is a "
                    "checked backup of those positions, and a restore takes it as its source");
  chain_point cut;
  log.consistent_cut(
      [&](std::uint64_t position, std::uint32_t segment, std::uint64_t bytes, time_point as_of) {
        cut.position = position;
        cut.segment = segment;
        cut.segment_bytes = bytes;
        cut.taken_at_ns = as_of == time_point{} ? 0 : to_ns(as_of);
      });
  return cut;
}

// When the cut was taken, as far as a restore to a time may trust it: the cut's own time, or, when
// batches were in flight then (they may carry earlier times), the time of its last event.
inline std::int64_t take_time(const chain_point& cut, const chain_point& scanned) {
  return cut.taken_at_ns != 0 ? cut.taken_at_ns : scanned.recorded_at_ns;
}

// Why `destination` cannot take a backup of the log at `source_dir`, whose cut is `cut`, going on
// from the complete backup `base` it holds; nothing when it can.
inline std::optional<std::string> continues(const std::filesystem::path& source_dir,
                                            const chain_point& cut, const chain_point& base,
                                            const std::filesystem::path& destination) {
  if (base.position == 0) return std::nullopt;
  const std::string head = "destination " + destination.string() +
                           " holds a backup up to position " + std::to_string(base.position) +
                           " (checksum " + hex32(base.crc) + "), ";
  if (cut.position < base.position)
    return head + "but the source log " + source_dir.string() + " ends at position " +
           std::to_string(cut.position) +
           ": it is another log, or this one cut or rewritten since; back up into an empty "
           "directory";
  const std::filesystem::path path = source_dir / segment_file(base.segment);
  fd_closer fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::string found = "no intact record starting at " + path.string() + " offset " +
                      std::to_string(base.last_offset) +
                      ", where that position's record starts in the backup";
  if (fd.fd >= 0) {
    posix_io io;
    chunk_reader<posix_io> reader(io, 0);
    const std::string name = path.string();
    reader.reset(fd.fd, &name);
    const char* rec = reader.fetch(base.last_offset, record_header_size);
    const std::uint32_t claimed = rec ? claimed_size(rec, record_header_size) : 0;
    record_view r;
    if (claimed != 0 && (rec = reader.fetch(base.last_offset, claimed)) &&
        !check_record(rec, claimed, r)) {
      if (r.fields.position == base.position && r.crc == base.crc) return std::nullopt;
      found = "position " + std::to_string(r.fields.position) + " with checksum " + hex32(r.crc) +
              " at " + path.string() + " offset " + std::to_string(base.last_offset);
    }
  }
  return head + "but the source log " + source_dir.string() + " holds " + found +
         ": it is another log, or this one rewritten since; back up into an empty directory";
}

// Puts a destination back to the complete backup `base` (position 0: none), undoing what an
// interrupted run added: later segments and index files go, the last segment is cut back.
inline void roll_back(const std::filesystem::path& dest, const chain_point& base) {
  std::error_code ec;
  std::vector<std::filesystem::path> doomed;
  for (std::filesystem::directory_iterator it(dest, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() < 12 || name.find_first_not_of("0123456789") != 8) {
      if (name.ends_with(".tmp") && name != std::string(marker_name) + ".tmp")
        doomed.push_back(it->path());
      continue;
    }
    const auto number = static_cast<std::uint32_t>(std::stoul(name.substr(0, 8)));
    const std::string kind = name.substr(8);
    if ((kind == ".log" && number > base.segment) || (kind == ".idx" && number >= base.segment) ||
        kind.ends_with(".tmp"))
      doomed.push_back(it->path());
  }
  if (ec) throw_file("listing", dest, ec.value());
  for (const auto& p : doomed)
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) throw_file("removing", p, errno);
  if (base.segment != 0) {
    const std::filesystem::path last = dest / segment_file(base.segment);
    fd_closer fd(::open(last.c_str(), O_RDWR | O_CLOEXEC));
    if (fd.fd < 0) throw_file("opening", last, errno);
    const std::uint64_t size = size_of(fd.fd, last);
    if (size < base.segment_bytes)
      throw error(errc::corrupt_log,
                  "backup " + dest.string() + ": segment " + last.string() + " has " +
                      std::to_string(size) + " bytes, fewer than the " +
                      std::to_string(base.segment_bytes) + " its last complete backup wrote");
    if (size > base.segment_bytes) {
      if (::ftruncate(fd.fd, static_cast<off_t>(base.segment_bytes)) != 0)
        throw_file("cutting back", last, errno);
      if (::fdatasync(fd.fd) != 0) throw_file("syncing", last, errno);
    }
  }
  // Only removals need the directory synced; a cut is synced with its file.
  if (!doomed.empty()) fsync_directory(dest);
}

// Whether a directory holds nothing a backup could overwrite (a marker's temporary file aside).
inline bool empty_for_backup(const std::filesystem::path& dir) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename() != std::string(marker_name) + ".tmp") return false;
  if (ec) throw_file("listing", dir, ec.value());
  return true;
}

}  // namespace detail::file_log

// Backs up `log` into `destination` while appends go on. Writers wait only for the moment the
// cut (the published position and where its batch ends) is read. Sealed segments are copied
// (hard-linked with backup_options::hard_link when the file system allows), the newest up to the
// cut; each copied byte is then read back and checked: checksums, the hash chain, positions,
// whole batches. Only then is the BACKUP marker written, atomically: a directory without a
// complete marker is no backup (verify_backup refuses it).
//
// A destination holding an earlier backup of the same log (checked by the chain: the source's
// record at the backup's last position has the backup's checksum) gets only what is new. One
// holding anything else is refused, and so is a backup of another or rewritten log, naming both
// positions. A run interrupted (a crash, a full disk) leaves the marker saying so; the next run
// rolls the destination back to the backup it started from and does the work again. The source
// is only read. The backup directory opens as a file_log as it is (it holds a BACKUP file beside
// the segments; opening it for writing makes it a log, no longer the backup verify_backup checks).
template <class IO>
backup_result backup(const basic_file_log<IO>& log, const std::filesystem::path& destination,
                     backup_options options = {}) {
  namespace fl = detail::file_log;
  detail::check_backup_options(options);
  const fl::chain_point cut = fl::cut_of(log);
  const std::filesystem::path source = log.directory();

  std::error_code ec;
  if (!std::filesystem::exists(destination, ec)) {
    std::filesystem::create_directories(destination, ec);
    if (ec)
      throw error(errc::io_error,
                  "creating the backup directory " + destination.string() + ": " + ec.message());
  } else if (!std::filesystem::is_directory(destination, ec)) {
    throw error(errc::invalid_argument,
                "backup destination " + destination.string() +
                    " is a file: a file log's backup is a directory (a SQLite store's backup is "
                    "one file)");
  }
  fl::fd_closer lock(fl::lock_directory(destination));
  const std::optional<fl::backup_marker> found = fl::read_marker(destination);
  if (!found && !fl::empty_for_backup(destination))
    throw error(errc::invalid_argument,
                "backup destination " + destination.string() +
                    " is not empty and holds no annal backup (no BACKUP file): a backup goes into "
                    "an empty directory or one holding an earlier backup of the same log");
  fl::chain_point base = found ? found->point : fl::chain_point{};
  if (found && found->complete) {
    // A complete backup must be as it was written: the newest segment's size, no later one.
    std::error_code size_ec;
    const std::filesystem::path last = destination / fl::segment_file(base.segment);
    const auto size = std::filesystem::file_size(last, size_ec);
    if (size_ec || size != base.segment_bytes ||
        std::filesystem::exists(destination / fl::segment_file(base.segment + 1), size_ec))
      throw error(errc::invalid_argument,
                  "backup destination " + destination.string() +
                      " has changed since its backup was made (" + last.string() +
                      (size_ec ? " is missing"
                               : " has " + std::to_string(size) + " bytes, not " +
                                     std::to_string(base.segment_bytes)) +
                      ", or a later segment was added): it was opened as a log and written to? "
                      "verify_backup says what is wrong; back up into an empty directory");
  }
  if (auto why = fl::continues(source, cut, base, destination))
    throw error(errc::invalid_argument, *why);

  backup_result result;
  result.incremental = base.segment != 0;
  const auto finish = [&](const fl::chain_point& p, detail::backup_reporter& report) {
    result.events = p.position;
    result.bytes = p.total_bytes;
    result.last_position = p.position;
    result.new_events = p.position - base.position;
    result.last_recorded_at = detail::file_log::from_ns(p.recorded_at_ns);
    report.finish();
    result.elapsed = report.elapsed();
    return result;
  };

  // Nothing new, and nothing to roll back: the backup stands as it is.
  if (found && found->complete && base.position == cut.position && base.segment == cut.segment &&
      base.segment_bytes == cut.segment_bytes) {
    // The backup now stands for the log as of this cut: a later time to restore to.
    fl::chain_point now = base;
    now.taken_at_ns = std::max(base.taken_at_ns, fl::take_time(cut, base));
    if (now.taken_at_ns != base.taken_at_ns)
      fl::write_marker(destination, {true, now, source.string()});
    detail::backup_reporter report(options, 0, cut.position);
    return finish(now, report);
  }

  fl::write_marker(destination, {false, base, source.string()});
  fl::roll_back(destination, base);

  // What each segment contributes: [from, to) of segment number s.
  struct piece {
    std::uint32_t number;
    std::uint64_t from, to;
  };
  std::vector<piece> pieces;
  std::uint64_t target_bytes = 0;
  for (std::uint32_t s = base.segment == 0 ? 1 : base.segment; s <= cut.segment; ++s) {
    std::uint64_t to = cut.segment_bytes;
    if (s < cut.segment) {
      std::error_code size_ec;
      to = std::filesystem::file_size(source / fl::segment_file(s), size_ec);
      if (size_ec)
        throw error(errc::io_error, "reading the size of " +
                                        (source / fl::segment_file(s)).string() + ": " +
                                        size_ec.message());
    }
    const std::uint64_t from = s == base.segment ? base.segment_bytes : 0;
    pieces.push_back({s, from, to});
    target_bytes += to - from;
  }

  detail::backup_reporter report(options, target_bytes, cut.position);
  fl::segment_scanner check(destination, "backup " + destination.string(), false);
  check.start_at(base);
  // Segments are checked on a thread of their own while the next one is copied and synced: the
  // copy waits on the disk, the check on the CPU.
  std::mutex handed_mutex;
  std::condition_variable handed_over;
  std::size_t handed = 0;  // pieces copied and synced, ready to be checked
  bool stopping = false;   // the copy stopped early: check no more
  std::atomic<std::uint64_t> checked_bytes{0}, checked_events{0};
  std::atomic<bool> failed{false};
  std::exception_ptr failure;
  const auto check_piece = [&](const piece& p) {
    try {
      check.scan(p.number, p.to, true, [](const fl::record_view&, std::uint64_t) { return true; });
    } catch (const error&) {
      // Damage in the copy is the source's own when the source's bytes fail the same check.
      const auto spot = check.failed_at();
      if (auto why = fl::segment_scanner::damage_at(source, spot.segment, spot.offset))
        throw error(errc::corrupt_log,
                    "backing up " + source.string() + " into " + destination.string() +
                        ": the source log is damaged at position " + std::to_string(spot.position) +
                        " (segment " + (source / fl::segment_file(spot.segment)).string() +
                        " offset " + std::to_string(spot.offset) + "): " + *why +
                        "; nothing was marked backed up and the source was not changed (opening it "
                        "with file_log_options::repair cuts it there, keeping the cut bytes)");
      throw;
    }
  };
  std::thread checker([&] {
    try {
      for (std::size_t i = 0; i < pieces.size(); ++i) {
        {
          std::unique_lock lock(handed_mutex);
          handed_over.wait(lock, [&] { return handed > i || stopping; });
          if (handed <= i) return;
        }
        check_piece(pieces[i]);
        checked_bytes.fetch_add(pieces[i].to - pieces[i].from, std::memory_order_relaxed);
        checked_events.store(check.point().position - base.position, std::memory_order_relaxed);
      }
    } catch (...) {
      failure = std::current_exception();
      failed.store(true, std::memory_order_release);
    }
  });
  const auto stop_checker = [&] {
    if (!checker.joinable()) return;
    {
      std::lock_guard lock(handed_mutex);
      stopping = true;
    }
    handed_over.notify_all();
    checker.join();
  };
  struct on_exit {
    decltype(stop_checker)& stop;
    ~on_exit() { stop(); }
  } stopping_at_exit{stop_checker};
  for (std::size_t i = 0; i < pieces.size() && !failed.load(std::memory_order_acquire); ++i) {
    const piece& p = pieces[i];
    const std::filesystem::path from_path = source / fl::segment_file(p.number);
    const std::filesystem::path to_path = destination / fl::segment_file(p.number);
    bool linked = false;
    if (options.hard_link && p.from == 0 && p.number < cut.segment) {
      if (::link(from_path.c_str(), to_path.c_str()) == 0) {
        linked = true;
        ++result.linked_files;
      } else if (errno != EXDEV && errno != EPERM && errno != EMLINK) {
        fl::throw_file("hard-linking " + from_path.string() + " as", to_path, errno);
      }
    }
    if (!linked) {
      fl::fd_closer in(::open(from_path.c_str(), O_RDONLY | O_CLOEXEC));
      if (in.fd < 0) fl::throw_file("opening the source segment", from_path, errno);
      fl::fd_closer out(::open(to_path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
      if (out.fd < 0) fl::throw_file("creating", to_path, errno);
      fl::copy_range(in.fd, from_path, out.fd, to_path, p.from, p.to);
      if (::fdatasync(out.fd) != 0) fl::throw_file("syncing", to_path, errno);
      result.copied_bytes += p.to - p.from;
    }
    // A segment sealed in the backup gets its index file, if the source has one.
    if (p.number < cut.segment && std::filesystem::exists(source / fl::index_file(p.number), ec))
      fl::copy_file_synced(source / fl::index_file(p.number),
                           destination / fl::index_file(p.number));
    {
      std::lock_guard lock(handed_mutex);
      handed = i + 1;
    }
    handed_over.notify_all();
    report.at(checked_bytes.load(std::memory_order_relaxed),
              checked_events.load(std::memory_order_relaxed), 0);
  }
  stop_checker();
  if (failure) std::rethrow_exception(failure);
  report.at(target_bytes, check.point().position - base.position, check.point().position);
  // New files' names must be durable before the marker that counts on them.
  if (pieces.size() > 1 || pieces.front().from == 0) detail::fsync_directory(destination);
  if (check.point().position != cut.position)
    throw error(errc::corrupt_log, "backup " + destination.string() + " ends at position " +
                                       std::to_string(check.point().position) + ", not at " +
                                       std::to_string(cut.position) + " where the source's cut is");
  fl::chain_point done = check.point();
  done.taken_at_ns = fl::take_time(cut, done);
  fl::write_marker(destination, {true, done, source.string()});
  return finish(done, report);
}

// Checks a backup without opening it for writing: its marker says complete, its segments are
// 1..n with the newest exactly as long as the marker says, and every record checks out (checksum,
// chain, positions, whole batches, stream versions) up to the marker's position and checksum.
// A failure throws errc::corrupt_log naming the file, the offset and the position.
inline verified_backup verify_backup(const std::filesystem::path& dir,
                                     backup_options options = {}) {
  namespace fl = detail::file_log;
  detail::check_backup_options(options);
  fl::require_backup_directory(dir);
  const std::optional<fl::backup_marker> marker = fl::read_marker(dir);
  if (!marker)
    throw error(errc::corrupt_log, dir.string() +
                                       " is not an annal backup: it has no BACKUP file "
                                       "(a backup writes it last, once its copy checks out)");
  if (!marker->complete)
    throw error(errc::corrupt_log, "backup " + dir.string() +
                                       " is unfinished: a backup into it was interrupted; run the "
                                       "backup again to finish it");
  const fl::chain_point& want = marker->point;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() == 12 && name.ends_with(".log") && name.find_first_not_of("0123456789") == 8 &&
        std::stoul(name.substr(0, 8)) > want.segment)
      throw error(errc::corrupt_log, "backup " + dir.string() + ": segment " + it->path().string() +
                                         " is beyond the backup's last, " +
                                         fl::segment_file(want.segment));
  }
  detail::backup_reporter report(options, want.total_bytes, want.position);
  fl::segment_scanner check(dir, "backup " + dir.string(), true);
  for (std::uint32_t s = 1; s <= want.segment; ++s) {
    const bool last = s == want.segment;
    // A sealed segment's index file, if there is one, must describe it record by record: opening
    // the backup would take the segment's events from it.
    const std::filesystem::path idx_path = dir / fl::index_file(s);
    const std::optional<std::string> idx_bytes = detail::read_whole_file(idx_path);
    fl::segment_index idx;
    const auto bad_index = [&](const std::string& why) {
      throw error(errc::corrupt_log,
                  "backup " + dir.string() + ": index file " + idx_path.string() + " " + why +
                      " (removing it makes opening the backup scan the segment)");
    };
    if (idx_bytes) {
      if (auto why = fl::decode_segment_index(idx_bytes->data(), idx_bytes->size(), idx))
        bad_index("is damaged: " + *why);
      if (idx.header.number != s || idx.header.first_position != check.point().position + 1 ||
          idx.header.chain_seed != check.point().crc)
        bad_index("describes another segment");
    }
    std::uint64_t i = 0;
    check.scan(s, last ? std::optional<std::uint64_t>(want.segment_bytes) : std::nullopt, last,
               [&](const fl::record_view& r, std::uint64_t offset) {
                 if (idx_bytes) {
                   if (i >= idx.header.records)
                     bad_index("lists " + std::to_string(idx.header.records) +
                               " records; the segment holds more");
                   const fl::segment_index_entry e = idx.entry(i);
                   if (e.offset != offset || e.version != r.fields.stream_version ||
                       e.stream >= idx.streams.size() || idx.streams[e.stream] != r.stream_id() ||
                       e.id != fl::get_id(r.data + 48) ||
                       (idx.entry_type(i) != 0 && idx.types[idx.entry_type(i) - 1] != r.type()))
                     bad_index("disagrees with the segment at position " +
                               std::to_string(r.fields.position) + " (offset " +
                               std::to_string(offset) + ")");
                 }
                 ++i;
                 return true;
               });
    if (idx_bytes &&
        (i != idx.header.records || idx.header.segment_bytes != check.point().segment_bytes ||
         idx.header.last_crc != check.point().crc))
      bad_index("disagrees with the segment's length or last record");
    report.at(check.point().total_bytes, check.point().position, check.point().position);
  }
  const fl::chain_point& got = check.point();
  if (got.position != want.position || got.crc != want.crc)
    throw error(errc::corrupt_log,
                "backup " + dir.string() + " ends at position " + std::to_string(got.position) +
                    " with checksum " + fl::hex32(got.crc) + ", but its marker says position " +
                    std::to_string(want.position) + " with checksum " + fl::hex32(want.crc));
  report.finish();
  verified_backup out;
  out.events = got.position;
  out.bytes = got.total_bytes;
  out.last_position = got.position;
  out.streams = check.streams();
  out.last_recorded_at = detail::file_log::from_ns(got.recorded_at_ns);
  out.taken_at = detail::file_log::from_ns(want.taken_at_ns);
  return out;
}

}  // namespace annal
