// The annal tool's commands over any event store: info, streams, events and verify, each printing
// text for people or JSON for scripts. They only read.
#pragma once

#include <cstdint>
#include <ctime>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <annal/core/error.hpp>
#include <annal/core/record.hpp>
#include <annal/detail/utf8.hpp>
#include <annal/store/event_store.hpp>

#include "open_store.hpp"

namespace annal::tool {

// ---- formatting ------------------------------------------------------------------------------

// "2026-12-07T03:18:50.123456789Z": UTC, to the nanosecond a store records.
inline std::string iso_time(time_point t) {
  if (t == time_point{}) return "-";
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  std::int64_t secs = ns.count() / 1'000'000'000;
  std::int64_t frac = ns.count() % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

// Whether `s` is well-formed UTF-8 without control characters: text that prints on one line.
inline bool printable_text(std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return false;
  }
  return annal::detail::is_valid_utf8(s);
}

inline std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char b : bytes) {
    out += digits[static_cast<unsigned char>(b) >> 4];
    out += digits[static_cast<unsigned char>(b) & 0xf];
  }
  return out;
}

// A payload as the tool shows it: JSON as JSON, other text as text, anything else as hex.
struct shown_payload {
  enum class as { json, text, hex } kind = as::hex;
  boost::json::value json;
  std::string text;  // compact JSON, the text, or the hex digits
};

inline shown_payload show_payload(std::string_view payload) {
  shown_payload out;
  if (!payload.empty()) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(payload, ec);
    if (!ec) {
      out.kind = shown_payload::as::json;
      out.text = boost::json::serialize(v);
      out.json = std::move(v);
      return out;
    }
  }
  if (printable_text(payload)) {
    out.kind = shown_payload::as::text;
    out.text = std::string(payload);
    return out;
  }
  out.text = hex(payload);
  return out;
}

inline boost::json::object event_json(const recorded_event& e) {
  boost::json::object o;
  o["position"] = e.position;
  o["stream"] = e.stream_id;
  o["version"] = e.stream_version;
  o["type"] = e.type;
  o["schema_version"] = e.schema_version;
  o["id"] = boost::uuids::to_string(e.id);
  o["recorded_at"] = iso_time(e.recorded_at);
  if (!e.correlation_id.is_nil()) o["correlation_id"] = boost::uuids::to_string(e.correlation_id);
  if (!e.causation_id.is_nil()) o["causation_id"] = boost::uuids::to_string(e.causation_id);
  if (!e.meta.empty()) {
    boost::json::object meta;
    for (const auto& [k, v] : e.meta) meta[k] = v;
    o["metadata"] = std::move(meta);
  }
  shown_payload p = show_payload(e.payload);
  switch (p.kind) {
    case shown_payload::as::json:
      o["payload"] = std::move(p.json);
      break;
    case shown_payload::as::text:
      o["payload_text"] = std::move(p.text);
      break;
    case shown_payload::as::hex:
      o["payload_hex"] = std::move(p.text);
      break;
  }
  return o;
}

inline void print_event_line(std::ostream& out, const recorded_event& e) {
  const shown_payload p = show_payload(e.payload);
  out << e.position << "  " << e.stream_id << "  " << e.stream_version << "  " << e.type << "  "
      << iso_time(e.recorded_at) << "  "
      << (p.kind == shown_payload::as::hex ? "hex:" + p.text : p.text) << '\n';
}

// ---- streams ---------------------------------------------------------------------------------

struct stream_summary {
  std::uint64_t version = 0;
  time_point last_event_at{};
  bool deleted = false;  // its last event is a tombstone
};

struct store_summary {
  std::uint64_t events = 0;
  time_point first_event_at{};
  time_point last_event_at{};
  std::map<std::string, stream_summary, std::less<>> streams;
  std::uint64_t deleted = 0;
};

// One pass over every event; streams outside `prefix` are counted but not kept.
template <event_store Store>
store_summary summarize(const Store& store, std::string_view prefix = {}) {
  store_summary s;
  store.read_all(1, [&](const recorded_event& e) {
    ++s.events;
    if (s.first_event_at == time_point{}) s.first_event_at = e.recorded_at;
    s.last_event_at = e.recorded_at;
    if (!e.stream_id.starts_with(prefix)) return;
    auto it = s.streams.find(e.stream_id);
    if (it == s.streams.end()) it = s.streams.emplace(e.stream_id, stream_summary{}).first;
    it->second.version = e.stream_version;
    it->second.last_event_at = e.recorded_at;
    it->second.deleted = e.type == tombstone_type;
  });
  for (const auto& [id, st] : s.streams) s.deleted += st.deleted ? 1 : 0;
  return s;
}

// ---- info ------------------------------------------------------------------------------------

template <event_store Store>
void info(const Store& store, const store_facts& facts, bool json, std::ostream& out) {
  const std::uint64_t last = store.last_position();
  const store_summary s = summarize(store);
  if (json) {
    boost::json::object o;
    o["store"] = std::string(name_of(facts.kind));
    o["url"] = facts.url;
    o["access"] = facts.access;
    o["last_position"] = last;
    o["events"] = s.events;
    o["streams"] = s.streams.size();
    o["deleted_streams"] = s.deleted;
    o["first_event_at"] = s.events ? boost::json::value(iso_time(s.first_event_at)) : nullptr;
    o["last_event_at"] = s.events ? boost::json::value(iso_time(s.last_event_at)) : nullptr;
    o["size_bytes"] = facts.size_bytes ? boost::json::value(*facts.size_bytes) : nullptr;
    o["format_version"] =
        facts.format_version ? boost::json::value(*facts.format_version) : nullptr;
    o["format"] = facts.format;
    o["durability"] = facts.durability;
    out << boost::json::serialize(o) << '\n';
    return;
  }
  out << "store:          " << name_of(facts.kind) << '\n'
      << "url:            " << facts.url << '\n'
      << "access:         " << facts.access << '\n'
      << "last position:  " << last << '\n'
      << "events:         " << s.events << '\n'
      << "streams:        " << s.streams.size() << " (" << s.deleted << " deleted)\n"
      << "first event at: " << iso_time(s.first_event_at) << '\n'
      << "last event at:  " << iso_time(s.last_event_at) << '\n';
  if (facts.size_bytes)
    out << "size:           " << *facts.size_bytes << " bytes (" << facts.size_detail << ")\n";
  if (!facts.format.empty()) out << "format:         " << facts.format << '\n';
  out << "durability:     " << facts.durability << '\n';
}

// ---- streams ---------------------------------------------------------------------------------

template <event_store Store>
void streams(const Store& store, std::string_view prefix, bool json, std::ostream& out) {
  const store_summary s = summarize(store, prefix);
  if (json) {
    for (const auto& [id, st] : s.streams) {
      boost::json::object o;
      o["stream"] = id;
      o["version"] = st.version;
      o["last_event_at"] = iso_time(st.last_event_at);
      o["deleted"] = st.deleted;
      out << boost::json::serialize(o) << '\n';
    }
    return;
  }
  std::size_t width = 6;  // "STREAM"
  for (const auto& [id, st] : s.streams) width = std::max(width, id.size());
  const auto pad = [](std::string_view text, std::size_t w) {
    return std::string(text) + std::string(w > text.size() ? w - text.size() : 0, ' ');
  };
  out << pad("STREAM", width) << "  " << pad("VERSION", 7) << "  LAST EVENT AT\n";
  for (const auto& [id, st] : s.streams)
    out << pad(id, width) << "  " << pad(std::to_string(st.version), 7) << "  "
        << iso_time(st.last_event_at) << (st.deleted ? "  deleted" : "") << '\n';
}

// ---- events ----------------------------------------------------------------------------------

struct event_query {
  std::string stream;  // set: this stream's events; empty: the range [from, to]
  std::uint64_t from = 0;
  std::uint64_t to = 0;  // 0: to the end
  std::string type;      // set: only events of this type
};

template <event_store Store>
std::uint64_t events(const Store& store, const event_query& q, bool json, std::ostream& out) {
  std::uint64_t shown = 0;
  const auto visit = [&](const recorded_event& e) {
    if (!q.type.empty() && e.type != q.type) return;
    ++shown;
    if (json)
      out << boost::json::serialize(event_json(e)) << '\n';
    else
      print_event_line(out, e);
  };
  if (!q.stream.empty()) {
    if (store.stream_version(q.stream) == 0)
      throw error(errc::invalid_argument, "stream '" + q.stream + "' does not exist");
    store.read_stream(q.stream, 1, visit);
    return shown;
  }
  const std::uint64_t last = store.last_position();
  if (q.from == 0) throw error(errc::invalid_argument, "--from 0: positions start at 1");
  if (q.from > last)
    throw error(errc::invalid_argument,
                "--from " + std::to_string(q.from) + " is beyond the end of the store (" +
                    (last == 0 ? "it is empty" : "last position " + std::to_string(last)) + ")");
  if (q.to != 0 && q.to > last)
    throw error(errc::invalid_argument, "--to " + std::to_string(q.to) +
                                            " is beyond the end of the store (last position " +
                                            std::to_string(last) + ")");
  if (q.to != 0 && q.to < q.from)
    throw error(errc::invalid_argument,
                "--to " + std::to_string(q.to) + " is before --from " + std::to_string(q.from));
  const std::uint64_t end = q.to == 0 ? last : q.to;
  store.read_all(q.from, visit, static_cast<std::size_t>(end - q.from + 1));
  return shown;
}

// ---- verify ----------------------------------------------------------------------------------

struct verify_report {
  std::uint64_t events = 0;
  std::uint64_t streams = 0;
  std::uint64_t deleted = 0;
  std::uint64_t last_position = 0;  // what the store says
  std::uint64_t problem_count = 0;
  std::vector<std::string> problems;  // the first max_listed
  bool stopped = false;               // the store refused to read on (damage it detected)
  bool opened = true;                 // false: the damage stopped the open itself
  static constexpr std::size_t max_listed = 100;

  bool clean() const noexcept { return problem_count == 0; }
  void add(std::string what) {
    ++problem_count;
    if (problems.size() < max_listed) problems.push_back(std::move(what));
  }
};

// Reads every event with every check the store makes on reads, and checks what every store
// promises: positions 1, 2, 3... without gaps, each stream's versions 1, 2, 3... without gaps,
// nothing after a stream's tombstone, and the store's last position where the read ended.
template <event_store Store>
verify_report verify(const Store& store) {
  verify_report r;
  struct seen {
    std::uint64_t version = 0;
    bool deleted = false;
  };
  std::map<std::string, seen, std::less<>> streams;
  std::uint64_t expected = 1;
  try {
    r.last_position = store.last_position();
    store.read_all(1, [&](const recorded_event& e) {
      ++r.events;
      const std::string at = "position " + std::to_string(e.position) + " (stream '" + e.stream_id +
                             "' version " + std::to_string(e.stream_version) + ")";
      if (e.position != expected)
        r.add(at + ": expected position " + std::to_string(expected) +
              (e.position > expected ? ": positions are missing" : ": positions go backwards"));
      expected = e.position + 1;
      auto it = streams.find(e.stream_id);
      if (it == streams.end()) it = streams.emplace(e.stream_id, seen{}).first;
      seen& st = it->second;
      if (e.stream_version != st.version + 1)
        r.add(at + ": expected version " + std::to_string(st.version + 1) + " of the stream");
      if (st.deleted) r.add(at + ": an event after the stream's tombstone");
      st.version = e.stream_version;
      st.deleted = st.deleted || e.type == tombstone_type;
    });
  } catch (const error& e) {
    // Stored data that fails its checks or does not decode is damage; anything else is not.
    if (e.code() != make_error_code(errc::corrupt_log) &&
        e.code() != make_error_code(errc::decode_error))
      throw;
    r.stopped = true;
    r.add(e.what());
  }
  if (!r.stopped && expected - 1 != r.last_position)
    r.add("the store's last position is " + std::to_string(r.last_position) +
          " but reading every event ended at " + std::to_string(expected - 1));
  r.streams = streams.size();
  for (const auto& [id, st] : streams) r.deleted += st.deleted ? 1 : 0;
  return r;
}

inline void print_verify(const verify_report& r, const store_facts& facts, bool json,
                         std::ostream& out) {
  if (json) {
    boost::json::object o;
    o["clean"] = r.clean();
    o["store"] = std::string(name_of(facts.kind));
    o["url"] = facts.url;
    o["events"] = r.events;
    o["streams"] = r.streams;
    o["deleted_streams"] = r.deleted;
    o["last_position"] = r.last_position;
    o["problem_count"] = r.problem_count;
    boost::json::array problems;
    for (const auto& p : r.problems) problems.emplace_back(p);
    o["problems"] = std::move(problems);
    o["stopped"] = r.stopped;
    o["opened"] = r.opened;
    out << boost::json::serialize(o) << '\n';
    return;
  }
  for (const auto& p : r.problems) out << "damage: " << p << '\n';
  if (r.problem_count > r.problems.size())
    out << "damage: ... and " << r.problem_count - r.problems.size() << " more\n";
  if (!r.opened) {
    out << "DAMAGED: the store's open stopped at the damage, before reading any event\n";
    return;
  }
  out << (r.clean() ? "clean: " : "DAMAGED: ") << r.events << " events in " << r.streams
      << " streams (" << r.deleted << " deleted) read, last position " << r.last_position;
  if (!r.clean())
    out << "; " << r.problem_count << (r.problem_count == 1 ? " problem" : " problems")
        << (r.stopped ? ", the read stopped at the damage" : "");
  out << '\n';
}

}  // namespace annal::tool
