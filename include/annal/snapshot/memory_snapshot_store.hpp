// The in-memory snapshot store: thread-safe, for tests and for processes that rebuild on start.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <annal/snapshot/snapshot_store.hpp>

namespace annal {

class memory_snapshot_store {
 public:
  explicit memory_snapshot_store(snapshot_retention retention = {})
      : retention_(detail::checked(retention)) {}
  memory_snapshot_store(const memory_snapshot_store&) = delete;
  memory_snapshot_store& operator=(const memory_snapshot_store&) = delete;

  void save(const snapshot_record& record) {
    detail::validate_aggregate_name(record.aggregate_name);
    std::lock_guard lock(mutex_);
    detail::keep_snapshot(streams_[record.stream_id], record, retention_);
  }

  std::optional<snapshot_record> load(std::string_view aggregate_name, std::string_view stream_id,
                                      snapshot_query q = {}) const {
    std::lock_guard lock(mutex_);
    const auto it = streams_.find(std::string(stream_id));
    if (it == streams_.end()) return std::nullopt;
    if (const snapshot_record* r = detail::find_snapshot(it->second, aggregate_name, q)) return *r;
    return std::nullopt;
  }

  // Every snapshot kept for an aggregate and stream, oldest first: for tests and tools.
  std::vector<snapshot_record> list(std::string_view aggregate_name,
                                    std::string_view stream_id) const {
    std::lock_guard lock(mutex_);
    const auto it = streams_.find(std::string(stream_id));
    return it == streams_.end() ? std::vector<snapshot_record>{}
                                : detail::snapshots_of(it->second, aggregate_name);
  }

 private:
  snapshot_retention retention_;
  mutable std::mutex mutex_;
  // Per stream, the snapshots of every aggregate reading it, sorted by (aggregate name, version).
  std::unordered_map<std::string, std::vector<snapshot_record>> streams_;
};

}  // namespace annal
