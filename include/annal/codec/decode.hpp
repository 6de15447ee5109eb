// Decoding a stored record through a list's registry, and encoding an event into one: the one read
// path every reader (repository, projector, reactor, rebuild) takes, so all follow one rule.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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
// The record's identity and the errors of decode_record: templates only so that the separately
// compiled mode compiles them once (see detail/validate.hpp), and out of decode_record so that each
// of its instantiations does not build these messages again.
template <class = void>
std::string describe_record(const recorded_event& e) {
  return "stream " + quoted_prefix(e.stream_id) + " version " + std::to_string(e.stream_version) +
         " (event type '" + e.type + "' v" + std::to_string(e.schema_version) + ")";
}

template <class = void>
[[noreturn]] void throw_undecodable(const recorded_event& e, const error& failure) {
  throw error(errc::decode_error, describe_record(e) + ": " + failure.what());
}

// A type the reader lists, at a version it cannot read (written by a newer program, most likely).
template <class = void>
[[noreturn]] void throw_unknown_version(const recorded_event& e, const std::string& versions) {
  throw error(errc::unknown_event_type,
              describe_record(e) +
                  ": the reader lists this event type but reads only schema "
                  "version(s) " +
                  versions +
                  "; declare the new version (and its upcast) in the reader's build, or run the "
                  "program that wrote it");
}

template <class = void>
[[noreturn]] void throw_unknown_type(const recorded_event& e) {
  throw error(errc::unknown_event_type,
              describe_record(e) +
                  ": unknown event type; the reader knows no event stored "
                  "under that name and version");
}

#if defined(ANNAL_SEPARATE_COMPILATION)
extern template std::string describe_record(const recorded_event&);
extern template void throw_undecodable(const recorded_event&, const error&);
extern template void throw_unknown_version(const recorded_event&, const std::string&);
extern template void throw_unknown_type(const recorded_event&);
#endif

// Decodes one record into the current events of list L and hands each to `on_event`. Upcasting
// happens inside the registry, so every read path that decodes through here upcasts.
template <event_list L, class Codec, class F>
void decode_record(const recorded_event& e, unknown_event_policy policy, F&& on_event) {
  bool known = false;
  try {
    known = event_registry<L, Codec>::decode(e.type, e.schema_version, e.payload, on_event);
  } catch (const error& failure) {
    if (failure.code() != make_error_code(errc::decode_error)) throw;
    throw_undecodable(e, failure);
  }
  if (known) return;
  using registry = event_registry<L, Codec>;
  // Never skipped, whatever the policy, or the reader would go on without it.
  if (registry::knows_name(e.type)) throw_unknown_version(e, registry::versions_of(e.type));
  if (policy == unknown_event_policy::error) throw_unknown_type(e);
}

// A record's fields but its payload: the same code for every event type (a template for the
// separately compiled mode, see detail/validate.hpp), so copying the command's metadata is not
// instantiated once per event type.
template <class = void>
event_data unencoded_event(std::string_view type, std::uint32_t schema_version, event_id id,
                           const command_context& ctx) {
  event_data out;
  out.id = id;
  out.type = std::string(type);
  out.schema_version = schema_version;
  out.correlation_id = ctx.correlation_id;
  out.causation_id = ctx.causation_id;
  out.meta = ctx.meta;
  return out;
}

#if defined(ANNAL_SEPARATE_COMPILATION)
extern template event_data unencoded_event(std::string_view, std::uint32_t, event_id,
                                           const command_context&);
#endif

template <class Codec, class E>
event_data encode_event(const E& e, event_id id, const command_context& ctx) {
  event_data out = unencoded_event(event_name_of<E>, event_version_of<E>, id, ctx);
  Codec::encode(e, out.payload);
  return out;
}
}  // namespace detail

}  // namespace annal
