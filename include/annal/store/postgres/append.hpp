// One append as one call of the server-side append function (annal_append_one for a single event,
// annal_append for a batch): validation, the batch as parameters, and the reading of its answer.
// Used by the store and inside pg_transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/container_hash/hash.hpp>
#include <boost/json.hpp>

#include <annal/core/error.hpp>
#include <annal/detail/idempotency.hpp>
#include <annal/detail/sql/encoding.hpp>
#include <annal/detail/validate.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/postgres/connection.hpp>
#include <annal/store/postgres/schema.hpp>

namespace annal::detail::pg {

class append_call {
 public:
  // Validates the batch (the shared rules, then JSON payloads for json/jsonb schemas) and encodes
  // it; throws before anything reaches the server.
  append_call(const statements& sql, std::string_view stream_id, expected_version expect,
              std::span<const event_data> batch)
      : sql_(sql), stream_(stream_id), batch_(batch) {
    validate_batch(stream_id, batch);
    if (sql.format != pg_payload_format::bytea) check_json();
    encode();
    kind_ = expect.what() == expected_version::kind::any         ? "0"
            : expect.what() == expected_version::kind::no_stream ? "1"
                                                                 : "2";
    expected_ = std::to_string(expect.version());
  }

  append_result run(connection& conn) const {
    const std::string now = now_param();
    const pg_rows r = conn.exec_prepared(
        single() ? slot_append_one : slot_append, single() ? "annal_append_one" : "annal_append",
        single() ? sql_.append_one : sql_.append,
        {stream_.c_str(), kind_, expected_.c_str(), ids_.c_str(), types_.c_str(),
         schema_versions_.c_str(), payloads_.c_str(), correlations_.c_str(), causations_.c_str(),
         metadata_.c_str(), now.c_str()},
        what());
    return read_answer(r);
  }

  static std::string now_param() { return std::to_string(sql::to_micros_ceil(clock::now())); }
  std::string what() const { return "append to stream " + quoted_prefix(stream_); }
  const statements& sql() const noexcept { return sql_; }
  // Bytes this call sends: a group stops growing at a bound so one call stays modest.
  std::size_t wire_size() const noexcept {
    return ids_.size() + types_.size() + payloads_.size() + correlations_.size() +
           causations_.size() + metadata_.size() + stream_.size();
  }

  // Adds this call to the flat arrays of annal_append_group: its stream, expectation and event
  // count, and its events' elements (each column's array literal without its braces).
  struct group_arrays {
    std::string streams = "{", kinds = "{", expected = "{", counts = "{";
    std::string ids = "{", types = "{", schema_versions = "{", payloads = "{",
                correlations = "{", causations = "{", metadata = "{";
    std::string* event_columns[7] = {&ids,          &types,      &schema_versions, &payloads,
                                     &correlations, &causations, &metadata};
    void close() {
      for (std::string* a : {&streams, &kinds, &expected, &counts}) *a += '}';
      for (std::string* a : event_columns) *a += '}';
    }
  };
  void add_to(group_arrays& g) const {
    const bool first = g.streams.size() == 1;
    if (!first)
      for (std::string* a : {&g.streams, &g.kinds, &g.expected, &g.counts}) *a += ',';
    quoted_element(g.streams, stream_);
    g.kinds += kind_;
    g.expected += expected_;
    g.counts += std::to_string(batch_.size());
    const std::string* mine[7] = {&ids_,          &types_,      &schema_versions_, &payloads_,
                                  &correlations_, &causations_, &metadata_};
    for (int c = 0; c < 7; ++c) {
      if (!first) *g.event_columns[c] += ',';
      if (single())
        quoted_element(*g.event_columns[c], *mine[c]);  // a scalar becomes one element
      else
        g.event_columns[c]->append(*mine[c], 1, mine[c]->size() - 2);
    }
  }

  // Reads this call's answer from rows [begin, end) of `r`, whose columns from `col` on are
  // (status, event_id, stream_id, stream_version, first, last).
  append_result read_answer(const pg_rows& r, int begin = 0, int end = -1, int col = 0) const {
    if (end < 0) end = r.rows();
    if (end <= begin) throw error(errc::io_error, what() + ": annal_append returned no row");
    const auto status = r.get_int(begin, col);
    if (status == 0)
      return {append_status::appended, static_cast<std::uint64_t>(r.get_int(begin, col + 3)),
              static_cast<std::uint64_t>(r.get_int(begin, col + 4)),
              static_cast<std::uint64_t>(r.get_int(begin, col + 5))};
    if (status == 2)
      return {append_status::conflict, static_cast<std::uint64_t>(r.get_int(begin, col + 3)), 0,
              0};
    // Some ids are stored already: the shared rule decides between "a retry" and "misuse".
    std::unordered_map<event_id, stored_ref, boost::hash<event_id>> found;
    for (int i = begin; i < end; ++i)
      found.emplace(sql::uuid_from_text(r.get(i, col + 1)),
                    stored_ref{r.get(i, col + 2), static_cast<std::uint64_t>(r.get_int(i, col + 3)),
                               static_cast<std::uint64_t>(r.get_int(i, col + 4))});
    const auto dup = check_stored_ids(stream_, batch_,
                                      [&](const event_id& id) -> std::optional<stored_ref> {
                                        const auto it = found.find(id);
                                        if (it == found.end()) return std::nullopt;
                                        return it->second;
                                      });
    if (!dup)
      throw error(errc::io_error, what() + ": the server reported stored ids it then did not list");
    return *dup;
  }

 private:
  // JSON payloads are checked here so that the error names the event, not just the batch.
  void check_json() const {
    for (std::size_t i = 0; i < batch_.size(); ++i) {
      boost::system::error_code ec;
      boost::json::parse(batch_[i].payload, ec);
      if (ec)
        throw error(errc::invalid_argument,
                    "event " + std::to_string(i) + " (id " + sql::uuid_to_text(batch_[i].id) +
                        ", type '" + batch_[i].type + "') of the batch for stream " +
                        quoted_prefix(stream_) + " has a payload that is not valid JSON (" +
                        ec.message() + "), but PostgreSQL schema '" + sql_.schema +
                        "' stores payloads as " + sql_.payload_type +
                        "; use pg_payload_format::bytea for binary codecs");
    }
  }

  static void quoted_element(std::string& out, std::string_view v) {
    out += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }

  // A batch of one event goes to annal_append_one, whose arguments are scalars.
  bool single() const noexcept { return batch_.size() == 1; }

  // The batch as PostgreSQL array literals, one parameter per column whatever the batch size; or,
  // for a single event, each column's value as it is.
  void encode() {
    std::size_t payload_bytes = 0;
    for (const auto& e : batch_) payload_bytes += e.payload.size();
    const bool bytea = sql_.format == pg_payload_format::bytea;
    for (std::string* s : {&ids_, &correlations_, &causations_}) s->reserve(batch_.size() * 37 + 2);
    payloads_.reserve((bytea ? payload_bytes * 2 : payload_bytes + payload_bytes / 4) +
                      batch_.size() * 6 + 2);
    std::string* columns[] = {&ids_,     &types_,        &schema_versions_, &payloads_,
                              &correlations_, &causations_, &metadata_};
    const bool array = !single();
    const auto text = [array](std::string& out, std::string_view v) {
      if (array)
        quoted_element(out, v);
      else
        out += v;
    };
    if (array)
      for (std::string* s : columns) *s += '{';
    constexpr char hex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < batch_.size(); ++i) {
      const event_data& e = batch_[i];
      if (i)
        for (std::string* s : columns) *s += ',';
      sql::uuid_to_text(e.id, ids_);
      text(types_, e.type);
      schema_versions_ += std::to_string(e.schema_version);
      if (bytea) {
        // bytea's hex input form; inside an array element its backslash is escaped
        payloads_ += array ? "\"\\\\x" : "\\x";
        for (unsigned char c : e.payload) {
          payloads_ += hex[c >> 4];
          payloads_ += hex[c & 0xf];
        }
        if (array) payloads_ += '"';
      } else {
        text(payloads_, e.payload);
      }
      sql::uuid_to_text(e.correlation_id, correlations_);
      sql::uuid_to_text(e.causation_id, causations_);
      text(metadata_, sql::metadata_to_json(e.meta));
    }
    if (array)
      for (std::string* s : columns) *s += '}';
  }

  const statements& sql_;
  std::string stream_;
  std::span<const event_data> batch_;
  const char* kind_ = "0";
  std::string expected_;
  std::string ids_, types_, schema_versions_, payloads_, correlations_, causations_, metadata_;
};

}  // namespace annal::detail::pg
