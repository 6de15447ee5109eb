// The file log's open: the scan of its segments, and the cut of a torn tail or of damage.
#pragma once

#include <fcntl.h>
#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <annal/core/detail/chrono.hpp>
#include <annal/core/detail/event_id.hpp>
#include <annal/core/error.hpp>
#include <annal/file/detail/format.hpp>
#include <annal/file/detail/reader.hpp>
#include <annal/file/detail/walk.hpp>
#include <annal/file/log.hpp>
#include <annal/runtime/log.hpp>

namespace annal {

// Where cut bytes of the file `name` are kept: "<name>.cut", or "<name>.N.cut" if earlier cuts
// hold that name already (nothing cut is ever overwritten).
template <class IO>
std::string basic_file_log<IO>::cut_path(const std::string& name) const {
  std::string path = path_of(name) + ".cut";
  std::error_code ec;
  for (int n = 2; std::filesystem::exists(path, ec); ++n)
    path = path_of(name) + "." + std::to_string(n) + ".cut";
  return path;
}

template <class IO>
void basic_file_log<IO>::open() {
  namespace fl = detail::file_log;
  const auto started = std::chrono::steady_clock::now();
  const std::string dir = dir_.string();
  std::error_code ec;
  if (!std::filesystem::exists(dir_, ec)) {
    if (!options_.create_if_missing)
      throw error(errc::io_error, "file log " + dir + ": the directory does not exist");
    if (const int rc = io_.mkdir(dir.c_str()); rc < 0 && rc != -EEXIST)
      throw_io("creating the directory", rc);
  }
  dir_fd_ = io_.open(dir.c_str(), O_RDONLY | O_DIRECTORY, 0);
  if (dir_fd_ < 0) throw_io("opening the directory", dir_fd_);
  const std::string lock_path = path_of("LOCK");
  lock_fd_ = io_.open(lock_path.c_str(), O_RDWR | O_CREAT, 0644);
  if (lock_fd_ < 0) throw_io("opening " + lock_path, lock_fd_);
  if (const int rc = io_.lock(lock_fd_); rc < 0) {
    if (rc == -EWOULDBLOCK)
      throw error(errc::store_locked, "file log " + dir +
                                          " is in use: another process (or another file_log in "
                                          "this one) holds the lock on " +
                                          lock_path);
    throw_io("locking " + lock_path, rc);
  }

  read_archive_marker();
  std::vector<std::uint32_t> numbers = list_segments();
  // Sizing the index up front spares a large log most of its rehashing; 160 bytes is a small
  // record, so this rarely over-reserves by much and an under-estimate merely grows as usual.
  std::uint64_t log_bytes = 0;
  for (std::uint32_t n : numbers) {
    std::error_code size_ec;
    const auto size = std::filesystem::file_size(dir_ / segment_name(n), size_ec);
    if (!size_ec) log_bytes += size;
  }
  ids_.reserve(static_cast<std::size_t>(log_bytes / 160));
  slots_.reserve(static_cast<std::size_t>(log_bytes / 160));
  types_.reserve(static_cast<std::size_t>(log_bytes / 160));
  load_archived_segments();
  if (archive_.segments != 0 && numbers.empty())
    throw_corrupt(segment_name(archive_.segments + 1), 0,
                  "the segment is missing: segments 1 to " + std::to_string(archive_.segments) +
                      " are archived, and the log goes on in the next one");
  fl::chunk_reader<IO> reader(io_, 4 * 1024 * 1024);
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    segment seg = open_segment(numbers[i]);
    const std::int64_t size = io_.file_size(seg.fd);
    if (size < 0) {
      io_.close(seg.fd);
      throw_io("reading the size of " + path_of(seg.name), size);
    }
    // A sealed segment (any but the newest) whose index file checks out is not scanned. A repair
    // scans everything, to find every bad spot, and so does a paranoid open.
    const bool index_tried = i + 1 < numbers.size() && !options_.repair && !options_.verify_on_open;
    if (index_tried && load_index(seg, static_cast<std::uint64_t>(size))) {
      segments_.push_back(std::move(seg));
      continue;
    }
    reader.reset(seg.fd, &seg.name);
    std::optional<bad_spot> bad = scan_segment(seg, static_cast<std::uint64_t>(size), reader);
    if (bad) {
      cut_log(numbers, i, seg, static_cast<std::uint64_t>(size), *bad);
      if (seg.fd >= 0) segments_.push_back(std::move(seg));
      break;
    }
    segments_.push_back(std::move(seg));
    // A sealed segment scanned for want of a usable index gets one, so the next open need not scan.
    if (index_tried) reindex(segments_.back());
  }

  if (segments_.empty()) {
    segments_.push_back(create_segment(1, 1, 0));
  } else if (const int rc = io_.fdatasync(segments_.back().fd); rc < 0) {
    // What a crashed process wrote may still be only in the page cache: make it durable before
    // anyone reads it, or refuse to open.
    throw_io("fdatasync of " + path_of(segments_.back().name), rc);
  }
  const std::uint64_t last = slots_.size();
  written_.store(last);
  durable_.store(last);
  visible_.store(last);
  // Everything up to `last` is durable now: read-only opens may read it. The file is never
  // replaced, only written in place, so a reader's descriptor stays good across writers.
  const std::string published_path = path_of(published_name);
  published_fd_ = io_.open(published_path.c_str(), O_RDWR | O_CREAT, 0644);
  if (published_fd_ < 0) throw_io("opening " + published_path, published_fd_);
  if (const std::int64_t rc = write_published(last); rc < 0)
    throw_io("writing position " + std::to_string(last) + " to " + published_path, rc);
  published_ = last;
  recovery_.events = last;
  recovery_.segments = static_cast<std::uint32_t>(segments_.size());
  recovery_.open_time = std::chrono::duration_cast<std::chrono::nanoseconds>(
      std::chrono::steady_clock::now() - started);
}

template <class IO>
std::vector<std::uint32_t> basic_file_log<IO>::list_segments() {
  std::vector<std::uint32_t> numbers;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool digits =
        name.size() >= 12 &&
        std::all_of(name.begin(), name.begin() + 8, [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) continue;
    if (name.size() == 12 && name.ends_with(".log")) {
      numbers.push_back(static_cast<std::uint32_t>(std::stoul(name.substr(0, 8))));
    } else if (name.size() == 16 && name.ends_with(".idx.tmp")) {
      // An index file whose writing was cut short; its segment is scanned and indexed again.
      if (const int rc = io_.unlink(path_of(name).c_str()); rc < 0)
        throw_io("removing the unfinished index file " + path_of(name), rc);
    } else if (name.size() == 16 && name.ends_with(".log.tmp")) {
      // A segment whose creation was cut short: it was never renamed into place, so holds nothing.
      if (const int rc = io_.unlink(path_of(name).c_str()); rc < 0)
        throw_io("removing the unfinished segment " + path_of(name), rc);
    }
  }
  if (ec) throw_io("listing the directory", -ec.value());
  std::sort(numbers.begin(), numbers.end());
  // Archived segments whose files are still here: annal::archive stopped between writing the
  // marker (after the archive's copy checked out) and removing them. The removal ends here.
  const auto archived_end = std::upper_bound(numbers.begin(), numbers.end(), archive_.segments);
  for (auto it = numbers.begin(); it != archived_end; ++it)
    if (const int rc = io_.unlink(path_of(segment_name(*it)).c_str()); rc < 0 && rc != -ENOENT)
      throw_io("removing the archived segment " + path_of(segment_name(*it)), rc);
  if (archived_end != numbers.begin()) {
    numbers.erase(numbers.begin(), archived_end);
    if (const int rc = io_.fsync(dir_fd_); rc < 0) throw_io("syncing the directory", rc);
  }
  for (std::size_t i = 0; i < numbers.size(); ++i)
    if (numbers[i] != i + 1 + archive_.segments)
      throw_corrupt(segment_name(static_cast<std::uint32_t>(i + 1 + archive_.segments)), 0,
                    "the segment is missing (found " + segment_name(numbers[i]) + ")");
  return numbers;
}

template <class IO>
typename basic_file_log<IO>::segment basic_file_log<IO>::open_segment(std::uint32_t number) {
  segment seg;
  seg.number = number;
  seg.name = segment_name(number);
  const std::string path = path_of(seg.name);
  seg.fd = io_.open(path.c_str(), options_.read_only ? O_RDONLY : O_RDWR, 0);
  if (seg.fd < 0) throw_io("opening " + path, seg.fd);
  return seg;
}

// Reads a segment record by record, indexing each batch once its last record checks out, up to
// position `limit`. Returns the first bad spot, if any.
template <class IO>
auto basic_file_log<IO>::scan_segment(segment& seg, std::uint64_t file_size,
                                      detail::file_log::chunk_reader<IO>& reader,
                                      std::uint64_t limit) -> std::optional<bad_spot> {
  namespace fl = detail::file_log;
  const std::uint32_t seed = segments_.empty() ? 0 : segments_.back().last_crc;
  const std::uint64_t expect_first = slots_.size() + 1;
  const char* head = reader.fetch(0, fl::segment_header_size);
  if (!head) return bad_spot{0, 0, "the file is shorter than a segment header"};
  fl::segment_header h;
  if (auto why = fl::decode_segment_header(head, h)) return bad_spot{0, 0, *why};
  if (h.number != seg.number)
    return bad_spot{0, 0, "the header names segment " + std::to_string(h.number)};
  if (h.first_position != expect_first)
    return bad_spot{0, 0,
                    "the header says the segment starts at position " +
                        std::to_string(h.first_position) + ", not " + std::to_string(expect_first)};
  if (h.chain_seed != seed)
    return bad_spot{0, 0, "hash chain broken: the segment does not follow the one before it"};
  seg.first_position = h.first_position;
  seg.last_crc = seed;
  seg.size = fl::segment_header_size;
  active_ids_.clear();
  active_ids_first_ = h.first_position;
  return scan_records(seg, static_cast<std::uint32_t>(segments_.size()), file_size, reader, limit);
}

// Goes on scanning a segment whose header checked out from seg.size, the end of its last indexed
// batch, to `file_size` or position `limit`; `segment_index` is its place in segments_.
template <class IO>
auto basic_file_log<IO>::scan_records(segment& seg, std::uint32_t segment_index,
                                      std::uint64_t file_size,
                                      detail::file_log::chunk_reader<IO>& reader,
                                      std::uint64_t limit) -> std::optional<bad_spot> {
  namespace fl = detail::file_log;
  struct pending_record {
    std::uint64_t offset;
    std::uint64_t version;
    std::string type;  // interned once the batch is whole, so a cut batch leaves no name behind
  };
  std::vector<pending_record> batch;
  std::vector<event_id> batch_ids;  // entered in ids_ as read, taken out again if the batch is cut
  std::string batch_stream;
  std::uint32_t batch_stream_no = no_stream;
  std::uint64_t batch_base_version = 0;
  std::uint32_t chain = seg.last_crc;
  std::uint64_t offset = seg.size;
  const auto bad = [&](std::string why) {
    for (const event_id& id : batch_ids) ids_.erase(id);
    return bad_spot{offset, seg.size, std::move(why)};
  };
  while (offset < file_size && slots_.size() + batch.size() < limit) {
    const char* rec = reader.fetch(offset, 8);
    const std::uint32_t size = rec ? fl::claimed_size(rec, 8) : 0;
    if (size == 0) return bad("no record starts here (bad magic or length)");
    rec = reader.fetch(offset, size);
    if (!rec) return bad("the record runs past the end of the file");
    fl::record_view r;
    if (const char* why = fl::check_record(rec, size, r)) return bad(why);
    if (r.fields.prev_crc != chain)
      return bad("hash chain broken: the record does not follow the one before it");
    const std::uint64_t position = slots_.size() + batch.size() + 1;
    if (r.fields.position != position)
      return bad("the record holds position " + std::to_string(r.fields.position) + " where " +
                 std::to_string(position) + " belongs");
    const std::string_view sid = r.stream_id();
    if (batch.empty()) {
      const auto found = stream_index_.find(sid);
      batch_stream.assign(sid);
      batch_stream_no = found == stream_index_.end() ? no_stream : found->second;
      batch_base_version =
          batch_stream_no == no_stream ? 0 : streams_[batch_stream_no].positions.size();
    } else if (sid != batch_stream) {
      return bad("a batch spans two streams");
    }
    const std::uint64_t version = batch_base_version + batch.size() + 1;
    if (r.fields.stream_version != version)
      return bad("the record holds version " + std::to_string(r.fields.stream_version) +
                 " of its stream where " + std::to_string(version) + " belongs");
    const event_id id = fl::get_id(rec + 48);
    if (!ids_.insert(id, position))
      return bad("event id " + detail::id_text(id) + " is stored twice");
    batch_ids.push_back(id);
    batch.push_back({offset, version, std::string(r.type())});
    chain = r.crc;
    last_recorded_at_ = detail::file_log::from_ns(r.fields.recorded_at_ns);
    offset += size;
    if (r.batch_end()) {
      for (const pending_record& p : batch)
        index_record(batch_stream, batch_stream_no, p.version, slots_.size() + 1, p.offset,
                     segment_index, type_names_.intern(p.type));
      active_ids_.insert(active_ids_.end(), batch_ids.begin(), batch_ids.end());
      batch.clear();
      batch_ids.clear();
      seg.size = offset;
      seg.last_crc = chain;
    }
  }
  if (!batch.empty()) return bad("the last batch is incomplete");
  return std::nullopt;
}

// Decides what a bad spot is. A torn write can only be at the very end of the log and cannot be
// followed by anything that was durable: every record carries the position up to which the log was
// synced when it was written, so an intact record after the bad spot that claims the bad spot was
// synced proves the damage hit acknowledged events. A torn tail is cut; damage refuses to open
// unless options.repair asks for the cut.
template <class IO>
void basic_file_log<IO>::cut_log(std::vector<std::uint32_t>& numbers, std::size_t index,
                                 segment& seg, std::uint64_t file_size, const bad_spot& bad) {
  namespace fl = detail::file_log;
  const std::uint64_t first_lost = slots_.size() + 1;
  std::uint64_t intact = 0, acknowledged = 0, bytes = file_size - bad.cut;
  // The bad spot is one damaged event if a record starts there, none if the bytes are no record's.
  std::uint64_t damaged = 0;
  // Records of the cut batch before the bad one are intact too.
  {
    fl::chunk_reader<IO> scan(io_, 1024 * 1024);
    scan.reset(seg.fd, &seg.name);
    for (std::uint64_t at = bad.cut; at < bad.offset;) {
      const char* rec = scan.fetch(at, 8);
      at += fl::get<std::uint32_t>(rec + 4);
      ++intact;
    }
    if (bad.cut > 0) {
      const char* head = scan.fetch(bad.offset, 4);
      damaged = head && fl::get<std::uint32_t>(head) == fl::record_magic ? 1 : 0;
    }
  }
  std::vector<segment> later;
  for (std::size_t j = index; j < numbers.size(); ++j) {
    segment other = j == index ? segment{} : open_segment(numbers[j]);
    const segment& s = j == index ? seg : other;
    const std::int64_t size =
        j == index ? static_cast<std::int64_t>(file_size) : io_.file_size(s.fd);
    if (size < 0) throw_io("reading the size of " + path_of(s.name), size);
    if (j != index) bytes += static_cast<std::uint64_t>(size);
    fl::chunk_reader<IO> scan(io_, 1024 * 1024);
    scan.reset(s.fd, &s.name);
    fl::walk_records(
        scan, j == index ? bad.offset + 1 : 0, static_cast<std::uint64_t>(size),
        [&](std::uint64_t, const fl::record_view& r) {
          if (r.fields.position < first_lost) return;
          ++intact;
          if (r.fields.synced_through >= first_lost) ++acknowledged;
        },
        [](std::uint64_t, std::uint64_t) {});
    if (j != index) later.push_back(std::move(other));
  }
  // Segments after the first are created only once the one before is synced.
  const bool damage = acknowledged > 0 || !later.empty() || bad.cut == 0;
  if (damage && !options_.repair) {
    for (segment& s : later) io_.close(s.fd);
    io_.close(seg.fd);
    seg.fd = -1;
    throw_corrupt(
        seg.name, bad.offset,
        bad.why + "; " + std::to_string(intact) + " intact records from position " +
            std::to_string(first_lost) + " on" +
            (later.empty() ? "" : " and " + std::to_string(later.size()) + " later segments") +
            " follow it, so this is damage to stored events, not a torn write at the "
            "end; open with file_log_options::repair to cut the log there (the cut "
            "bytes are kept as *.cut files)");
  }
  recovery_.cut = true;
  recovery_.reason = "offset " + std::to_string(bad.offset) + ": " + bad.why;
  recovery_.segment = seg.name;
  recovery_.offset = bad.cut;
  recovery_.bytes_cut = bytes;
  recovery_.first_position_cut = first_lost;
  recovery_.intact_records_cut = damage ? intact : 0;
  recovery_.events_cut = intact + damaged;
  // Whatever is cut, a torn tail too, is kept: a torn tail cannot be told from a damaged last
  // record.
  if (bad.cut > 0) save_bytes(seg, bad.cut, file_size);
  for (segment& s : later) {
    io_.close(s.fd);
    const std::string from = path_of(s.name), to = cut_path(s.name);
    if (const int rc = io_.rename(from.c_str(), to.c_str()); rc < 0)
      throw_io("renaming " + from + " to " + to, rc);
    recovery_.saved_as.push_back(to);
  }
  if (bad.cut == 0) {
    // Nothing of this segment is usable, header included: move it aside whole.
    io_.close(seg.fd);
    seg.fd = -1;
    const std::string from = path_of(seg.name), to = cut_path(seg.name);
    if (const int rc = io_.rename(from.c_str(), to.c_str()); rc < 0)
      throw_io("renaming " + from + " aside", rc);
    recovery_.saved_as.insert(recovery_.saved_as.begin(), to);
  } else {
    if (const int rc = io_.ftruncate(seg.fd, bad.cut); rc < 0)
      throw_io("cutting " + path_of(seg.name) + " at offset " + std::to_string(bad.cut), rc);
    if (const int rc = io_.fdatasync(seg.fd); rc < 0)
      throw_io("fdatasync of " + path_of(seg.name) + " after cutting it", rc);
  }
  if (const int rc = io_.fsync(dir_fd_); rc < 0) throw_io("fsync of the directory", rc);
  numbers.resize(index + 1);
  std::string kept;
  for (const std::string& path : recovery_.saved_as) kept += (kept.empty() ? "" : ", ") + path;
  annal::log(
      log_level::warning,
      "file log " + dir_.string() + ": cut " + std::to_string(bytes) + " bytes from segment " +
          seg.name + " offset " + std::to_string(bad.cut) + " on (" +
          std::to_string(file_size - bad.cut) + " bytes of " + seg.name +
          (later.empty() ? "" : " and " + std::to_string(later.size()) + " later segments") +
          "), " + std::to_string(recovery_.events_cut) +
          (recovery_.events_cut == 1 ? " event" : " events") + " from position " +
          std::to_string(first_lost) + " on (" + std::to_string(intact) + " of them intact), " +
          (damage ? "repairing damage to stored events" : "taking it for a torn write at the end") +
          " at offset " + std::to_string(bad.offset) + ": " + bad.why +
          "; the cut bytes are kept in " + kept);
}

// Copies bytes [from, to) of a segment to "<segment>.cut" (or "<segment>.N.cut" beside earlier
// ones) before they are cut off. Written as a temporary file, synced and renamed: a crash leaves no
// half-saved copy under that name, and the next open saves them again before it cuts.
template <class IO>
void basic_file_log<IO>::save_bytes(const segment& seg, std::uint64_t from, std::uint64_t to) {
  const std::string path = cut_path(seg.name), tmp = path + ".tmp";
  const int fd = io_.open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw_io("creating " + tmp, fd);
  detail::file_log::chunk_reader<IO> scan(io_, 1024 * 1024);
  scan.reset(seg.fd, &seg.name);
  for (std::uint64_t at = from; at < to;) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(to - at, 1024 * 1024));
    const char* bytes = scan.fetch(at, n);
    const std::int64_t rc = bytes ? io_.pwrite(fd, bytes, n, at - from) : -EIO;
    if (rc <= 0) {
      io_.close(fd);
      throw_io("saving the cut bytes to " + tmp, rc < 0 ? rc : -EIO);
    }
    at += static_cast<std::uint64_t>(rc);
  }
  const int rc = io_.fsync(fd);
  io_.close(fd);
  if (rc < 0) throw_io("fsync of " + tmp, rc);
  if (const int r = io_.rename(tmp.c_str(), path.c_str()); r < 0)
    throw_io("renaming " + tmp + " to " + path, r);
  recovery_.saved_as.push_back(path);
}

}  // namespace annal
