// The separately compiled part of annal: include this in exactly one source file of a program whose
// translation units all define ANNAL_SEPARATE_COMPILATION (or let annal_add_compiled_library() in
// CMake do both). That file then holds annal's code that does not depend on the program's types —
// the file log's segments, index, recovery and group commit, the memory store's append, the checks
// every store runs and the messages of annal's errors — and the other files do not instantiate it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <annal/codec/decode.hpp>
#include <annal/codec/detail/field_path.hpp>
#include <annal/codec/registry.hpp>
#include <annal/core/detail/event_id.hpp>
#include <annal/detail/idempotency.hpp>
#include <annal/detail/validate.hpp>
#include <annal/file/detail/format.hpp>
#include <annal/file/log.hpp>
#include <annal/runtime/new_event_id.hpp>
#include <annal/store/memory.hpp>
#include <annal/store/repository.hpp>

namespace annal {
template class basic_file_log<posix_io>;

template append_result memory_store::append(std::string_view, expected_version,
                                            std::span<const event_data>);

namespace detail {
template std::string quoted_prefix(std::string_view);
template void validate_stream_id(std::string_view);
template void validate_batch(std::string_view, std::span<const event_data>);
template time_point batch_recorded_at(std::string_view, std::span<const event_data>, time_point,
                                      time_point);
template void throw_stream_deleted(std::string_view, std::uint64_t);
template std::string id_text(const event_id&);
template event_id make_event_id();

template std::string field_path::str() const;
template std::string describe_field(const field_path&);
template void throw_decode_error(std::size_t, const field_path&, std::string_view);
template void throw_json_shape_error(const field_path&, std::string_view);
template void throw_encode_error(const field_path&, std::string_view);
template void registry::rethrow_with_identity(const error&, std::string_view, std::uint32_t);

template std::string describe_record(const recorded_event&);
template void throw_undecodable(const recorded_event&, const error&);
template void throw_unknown_version(const recorded_event&, const std::string&);
template void throw_unknown_type(const recorded_event&);
template void throw_loading_deleted(const recorded_event&);
template event_id derived_event_id(const event_id&, std::size_t);
template event_data unencoded_event(std::string_view, std::uint32_t, event_id,
                                    const command_context&);

template void file_log::copy_view(const recorded_event_view&, recorded_event&);
}  // namespace detail
}  // namespace annal
