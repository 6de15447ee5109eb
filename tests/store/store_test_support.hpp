// Helpers for the store tests: scratch directories and store fixtures for the conformance suite.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include <annal/file/log.hpp>
#include <annal/store/memory.hpp>

namespace annal_test_store {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at scope exit.
class scratch_dir {
 public:
  scratch_dir() {
    static std::atomic<int> counter{0};
    const char* base = std::getenv("TMPDIR");
    path_ = std::filesystem::path(base && *base ? base : "/tmp") /
            ("annal-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~scratch_dir() {
    std::error_code ignored;  // best effort: a leftover scratch directory harms nothing
    std::filesystem::remove_all(path_, ignored);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path log() const { return path_ / "log"; }

 private:
  std::filesystem::path path_;
};

struct memory_fixture {
  annal::memory_store s;
  annal::memory_store& store() { return s; }
};

template <annal::durability Mode, std::uint64_t SegmentSize = (std::uint64_t{64} << 20)>
struct file_log_fixture {
  scratch_dir dir;
  std::optional<annal::file_log> log;
  static annal::file_log_options options() {
    annal::file_log_options o;
    o.sync = Mode;
    o.segment_size = SegmentSize;
    return o;
  }
  file_log_fixture() { log.emplace(dir.log(), options()); }
  annal::file_log& store() { return *log; }
  void reopen() {
    log.reset();
    log.emplace(dir.log(), options());
  }
};

}  // namespace annal_test_store
