// Test helpers: a temporary directory removed at scope exit, and a capture of annal::log messages.
#pragma once

#include <atomic>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <annal/runtime/log.hpp>

namespace test {

class temp_dir {
 public:
  temp_dir() {
    static std::atomic<unsigned> counter{0};
    std::random_device seed;
    path_ = std::filesystem::temp_directory_path() /
            ("annal-test-" + std::to_string(seed()) + "-" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;  // cleanup of a test directory: nothing to report if it fails
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// Routes annal::log into a list while alive; restores the default (stderr) afterwards.
class captured_log {
 public:
  captured_log() {
    annal::set_log_handler([this](annal::log_level level, std::string_view message) {
      std::lock_guard lock(mutex_);
      (level >= annal::log_level::warning ? warnings_ : infos_).emplace_back(message);
    });
  }
  captured_log(const captured_log&) = delete;
  captured_log& operator=(const captured_log&) = delete;
  ~captured_log() { annal::set_log_handler({}); }

  std::vector<std::string> warnings() const {
    std::lock_guard lock(mutex_);
    return warnings_;
  }
  std::vector<std::string> infos() const {
    std::lock_guard lock(mutex_);
    return infos_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> warnings_;
  std::vector<std::string> infos_;
};

}  // namespace test
