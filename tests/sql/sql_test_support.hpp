// Helpers the SQL backend tests share: temporary directories and event batches.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <annal/store/event_store.hpp>

namespace annal_test {

// A fresh directory under $TMPDIR, removed with everything in it when the object goes.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "annal-sql-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

inline annal::event_data make_event(std::string type, std::string payload) {
  annal::event_data e;
  e.id = annal::new_event_id();
  e.type = std::move(type);
  e.payload = std::move(payload);
  return e;
}

// `n` events of type "counted" whose JSON payloads say which batch and index they are.
inline std::vector<annal::event_data> make_batch(std::size_t n, std::size_t tag = 0) {
  std::vector<annal::event_data> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(make_event(
        "counted", "{\"tag\":" + std::to_string(tag) + ",\"i\":" + std::to_string(i) + "}"));
  return out;
}

}  // namespace annal_test
