// The annal tool's commands over any event store: info, streams, events and verify, each printing
// text for people or JSON for scripts. They only read.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

#include <annal/core/detail/event_id.hpp>
#include <annal/core/error.hpp>
#include <annal/core/record.hpp>
#include <annal/detail/utf8.hpp>
#include <annal/file/detail/huge_page_allocator.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/filter.hpp>
#include <annal/store/subscription.hpp>

#include <annal/tool/detail/open_store.hpp>

namespace annal::tool::detail {

// ---- reading ---------------------------------------------------------------------------------

// Reads with views where the store hands them out (the file log: no copy of each event's strings),
// else with copies; `visit` takes either.
template <event_store Store, class F>
void read_all_events(const Store& store, std::uint64_t from, F&& visit,
                     std::size_t max_count = unlimited) {
  if constexpr (requires { store.read_all_views(from, visit, max_count); })
    store.read_all_views(from, visit, max_count);
  else
    store.read_all(from, visit, max_count);
}

template <event_store Store, class F>
void read_stream_events(const Store& store, std::string_view stream, F&& visit) {
  if constexpr (requires { store.read_stream_views(stream, 1, visit); })
    store.read_stream_views(stream, 1, visit);
  else
    store.read_stream(stream, 1, visit);
}

// Stream ids to what a command keeps of each, for a scan that meets every stream. With many short
// streams, what verify spends beyond the store's scan goes mostly to this table: each new stream
// costs a miss in a table larger than the caches (a log of 10M events in streams of 16 holds 625k
// streams). So the table is a plain array of slots, probed linearly from the high bits of the id's
// hash: the entry sits beside its key (one miss, where boost::unordered_flat_map's groups take
// two), and a rehash walks the old slots in the order they land in the new ones (sequential
// writes, where a hashed map's are random). Each id is copied once into one buffer (after its
// length, 8-byte aligned); a slot's key holds 32 bits of the id's hash and where the id starts.
// Events come in batches of one stream, so the last stream looked up is tried first.
namespace impl {

// a == b for short strings such as stream ids, inline: a call to memcmp per event took 8% of
// verify's time.
inline bool same_id(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  const std::size_t n = a.size();
  const auto word = [](const char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  };
  if (n >= 8) {
    // Whole words, then the last 8 bytes (overlapping the words before): no loop over the tail
    // bytes, which took most of this call's time for ids such as "account-12345".
    for (std::size_t i = 0; i + 8 < n; i += 8)
      if (word(a.data() + i) != word(b.data() + i)) return false;
    return word(a.data() + n - 8) == word(b.data() + n - 8);
  }
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

// A hash of a short string, inline (std::hash calls out of line): 8 bytes at a time through a
// multiply, then a finalizer whose high bits depend on every input bit, as the table wants.
inline std::size_t hash_id(std::string_view s) noexcept {
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ tail) * 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDull;
  h ^= h >> 33;
  return static_cast<std::size_t>(h);
}

}  // namespace impl

template <class T>
class stream_table {
  using key = std::uint64_t;  // hash32 << 32 | word where the id starts in ids_ (0: empty slot)
  static constexpr std::size_t word = 8;
  struct slot {
    key k = 0;
    T value{};
  };

 public:
  stream_table() : ids_(word, '\0'), slots_(std::size_t{1} << initial_bits) {}
  // Not copied: the last entry found is pointed at. Moves keep both buffers.
  stream_table(const stream_table&) = delete;
  stream_table& operator=(const stream_table&) = delete;
  stream_table(stream_table&&) noexcept = default;
  stream_table& operator=(stream_table&&) noexcept = default;

  // The entry for `id`, added if new.
  T& at(std::string_view id) {
    if (last_ && impl::same_id(id, last_id_)) [[likely]]
      return *last_;
    return find_or_add(id, hash32(id));
  }
  // at(id) for the `hash` prefetch(id) returned.
  T& at(std::string_view id, std::uint64_t hash) { return find_or_add(id, hash); }

  // Starts loading where `id`'s entry is (or would go), for an at(id, hash) to come; returns the
  // hash.
  std::uint64_t prefetch(std::string_view id) const noexcept {
    const std::uint64_t h32 = hash32(id);
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(&slots_[home(h32)]);
#endif
    return h32;
  }

  // f(id, entry) for every stream, in no order.
  template <class F>
  void for_each(F&& f) const {
    for (const slot& s : slots_)
      if (s.k != 0) f(id_of(s.k), s.value);
  }
  std::size_t size() const noexcept { return size_; }

 private:
  static constexpr unsigned initial_bits = 10;

  static std::uint64_t hash32(std::string_view id) noexcept { return impl::hash_id(id) >> 32; }

  std::string_view id_of(key k) const noexcept {
    const char* at = ids_.data() + (k & 0xffffffffu) * word;
    std::uint16_t length;
    std::memcpy(&length, at, sizeof length);
    return {at + sizeof length, length};
  }
  // The first slot to probe for a 32-bit hash: the high bits of a multiply that spreads it.
  std::size_t home(std::uint64_t h32) const noexcept {
    return static_cast<std::size_t>((h32 * 0x9E3779B97F4A7C15ull) >> (64 - bits_));
  }

  // Out of line: at() inlines into a scan's loop, and this runs once per batch of a stream.
  [[gnu::noinline]] T& find_or_add(std::string_view id, std::uint64_t h32) {
    if (id.size() > 0xffff)
      throw error(errc::invalid_stream_id, "a stream id of " + std::to_string(id.size()) +
                                               " bytes: longer than any store keeps");
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = home(h32);
    for (; slots_[i].k != 0; i = (i + 1) & mask) {
      if ((slots_[i].k >> 32) == h32 && impl::same_id(id_of(slots_[i].k), id)) {
        last_ = &slots_[i].value;
        last_id_ = id_of(slots_[i].k);
        return *last_;
      }
    }
    const std::size_t at = ids_.size();
    if (at / word > 0xffffffffu)
      throw error(errc::invalid_argument,
                  "more than 32 GiB of stream ids: more than the tool's table of streams holds");
    const auto length = static_cast<std::uint16_t>(id.size());
    ids_.resize(at + (sizeof length + id.size() + word - 1) / word * word);
    std::memcpy(ids_.data() + at, &length, sizeof length);
    std::memcpy(ids_.data() + at + sizeof length, id.data(), id.size());
    slots_[i].k = h32 << 32 | at / word;
    ++size_;
    if (size_ * 4 > slots_.size() * 3) {  // kept under 3/4 full: probes stay short
      grow();
      i = find_slot(h32 << 32 | at / word);
    }
    last_ = &slots_[i].value;
    last_id_ = id_of(slots_[i].k);  // ids_ grows only here, where this is set again
    return *last_;
  }

  // Twice the slots. Old slots are taken in order, so they land in ascending new ones.
  void grow() {
    decltype(slots_) old(std::size_t{1} << (bits_ + 1));
    old.swap(slots_);
    ++bits_;
    const std::size_t mask = slots_.size() - 1;
    for (slot& s : old) {
      if (s.k == 0) continue;
      std::size_t i = home(s.k >> 32);
      while (slots_[i].k != 0) i = (i + 1) & mask;
      slots_[i] = std::move(s);
    }
  }

  std::size_t find_slot(key k) const noexcept {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = home(k >> 32);
    while (slots_[i].k != k) i = (i + 1) & mask;
    return i;
  }

  std::string ids_;  // word 0 unused: a key of 0 marks an empty slot
  // In huge pages once large: with 4 KiB ones each new stream's slot missed the TLB too, and a
  // page walk under a VM's nested paging cost more than the cache miss.
  std::vector<slot, annal::detail::file_log::huge_page_allocator<slot>> slots_;
  unsigned bits_ = initial_bits;
  std::size_t size_ = 0;
  std::string_view last_id_;
  T* last_ = nullptr;
};

// ---- formatting ------------------------------------------------------------------------------

namespace impl {

// "2026-12-07T03:18:50" for `secs` since the epoch, into `out` (19 characters).
inline void utc_seconds(std::int64_t secs, char* out) {
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[96];  // room for any year, as the compiler checks
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::memcpy(out, buf, 19);
}

inline void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

inline constexpr char hex_digits[] = "0123456789abcdef";

inline void append_hex(std::string& out, std::string_view bytes) {
  const std::size_t at = out.size();
  out.resize(at + bytes.size() * 2);
  char* p = out.data() + at;
  for (const char b : bytes) {
    *p++ = hex_digits[static_cast<unsigned char>(b) >> 4];
    *p++ = hex_digits[static_cast<unsigned char>(b) & 0xf];
  }
}

// `s` as a JSON string, quotes included. Bytes that are not ASCII are copied: stores keep UTF-8.
inline void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  std::size_t plain = 0;  // start of the run of bytes that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += hex_digits[c >> 4];
        out += hex_digits[c & 0xf];
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

// A Boost.JSON parser handler that keeps nothing: the parser only checks that a payload is JSON.
struct json_checker {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  using sv = boost::json::string_view;
  using ec = boost::json::error_code;
  bool on_document_begin(ec&) { return true; }
  bool on_document_end(ec&) { return true; }
  bool on_array_begin(ec&) { return true; }
  bool on_array_end(std::size_t, ec&) { return true; }
  bool on_object_begin(ec&) { return true; }
  bool on_object_end(std::size_t, ec&) { return true; }
  bool on_string_part(sv, std::size_t, ec&) { return true; }
  bool on_string(sv, std::size_t, ec&) { return true; }
  bool on_key_part(sv, std::size_t, ec&) { return true; }
  bool on_key(sv, std::size_t, ec&) { return true; }
  bool on_number_part(sv, ec&) { return true; }
  bool on_int64(std::int64_t, sv, ec&) { return true; }
  bool on_uint64(std::uint64_t, sv, ec&) { return true; }
  bool on_double(double, sv, ec&) { return true; }
  bool on_bool(bool, ec&) { return true; }
  bool on_null(ec&) { return true; }
  bool on_comment_part(sv, ec&) { return true; }
  bool on_comment(sv, ec&) { return true; }
};

}  // namespace impl

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
  std::string out(30, '0');
  impl::utc_seconds(secs, out.data());
  out[19] = '.';
  for (int i = 28; i >= 20; --i, frac /= 10)
    out[static_cast<std::size_t>(i)] = char('0' + frac % 10);
  out[29] = 'Z';
  return out;
}

// Whether `s` is well-formed UTF-8 without control characters: text that prints on one line.
inline bool printable_text(std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return false;
  }
  return annal::detail::is_valid_utf8(s);
}

enum class payload_kind { json, text, hex };

// The generic tool's payloads: shown as stored (JSON, text or hex), decoded by nobody.
struct raw_payloads {
  static constexpr bool decodes = false;
};

// Prints events as lines of text or JSON into one buffer that goes out in large writes: nothing
// is allocated per event once the buffer has grown. A Decoder with `decodes` (the typed tool's)
// appends an event it lists as its decoded JSON; the others print as stored, flagged.
template <class Decoder = raw_payloads>
class event_printer {
 public:
  event_printer(std::ostream& out, bool json, Decoder decoder = {})
      : out_(out), json_(json), checker_({}), decoder_(std::move(decoder)) {
    line_.reserve(flush_at + 4096);
  }
  event_printer(const event_printer&) = delete;
  event_printer& operator=(const event_printer&) = delete;
  ~event_printer() { flush(); }

  // A payload as the tool shows it: JSON as JSON, other text as text, anything else as hex.
  payload_kind kind_of(std::string_view payload) {
    if (!payload.empty()) {
      checker_.reset();
      boost::json::error_code ec;
      const std::size_t used = checker_.write_some(false, payload.data(), payload.size(), ec);
      if (!ec && used == payload.size()) return payload_kind::json;
    }
    return printable_text(payload) ? payload_kind::text : payload_kind::hex;
  }

  // `e`: a recorded_event or a recorded_event_view.
  template <class Event>
  void print(const Event& e) {
    if (json_)
      json_line(e);
    else
      text_line(e);
    if (line_.size() >= flush_at) write_out();
  }

  // Hands what is buffered to the stream and flushes it (a follower's reader sees each batch).
  void flush() {
    write_out();
    out_.flush();
  }

 private:
  static constexpr std::size_t flush_at = 64 * 1024;

  void write_out() {
    out_.write(line_.data(), static_cast<std::streamsize>(line_.size()));
    line_.clear();
  }

  void time(time_point t) {
    if (t == time_point{}) {
      line_ += '-';
      return;
    }
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
    std::int64_t secs = ns.count() / 1'000'000'000;
    std::int64_t frac = ns.count() % 1'000'000'000;
    if (frac < 0) {
      frac += 1'000'000'000;
      --secs;
    }
    // Neighbouring events share their second: its calendar date is worked out once.
    if (!second_known_ || secs != second_) {
      impl::utc_seconds(secs, second_text_);
      second_ = secs;
      second_known_ = true;
    }
    char buf[30];
    std::memcpy(buf, second_text_, 19);
    buf[19] = '.';
    for (int i = 28; i >= 20; --i, frac /= 10) buf[i] = char('0' + frac % 10);
    buf[29] = 'Z';
    line_.append(buf, sizeof buf);
  }

  // The payload, JSON without the whitespace between its tokens so that it stays on one line.
  void compact_json(std::string_view payload) {
    bool in_string = false, escaped = false;
    for (const char c : payload) {
      if (in_string) {
        if (escaped)
          escaped = false;
        else if (c == '\\')
          escaped = true;
        else if (c == '"')
          in_string = false;
      } else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        continue;
      } else if (c == '"') {
        in_string = true;
      }
      line_ += c;
    }
  }

  template <class Event>
  void text_line(const Event& e) {
    impl::append_uint(line_, e.position);
    line_ += "  ";
    line_ += e.stream_id;
    line_ += "  ";
    impl::append_uint(line_, e.stream_version);
    line_ += "  ";
    line_ += e.type;
    line_ += "  ";
    time(e.recorded_at);
    line_ += "  ";
    if constexpr (Decoder::decodes) {
      if (decoder_.append_text(e, line_)) {
        line_ += '\n';
        return;
      }
      line_ += "[unlisted] ";
    }
    switch (kind_of(e.payload)) {
      case payload_kind::json:
        compact_json(e.payload);
        break;
      case payload_kind::text:
        line_ += e.payload;
        break;
      case payload_kind::hex:
        line_ += "hex:";
        impl::append_hex(line_, e.payload);
        break;
    }
    line_ += '\n';
  }

  template <class Event>
  void json_line(const Event& e) {
    line_ += "{\"position\":";
    impl::append_uint(line_, e.position);
    line_ += ",\"stream\":";
    impl::append_json_string(line_, e.stream_id);
    line_ += ",\"version\":";
    impl::append_uint(line_, e.stream_version);
    line_ += ",\"type\":";
    impl::append_json_string(line_, e.type);
    line_ += ",\"schema_version\":";
    impl::append_uint(line_, e.schema_version);
    line_ += ",\"id\":\"";
    annal::detail::append_id_text(line_, e.id);
    line_ += "\",\"recorded_at\":\"";
    time(e.recorded_at);
    line_ += '"';
    if (!e.correlation_id.is_nil()) {
      line_ += ",\"correlation_id\":\"";
      annal::detail::append_id_text(line_, e.correlation_id);
      line_ += '"';
    }
    if (!e.causation_id.is_nil()) {
      line_ += ",\"causation_id\":\"";
      annal::detail::append_id_text(line_, e.causation_id);
      line_ += '"';
    }
    if (!e.meta.empty()) {
      line_ += ",\"metadata\":{";
      bool first = true;
      for (const auto& [k, v] : e.meta) {
        if (!first) line_ += ',';
        first = false;
        impl::append_json_string(line_, k);
        line_ += ':';
        impl::append_json_string(line_, v);
      }
      line_ += '}';
    }
    if constexpr (Decoder::decodes) {
      if (decoder_.append_json(e, line_)) {
        line_ += "}\n";
        return;
      }
      line_ += ",\"listed\":false";
    }
    switch (kind_of(e.payload)) {
      case payload_kind::json:
        line_ += ",\"payload\":";
        compact_json(e.payload);
        break;
      case payload_kind::text:
        line_ += ",\"payload_text\":";
        impl::append_json_string(line_, e.payload);
        break;
      case payload_kind::hex:
        line_ += ",\"payload_hex\":\"";
        impl::append_hex(line_, e.payload);
        line_ += '"';
        break;
    }
    line_ += "}\n";
  }

  std::ostream& out_;
  bool json_;
  boost::json::basic_parser<impl::json_checker> checker_;
  std::string line_;
  std::int64_t second_ = 0;
  bool second_known_ = false;
  char second_text_[19] = {};
  Decoder decoder_;
};

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
  stream_table<stream_summary> streams;
  std::uint64_t deleted = 0;
};

// One pass over every event; streams outside `prefix` are counted but not kept. None of the stores
// can list its streams without reading every event (and a tombstone is known by its type only), so
// info and streams read the whole store.
template <event_store Store>
store_summary summarize(const Store& store, std::string_view prefix = {}, std::uint64_t from = 1) {
  store_summary s;
  read_all_events(store, from, [&](const auto& e) {
    ++s.events;
    if (s.first_event_at == time_point{}) s.first_event_at = e.recorded_at;
    s.last_event_at = e.recorded_at;
    if (!e.stream_id.starts_with(prefix)) return;
    stream_summary& st = s.streams.at(e.stream_id);
    st.version = e.stream_version;
    st.last_event_at = e.recorded_at;
    st.deleted = e.type == tombstone_type;
  });
  s.streams.for_each([&](std::string_view, const stream_summary& st) { s.deleted += st.deleted; });
  return s;
}

// ---- info ------------------------------------------------------------------------------------

template <event_store Store>
void info(const Store& store, const store_facts& facts, bool json, std::ostream& out,
          std::uint64_t from = 1) {
  const std::uint64_t last = store.last_position();
  // An archived file log without its archive: `from` is past the horizon, counts are the hot log's.
  const store_summary s = summarize(store, {}, from);
  if (json) {
    boost::json::object o;
    o["store"] = std::string(name_of(facts.kind));
    o["url"] = facts.url;
    o["access"] = facts.access;
    o["last_position"] = last;
    o["events"] = s.events;
    if (from > 1) o["counted_from"] = from;
    o["streams"] = s.streams.size();
    o["deleted_streams"] = s.deleted;
    o["first_event_at"] = s.events ? boost::json::value(iso_time(s.first_event_at)) : nullptr;
    o["last_event_at"] = s.events ? boost::json::value(iso_time(s.last_event_at)) : nullptr;
    o["size_bytes"] = facts.size_bytes ? boost::json::value(*facts.size_bytes) : nullptr;
    o["format_version"] =
        facts.format_version ? boost::json::value(*facts.format_version) : nullptr;
    o["format"] = facts.format;
    o["durability"] = facts.durability;
    if (facts.archive_horizon != 0) {
      o["archive_horizon"] = facts.archive_horizon;
      o["archive"] = facts.archive_path;
    }
    out << boost::json::serialize(o) << '\n';
    return;
  }
  const char* hot = from > 1 ? " (after the archive horizon)" : "";
  out << "store:          " << name_of(facts.kind) << '\n'
      << "url:            " << facts.url << '\n'
      << "access:         " << facts.access << '\n'
      << "last position:  " << last << '\n'
      << "events:         " << s.events << hot << '\n'
      << "streams:        " << s.streams.size() << " (" << s.deleted << " deleted)" << hot << "\n"
      << "first event at: " << iso_time(s.first_event_at) << '\n'
      << "last event at:  " << iso_time(s.last_event_at) << '\n';
  if (facts.size_bytes)
    out << "size:           " << *facts.size_bytes << " bytes (" << facts.size_detail << ")\n";
  if (!facts.format.empty()) out << "format:         " << facts.format << '\n';
  out << "durability:     " << facts.durability << '\n';
  if (facts.archive_horizon != 0)
    out << "archived:       positions 1.." << facts.archive_horizon << " in " << facts.archive_path
        << '\n';
}

// ---- streams ---------------------------------------------------------------------------------

template <event_store Store>
void streams(const Store& store, std::string_view prefix, bool json, std::ostream& out) {
  const store_summary summary = summarize(store, prefix);
  std::vector<std::pair<std::string_view, const stream_summary*>> sorted;
  sorted.reserve(summary.streams.size());
  summary.streams.for_each(
      [&](std::string_view id, const stream_summary& st) { sorted.emplace_back(id, &st); });
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  if (json) {
    for (const auto& [id, st] : sorted) {
      boost::json::object o;
      o["stream"] = id;
      o["version"] = st->version;
      o["last_event_at"] = iso_time(st->last_event_at);
      o["deleted"] = st->deleted;
      out << boost::json::serialize(o) << '\n';
    }
    return;
  }
  std::size_t width = 6;  // "STREAM"
  for (const auto& [id, st] : sorted) width = std::max(width, id.size());
  const auto pad = [](std::string_view text, std::size_t w) {
    return std::string(text) + std::string(w > text.size() ? w - text.size() : 0, ' ');
  };
  out << pad("STREAM", width) << "  " << pad("VERSION", 7) << "  LAST EVENT AT\n";
  for (const auto& [id, st] : sorted)
    out << pad(id, width) << "  " << pad(std::to_string(st->version), 7) << "  "
        << iso_time(st->last_event_at) << (st->deleted ? "  deleted" : "") << '\n';
}

// ---- events ----------------------------------------------------------------------------------

struct event_query {
  std::string stream;  // set: this stream's events; empty: the range [from, to]
  std::uint64_t from = 0;
  std::uint64_t to = 0;  // 0: to the end
  std::string type;      // set: only events of this type
  bool follow = false;   // after the end, wait for new events and print them as they come
};

// Never asks a follower to stop: a caller without signals.
struct never_stop {
  bool operator()() const noexcept { return false; }
};

// Prints the events `q` asks for; returns how many. Following, it goes on until `stop()` says so,
// looking at it at least every `stop_check_interval`.
template <event_store Store, class Stop = never_stop, class Decoder = raw_payloads>
std::uint64_t events(const Store& store, const event_query& q, bool json, std::ostream& out,
                     Stop stop = {}, Decoder decoder = {}) {
  static constexpr std::chrono::milliseconds stop_check_interval{100};
  std::uint64_t shown = 0;
  event_printer<Decoder> printer(out, json, std::move(decoder));
  const auto visit = [&](const auto& e) {
    if (!q.type.empty() && e.type != q.type) return;
    ++shown;
    printer.print(e);
  };
  std::uint64_t after = 0;  // the last position printed or passed over
  if (!q.stream.empty()) {
    if (store.stream_version(q.stream) == 0)
      throw error(errc::invalid_argument, "stream '" + q.stream + "' does not exist");
    // Read before the stream's events: anything appended after them is followed from here on.
    after = store.last_position();
    read_stream_events(store, q.stream, [&](const auto& e) {
      if (e.position > after) return;
      visit(e);
    });
  } else {
    const std::uint64_t last = store.last_position();
    if (q.from == 0) throw error(errc::invalid_argument, "--from 0: positions start at 1");
    // Following, --from may name the next position to come.
    if (q.from > last + (q.follow ? 1 : 0))
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
    if (q.from <= end && !q.type.empty()) {
      // The store answers the type itself (store/filter.hpp): the rest is not read.
      read_filtered(store, q.from, event_filter{.types = {q.type}}, [&](const recorded_event& e) {
        if (e.position > end) return false;
        visit(e);
        return true;
      });
    } else if (q.from <= end) {
      read_all_events(store, q.from, visit, static_cast<std::size_t>(end - q.from + 1));
    }
    after = std::max(end, q.from - 1);
  }
  printer.flush();
  if (!q.follow) return shown;
  if constexpr (waitable_store<Store>) {
    const auto follow_visit = [&](const auto& e) {
      after = e.position;
      if (!q.stream.empty() && e.stream_id != q.stream) return;
      visit(e);
    };
    while (!stop()) {
      if (!store.wait_for_append(after, std::chrono::system_clock::now() + stop_check_interval))
        continue;
      read_all_events(store, after + 1, follow_visit, 4096);
      printer.flush();
    }
  } else {
    throw error(errc::invalid_argument, "--follow: this store cannot wait for appends");
  }
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
  // A problem with one event. Out of line: verify's loop stays small, and only a problem spends
  // time on words.
  [[gnu::noinline]] void add_at(std::uint64_t position, std::string_view stream,
                                std::uint64_t version, const std::string& what) {
    add("position " + std::to_string(position) + " (stream '" + std::string(stream) + "' version " +
        std::to_string(version) + "): " + what);
  }
  // The problems verify's loop finds, worded out of line too: with the words in it, the loop's
  // visitor grew too large for the compiler to inline into the store's scan (a call per event).
  [[gnu::noinline]] void position_out_of_order(std::uint64_t position, std::string_view stream,
                                               std::uint64_t version, std::uint64_t expected) {
    add_at(position, stream, version,
           "expected position " + std::to_string(expected) +
               (position > expected ? ": positions are missing" : ": positions go backwards"));
  }
  [[gnu::noinline]] void version_out_of_order(std::uint64_t position, std::string_view stream,
                                              std::uint64_t version, std::uint64_t expected) {
    add_at(position, stream, version,
           "expected version " + std::to_string(expected) + " of the stream");
  }
  [[gnu::noinline]] void after_tombstone(std::uint64_t position, std::string_view stream,
                                         std::uint64_t version) {
    add_at(position, stream, version, "an event after the stream's tombstone");
  }
};

// Reads every event with every check the store makes on reads, and checks what every store
// promises: positions 1, 2, 3... without gaps, each stream's versions 1, 2, 3... without gaps,
// nothing after a stream's tombstone, and the store's last position where the read ended.
// `check(e, report)` looks at each event besides (the typed tool decodes it).
struct no_check {
  template <class Event>
  void operator()(const Event&, verify_report&) const noexcept {}
};

namespace impl {

// verify's checks of positions and of each stream's versions and tombstone, in event order. A new
// run of a stream's events is looked up in the table of streams one run later, after a prefetch of
// its slot: in a log of many short streams the lookup missed the caches for each run (~200 ns,
// half of what verify spent beyond the store's scan), and now the miss overlaps the run's reads.
// The run's events are held meanwhile (position, version, tombstone: at most `hold` of them, then
// the run is looked up at once), and checked in order when it is, so problems are still listed in
// the order of the events they name.
class stream_checks {
 public:
  // `defer`: false when something else checks each event between these (the typed tool's
  // decoding), so that problems stay in event order.
  stream_checks(verify_report& r, bool defer) : r_(r), hold_(defer ? 64 : 1) {
    held_.reserve(hold_);
  }

  template <class Event>
  void add(const Event& e) {
    if (!impl::same_id(e.stream_id, run_id_)) [[unlikely]]
      start_run(e.stream_id);
    const bool tombstone = e.type == tombstone_type;
    if (entry_) {
      check(*entry_, e.position, e.stream_version, tombstone);
      return;
    }
    held_.push_back({e.position, e.stream_version, tombstone});
    if (held_.size() == hold_) settle();
  }

  // Checks the events held: before a problem of another kind is added, and at the end.
  void settle() {
    if (held_.empty()) return;
    entry_ = &streams_.at(run_id_, run_hash_);
    for (const held& h : held_) check(*entry_, h.position, h.version, h.tombstone);
    held_.clear();
  }

  std::uint64_t next_position() const noexcept { return expected_; }
  std::uint64_t streams() const noexcept { return streams_.size(); }
  std::uint64_t deleted() const {
    std::uint64_t n = 0;
    streams_.for_each([&](std::string_view, const seen& st) { n += st.deleted(); });
    return n;
  }

 private:
  // 8 bytes, so the table stays small (stream_table): the version above the deleted bit. Not
  // bitfields: their two stores of different widths made each next event's load of the entry wait
  // for both to reach the cache (a failed store forward per event, a fifth of verify's own time).
  struct seen {
    std::uint64_t bits = 0;
    std::uint64_t version() const noexcept { return bits >> 1; }
    bool deleted() const noexcept { return (bits & 1) != 0; }
  };
  struct held {
    std::uint64_t position;
    std::uint64_t version;
    bool tombstone;
  };

  [[gnu::noinline]] void start_run(std::string_view id) {
    settle();
    entry_ = nullptr;
    run_id_.resize(id.size());  // within its capacity, a plain copy (assign is a general replace)
    std::memcpy(run_id_.data(), id.data(), id.size());
    run_hash_ = streams_.prefetch(run_id_);
  }

  void check(seen& st, std::uint64_t position, std::uint64_t version, bool tombstone) {
    if (position != expected_) [[unlikely]]
      r_.position_out_of_order(position, run_id_, version, expected_);
    expected_ = position + 1;
    const seen before = st;
    if (version != before.version() + 1) [[unlikely]]
      r_.version_out_of_order(position, run_id_, version, before.version() + 1);
    if (before.deleted()) [[unlikely]]
      r_.after_tombstone(position, run_id_, version);
    st.bits = version << 1 | (before.deleted() || tombstone ? 1 : 0);
  }

  verify_report& r_;
  std::size_t hold_;
  stream_table<seen> streams_;
  std::string run_id_;
  std::uint64_t run_hash_ = 0;
  seen* entry_ = nullptr;  // the run's entry, once looked up
  std::vector<held> held_;
  std::uint64_t expected_ = 1;
};

}  // namespace impl

template <event_store Store, class Check = no_check>
verify_report verify(const Store& store, Check check = {}) {
  verify_report r;
  impl::stream_checks streams(r, std::is_same_v<Check, no_check>);
  try {
    r.last_position = store.last_position();
    read_all_events(store, 1, [&](const auto& e) {
      ++r.events;
      streams.add(e);
      if constexpr (!std::is_same_v<Check, no_check>) check(e, r);
    });
  } catch (const error& e) {
    // Stored data that fails its checks or does not decode is damage; anything else is not.
    if (e.code() != make_error_code(errc::corrupt_log) &&
        e.code() != make_error_code(errc::decode_error))
      throw;
    streams.settle();  // the events before the damage first
    r.stopped = true;
    r.add(e.what());
  }
  streams.settle();
  const std::uint64_t read_to = streams.next_position() - 1;
  if (!r.stopped && read_to != r.last_position)
    r.add("the store's last position is " + std::to_string(r.last_position) +
          " but reading every event ended at " + std::to_string(read_to));
  r.streams = streams.streams();
  r.deleted = streams.deleted();
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

}  // namespace annal::tool::detail
