// Replays a topic written by kafka_publisher: every partition, by offset, as recorded_events again.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <stop_token>
#include <string>
#include <unordered_set>
#include <utility>

#include <librdkafka/rdkafka.h>
#include <boost/container_hash/hash.hpp>

#include <annal/core/error.hpp>
#include <annal/kafka/detail/client.hpp>
#include <annal/kafka/detail/handle.hpp>
#include <annal/kafka/detail/record.hpp>
#include <annal/kafka/properties.hpp>
#include <annal/store/event_store.hpp>

namespace annal {

struct kafka_replay_options {
  std::string topic{};
  // librdkafka consumer properties (bootstrap.servers, security...). group.id defaults to
  // "annal.replay": librdkafka needs one to assign partitions, but a replay never commits offsets.
  kafka_properties properties{};
  // Where each partition starts (an offset, or -2 for its beginning, as next_offsets() gives it): a
  // partition not listed starts at its beginning.
  std::map<std::int32_t, std::int64_t> from_offsets{};
  // Skip a message whose event id was handed over before (the publisher is at least once). Holds
  // every id seen, 16 bytes plus overhead each, for the replay's lifetime.
  bool dedupe_by_event_id = false;
  // How long a wait for messages lasts; bounds how late a stop request is noticed.
  std::chrono::milliseconds poll_interval{100};
  // How long to wait for the cluster's answer about the topic's partitions and end offsets.
  std::chrono::milliseconds metadata_timeout{10000};
};

// Consumes every partition of a topic and hands each message, rebuilt from its headers, to a
// visitor `(const recorded_event&) -> void | bool` (false stops). One stream's events arrive in
// their order, because they share a partition; events of different partitions interleave, and
// `position` says where each stood in the store's global order. A message without annal's headers,
// or with a header that does not parse, is an errc::decode_error naming topic, partition and
// offset.
class kafka_replay {
 public:
  explicit kafka_replay(kafka_replay_options options) : options_(std::move(options)) {
    if (options_.topic.empty())
      throw error(errc::invalid_argument, "kafka replay: the topic name is empty");
    detail::kafka::conf_ptr conf = detail::kafka::make_conf(
        {{"group.id", "annal.replay"}}, options_.properties,
        // Replays start where they are told and never move a group's committed offsets; a start
        // offset that retention deleted is an error, not a silent jump.
        {{"enable.auto.commit", "false"},
         {"enable.auto.offset.store", "false"},
         {"enable.partition.eof", "true"},
         {"auto.offset.reset", "error"}},
        "kafka replay");
    consumer_ = detail::kafka::make_handle(RD_KAFKA_CONSUMER, std::move(conf), "kafka replay");
    find_partitions();
    assign();
  }

  kafka_replay(const kafka_replay&) = delete;
  kafka_replay& operator=(const kafka_replay&) = delete;

  ~kafka_replay() {
    if (consumer_) rd_kafka_consumer_close(consumer_.get());
  }

  // A bounded replay: every message up to the end offsets the partitions had when this replay was
  // made (later messages are left for follow()). Returns how many events it handed over.
  template <class F>
  std::uint64_t replay_to_end(F&& visit, std::stop_token stop = {}) {
    std::uint64_t handed = 0;
    while (!stop.stop_requested() && !at_end()) {
      bool go_on = true;
      handed += poll_one(visit, true, go_on);
      if (!go_on) break;
    }
    return handed;
  }

  // A continuous replay: hands over messages as they arrive until `stop` is requested or the
  // visitor returns false. Returns how many events it handed over.
  template <class F>
  std::uint64_t follow(F&& visit, std::stop_token stop) {
    if (refetch_) {
      assign();
      refetch_ = false;
    }
    std::uint64_t handed = 0;
    bool go_on = true;
    while (go_on && !stop.stop_requested()) handed += poll_one(visit, false, go_on);
    return handed;
  }

  // The next offset of each partition: where a later replay (from_offsets) carries on. A partition
  // nothing was read from yet shows -2 (librdkafka's "beginning").
  std::map<std::int32_t, std::int64_t> next_offsets() const {
    std::map<std::int32_t, std::int64_t> out;
    for (const auto& [partition, state] : partitions_) out[partition] = state.next;
    return out;
  }
  // The end offsets observed when the replay was made: where replay_to_end() stops.
  std::map<std::int32_t, std::int64_t> end_offsets() const {
    std::map<std::int32_t, std::int64_t> out;
    for (const auto& [partition, state] : partitions_) out[partition] = state.end;
    return out;
  }
  // Where the event being handed to the visitor came from (valid during the visitor's call).
  std::int32_t partition() const noexcept { return current_partition_; }
  std::int64_t offset() const noexcept { return current_offset_; }
  std::uint64_t duplicates_skipped() const noexcept { return duplicates_; }
  const std::string& topic() const noexcept { return options_.topic; }

 private:
  struct partition_state {
    std::int64_t next = RD_KAFKA_OFFSET_BEGINNING;
    std::int64_t end = 0;
    bool done = false;  // replay_to_end() has everything below `end`
  };

  int metadata_ms() const { return static_cast<int>(options_.metadata_timeout.count()); }

  // Listing every topic rather than asking for this one: a request naming it could make a broker
  // with auto-creation on create it.
  void find_partitions() {
    const rd_kafka_metadata_t* raw = nullptr;
    if (const auto err = rd_kafka_metadata(consumer_.get(), 1, nullptr, &raw, metadata_ms()))
      throw error(errc::connection_error,
                  "kafka replay: could not list the topics of the cluster to find '" +
                      options_.topic + "': " + rd_kafka_err2str(err));
    const detail::kafka::metadata_ptr metadata(raw);
    for (int t = 0; t < metadata->topic_cnt; ++t) {
      const rd_kafka_metadata_topic_t& topic = metadata->topics[t];
      if (options_.topic != topic.topic) continue;
      if (topic.err)
        throw error(errc::connection_error, "kafka replay: topic '" + options_.topic +
                                                "' is unavailable: " + rd_kafka_err2str(topic.err));
      for (int p = 0; p < topic.partition_cnt; ++p) partitions_[topic.partitions[p].id] = {};
    }
    if (partitions_.empty())
      throw error(errc::invalid_argument,
                  "kafka replay: topic '" + options_.topic + "' does not exist");
    for (const auto& [partition, offset] : options_.from_offsets) {
      if (!partitions_.contains(partition))
        throw error(errc::invalid_argument, "kafka replay: from_offsets names partition " +
                                                std::to_string(partition) + ", but topic '" +
                                                options_.topic + "' has " +
                                                std::to_string(partitions_.size()) + " partitions");
      if (offset < 0 && offset != RD_KAFKA_OFFSET_BEGINNING)
        throw error(errc::invalid_argument, "kafka replay: from_offsets gives partition " +
                                                std::to_string(partition) +
                                                " the negative offset " + std::to_string(offset));
      partitions_[partition].next = offset;
    }
    for (auto& [partition, state] : partitions_) {
      std::int64_t low = 0, high = 0;
      if (const auto err = rd_kafka_query_watermark_offsets(consumer_.get(), options_.topic.c_str(),
                                                            partition, &low, &high, metadata_ms()))
        throw error(errc::connection_error,
                    "kafka replay: could not read the end offset of topic '" + options_.topic +
                        "' partition " + std::to_string(partition) + ": " + rd_kafka_err2str(err));
      state.end = high;
      if (high <= low && state.next < 0) state.next = high;  // empty: its next offset is known
      state.done = state.next >= high;
    }
  }

  void assign() {
    const detail::kafka::partition_list_ptr list(
        rd_kafka_topic_partition_list_new(static_cast<int>(partitions_.size())));
    for (const auto& [partition, state] : partitions_)
      rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), partition)->offset =
          state.next;
    if (const auto err = rd_kafka_assign(consumer_.get(), list.get()))
      throw error(errc::connection_error,
                  "kafka replay: could not assign the partitions of topic '" + options_.topic +
                      "': " + rd_kafka_err2str(err));
  }

  bool at_end() const {
    for (const auto& [partition, state] : partitions_)
      if (!state.done) return false;
    return true;
  }

  // Waits for one message or event; returns 1 when an event was handed to the visitor.
  template <class F>
  std::uint64_t poll_one(F& visit, bool bounded, bool& go_on) {
    const detail::kafka::message_ptr m(
        rd_kafka_consumer_poll(consumer_.get(), static_cast<int>(options_.poll_interval.count())));
    if (!m) return 0;
    const auto found = partitions_.find(m->partition);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // The offset of an end-of-partition event is the partition's end at that moment.
      if (found != partitions_.end()) {
        partition_state& state = found->second;
        state.next = std::max(state.next, bounded ? std::min(m->offset, state.end) : m->offset);
        if (m->offset >= state.end) state.done = true;
      }
      return 0;
    }
    if (m->err) {
      consumer_failure(*m);
      return 0;
    }
    if (found == partitions_.end()) return 0;
    partition_state& state = found->second;
    if (bounded && m->offset >= state.end) {
      // Past the bound: left for follow(), which fetches it again from `next`.
      state.next = std::max(state.next, state.end);
      state.done = true;
      refetch_ = true;
      return 0;
    }
    // A message that fails to decode or to be handled is not passed: next_offsets() stays on it.
    detail::kafka::decode_message(*m, options_.topic, event_);
    const bool duplicate = options_.dedupe_by_event_id && seen_.contains(event_.id);
    if (duplicate) {
      ++duplicates_;
    } else {
      current_partition_ = m->partition;
      current_offset_ = m->offset;
      go_on = detail::visit_continue(visit, event_);
      if (options_.dedupe_by_event_id) seen_.insert(event_.id);
    }
    state.next = m->offset + 1;
    if (bounded && state.next >= state.end) state.done = true;
    return duplicate ? 0 : 1;
  }

  // librdkafka recovers from most consumer errors by itself (a broker restarts, a leader moves);
  // those are logged. The ones that cannot get better stop the replay.
  void consumer_failure(const rd_kafka_message_t& m) {
    const std::string what = rd_kafka_message_errstr(&m);
    switch (m.err) {
      case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
      case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
        throw error(errc::invalid_argument,
                    "kafka replay: the start offset of topic '" + options_.topic + "' partition " +
                        std::to_string(m.partition) +
                        " is outside the partition (deleted by retention?): " + what);
      case RD_KAFKA_RESP_ERR__FATAL:
      case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
      case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
      case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
        throw error(errc::connection_error, "kafka replay: consuming topic '" + options_.topic +
                                                "' partition " + std::to_string(m.partition) +
                                                " failed: " + what);
      default:
        log(log_level::warning,
            "kafka replay of topic '" + options_.topic + "': " + what + " (retrying)");
    }
  }

  kafka_replay_options options_;
  std::map<std::int32_t, partition_state> partitions_;
  recorded_event event_;  // reused: its strings keep their capacity from message to message
  std::unordered_set<event_id, boost::hash<event_id>> seen_;
  std::uint64_t duplicates_ = 0;
  bool refetch_ = false;  // replay_to_end() consumed messages past its bound, which follow() wants
  std::int32_t current_partition_ = -1;
  std::int64_t current_offset_ = -1;
  detail::kafka::handle_ptr consumer_;
};

}  // namespace annal
