// The annal tool's kafka:// URLs: a topic kafka_publisher wrote, read through kafka_replay by
// `info` and `events`, and replayed into a store by `copy` (through replica_writer).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <span>
#include <stop_token>
#include <string>
#include <thread>

#include <boost/json.hpp>

#include <annal/core/error.hpp>
#include <annal/kafka/replay.hpp>
#include <annal/store/replication.hpp>
#include <annal/tool/detail/commands.hpp>
#include <annal/tool/detail/store_url.hpp>

namespace annal::tool::detail {

// A bounded, deduplicated replay of the URL's topic; `in_position_order` for listings that follow
// the store's global order. Failing to reach the brokers or to find the topic is bad input (exit
// 2): the URL names nothing the tool can read.
inline std::unique_ptr<kafka_replay> open_kafka(const store_url& url, bool in_position_order,
                                                std::chrono::milliseconds wait) {
  kafka_replay_options options;
  options.topic = url.topic;
  // log_level 0: librdkafka's own log lines (a refused connection, retried) would break the
  // tool's one-line errors; what failed is said by the error.
  options.properties = {{"bootstrap.servers", url.location}, {"log_level", "0"}};
  options.dedupe_by_event_id = true;  // the publisher is at least once
  options.in_position_order = in_position_order;
  options.metadata_timeout = wait;
  try {
    return std::make_unique<kafka_replay>(std::move(options));
  } catch (const error& e) {
    const bool unreached = e.code() == make_error_code(errc::connection_error);
    throw error(errc::invalid_argument,
                "cannot read Kafka topic '" + url.topic + "' from brokers " + url.location + ": " +
                    e.what() +
                    (unreached ? " (waited up to " + std::to_string(wait.count()) +
                                     " ms; --kafka-timeout sets how long)"
                               : std::string()));
  }
}

// ---- info ------------------------------------------------------------------------------------

inline void kafka_info(const store_url& url, kafka_replay& replay, bool json, std::ostream& out) {
  std::uint64_t events = 0, last = 0;
  std::set<std::string> streams;
  time_point first_at{}, last_at{};
  replay.replay_to_end([&](const recorded_event& e) {
    if (events++ == 0 || e.recorded_at < first_at) first_at = e.recorded_at;
    if (e.recorded_at > last_at) last_at = e.recorded_at;
    last = std::max(last, e.position);
    streams.insert(e.stream_id);
  });
  const std::map<std::int32_t, std::int64_t> ends = replay.end_offsets();
  if (json) {
    boost::json::object o;
    o["store"] = name_of(store_kind::kafka);
    o["url"] = url.shown;
    o["topic"] = url.topic;
    o["partitions"] = ends.size();
    boost::json::object offsets;
    for (const auto& [partition, end] : ends) offsets[std::to_string(partition)] = end;
    o["end_offsets"] = std::move(offsets);
    o["events"] = events;
    o["duplicates_skipped"] = replay.duplicates_skipped();
    o["streams"] = streams.size();
    o["last_position"] = last;
    o["first_event_at"] = events ? boost::json::value(iso_time(first_at)) : nullptr;
    o["last_event_at"] = events ? boost::json::value(iso_time(last_at)) : nullptr;
    out << boost::json::serialize(o) << '\n';
    return;
  }
  std::string offsets;
  for (const auto& [partition, end] : ends)
    offsets += (offsets.empty() ? "" : " ") + std::to_string(partition) + ":" + std::to_string(end);
  out << "store:          " << name_of(store_kind::kafka) << '\n'
      << "url:            " << url.shown << '\n'
      << "access:         read-only replay from each partition's start; no offsets committed\n"
      << "topic:          " << url.topic << '\n'
      << "partitions:     " << ends.size() << '\n'
      << "end offsets:    " << offsets << " (partition:offset)\n"
      << "events:         " << events << " (" << replay.duplicates_skipped()
      << " duplicate messages skipped)\n"
      << "streams:        " << streams.size() << '\n'
      << "last position:  " << last << '\n';
  if (events)
    out << "first event at: " << iso_time(first_at) << '\n'
        << "last event at:  " << iso_time(last_at) << '\n';
}

// ---- events ----------------------------------------------------------------------------------

// Prints the events `q` asks for from the topic, in position order up to the topic's end, then,
// following, as they arrive (partition by partition) until `stop()`. Returns how many it printed.
template <class Stop>
std::uint64_t kafka_events(const store_url& url, kafka_replay& replay, const event_query& q,
                           bool json, std::ostream& out, Stop stop) {
  if (q.stream.empty() && q.from == 0)
    throw error(errc::invalid_argument, "--from 0: positions start at 1");
  event_printer<raw_payloads> printer(out, json);
  std::uint64_t shown = 0, last = 0;
  bool stream_seen = false;
  // Whether `e` is one the query asks for (before --type).
  const auto wanted = [&](const recorded_event& e) {
    return q.stream.empty() ? e.position >= q.from : e.stream_id == q.stream;
  };
  replay.replay_to_end([&](const recorded_event& e) {
    last = std::max(last, e.position);
    if (q.stream.empty() && q.to != 0 && e.position > q.to) return false;
    if (!wanted(e)) return true;
    stream_seen = true;
    if (q.type.empty() || e.type == q.type) {
      ++shown;
      printer.print(e);
    }
    return true;
  });
  printer.flush();
  const auto end_text = [&] {
    return last == 0 ? std::string("it is empty") : "last position " + std::to_string(last);
  };
  if (!q.stream.empty() && !stream_seen && !q.follow)
    throw error(errc::invalid_argument,
                "stream '" + q.stream + "' is not on Kafka topic '" + url.topic + "'");
  if (q.stream.empty() && q.from > last + (q.follow ? 1 : 0))
    throw error(errc::invalid_argument, "--from " + std::to_string(q.from) +
                                            " is beyond the end of Kafka topic '" + url.topic +
                                            "' (" + end_text() + ")");
  if (q.stream.empty() && q.to > last)
    throw error(errc::invalid_argument, "--to " + std::to_string(q.to) +
                                            " is beyond the end of Kafka topic '" + url.topic +
                                            "' (" + end_text() +
                                            "; the events up to it were "
                                            "printed)");
  if (!q.follow) return shown;
  // follow() looks at its stop token between polls; the signal flag is turned into a request.
  std::stop_source stopping;
  const std::jthread watcher([&](std::stop_token own) {
    while (!own.stop_requested() && !stop())
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stopping.request_stop();
  });
  replay.follow(
      [&](const recorded_event& e) {
        if (!wanted(e) || (!q.type.empty() && e.type != q.type)) return;
        ++shown;
        printer.print(e);
        printer.flush();
      },
      stopping.get_token());
  return shown;
}

// ---- copy ------------------------------------------------------------------------------------

struct kafka_copy_report {
  std::uint64_t copied = 0;
  std::uint64_t first = 0;  // the first position copied (0: none)
  std::uint64_t last_position = 0;
};

// Replays the topic, in position order, into `target` from the target's next position: what the
// target holds already is skipped, so an interrupted copy is finished by running it again. A gap
// in the topic's positions (an event never published) stops it, naming the positions
// (replica_writer's check).
template <class Target>
kafka_copy_report copy_from_kafka(kafka_replay& replay, Target& target) {
  replica_writer<Target> writer(target);
  kafka_copy_report r;
  replay.replay_to_end([&](const recorded_event& e) {
    const std::size_t written = writer.write(std::span(&e, 1));
    if (written && r.first == 0) r.first = e.position;
    r.copied += written;
  });
  r.last_position = target.last_position();
  return r;
}

inline void print_kafka_copy(const store_url& from, const std::string& to, bool created,
                             const kafka_copy_report& r, bool json, std::ostream& out) {
  if (json) {
    boost::json::object o;
    o["from"] = from.shown;
    o["to"] = to;
    o["created"] = created;
    o["copied"] = r.copied;
    o["first_copied_position"] = r.first;
    o["last_position"] = r.last_position;
    out << boost::json::serialize(o) << '\n';
    return;
  }
  out << "copied " << r.copied << " events";
  if (r.copied) out << " (positions " << r.first << " to " << r.last_position << ")";
  out << " from " << from.shown << " to " << to << (created ? " (created)" : "") << '\n'
      << "target at position " << r.last_position << '\n';
}

}  // namespace annal::tool::detail
