// Input checks every store runs before it touches storage, so each backend refuses the same things
// with the same words.
#pragma once

#include <algorithm>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <annal/core/detail/event_id.hpp>
#include <annal/core/error.hpp>
#include <annal/core/record.hpp>
#include <annal/detail/utf8.hpp>

namespace annal::detail {

// The functions below do not depend on a program's types: they are templates only so that the
// separately compiled mode (ANNAL_SEPARATE_COMPILATION, <annal/src.hpp>) compiles them once, as
// extern templates; header-only, a call instantiates them as it would an inline function.
template <class = void>
std::string quoted_prefix(std::string_view s) {
  constexpr std::size_t shown = 40;
  std::string out = "'";
  out.append(s.substr(0, shown));
  if (s.size() > shown) out += "...";
  out += "'";
  return out;
}

template <class = void>
void validate_stream_id(std::string_view id) {
  if (id.empty()) throw error(errc::invalid_stream_id, "stream id is empty");
  if (id.size() > max_stream_id_size)
    throw error(errc::invalid_stream_id,
                "stream id " + quoted_prefix(id) + " is " + std::to_string(id.size()) +
                    " bytes long; the limit is " + std::to_string(max_stream_id_size));
  if (const auto nul = id.find('\0'); nul != std::string_view::npos)
    throw error(errc::invalid_stream_id,
                "stream id holds a NUL byte at offset " + std::to_string(nul));
  if (const auto bad = utf8_invalid_offset(id); bad != id.size())
    throw error(errc::invalid_stream_id,
                "stream id is not valid UTF-8 (bad byte at offset " + std::to_string(bad) + ")");
}

template <class = void>
void validate_batch(std::string_view stream_id, std::span<const event_data> batch) {
  validate_stream_id(stream_id);
  if (batch.empty())
    throw error(errc::invalid_argument, "append to stream " + quoted_prefix(stream_id) +
                                            " needs at least one event; the batch is empty");
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const auto& e = batch[i];
    if (e.id.is_nil())
      throw error(errc::invalid_argument,
                  "event " + std::to_string(i) + " of the batch for stream " +
                      quoted_prefix(stream_id) + " has a nil event id; use annal::new_event_id()");
    if (e.type.empty())
      throw error(errc::invalid_argument, "event " + std::to_string(i) +
                                              " of the batch for stream " +
                                              quoted_prefix(stream_id) + " has an empty type name");
    if (e.recorded_at != batch.front().recorded_at)
      throw error(errc::invalid_argument,
                  "event " + std::to_string(i) + " of the batch for stream " +
                      quoted_prefix(stream_id) +
                      " has a different recorded_at from event 0; a batch is recorded at one "
                      "instant, so its events share one recorded_at (or all leave it unset)");
    if (e.type == tombstone_type && i + 1 != batch.size())
      throw error(errc::invalid_argument,
                  "event " + std::to_string(i) + " of the batch for stream " +
                      quoted_prefix(stream_id) + " is a tombstone (" + std::string(tombstone_type) +
                      ") but not the batch's last event; nothing may follow a tombstone");
  }
  // Ids repeated inside the batch: pairwise for small batches (no allocation on the common path),
  // sorted copies for large ones.
  const auto duplicate = [&](const event_id& id) {
    throw error(errc::duplicate_event_id, "event id " + detail::id_text(id) +
                                              " appears twice in one batch for stream " +
                                              quoted_prefix(stream_id));
  };
  if (batch.size() <= 32) {
    for (std::size_t i = 1; i < batch.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (batch[i].id == batch[j].id) duplicate(batch[i].id);
  } else {
    std::vector<event_id> ids;
    ids.reserve(batch.size());
    for (const auto& e : batch) ids.push_back(e.id);
    std::sort(ids.begin(), ids.end());
    if (const auto it = std::adjacent_find(ids.begin(), ids.end()); it != ids.end()) duplicate(*it);
  }
}

// The time a batch is recorded at: its own recorded_at when a copy brings one (refused when it
// is earlier than `last`, the store's latest, so recorded times never go backwards), otherwise
// the clock's time, or `last` if the clock is behind it.
template <class = void>
time_point batch_recorded_at(std::string_view stream_id, std::span<const event_data> batch,
                             time_point last, time_point now) {
  const time_point given = batch.front().recorded_at;
  if (given == time_point{}) return std::max(now, last);
  if (given < last)
    throw error(errc::invalid_argument,
                "the batch for stream " + quoted_prefix(stream_id) + " is recorded at " +
                    std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       given.time_since_epoch())
                                       .count()) +
                    " ns since the epoch, earlier than the store's last event (" +
                    std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       last.time_since_epoch())
                                       .count()) +
                    " ns); recorded times never go backwards");
  return given;
}

#if defined(ANNAL_SEPARATE_COMPILATION)
extern template std::string quoted_prefix(std::string_view);
extern template void validate_stream_id(std::string_view);
extern template void validate_batch(std::string_view, std::span<const event_data>);
extern template time_point batch_recorded_at(std::string_view, std::span<const event_data>,
                                             time_point, time_point);
#endif

}  // namespace annal::detail
