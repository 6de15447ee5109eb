// Deleting a stream: a tombstone event ends it, and every store refuses appends after it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/hana/define_struct.hpp>
#include <boost/uuid/name_generator_sha1.hpp>

#include <annal/codec/binary.hpp>
#include <annal/codec/decode.hpp>
#include <annal/core/event.hpp>
#include <annal/store/event_store.hpp>

namespace annal {

// The tombstone. The stream's history stays readable (audit, time travel to before the deletion);
// what the law says must go is erased by shredding its subject's key (annal/privacy). A projection
// that keeps rows per stream lists this event and removes the row in its handler.
struct stream_deleted {
  BOOST_HANA_DEFINE_STRUCT(stream_deleted, (std::string, reason));
  friend bool operator==(const stream_deleted&, const stream_deleted&) = default;
};
ANNAL_EVENT(stream_deleted, "annal.stream_deleted", 1);
static_assert(event_name_of<stream_deleted> == tombstone_type);

// Appends the tombstone with `expect` as the expectation: a conflict comes back as a value, like
// any append's, and a stream deleted already throws errc::stream_deleted. With ctx.command_id set,
// the tombstone's id derives from it, so re-sending the deletion after a lost acknowledgement
// answers `duplicate` instead of throwing. Codec: the one the stream's readers decode with.
template <class Codec = binary_codec, event_store S>
append_result delete_stream(S& store, std::string_view stream_id, expected_version expect,
                            std::string reason = {}, const command_context& ctx = {}) {
  const event_id id = ctx.command_id.is_nil() ? new_event_id()
                                              : boost::uuids::name_generator_sha1(ctx.command_id)(
                                                    tombstone_type.data(), tombstone_type.size());
  const event_data tombstone =
      detail::encode_event<Codec>(stream_deleted{std::move(reason)}, id, ctx);
  return store.append(stream_id, expect, std::span<const event_data>(&tombstone, 1));
}

// Whether the stream ends in a tombstone, as of this read. For queries and screens: an append
// that races with a deletion learns of it from the store itself (errc::stream_deleted).
template <event_store S>
bool is_deleted(const S& store, std::string_view stream_id) {
  const std::uint64_t version = store.stream_version(stream_id);
  bool deleted = false;
  if (version != 0)
    store.read_stream(
        stream_id, version, [&](const recorded_event& e) { deleted = e.type == tombstone_type; },
        1);
  return deleted;
}

}  // namespace annal
