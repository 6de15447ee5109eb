// Decodes one stored record through the registry (upcasting) and hands it to a projection's
// handler.
#pragma once

#include <annal/codec/decode.hpp>
#include <annal/projection/projection.hpp>
#include <annal/store/event_store.hpp>
#include <annal/store/filter.hpp>

namespace annal::detail {

// What a reader of List asks the store for: every stored name its registry reads (old versions
// and retired events included), so the store need not hand out, nor this side decode, the rest.
template <class List, class Codec>
event_filter filter_of() {
  return event_filter{event_registry<List, Codec>::stored_names(), {}};
}

// Events the projection does not list are skipped: a read model sees only what it declared.
template <class P, class Codec>
void project_record(P& p, const recorded_event& e) {
  decode_record<typename P::events, Codec>(e, unknown_event_policy::skip, [&](const auto& ev) {
    invoke_handler("projection", e, e.type, e.schema_version, [&] { project_event(p, ev, e); });
  });
}

}  // namespace annal::detail
