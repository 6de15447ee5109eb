// One typed event as a store takes it: a fresh id, its stored name and version, binary payload.
#pragma once

#include <annal/codec/binary.hpp>
#include <annal/codec/decode.hpp>
#include <annal/runtime/new_event_id.hpp>

namespace annal_test {

template <class E>
annal::event_data encoded(const E& e) {
  return annal::detail::encode_event<annal::binary_codec>(e, annal::new_event_id(), {});
}

}  // namespace annal_test
