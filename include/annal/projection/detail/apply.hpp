// Decodes one stored record through the registry (upcasting) and hands it to a projection's
// handler.
#pragma once

#include <annal/codec/decode.hpp>
#include <annal/projection/projection.hpp>
#include <annal/store/event_store.hpp>

namespace annal::detail {

// Events the projection does not list are skipped: a read model sees only what it declared.
template <class P, class Codec>
void project_record(P& p, const recorded_event& e) {
  decode_record<typename P::events, Codec>(e, unknown_event_policy::skip, [&](const auto& ev) {
    invoke_handler("projection", e, e.type, e.schema_version, [&] { project_event(p, ev, e); });
  });
}

}  // namespace annal::detail
