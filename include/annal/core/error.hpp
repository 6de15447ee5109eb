// annal's error codes and the exception that carries them: failures that are not expected outcomes.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>

namespace annal {

// Expected outcomes (a version conflict, a rejected command) are values, never these.
enum class errc {
  invalid_stream_id = 1,  // empty, oversize, not UTF-8, or holds a NUL byte
  invalid_argument,       // a malformed call: an empty batch, a bad option
  duplicate_event_id,     // an event id is stored already, but not as part of this same batch
  decode_error,           // stored bytes do not decode as the type they claim to be
  unknown_event_type,     // stored data names an event type the reader does not know
  io_error,               // the operating system refused a read, write or sync
  corrupt_log,            // stored data fails its checksum or structure check
  store_failed,           // the store stopped after an unrecoverable error (fail-stop)
  store_locked,           // another process owns the store
  connection_error,       // a database server could not be reached or went away
  handler_failed,         // a user handler threw while processing an event
  stream_deleted,         // the stream ends in a tombstone: it takes no more appends
  diverged,               // a standby's history differs from its primary's
  archived,               // the events asked for were moved to an archive
};

namespace detail {
class error_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "annal"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::invalid_stream_id:
        return "invalid stream id";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::duplicate_event_id:
        return "duplicate event id";
      case errc::decode_error:
        return "decode error";
      case errc::unknown_event_type:
        return "unknown event type";
      case errc::io_error:
        return "I/O error";
      case errc::corrupt_log:
        return "corrupt log";
      case errc::store_failed:
        return "store failed";
      case errc::store_locked:
        return "store locked by another process";
      case errc::connection_error:
        return "connection error";
      case errc::handler_failed:
        return "handler failed";
      case errc::stream_deleted:
        return "stream deleted";
      case errc::diverged:
        return "histories diverge";
      case errc::archived:
        return "archived";
    }
    return "unknown annal error";
  }
};
}  // namespace detail

inline const std::error_category& error_category() noexcept {
  static const detail::error_category_impl category;
  return category;
}

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

// Thrown for bad input and failed I/O. what() is exactly the message, naming what was wrong (unlike
// std::system_error, which appends the category's text); code() says which kind of failure it is.
class error : public std::runtime_error {
 public:
  error(errc code, const std::string& what)
      : std::runtime_error(what), code_(make_error_code(code)) {}
  error(std::error_code code, const std::string& what) : std::runtime_error(what), code_(code) {}

  const std::error_code& code() const noexcept { return code_; }

 private:
  std::error_code code_;
};

namespace detail {
// Whether `e`, or an exception nested in it (a handler's failure wraps its cause), says the
// connection to a database server was lost: what the batch did is either committed whole or not
// at all, so it may be tried again from what the store holds.
inline bool lost_connection(const std::exception& e) {
  const auto* failure = dynamic_cast<const error*>(&e);
  if (failure && failure->code() == make_error_code(errc::connection_error)) return true;
  try {
    std::rethrow_if_nested(e);
  } catch (const std::exception& inner) {
    return lost_connection(inner);
  } catch (...) {
  }
  return false;
}
}  // namespace detail

}  // namespace annal

template <>
struct std::is_error_code_enum<annal::errc> : std::true_type {};
