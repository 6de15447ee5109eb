// libpq handles: one connection, one result, and the errors a failed statement turns into.
#pragma once

#include <libpq-fe.h>

#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <annal/core/error.hpp>
#include <annal/detail/sql/encoding.hpp>

namespace annal {

namespace detail::pg {

// bytea's hex input form ("\x" and two hex digits a byte): bytes of any value as text.
inline std::string bytea_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 + bytes.size() * 2);
  out += "\\x";
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += digits[b >> 4];
    out += digits[b & 0xf];
  }
  return out;
}

// bytea's hex output form back to bytes; nullopt when the text is not in that form.
inline std::optional<std::string> bytea_bytes(std::string_view text) {
  if (text.size() < 2 || text.substr(0, 2) != "\\x" || text.size() % 2 != 0) return std::nullopt;
  std::string out((text.size() - 2) / 2, '\0');
  for (std::size_t k = 0; k < out.size(); ++k) {
    const int hi = sql::hex_value(text[2 + 2 * k]), lo = sql::hex_value(text[3 + 2 * k]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[k] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

}  // namespace detail::pg

// A query's rows, in text format; owns the libpq result and outlives the connection it came from.
class postgres_rows {
 public:
  postgres_rows() = default;
  explicit postgres_rows(PGresult* r) noexcept : result_(r) {}

  int rows() const noexcept { return result_ ? PQntuples(result_.get()) : 0; }
  int columns() const noexcept { return result_ ? PQnfields(result_.get()) : 0; }
  bool is_null(int row, int col) const noexcept { return PQgetisnull(result_.get(), row, col); }
  std::string_view get(int row, int col) const noexcept {
    return {PQgetvalue(result_.get(), row, col),
            static_cast<std::size_t>(PQgetlength(result_.get(), row, col))};
  }
  // A column read as an integer; throws if it is not one (a NULL reads as 0).
  std::int64_t get_int(int row, int col) const {
    const std::string_view v = get(row, col);
    std::int64_t out = 0;
    if (v.empty()) return 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc{} || end != v.data() + v.size())
      throw error(errc::decode_error, "PostgreSQL column " + std::to_string(col) + " holds '" +
                                          std::string(v) + "', not an integer");
    return out;
  }
  // A bytea column's bytes (the server sends them as hex text); throws if the column is not bytea.
  std::string get_bytea(int row, int col) const {
    std::optional<std::string> bytes = detail::pg::bytea_bytes(get(row, col));
    if (!bytes)
      throw error(errc::decode_error, "PostgreSQL column " + std::to_string(col) +
                                          " is not bytea (it does not start with \\x and hex)");
    return std::move(*bytes);
  }
  // Rows changed by INSERT/UPDATE/DELETE.
  std::uint64_t affected() const {
    const char* n = result_ ? PQcmdTuples(result_.get()) : "";
    return *n ? std::stoull(n) : 0;
  }
  PGresult* handle() const noexcept { return result_.get(); }

 private:
  struct deleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
  };
  std::unique_ptr<PGresult, deleter> result_;
};

namespace detail::pg {

// SQLSTATEs that mean the schema was never migrated: undefined table, function or schema.
inline bool is_missing_schema(std::string_view sqlstate) noexcept {
  return sqlstate == "42P01" || sqlstate == "42883" || sqlstate == "3F000";
}

// Where a connection goes, without the password: for error messages.
inline std::string describe(PGconn* c) {
  if (!c) return "PostgreSQL";
  return std::string("PostgreSQL at ") + (PQhost(c) ? PQhost(c) : "?") + ":" +
         (PQport(c) ? PQport(c) : "?") + " (database " + (PQdb(c) ? PQdb(c) : "?") + ", user " +
         (PQuser(c) ? PQuser(c) : "?") + ")";
}

inline std::string trimmed(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// A parameter in either wire format: NUL-terminated text (format 0) or `length` bytes of a
// type's binary form (format 1).
struct wire_param {
  const char* data;
  int length = 0;
  int format = 0;
};

class connection {
 public:
  // Connects or throws errc::connection_error with libpq's reason (unreachable, bad password...).
  explicit connection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (!conn_) throw error(errc::connection_error, "cannot connect to PostgreSQL: out of memory");
    if (PQstatus(conn_.get()) != CONNECTION_OK)
      throw error(errc::connection_error, "cannot connect to " + describe(conn_.get()) + ": " +
                                              trimmed(PQerrorMessage(conn_.get())));
    // Notices ("relation already exists, skipping") are for interactive sessions, not stderr.
    PQsetNoticeProcessor(
        conn_.get(), [](void*, const char*) {}, nullptr);
  }

  PGconn* handle() const noexcept { return conn_.get(); }
  bool healthy() const noexcept {
    return PQstatus(conn_.get()) == CONNECTION_OK &&
           PQtransactionStatus(conn_.get()) == PQTRANS_IDLE;
  }

  // Checks a result; on failure throws an error naming `what` with the server's message.
  postgres_rows check(PGresult* raw, std::string_view what) const {
    postgres_rows r(raw);
    const ExecStatusType st = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
    fail(raw, what);
  }

  [[noreturn]] void fail(PGresult* raw, std::string_view what) const {
    const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
    const std::string_view sqlstate = state ? state : "";
    const std::string msg =
        trimmed(raw && *PQresultErrorMessage(raw) ? PQresultErrorMessage(raw)
                                                  : PQerrorMessage(conn_.get()));
    if (PQstatus(conn_.get()) != CONNECTION_OK || sqlstate.starts_with("08") ||
        sqlstate.starts_with("57P"))
      throw error(errc::connection_error, "lost the connection to " + describe(conn_.get()) +
                                              " during " + std::string(what) + ": " + msg);
    if (is_missing_schema(sqlstate))
      throw error(errc::io_error, std::string(what) + " failed because the annal schema is " +
                                      "missing: call migrate() first (" + msg + ")");
    if (sqlstate.starts_with("22"))
      throw error(errc::invalid_argument,
                  "PostgreSQL refused the data of " + std::string(what) + ": " + msg);
    throw error(errc::io_error,
                std::string(what) + " failed on " + describe(conn_.get()) + ": " + msg +
                    (sqlstate.empty() ? "" : " [SQLSTATE " + std::string(sqlstate) + "]"));
  }

  postgres_rows exec(const std::string& sql, std::string_view what) const {
    return check(PQexec(conn_.get(), sql.c_str()), what);
  }

  // One round trip; text-format parameters (nullptr = SQL NULL).
  postgres_rows exec_params(const std::string& sql, const std::vector<const char*>& params,
                            std::string_view what) const {
    return check(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(params.size()), nullptr,
                              params.data(), nullptr, nullptr, 0),
                 what);
  }

  // Prepares statement number `slot` under `name` unless this connection has already.
  void prepare(std::size_t slot, const char* name, const std::string& sql, int param_count,
               std::string_view what) {
    if (prepared_.size() <= slot) prepared_.resize(slot + 1, false);
    if (prepared_[slot]) return;
    check(PQprepare(conn_.get(), name, sql.c_str(), param_count, nullptr), what);
    prepared_[slot] = true;
  }

  // Runs statement number `slot` under `name`, preparing it on first use on this connection.
  // Results come as text, or in each column type's binary form when `binary_result`.
  postgres_rows exec_prepared(std::size_t slot, const char* name, const std::string& sql,
                              const std::vector<const char*>& params, std::string_view what,
                              bool binary_result = false) {
    prepare(slot, name, sql, static_cast<int>(params.size()), what);
    return check(PQexecPrepared(conn_.get(), name, static_cast<int>(params.size()), params.data(),
                                nullptr, nullptr, binary_result ? 1 : 0),
                 what);
  }

  // As above, with parameters in text or binary format.
  postgres_rows exec_prepared_wire(std::size_t slot, const char* name, const std::string& sql,
                                   std::span<const wire_param> params, std::string_view what,
                                   bool binary_result = false) {
    const int n = static_cast<int>(params.size());
    prepare(slot, name, sql, n, what);
    std::vector<const char*> values(params.size());
    std::vector<int> lengths(params.size()), formats(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
      values[i] = params[i].data;
      lengths[i] = params[i].length;
      formats[i] = params[i].format;
    }
    return check(PQexecPrepared(conn_.get(), name, n, values.data(), lengths.data(), formats.data(),
                                binary_result ? 1 : 0),
                 what);
  }

 private:
  struct deleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
  };
  std::unique_ptr<PGconn, deleter> conn_;
  std::vector<bool> prepared_;
};

}  // namespace detail::pg
}  // namespace annal
