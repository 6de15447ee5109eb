// Point-in-time restore of a file log: a new log holding a backup's (or a live log's) events up to
// a position or an instant.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>

#include <annal/core/error.hpp>
#include <annal/detail/atomic_file.hpp>
#include <annal/file/backup.hpp>
#include <annal/file/detail/backup_files.hpp>
#include <annal/file/detail/format.hpp>
#include <annal/file/log.hpp>
#include <annal/store/recovery.hpp>

namespace annal {
namespace detail::file_log {

// Writes `target` as a new log holding the events of the log in `source` (cut at `cut`: its last
// segment ends at cut.segment_bytes) up to `to`. Built in "<target>.restoring", every byte checked
// as it is read (checksums, chain, positions, whole batches, stream versions) and again once
// copied, synced, then renamed to `target`: a target that exists is complete. A leftover
// "<target>.restoring" of an interrupted restore is removed first.
inline restore_result restore_log(const std::filesystem::path& source, const std::string& what,
                                  const chain_point& cut, const std::filesystem::path& target,
                                  const restore_point& to) {
  const auto started = std::chrono::steady_clock::now();
  refuse_existing_restore_target(target);
  std::error_code ec;
  if (to.what() == restore_point::kind::position && to.position() > cut.position)
    throw error(errc::invalid_argument, "restore point position " + std::to_string(to.position()) +
                                            " is beyond the end of " + what + ", position " +
                                            std::to_string(cut.position));
  if (to.what() == restore_point::kind::time && to_ns(to.time()) > cut.taken_at_ns)
    throw error(errc::invalid_argument,
                "restore point " + describe_time(to.time()) + " is after " + what + " was taken (" +
                    describe_time(detail::file_log::from_ns(cut.taken_at_ns)) + ", position " +
                    std::to_string(cut.position) + "): it cannot say what was appended since");

  std::filesystem::path staging = target;
  staging += ".restoring";
  std::filesystem::remove_all(staging, ec);
  if (ec) throw_file("removing the unfinished restore", staging, ec.value());
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path(), ec);
  if (::mkdir(staging.c_str(), 0755) != 0) throw_file("creating", staging, errno);
  // A restore that fails (a point inside a batch, damage, a full disk) leaves nothing behind; one
  // that is killed leaves the staging directory, which the next restore removes.
  struct remove_unless_published {
    const std::filesystem::path& path;
    bool published = false;
    ~remove_unless_published() {
      std::error_code ignored;
      if (!published) std::filesystem::remove_all(path, ignored);
    }
  } cleanup{staging};
  fd_closer lock(lock_directory(staging));

  // Read and check the source up to the point, copying each segment's part as it goes.
  segment_scanner check(source, what, true);
  std::uint64_t batch_first = 0;  // first position of the batch the point falls in
  bool stopped = false;
  for (std::uint32_t s = 1; s <= cut.segment && !stopped; ++s) {
    const bool last = s == cut.segment;
    const bool whole =
        check.scan(s, last ? std::optional<std::uint64_t>(cut.segment_bytes) : std::nullopt, false,
                   [&](const record_view& r, std::uint64_t) {
                     const bool past = to.what() == restore_point::kind::position
                                           ? r.fields.position > to.position()
                                           : to.what() == restore_point::kind::time &&
                                                 r.fields.recorded_at_ns > to_ns(to.time());
                     if (!past) batch_first = r.fields.position;
                     return !past;
                   });
    stopped = !whole;
    // A point before this segment's first record leaves its header alone in it, as a log has
    // right after rolling over (or, for the first segment, an empty log).
    const std::uint64_t end = check.point().segment_bytes;
    const std::filesystem::path from = source / segment_file(s), into = staging / segment_file(s);
    fd_closer in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.fd < 0) throw_file("opening", from, errno);
    fd_closer out(::open(into.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (out.fd < 0) throw_file("creating", into, errno);
    copy_range(in.fd, from, out.fd, into, 0, end);
    if (::fdatasync(out.fd) != 0) throw_file("syncing", into, errno);
    if (!stopped && !last && std::filesystem::exists(source / index_file(s), ec))
      copy_file_synced(source / index_file(s), staging / index_file(s));
  }
  const chain_point got = check.point();
  if (to.what() == restore_point::kind::position && got.position != to.position())
    throw error(errc::invalid_argument,
                "restore point position " + std::to_string(to.position()) +
                    " is inside a batch, positions " + std::to_string(batch_first) + " to " +
                    std::to_string(got.position) +
                    ", appended together: a restore ends at a batch's end; restore to position " +
                    std::to_string(batch_first - 1) + " or " + std::to_string(got.position));
  fsync_directory(staging);

  // The copy, checked again as the log it now is.
  segment_scanner recheck(staging, "restored log " + staging.string(), true);
  for (std::uint32_t s = 1; s <= got.segment; ++s)
    recheck.scan(s, std::nullopt, false, [](const record_view&, std::uint64_t) { return true; });
  if (recheck.point().position != got.position || recheck.point().crc != got.crc)
    throw error(errc::io_error, "restored log " + staging.string() + " ends at position " +
                                    std::to_string(recheck.point().position) +
                                    " after copying up to position " +
                                    std::to_string(got.position));
  if (::rename(staging.c_str(), target.c_str()) != 0)
    throw_file("renaming " + staging.string() + " to", target, errno);
  cleanup.published = true;
  fsync_directory(parent_or_current(target));

  restore_result out;
  out.events = got.position;
  out.last_position = got.position;
  out.left_out = cut.position - got.position;
  out.last_recorded_at = detail::file_log::from_ns(got.recorded_at_ns);
  out.elapsed = std::chrono::steady_clock::now() - started;
  return out;
}

}  // namespace detail::file_log

// Restores the backup in `backup_dir` (verified as it is read) as a new log in `target`, holding
// every event up to `to`: a position (which must end a batch, as every append is atomic), an
// instant (events recorded at or before it; the backup must have been taken after it), or
// restore_point::latest(). Stream versions and the hash chain are the backup's, so the result
// opens as a normal file_log and appends go on from it. A point beyond the backup's end and a
// target that exists are refused; the backup is only read.
inline restore_result restore(const std::filesystem::path& backup_dir,
                              const std::filesystem::path& target, restore_point to) {
  namespace fl = detail::file_log;
  fl::require_backup_directory(backup_dir);
  const std::optional<fl::backup_marker> marker = fl::read_marker(backup_dir);
  if (!marker || !marker->complete)
    throw error(errc::corrupt_log,
                backup_dir.string() + (marker ? " holds an unfinished backup (a backup into it was "
                                                "interrupted; run it again to finish it)"
                                              : " is not an annal backup: it has no BACKUP file"));
  return fl::restore_log(backup_dir, "backup " + backup_dir.string(), marker->point, target, to);
}

// The same from a live log, without a backup first: its published events up to `to` (the cut is
// taken as backup() takes it, so appends go on meanwhile).
template <class IO>
restore_result restore(const basic_file_log<IO>& log, const std::filesystem::path& target,
                       restore_point to) {
  namespace fl = detail::file_log;
  fl::chain_point cut = fl::cut_of(log);
  if (cut.taken_at_ns == 0 && cut.position > 0) {
    // Batches were in flight at the cut: only the last event's time is known to be covered.
    log.read_all_views(
        cut.position,
        [&](const recorded_event_view& e) { cut.taken_at_ns = fl::to_ns(e.recorded_at); }, 1);
  }
  return fl::restore_log(log.directory(), "log " + log.directory().string(), cut, target, to);
}

}  // namespace annal
