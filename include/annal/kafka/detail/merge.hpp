// kafka_replay's position-order merge: events held per partition, handed over lowest position
// first.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <annal/kafka/detail/partitions.hpp>

namespace annal::detail::kafka {

// Moves a partition's next offset to `to`, or, while it holds events not yet handed over (in
// position order), notes that consuming got there.
inline void advance(partition_state& state, std::int64_t to, bool in_position_order) {
  if (in_position_order && !state.held.empty())
    state.reached = std::max(state.reached, to);
  else
    state.next = std::max(state.next, to);
}

inline bool nothing_held(const partition_map& partitions) {
  for (const auto& [partition, state] : partitions)
    if (!state.held.empty()) return false;
  return true;
}

// Hands over held events, lowest position first, while every partition not yet consumed to its
// end holds one to compare; `hand_over(partition, state, held_event)` returns 1 if it handed the
// event to the visitor, `resume(partition, state)` resumes a paused partition whose held events
// fell to half of `held_per_partition`. Returns how many were handed over.
template <class HandOver, class Resume>
std::uint64_t release_held(partition_map& partitions, std::size_t held_per_partition, bool& go_on,
                           HandOver&& hand_over, Resume&& resume) {
  std::uint64_t handed = 0;
  while (go_on) {
    partition_map::iterator lowest = partitions.end();
    for (auto it = partitions.begin(); it != partitions.end(); ++it) {
      if (it->second.held.empty()) {
        if (!it->second.done) return handed;  // its next event may come before every held one
        continue;
      }
      if (lowest == partitions.end() ||
          it->second.held.front().event.position < lowest->second.held.front().event.position)
        lowest = it;
    }
    if (lowest == partitions.end()) return handed;
    partition_state& state = lowest->second;
    const held_event& h = state.held.front();
    handed += hand_over(lowest->first, state, h);
    state.next = h.offset + 1;
    state.held.pop_front();
    if (state.held.empty()) state.next = std::max(state.next, state.reached);
    if (state.paused && state.held.size() <= held_per_partition / 2) resume(lowest->first, state);
  }
  return handed;
}

// After a replay_to_end() in position order that stopped early: what is held was not handed over
// and is fetched again from `next`. Resumes paused partitions through `resume(partition, state)`;
// returns whether anything was dropped (so must be fetched again).
template <class Resume>
bool drop_held(partition_map& partitions, Resume&& resume) {
  bool dropped = false;
  for (auto& [partition, state] : partitions) {
    if (state.paused) resume(partition, state);
    if (state.held.empty()) continue;
    state.held.clear();
    state.reached = state.next;
    state.done = state.next >= state.end;
    dropped = true;
  }
  return dropped;
}

}  // namespace annal::detail::kafka
