// One append as one call of the server-side append function (annal_append_one for a single event,
// annal_append for a batch): validation, the batch as parameters, and the reading of its answer.
// Used by the store and inside postgres_transaction.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>

#include <annal/core/detail/event_id.hpp>
#include <annal/core/error.hpp>
#include <annal/detail/idempotency.hpp>
#include <annal/detail/sql/encoding.hpp>
#include <annal/detail/utf8.hpp>
#include <annal/detail/validate.hpp>
#include <annal/postgres/connection.hpp>
#include <annal/postgres/detail/binary_array.hpp>
#include <annal/postgres/schema.hpp>
#include <annal/store/event_store.hpp>

namespace annal::detail::pg {

// A batch's event columns as binary arrays: the parameters of annal_append and annal_append_group.
struct event_columns {
  explicit event_columns(postgres_payload_format f)
      : payloads(f == postgres_payload_format::bytea  ? pg_oid::bytea
                 : f == postgres_payload_format::json ? pg_oid::json
                                                      : pg_oid::jsonb) {}
  binary_array ids{pg_oid::uuid};
  binary_array types{pg_oid::text};
  binary_array schema_versions{pg_oid::int4};
  binary_array payloads;
  binary_array correlations{pg_oid::uuid};
  binary_array causations{pg_oid::uuid};
  binary_array metadata{pg_oid::jsonb};

  // In the order of the functions' parameters.
  std::array<const binary_array*, 7> all() const noexcept {
    return {&ids, &types, &schema_versions, &payloads, &correlations, &causations, &metadata};
  }
};

class append_call {
 public:
  // Validates the batch (the shared rules, then JSON payloads for json/jsonb schemas) and encodes
  // it; throws before anything reaches the server.
  append_call(const statements& sql, std::string_view stream_id, expected_version expect,
              std::span<const event_data> batch)
      : sql_(sql), stream_(stream_id), batch_(batch) {
    validate_batch(stream_id, batch);
    // What a text or integer column cannot hold is refused here, naming the event; a type name
    // with a NUL byte would otherwise be cut short as a text parameter.
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const std::string& type = batch[i].type;
      if (type.find('\0') != std::string::npos || utf8_invalid_offset(type) != type.size())
        throw error(errc::invalid_argument, event_name(i, false) +
                                                " has a type name that is not NUL-free UTF-8, as a "
                                                "PostgreSQL text column needs");
      if (batch[i].schema_version > std::uint32_t(std::numeric_limits<std::int32_t>::max()))
        throw error(errc::invalid_argument,
                    event_name(i) + " has schema version " +
                        std::to_string(batch[i].schema_version) +
                        ", above PostgreSQL's integer column (at most 2147483647)");
    }
    if (sql.format != postgres_payload_format::bytea) check_json();
    kind_ = expect.what() == expected_version::kind::any         ? 0
            : expect.what() == expected_version::kind::no_stream ? 1
                                                                 : 2;
    expected_ = static_cast<std::int64_t>(expect.version());
    // validate_batch saw every event share the first one's time.
    exact_ = batch.front().recorded_at != time_point{};
    wire_size_ = stream_.size();
    for (const auto& e : batch) wire_size_ += 3 * 20 + e.type.size() + e.payload.size() + 16;
  }

  append_result run(connection& conn) const {
    const std::string now = exact_ ? std::to_string(sql::to_micros(batch_.front().recorded_at))
                                   : now_param(),
                      kind = std::to_string(kind_), expected = std::to_string(expected_);
    const char* exact = exact_ ? "t" : "f";
    if (single()) return run_single(conn, now, exact, kind, expected);
    event_columns c(sql_.format);
    add_events(c);
    std::vector<wire_param> params = {{stream_.c_str()}, {kind.c_str()}, {expected.c_str()}};
    for (const binary_array* a : c.all()) params.push_back(binary(*a));
    params.push_back({now.c_str()});
    params.push_back({exact});
    return read_answer(
        conn.exec_prepared_wire(slot_append, "annal_append", sql_.append, params, what()));
  }

  // The clock's time in microseconds, rounded up: the server stores the later of it and the last
  // event's time.
  static std::string now_param() { return std::to_string(sql::to_micros_ceil(clock::now())); }
  // Whether the batch brings its own recorded_at (a copy), which the server stores as given,
  // truncated to microseconds. Such a call never joins a group: a group shares one time.
  bool exact() const noexcept { return exact_; }
  static wire_param binary(const binary_array& a) noexcept {
    return {a.wire().data(), static_cast<int>(a.wire().size()), 1};
  }
  std::string what() const { return "append to stream " + quoted_prefix(stream_); }
  const statements& sql() const noexcept { return sql_; }
  // Bytes this call sends, about: a group stops growing at a bound so one call stays modest.
  std::size_t wire_size() const noexcept { return wire_size_; }

  // The parameters of annal_append_group: each call's stream, expectation and event count, and
  // all calls' events, in call order.
  struct group_arrays {
    explicit group_arrays(postgres_payload_format f) : events(f) {}
    binary_array streams{pg_oid::text}, kinds{pg_oid::int4}, expected{pg_oid::int8},
        counts{pg_oid::int4};
    event_columns events;
  };
  void add_to(group_arrays& g) const {
    g.streams.add(stream_);
    g.kinds.add_int4(kind_);
    g.expected.add_int8(expected_);
    g.counts.add_int4(static_cast<std::int32_t>(batch_.size()));
    add_events(g.events);
  }

  // Reads this call's answer from rows [begin, end) of `r`, whose columns from `col` on are
  // (status, event_id, stream_id, stream_version, first, last).
  append_result read_answer(const postgres_rows& r, int begin = 0, int end = -1,
                            int col = 0) const {
    if (end < 0) end = r.rows();
    if (end <= begin) throw error(errc::io_error, what() + ": annal_append returned no row");
    const auto status = r.get_int(begin, col);
    if (status == 0)
      return {append_status::appended, static_cast<std::uint64_t>(r.get_int(begin, col + 3)),
              static_cast<std::uint64_t>(r.get_int(begin, col + 4)),
              static_cast<std::uint64_t>(r.get_int(begin, col + 5))};
    if (status == 2)
      return {append_status::conflict, static_cast<std::uint64_t>(r.get_int(begin, col + 3)), 0, 0};
    if (status == 3)
      throw_stream_deleted(stream_, static_cast<std::uint64_t>(r.get_int(begin, col + 3)));
    if (status == 4) throw_earlier_than_last(sql::from_micros(r.get_int(begin, col + 4)));
    // Some ids are stored already: the shared rule decides between "a retry" and "misuse".
    std::unordered_map<event_id, stored_ref, detail::event_id_hash> found;
    for (int i = begin; i < end; ++i)
      found.emplace(sql::uuid_from_text(r.get(i, col + 1)),
                    stored_ref{r.get(i, col + 2), static_cast<std::uint64_t>(r.get_int(i, col + 3)),
                               static_cast<std::uint64_t>(r.get_int(i, col + 4))});
    const auto dup =
        check_stored_ids(stream_, batch_, [&](const event_id& id) -> std::optional<stored_ref> {
          const auto it = found.find(id);
          if (it == found.end()) return std::nullopt;
          return it->second;
        });
    if (!dup)
      throw error(errc::io_error, what() + ": the server reported stored ids it then did not list");
    return *dup;
  }

 private:
  // "event i (id ..., type '...') of the batch for stream '...'"; without the type when the type
  // is what is wrong.
  std::string event_name(std::size_t i, bool with_type = true) const {
    return "event " + std::to_string(i) + " (id " + sql::uuid_to_text(batch_[i].id) +
           (with_type ? ", type '" + batch_[i].type + "'" : "") + ") of the batch for stream " +
           quoted_prefix(stream_);
  }

  // JSON payloads are checked here so that the error names the event, not just the batch.
  void check_json() const {
    for (std::size_t i = 0; i < batch_.size(); ++i) {
      boost::system::error_code ec;
      boost::json::parse(batch_[i].payload, ec);
      if (ec)
        throw error(errc::invalid_argument,
                    event_name(i) + " has a payload that is not valid JSON (" + ec.message() +
                        "), but PostgreSQL schema '" + sql_.schema + "' stores payloads as " +
                        sql_.payload_type +
                        "; use postgres_payload_format::bytea for binary codecs");
    }
  }

  // The server found the batch's time earlier than the store's last event, `last`: refused with the
  // message every store gives.
  [[noreturn]] void throw_earlier_than_last(time_point last) const {
    batch_recorded_at(stream_, batch_, last, clock::now());
    throw error(errc::io_error, what() + ": the server refused recorded_at " +
                                    std::to_string(sql::to_micros(batch_.front().recorded_at)) +
                                    " us as earlier than the last event's, " +
                                    std::to_string(sql::to_micros(last)) + " us");
  }

  // A batch of one event goes to annal_append_one, whose arguments are text scalars.
  bool single() const noexcept { return batch_.size() == 1; }

  // Encoded here, not up front: a single event that joins a group travels in its arrays instead.
  append_result run_single(connection& conn, const std::string& now, const char* exact,
                           const std::string& kind, const std::string& expected) const {
    const event_data& e = batch_[0];
    const std::string id = sql::uuid_to_text(e.id), version = std::to_string(e.schema_version),
                      hex =
                          sql_.format == postgres_payload_format::bytea ? bytea_hex(e.payload) : "",
                      correlation = sql::uuid_to_text(e.correlation_id),
                      causation = sql::uuid_to_text(e.causation_id),
                      meta = sql::metadata_to_json(e.meta);
    return read_answer(conn.exec_prepared(
        slot_append_one, "annal_append_one", sql_.append_one,
        {stream_.c_str(), kind.c_str(), expected.c_str(), id.c_str(), e.type.c_str(),
         version.c_str(),
         sql_.format == postgres_payload_format::bytea ? hex.c_str() : e.payload.c_str(),
         correlation.c_str(), causation.c_str(), meta.c_str(), now.c_str(), exact},
        what()));
  }

  void add_events(event_columns& c) const {
    std::size_t payload_bytes = 0;
    for (const auto& e : batch_) payload_bytes += e.payload.size() + 5;
    c.payloads.reserve(payload_bytes);
    for (const event_data& e : batch_) {
      c.ids.add_uuid(e.id);
      c.types.add(e.type);
      c.schema_versions.add_int4(static_cast<std::int32_t>(e.schema_version));
      if (sql_.format == postgres_payload_format::jsonb)
        c.payloads.add_jsonb(e.payload);
      else
        c.payloads.add(e.payload);  // json's and bytea's binary forms are the bytes themselves
      c.correlations.add_uuid(e.correlation_id);
      c.causations.add_uuid(e.causation_id);
      c.metadata.add_jsonb(sql::metadata_to_json(e.meta));
    }
  }

  const statements& sql_;
  std::string stream_;
  std::span<const event_data> batch_;
  int kind_ = 0;
  std::int64_t expected_ = 0;
  bool exact_ = false;
  std::size_t wire_size_ = 0;
};

}  // namespace annal::detail::pg
