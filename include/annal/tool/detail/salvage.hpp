// The annal tool's `salvage`: the records a file log's repair set aside in *.cut files, listed
// (annal::read_cut_file), and appended to a store again (annal::reimport_cut_files), saying which
// events went in and which the store held already.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <annal/core/error.hpp>
#include <annal/file/salvage.hpp>
#include <annal/store/event_store.hpp>
#include <annal/tool/detail/commands.hpp>

namespace annal::tool::detail {

// The *.cut files `where` names: one such file, or those beside a file log's segments in its
// directory, in log order: by segment, then in the order the cuts were made ("00000003.log.cut",
// then "00000003.log.2.cut"), as reimport_cut_files wants them.
inline std::vector<std::filesystem::path> cut_files(const std::string& where) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path path = where;
  if (fs::is_regular_file(path, ec)) {
    if (path.extension() != ".cut")
      throw error(errc::invalid_argument,
                  "'" + where + "' is not a *.cut file (nor a file log's directory)");
    return {path};
  }
  if (!fs::is_directory(path, ec))
    throw error(
        errc::invalid_argument,
        "'" + where + "' does not exist: salvage takes a file log's directory or a *.cut file");
  // (segment name, cut number) of "00000003.log.cut" (1) and "00000003.log.2.cut" (2).
  std::vector<std::tuple<std::string, std::uint64_t, fs::path>> found;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() < 16 || !name.ends_with(".cut") || name.substr(8, 4) != ".log") continue;
    const std::string_view middle = std::string_view(name).substr(12, name.size() - 16);
    std::uint64_t n = 1;
    if (!middle.empty()) {
      if (middle.size() < 2 || middle[0] != '.' ||
          middle.find_first_not_of("0123456789", 1) != std::string_view::npos)
        continue;
      n = std::stoull(std::string(middle.substr(1)));
    }
    found.emplace_back(name.substr(0, 12), n, entry.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> files;
  for (auto& f : found) files.push_back(std::move(std::get<2>(f)));
  return files;
}

// ---- listing ---------------------------------------------------------------------------------

struct salvage_listing {
  std::uint64_t files = 0;
  std::uint64_t records = 0;
  std::uint64_t damaged_ranges = 0;
};

// Prints each intact record of each file (its offset, whether damaged bytes lie right before it,
// and the event as `events` prints it) and each run of damaged bytes.
inline salvage_listing list_cut_files(const std::vector<std::filesystem::path>& files, bool json,
                                      std::ostream& out) {
  salvage_listing listing;
  std::ostringstream line;
  event_printer<raw_payloads> printer(line, json);
  const auto event_text = [&](const recorded_event& e) {
    printer.print(e);
    printer.flush();
    std::string text = line.str();
    line.str({});
    if (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  };
  for (const auto& file : files) {
    ++listing.files;
    const std::string name = file.string();
    const cut_file_report report = read_cut_file(file, [&](const cut_record& r) {
      ++listing.records;
      if (json) {
        boost::json::object o;
        o["file"] = name;
        o["offset"] = r.offset;
        o["batch_end"] = r.batch_end;
        o["follows_damage"] = r.follows_damage;
        o["event"] = boost::json::parse(event_text(r.event));
        out << boost::json::serialize(o) << '\n';
      } else {
        out << name << " offset " << r.offset << (r.follows_damage ? " (after damaged bytes)" : "")
            << ": " << event_text(r.event) << '\n';
      }
    });
    for (const cut_file_damage& d : report.damaged) {
      ++listing.damaged_ranges;
      if (json) {
        boost::json::object o;
        o["file"] = name;
        o["offset"] = d.offset;
        o["damaged_bytes"] = d.size;
        out << boost::json::serialize(o) << '\n';
      } else {
        out << name << " offset " << d.offset << ": " << d.size << " damaged bytes\n";
      }
    }
  }
  if (!json)
    out << listing.records << (listing.records == 1 ? " intact record" : " intact records")
        << " in " << listing.files << (listing.files == 1 ? " cut file" : " cut files") << ", "
        << listing.damaged_ranges
        << (listing.damaged_ranges == 1 ? " damaged byte range" : " damaged byte ranges")
        << (listing.records ? "; --append-to <url> appends them to a store again" : "") << '\n';
  return listing;
}

// ---- appending again -------------------------------------------------------------------------

// What one append of reimport_cut_files did with each event of its batch.
struct reappended_event {
  std::string stream;
  event_id id{};
  std::string type;
  bool already_stored = false;
  std::uint64_t position = 0;  // where it went in (0: already stored)
};

// A store that hands every call to `S` and notes what each append did: reimport_cut_files reports
// counts, and an operator wants to know which events went in.
template <event_store S>
class noting_store {
 public:
  explicit noting_store(S& store) : store_(&store) {}

  append_result append(std::string_view stream, expected_version expect,
                       std::span<const event_data> batch) {
    const append_result r = store_->append(stream, expect, batch);
    std::uint64_t position = r.status == append_status::appended ? r.first_position : 0;
    for (const event_data& e : batch)
      noted.push_back({std::string(stream), e.id, e.type, r.status == append_status::duplicate,
                       position ? position++ : 0});
    return r;
  }
  template <class... A>
  std::size_t read_stream(A&&... a) const {
    return store_->read_stream(std::forward<A>(a)...);
  }
  template <class... A>
  std::size_t read_all(A&&... a) const {
    return store_->read_all(std::forward<A>(a)...);
  }
  std::uint64_t stream_version(std::string_view stream) const {
    return store_->stream_version(stream);
  }
  std::uint64_t last_position() const { return store_->last_position(); }

  std::vector<reappended_event> noted;

 private:
  S* store_;
};

template <event_store S>
std::pair<reimport_report, std::vector<reappended_event>> reappend_cut_files(
    S& store, const std::vector<std::filesystem::path>& files) {
  noting_store<S> noting(store);
  reimport_report report = reimport_cut_files(noting, std::span(files));
  return {std::move(report), std::move(noting.noted)};
}

inline void print_reappended(const std::string& to, const reimport_report& r,
                             const std::vector<reappended_event>& events, bool json,
                             std::ostream& out) {
  if (json) {
    boost::json::array list;
    for (const auto& e : events) {
      boost::json::object o;
      o["stream"] = e.stream;
      o["id"] = boost::uuids::to_string(e.id);
      o["type"] = e.type;
      o["already_stored"] = e.already_stored;
      o["position"] = e.position ? boost::json::value(e.position) : nullptr;
      list.push_back(std::move(o));
    }
    boost::json::object o;
    o["to"] = to;
    o["appended"] = r.appended;
    o["already_stored"] = r.duplicates;
    o["moved"] = r.moved;
    o["after_damage"] = r.after_damage;
    o["skipped_incomplete"] = r.skipped;
    o["events"] = std::move(list);
    out << boost::json::serialize(o) << '\n';
    return;
  }
  for (const auto& e : events) {
    if (e.already_stored)
      out << "already stored: ";
    else
      out << "appended at " << e.position << ": ";
    out << e.stream << "  " << e.type << "  " << boost::uuids::to_string(e.id) << '\n';
  }
  out << "appended " << r.appended << " events to " << to << "; " << r.duplicates
      << " already stored (same ids), " << r.skipped
      << " skipped (their batch is not whole in the cut files)";
  if (r.moved) out << "; " << r.moved << " at another stream version than before the cut";
  if (r.after_damage)
    out << "; " << r.after_damage
        << " from batches right after damaged bytes (such a batch may have begun in them)";
  out << '\n';
}

}  // namespace annal::tool::detail
