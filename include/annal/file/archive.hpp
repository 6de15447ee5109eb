// Archiving: the oldest sealed segments of a file log move to an archive directory that stays a
// checked, chained log of positions 1..horizon; the hot log keeps their index files, so stream
// versions, expected-version checks and idempotency by event id all go on as before.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <system_error>
#include <vector>

#include <annal/core/error.hpp>
#include <annal/detail/atomic_file.hpp>
#include <annal/file/backup.hpp>
#include <annal/file/detail/archive_marker.hpp>
#include <annal/file/detail/backup_files.hpp>
#include <annal/file/detail/format.hpp>
#include <annal/file/log.hpp>
#include <annal/runtime/log.hpp>
#include <annal/store/archive.hpp>
#include <annal/store/recovery.hpp>

namespace annal {

namespace detail::file_log {

// What archive() may see and do of a log's insides.
struct archive_access {
  struct sealed_segment {
    std::uint32_t number;
    std::uint64_t last_position;
    std::uint64_t bytes;
  };

  // Every segment but the newest, whose events are all published.
  template <class IO>
  static std::vector<sealed_segment> sealed(const basic_file_log<IO>& log) {
    std::shared_lock lock(log.index_mutex_);
    const std::uint64_t visible = log.visible_.load(std::memory_order_acquire);
    std::vector<sealed_segment> out;
    for (std::size_t i = 0; i + 1 < log.segments_.size(); ++i) {
      const std::uint64_t last = log.segments_[i + 1].first_position - 1;
      if (last > visible) break;
      out.push_back({log.segments_[i].number, last, log.segments_[i].size});
    }
    return out;
  }

  template <class IO>
  static archive_marker marker(const basic_file_log<IO>& log) {
    std::shared_lock lock(log.index_mutex_);
    return log.archive_;
  }

  template <class IO>
  static void retire(basic_file_log<IO>& log, const archive_marker& m) {
    log.retire_archived(m);
  }
};

inline std::string_view record_type(const record_view& r) {
  return {r.data + record_header_size + get<std::uint16_t>(r.data + 102),
          get<std::uint32_t>(r.data + 104)};
}

}  // namespace detail::file_log

// Moves the log's sealed segments below `horizon` into `archive_dir`, online (appends go on; a
// writer waits only while the moved segments are marked, as long as one append). The archive is a
// file-log directory holding positions 1..horizon with a complete BACKUP marker: verify_backup
// checks it, restore takes it as a source, and it opens as a file_log (read-only, for reading
// beside nothing). Archiving again moves the segments sealed since into the same archive, after
// checking it continues the same chain.
//
// In order: the segments and their index files are copied and synced, every record is checked
// (checksums, chain, positions, batches), the archive's marker is written, then the log's
// ARCHIVED marker, and only then are the log's copies removed. A run stopped at any point (kill
// -9, a full disk) leaves the log readable as before; the next run finishes the job. Reads of
// positions up to the horizon from the log then throw errc::archived naming the archive.
template <class IO>
archive_result archive(basic_file_log<IO>& log, const std::filesystem::path& archive_dir,
                       archive_horizon horizon, archive_options options = {}) {
  namespace fl = detail::file_log;
  using access = fl::archive_access;
  const auto started = std::chrono::steady_clock::now();
  const std::filesystem::path source = log.directory();
  if (log.options().read_only)
    throw error(errc::invalid_argument,
                "file log " + source.string() + " is open read-only: only its writer archives");
  detail::check_archive_options(horizon, options);
  std::error_code ec;
  const std::filesystem::path dest = std::filesystem::absolute(archive_dir, ec).lexically_normal();
  const std::filesystem::path hot = std::filesystem::absolute(source, ec).lexically_normal();
  {
    const auto rel = dest.lexically_relative(hot);
    if (dest == hot || (!rel.empty() && *rel.begin() != ".."))
      throw error(errc::invalid_argument, "archive directory " + dest.string() +
                                              " is inside the log's directory " + hot.string() +
                                              ": an archive lives beside the log, not in it");
  }

  const fl::archive_marker before = access::marker(log);
  const std::vector<access::sealed_segment> sealed = access::sealed(log);
  // The last segment wholly below the horizon.
  std::uint32_t k = before.segments;
  for (const auto& s : sealed) {
    if (s.number <= before.segments) continue;
    bool below = false;
    if (horizon.by_time()) {
      log.read_all_views(
          s.last_position,
          [&](const recorded_event_view& e) { below = e.recorded_at < horizon.before(); }, 1);
    } else {
      below = s.last_position <= horizon.max_position();
    }
    if (!below) break;
    k = s.number;
  }

  archive_result result;
  result.horizon = before.horizon;
  result.segments = before.segments;
  result.horizon_recorded_at = detail::file_log::from_ns(before.recorded_at_ns);
  const auto finish = [&] {
    detail::warn_below_checkpoint(result, options);
    result.elapsed = std::chrono::steady_clock::now() - started;
    return result;
  };
  if (k == 0) return finish();

  // Where the archive stands by the log's marker: what a run starts from, and what a stopped run
  // is rolled back to.
  fl::chain_point base;
  if (before.segments != 0) {
    base.position = before.horizon;
    base.segment = before.segments;
    base.segment_bytes = before.segment_bytes;
    base.crc = before.crc;
    base.last_offset = before.last_offset;
    base.recorded_at_ns = before.recorded_at_ns;
    base.total_bytes = before.total_bytes;
    base.taken_at_ns = before.recorded_at_ns;
  }

  // The archive directory: empty for a first archive, else the archive the log's marker names.
  std::filesystem::create_directories(dest, ec);
  if (ec)
    throw error(errc::io_error,
                "creating the archive directory " + dest.string() + ": " + ec.message());
  fl::fd_closer lock(fl::lock_directory(dest));
  const std::optional<fl::backup_marker> found = fl::read_marker(dest);
  if (before.segments != 0) {
    if (!found || found->point.position < before.horizon ||
        (found->complete && found->point.position == before.horizon &&
         found->point.crc != before.crc))
      throw error(errc::invalid_argument,
                  "archive directory " + dest.string() + " does not hold positions 1 to " +
                      std::to_string(before.horizon) + " of log " + source.string() +
                      ", which its ARCHIVED marker places in " + before.archive +
                      (found ? " (it holds an archive up to position " +
                                   std::to_string(found->point.position) + ")"
                             : " (it holds no archive)") +
                      ": name the log's archive directory");
  } else if (!found && !fl::empty_for_backup(dest)) {
    throw error(errc::invalid_argument,
                "archive directory " + dest.string() +
                    " is not empty and holds no archive: a first archive goes into an empty "
                    "directory");
  } else if (found && found->complete) {
    // This log's own first archive, whose run stopped before the log's marker was written, is
    // done again; anything else is not ours to overwrite.
    fl::chain_point now;
    now.position = log.last_position();
    if (auto why = fl::continues(source, now, found->point, dest))
      throw error(
          errc::invalid_argument,
          "archive directory " + dest.string() + " holds an archive or backup of positions 1 to " +
              std::to_string(found->point.position) + ", but log " + source.string() +
              " has archived nothing: a first archive goes into an empty directory (" + *why + ")");
  }

  // Under way: an interrupted run is rolled back to `base` by the next one.
  const bool settled = found && found->complete && found->point.position == base.position &&
                       found->point.crc == base.crc;
  if (!settled) {
    fl::write_marker(dest, {false, base, source.string()});
    fl::roll_back(dest, base);
    if (base.segment != 0)
      fl::copy_file_synced(source / fl::index_file(base.segment),
                           dest / fl::index_file(base.segment));
  }
  // Nothing new below the horizon: the archive is put back to what the log's marker says.
  if (k == before.segments) {
    if (!settled) fl::write_marker(dest, {true, base, source.string()});
    return finish();
  }
  fl::write_marker(dest, {false, base, source.string()});

  std::uint64_t target_bytes = 0;
  for (const auto& s : sealed)
    if (s.number > before.segments && s.number <= k) target_bytes += s.bytes;
  backup_options reporting;
  reporting.on_progress = options.on_progress;
  reporting.progress_interval = options.progress_interval;
  detail::backup_reporter report(reporting, target_bytes, sealed[k - 1].last_position);

  fl::segment_scanner check(dest, "archive " + dest.string(), false);
  check.start_at(base);
  std::set<std::string> deleted(before.deleted_streams.begin(), before.deleted_streams.end());
  for (std::uint32_t s = before.segments + 1; s <= k; ++s) {
    const access::sealed_segment& seg = sealed[s - 1];
    const std::filesystem::path from = source / fl::segment_file(s);
    const std::filesystem::path to = dest / fl::segment_file(s);
    if (!std::filesystem::exists(source / fl::index_file(s), ec))
      throw error(errc::io_error, "archiving " + source.string() + ": sealed segment " +
                                      from.string() +
                                      " has no index file, which the log keeps in its place; "
                                      "reopen the log (it writes one) and archive again");
    {
      fl::fd_closer in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
      if (in.fd < 0) fl::throw_file("opening the segment", from, errno);
      fl::fd_closer out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
      if (out.fd < 0) fl::throw_file("creating", to, errno);
      fl::copy_range(in.fd, from, out.fd, to, 0, seg.bytes);
      if (::fdatasync(out.fd) != 0) fl::throw_file("syncing", to, errno);
    }
    check.scan(s, seg.bytes, true, [&](const fl::record_view& r, std::uint64_t) {
      // A stream's later event follows its tombstone never, so the set ends holding the streams
      // whose last archived event deletes them.
      if (fl::record_type(r) == tombstone_type)
        deleted.emplace(r.stream_id());
      else
        deleted.erase(std::string(r.stream_id()));
      return true;
    });
    fl::copy_file_synced(source / fl::index_file(s), dest / fl::index_file(s));
    result.moved_bytes += seg.bytes;
    report.at(result.moved_bytes, check.point().position - base.position, check.point().position);
  }
  detail::fsync_directory(dest);
  fl::chain_point point = check.point();
  point.taken_at_ns = point.recorded_at_ns;
  fl::write_marker(dest, {true, point, source.string()});

  fl::archive_marker after;
  after.segments = k;
  after.horizon = point.position;
  after.crc = point.crc;
  after.recorded_at_ns = point.recorded_at_ns;
  after.last_offset = point.last_offset;
  after.segment_bytes = point.segment_bytes;
  after.total_bytes = point.total_bytes;
  after.archive = dest.string();
  after.deleted_streams.assign(deleted.begin(), deleted.end());
  detail::write_file_atomically(source / fl::archive_marker_name, fl::encode_archive_marker(after));
  access::retire(log, after);

  report.finish();
  result.horizon = after.horizon;
  result.segments = k;
  result.new_segments = k - before.segments;
  result.new_events = after.horizon - before.horizon;
  result.horizon_recorded_at = detail::file_log::from_ns(after.recorded_at_ns);
  return finish();
}

}  // namespace annal
