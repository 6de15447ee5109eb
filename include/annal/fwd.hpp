// Declarations of annal's public types, for users' headers that name them without their
// definitions.
#pragma once

// This header includes no annal header, so every header may include it (tests/layering checks
// both). A class template with a default argument takes the default from here, where alone it may
// appear; its defining header includes this one.
//
// Not declared here: the class templates whose parameters are constrained by a concept
// (repository, projector, snapshotter, reactor_runner, subscription, kafka_publisher,
// snapshot_any_of). Naming one, even as a pointer, checks its arguments against the concept, which
// needs the concept's definition and the argument's (a forward-declared store is incomplete and
// does not satisfy event_store); include their headers instead.

#include <cstdint>

namespace annal {

// core/
enum class errc;
class error;
struct event_info;
template <class E>
struct event_traits;
template <class... E>
struct events;
template <class A>
struct aggregate_traits;
struct envelope_header;
template <class Event>
struct envelope;
struct rejection;
template <class A>
class decision;
struct at_version;
struct at_time;
struct event_data;
struct recorded_event;
class expected_version;
enum class append_status : std::uint8_t;
struct append_result;
struct command_context;

// runtime/
enum class log_level : unsigned char;

// codec/
struct binary_codec;
struct json_codec;
template <class List, class Codec = binary_codec>
class event_registry;
template <class E>
struct enum_traits;
enum class unknown_event_policy : std::uint8_t;

// store/
enum class durability : std::uint8_t;
class memory_store;
class memory_checkpoint;
struct stream_deleted;
struct subscription_options;
struct event_filter;
struct read_progress;
struct repository_options;
struct no_snapshots;
enum class command_status : std::uint8_t;
template <class A>
struct loaded;
template <class A>
struct command_result;

// snapshot/
struct snapshot_record;
struct snapshot_query;
struct snapshot_retention;
class memory_snapshot_store;
struct load_report;
struct snapshot_context;
struct snapshot_every;
struct snapshot_when_slow;
struct snapshot_never;
template <class F>
struct snapshot_if;

// projection/
template <class P>
class memory_read_model;
struct projector_options;
enum class reactor_start : std::uint8_t;
struct reactor_options;
struct rebuild_progress;
struct rebuild_options;
struct rebuild_result;
template <class P>
struct rebuilt;
struct reconciliation;

// process/
template <class... C>
struct commands;
template <class M>
class process_step;
struct command_rejected;
struct deadline_info;
struct routed_result;
enum class process_start : std::uint8_t;
struct process_options;
struct pending_deadline;

// file/
struct posix_io;
template <class IO = posix_io>
class basic_file_log;
using file_log = basic_file_log<posix_io>;
struct file_log_options;
struct file_log_recovery;
class file_checkpoint;
template <class P>
class file_read_model;
class file_snapshot_store;

// sqlite/ (annal::sqlite)
enum class sqlite_checkpoint : std::uint8_t;
struct sqlite_options;
class sqlite_store;
class sqlite_snapshot_store;

// postgres/ (annal::postgres)
enum class postgres_payload_format : std::uint8_t;
struct postgres_options;
class postgres_store;
class postgres_snapshot_store;
class postgres_transaction;
class postgres_projection;
struct postgres_read_model_options;
template <class P>
class postgres_read_model;

// kafka/ (annal::kafka)
struct kafka_publisher_options;
struct kafka_replay_options;
struct kafka_group_options;
class kafka_replay;

// privacy/ (annal::privacy)
template <class T>
struct personal;
class data_key;
class memory_key_store;
class file_key_store;

}  // namespace annal
