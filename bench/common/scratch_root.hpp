// Where a benchmark keeps its files: $ANNAL_BENCH_DIR (default /tmp)/annal-bench-<name>-<pid>,
// removed when the process exits.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace annal_bench {

inline std::filesystem::path bench_root(std::string_view name) {
  const char* env = std::getenv("ANNAL_BENCH_DIR");
  return std::filesystem::path(env && *env ? env : "/tmp") /
         ("annal-bench-" + std::string(name) + "-" + std::to_string(::getpid()));
}

struct remove_at_exit {
  std::filesystem::path root;
  ~remove_at_exit() {
    std::error_code ignored;  // best effort: leftovers under the bench root harm nothing
    std::filesystem::remove_all(root, ignored);
  }
};

}  // namespace annal_bench
