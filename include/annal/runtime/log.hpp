// The logging hook: where annal reports what it recovered from without failing (a corrupt
// snapshot).
#pragma once

#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace annal {

enum class log_level : unsigned char { debug, info, warning, error };

inline std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warning:
      return "warning";
    case log_level::error:
      return "error";
  }
  return "unknown";
}

using log_handler = std::function<void(log_level, std::string_view)>;

namespace detail {
struct log_sink {
  std::mutex mutex;
  log_handler handler;  // empty: warnings and errors go to stderr
};

inline log_sink& global_log_sink() {
  static log_sink sink;
  return sink;
}
}  // namespace detail

// Replaces the handler for the whole process; an empty one restores the default (warnings and
// errors to stderr); one that does nothing silences annal. Thread-safe; the handler is called under
// a lock, so it must not call set_log_handler itself.
inline void set_log_handler(log_handler handler) {
  auto& sink = detail::global_log_sink();
  std::lock_guard lock(sink.mutex);
  sink.handler = std::move(handler);
}

// Reports one message through the handler.
inline void log(log_level level, std::string_view message) {
  auto& sink = detail::global_log_sink();
  std::lock_guard lock(sink.mutex);
  if (sink.handler) {
    sink.handler(level, message);
  } else if (level >= log_level::warning) {
    std::fprintf(stderr, "annal %s: %.*s\n", to_string(level).data(),
                 static_cast<int>(message.size()), message.data());
  }
}

}  // namespace annal
