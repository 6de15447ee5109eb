// postgres_transaction: a read model's rows and its checkpoint in one PostgreSQL transaction.
#pragma once

#include <charconv>
#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <annal/postgres/connection.hpp>
#include <annal/postgres/detail/append.hpp>
#include <annal/postgres/schema.hpp>

namespace annal {

// Bytes for a bytea parameter of postgres_transaction::exec. They travel in bytea's hex form, so
// every byte value, NUL too, arrives as it is; the statement must give the parameter the type bytea
// (a bytea column, or `$1::bytea`). Read them back with postgres_rows::get_bytea.
struct postgres_bytea {
  std::string_view bytes;
};

namespace detail::pg {

// The text form of one query parameter; nullopt is SQL NULL.
template <class T>
std::optional<std::string> to_param(const T& v) {
  if constexpr (std::is_same_v<T, std::nullopt_t>) {
    return std::nullopt;
  } else if constexpr (requires {
                         typename T::value_type;
                         v.has_value();
                         *v;
                       } && !std::is_convertible_v<const T&, std::string_view>) {
    return v ? to_param(*v) : std::nullopt;
  } else if constexpr (std::is_same_v<T, postgres_bytea>) {
    return bytea_hex(v.bytes);
  } else if constexpr (std::is_same_v<T, bool>) {
    return std::string(v ? "t" : "f");
  } else if constexpr (std::is_arithmetic_v<T>) {
    char buf[64];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, end);
  } else {
    static_assert(std::is_convertible_v<const T&, std::string_view>,
                  "postgres_transaction::exec(sql, params...) takes numbers, bools, strings, "
                  "annal::postgres_bytea and std::optional of those as parameters");
    return std::string(std::string_view(v));
  }
}

}  // namespace detail::pg

// Handed to the callable given to postgres_store::transact; valid only during that call. Every
// statement runs in one transaction that commits when the callable returns and rolls back if it
// throws.
class postgres_transaction {
 public:
  postgres_transaction(detail::pg::connection& conn, const detail::pg::statements& sql) noexcept
      : conn_(conn), sql_(sql) {}
  postgres_transaction(const postgres_transaction&) = delete;
  postgres_transaction& operator=(const postgres_transaction&) = delete;

  // Runs one statement with $1, $2... bound to `params` (numbers, bools, strings, postgres_bytea,
  // optionals of those). A string holding a NUL byte is refused: PostgreSQL text cannot hold one,
  // and libpq would cut the string there.
  template <class... P>
  postgres_rows exec(std::string_view sql, const P&... params) {
    const std::optional<std::string> values[] = {detail::pg::to_param(params)..., std::nullopt};
    std::vector<const char*> ptrs;
    for (std::size_t i = 0; i < sizeof...(P); ++i) {
      if (values[i] && values[i]->find('\0') != std::string::npos)
        throw error(errc::invalid_argument,
                    "parameter $" + std::to_string(i + 1) + " of statement '" + shorten(sql) +
                        "' holds a NUL byte, which PostgreSQL text cannot; pass bytes as "
                        "annal::postgres_bytea{...} to a bytea parameter");
      ptrs.push_back(values[i] ? values[i]->c_str() : nullptr);
    }
    return conn_.exec_params(std::string(sql), ptrs, "statement '" + shorten(sql) + "'");
  }

  // Appends in this transaction, with the store's rules: the events become visible, and other
  // appends proceed, when the transaction commits (the position lock is held until then, so keep
  // such transactions short). Lets a command handler store its events and other rows atomically.
  append_result append(std::string_view stream_id, expected_version expect,
                       std::span<const event_data> batch) {
    return detail::pg::append_call(sql_, stream_id, expect, batch).run(conn_);
  }

  // The position a projection has processed up to (0 if it never saved one), locked until this
  // transaction ends so that two instances of one projection cannot both advance it. A missing
  // checkpoint is created at 0 first: FOR UPDATE locks rows, and two fresh instances must meet on
  // one.
  std::uint64_t load_checkpoint(std::string_view name) {
    const std::string n(name);
    const std::string what = "load_checkpoint('" + n + "')";
    postgres_rows r = conn_.exec_params(sql_.load_checkpoint_for_update, {n.c_str()}, what);
    if (r.rows() == 0) {  // the first time only: one round trip per batch afterwards
      conn_.exec_params(sql_.create_checkpoint, {n.c_str()}, what);
      r = conn_.exec_params(sql_.load_checkpoint_for_update, {n.c_str()}, what);
    }
    return r.rows() ? static_cast<std::uint64_t>(r.get_int(0, 0)) : 0;
  }

  void save_checkpoint(std::string_view name, std::uint64_t position) {
    const std::string n(name);
    const std::string p = std::to_string(position);
    conn_.exec_params(sql_.save_checkpoint, {n.c_str(), p.c_str()},
                      "save_checkpoint('" + n + "', " + p + ")");
  }

  // The schema the store lives in (quoted), for statements that join the events table.
  const std::string& schema() const noexcept { return sql_.s; }

 private:
  static std::string shorten(std::string_view sql) {
    return std::string(sql.substr(0, 60)) + (sql.size() > 60 ? "..." : "");
  }

  detail::pg::connection& conn_;
  const detail::pg::statements& sql_;
};

}  // namespace annal
