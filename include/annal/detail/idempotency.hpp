// The one rule every store applies to event ids it has seen before.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <annal/core/error.hpp>
#include <annal/core/record.hpp>
#include <annal/detail/validate.hpp>

namespace annal::detail {

struct stored_ref {
  std::string_view stream_id;
  std::uint64_t stream_version = 0;
  std::uint64_t position = 0;
};

// A retried batch (every id stored, in this stream, at consecutive versions, in order) returns the
// original result. A batch that reuses some stored ids but is not that retry is refused: storing it
// would either drop events the caller believes stored or store an id twice.
// `lookup(id)` returns std::optional<stored_ref>.
template <class Lookup>
std::optional<append_result> check_stored_ids(std::string_view stream_id,
                                              std::span<const event_data> batch, Lookup&& lookup) {
  const std::optional<stored_ref> first = lookup(batch.front().id);
  bool retry = first && first->stream_id == stream_id;
  std::optional<stored_ref> last = first;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const std::optional<stored_ref> found = i == 0 ? first : lookup(batch[i].id);
    if (!first && !found) continue;
    if (!found || !retry || found->stream_id != stream_id ||
        found->stream_version != first->stream_version + i) {
      const std::size_t culprit = found ? i : 0;
      const auto& ref = found ? *found : *first;
      if (!first) {
        throw error(errc::duplicate_event_id,
                    "event id " + detail::id_text(batch[i].id) + " (event " + std::to_string(i) +
                        " of the batch for stream " + quoted_prefix(stream_id) +
                        ") is already stored in stream " + quoted_prefix(ref.stream_id) +
                        " at version " + std::to_string(ref.stream_version));
      }
      throw error(errc::duplicate_event_id,
                  "the batch for stream " + quoted_prefix(stream_id) + " reuses event id " +
                      detail::id_text(batch[culprit].id) + " stored in stream " +
                      quoted_prefix(ref.stream_id) + " at version " +
                      std::to_string(ref.stream_version) +
                      ", but is not a retry of the batch stored there");
    }
    last = found;
  }
  if (!first) return std::nullopt;
  return append_result{append_status::duplicate, last->stream_version, first->position,
                       last->position};
}

// What every store throws for an append to a stream that ends in a tombstone (and is not a retry).
// A template for the separately compiled mode (see detail/validate.hpp).
template <class = void>
[[noreturn]] void throw_stream_deleted(std::string_view stream_id,
                                       std::uint64_t tombstone_version) {
  throw error(errc::stream_deleted,
              "stream " + quoted_prefix(stream_id) + " is deleted: its version " +
                  std::to_string(tombstone_version) + " is a tombstone (" +
                  std::string(tombstone_type) + "), and a deleted stream takes no more appends");
}

#if defined(ANNAL_SEPARATE_COMPILATION)
extern template void throw_stream_deleted(std::string_view, std::uint64_t);
#endif

}  // namespace annal::detail
