// kafka_replay's partitions: finding a topic's partitions and end offsets, assigning and pausing
// them.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>

#include <librdkafka/rdkafka.h>

#include <annal/core/error.hpp>
#include <annal/kafka/detail/dedupe.hpp>
#include <annal/kafka/detail/handle.hpp>
#include <annal/store/event_store.hpp>

namespace annal::detail::kafka {

// An event consumed but not yet handed over (position order only).
struct held_event {
  recorded_event event;
  std::int64_t offset = 0;
};

struct partition_state {
  std::int64_t next = RD_KAFKA_OFFSET_BEGINNING;  // after the last event handed over
  std::int64_t end = 0;
  bool done = false;  // replay_to_end() has consumed everything below `end`
  // Position order: consumed, not yet handed over, in offset order; `reached` is where consuming
  // got to (next moves there once nothing is held); `paused` while `held` is full.
  std::deque<held_event> held;
  std::int64_t reached = RD_KAFKA_OFFSET_BEGINNING;
  bool paused = false;
  // dedupe_by_event_id: the ids of this partition's last events handed over, oldest first.
  dedupe_window::recent_ids recent;
};

using partition_map = std::map<std::int32_t, partition_state>;

// The partitions of `topic`, each starting at its offset in `from_offsets` (else its beginning),
// with the end offset it has now. Listing every topic rather than asking for this one: a request
// naming it could make a broker with auto-creation on create it.
inline partition_map find_partitions(rd_kafka_t* consumer, const std::string& topic_name,
                                     const std::map<std::int32_t, std::int64_t>& from_offsets,
                                     int metadata_ms) {
  partition_map partitions;
  const rd_kafka_metadata_t* raw = nullptr;
  if (const auto err = rd_kafka_metadata(consumer, 1, nullptr, &raw, metadata_ms))
    throw error(errc::connection_error,
                "kafka replay: could not list the topics of the cluster to find '" + topic_name +
                    "': " + rd_kafka_err2str(err));
  const metadata_ptr metadata(raw);
  for (int t = 0; t < metadata->topic_cnt; ++t) {
    const rd_kafka_metadata_topic_t& topic = metadata->topics[t];
    if (topic_name != topic.topic) continue;
    if (topic.err)
      throw error(errc::connection_error, "kafka replay: topic '" + topic_name +
                                              "' is unavailable: " + rd_kafka_err2str(topic.err));
    for (int p = 0; p < topic.partition_cnt; ++p) partitions[topic.partitions[p].id] = {};
  }
  if (partitions.empty())
    throw error(errc::invalid_argument, "kafka replay: topic '" + topic_name + "' does not exist");
  for (const auto& [partition, offset] : from_offsets) {
    if (!partitions.contains(partition))
      throw error(errc::invalid_argument, "kafka replay: from_offsets names partition " +
                                              std::to_string(partition) + ", but topic '" +
                                              topic_name + "' has " +
                                              std::to_string(partitions.size()) + " partitions");
    if (offset < 0 && offset != RD_KAFKA_OFFSET_BEGINNING)
      throw error(errc::invalid_argument, "kafka replay: from_offsets gives partition " +
                                              std::to_string(partition) + " the negative offset " +
                                              std::to_string(offset));
    partitions[partition].next = offset;
  }
  for (auto& [partition, state] : partitions) {
    std::int64_t low = 0, high = 0;
    if (const auto err = rd_kafka_query_watermark_offsets(consumer, topic_name.c_str(), partition,
                                                          &low, &high, metadata_ms))
      throw error(errc::connection_error,
                  "kafka replay: could not read the end offset of topic '" + topic_name +
                      "' partition " + std::to_string(partition) + ": " + rd_kafka_err2str(err));
    state.end = high;
    if (high <= low && state.next < 0) state.next = high;  // empty: its next offset is known
    state.done = state.next >= high;
  }
  return partitions;
}

// Assigns every partition to the consumer, each from its next offset.
inline void assign_partitions(rd_kafka_t* consumer, const std::string& topic,
                              const partition_map& partitions) {
  const partition_list_ptr list(
      rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& [partition, state] : partitions)
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = state.next;
  if (const auto err = rd_kafka_assign(consumer, list.get()))
    throw error(errc::connection_error, "kafka replay: could not assign the partitions of topic '" +
                                            topic + "': " + rd_kafka_err2str(err));
}

// Pauses (on) or resumes fetching from one partition.
inline void pause_partition(rd_kafka_t* consumer, const std::string& topic, std::int32_t partition,
                            partition_state& state, bool on) {
  const partition_list_ptr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  const auto err = on ? rd_kafka_pause_partitions(consumer, list.get())
                      : rd_kafka_resume_partitions(consumer, list.get());
  if (err)
    throw error(errc::connection_error, std::string("kafka replay: could not ") +
                                            (on ? "pause" : "resume") + " topic '" + topic +
                                            "' partition " + std::to_string(partition) + ": " +
                                            rd_kafka_err2str(err));
  state.paused = on;
}

// Whether every partition is consumed up to its end offset.
inline bool all_done(const partition_map& partitions) {
  for (const auto& [partition, state] : partitions)
    if (!state.done) return false;
  return true;
}

}  // namespace annal::detail::kafka
