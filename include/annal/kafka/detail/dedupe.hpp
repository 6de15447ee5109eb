// kafka_replay's dedupe window: the ids of the last events handed over from each partition.
#pragma once

#include <cstddef>
#include <deque>
#include <unordered_set>

#include <annal/core/detail/event_id.hpp>
#include <annal/core/envelope.hpp>

namespace annal::detail::kafka {

// One set for all partitions, so that a duplicate is caught in whichever partition it lands;
// each partition evicts its own oldest ids, so that a partition read far ahead of another
// cannot push out the ids the other's duplicates will be checked against.
class dedupe_window {
 public:
  // One partition's ids in the window, oldest first; kept with the partition's state.
  using recent_ids = std::deque<event_id>;

  explicit dedupe_window(std::size_t per_partition) : per_partition_(per_partition) {}

  bool contains(const event_id& id) const { return seen_.contains(id); }

  void remember(recent_ids& recent, const event_id& id) {
    seen_.insert(id);
    recent.push_back(id);
    if (recent.size() > per_partition_) {
      seen_.erase(recent.front());
      recent.pop_front();
    }
  }

  // How many ids the window holds: at most per_partition for each partition.
  std::size_t size() const noexcept { return seen_.size(); }

 private:
  std::size_t per_partition_;
  std::unordered_set<event_id, detail::event_id_hash> seen_;
};

}  // namespace annal::detail::kafka
