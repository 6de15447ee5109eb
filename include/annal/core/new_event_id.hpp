// Fresh event ids. Apart from envelope.hpp because the random generator's headers are costly to
// compile and hydration never needs them.
#pragma once

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <annal/core/envelope.hpp>

namespace annal {

// A fresh random (version 4) event id. Random generators are not thread-safe, hence one per thread.
inline event_id new_event_id() {
  thread_local boost::uuids::random_generator generate;
  return generate();
}

}  // namespace annal
