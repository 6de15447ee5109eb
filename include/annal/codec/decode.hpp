// Decoding a stored record through a list's registry, and encoding an event into one: the one read
// path every reader (repository, projector, reactor, rebuild) takes, so all follow one rule.
#pragma once

#include <cstdint>
#include <string>

#include <annal/codec/binary.hpp>
#include <annal/codec/registry.hpp>
#include <annal/core/error.hpp>
#include <annal/core/record.hpp>
#include <annal/detail/validate.hpp>

namespace annal {

// What a reader does with a stored event type it does not know at all (no version of its stored
// name is in the reader's list or history). A type it knows at another version always stops it.
enum class unknown_event_policy : std::uint8_t { error, skip };

namespace detail {
inline std::string describe_record(const recorded_event& e) {
  return "stream " + quoted_prefix(e.stream_id) + " version " + std::to_string(e.stream_version) +
         " (event type '" + e.type + "' v" + std::to_string(e.schema_version) + ")";
}

// Decodes one record into the current events of list L and hands each to `on_event`. Upcasting
// happens inside the registry, so every read path that decodes through here upcasts.
template <event_list L, class Codec, class F>
void decode_record(const recorded_event& e, unknown_event_policy policy, F&& on_event) {
  bool known = false;
  try {
    known = event_registry<L, Codec>::decode(e.type, e.schema_version, e.payload, on_event);
  } catch (const error& failure) {
    if (failure.code() != make_error_code(errc::decode_error)) throw;
    throw error(errc::decode_error, describe_record(e) + ": " + failure.what());
  }
  if (known) return;
  using registry = event_registry<L, Codec>;
  // A type the reader lists, at a version it cannot read (written by a newer program, most
  // likely): never skipped, whatever the policy, or the reader would go on without it.
  if (registry::knows_name(e.type))
    throw error(errc::unknown_event_type,
                describe_record(e) +
                    ": the reader lists this event type but reads only schema "
                    "version(s) " +
                    registry::versions_of(e.type) +
                    "; declare the new version (and its upcast) in the reader's build, or run the "
                    "program that wrote it");
  if (policy == unknown_event_policy::error)
    throw error(errc::unknown_event_type,
                describe_record(e) +
                    ": unknown event type; the reader knows no event stored "
                    "under that name and version");
}

template <class Codec, class E>
event_data encode_event(const E& e, event_id id, const command_context& ctx) {
  event_data out;
  out.id = id;
  out.type = std::string(event_name_of<E>);
  out.schema_version = event_version_of<E>;
  Codec::encode(e, out.payload);
  out.correlation_id = ctx.correlation_id;
  out.causation_id = ctx.causation_id;
  out.meta = ctx.meta;
  return out;
}
}  // namespace detail

}  // namespace annal
