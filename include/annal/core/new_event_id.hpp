// Fresh event ids. Apart from envelope.hpp because the random generator's headers are costly to
// compile and hydration never needs them.
#pragma once

#include <chrono>
#include <cstdint>

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <annal/core/envelope.hpp>

namespace annal {

// A fresh time-ordered event id: a UUID version 7 (RFC 9562), 48 bits of Unix milliseconds then 74
// random bits. Ids made later sort later, so a store's unique index on event ids grows at its
// right edge instead of touching a random page per insert (Marten's sequential "COMB" ids exist for
// the same reason); the random bits keep ids from different threads and machines apart. Random
// generators are not thread-safe, hence one per thread.
inline event_id new_event_id() {
  thread_local boost::uuids::random_generator generate;
  event_id id = generate();
  const auto ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  for (int i = 0; i < 6; ++i) id.data[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  id.data[6] = static_cast<std::uint8_t>(0x70 | (id.data[6] & 0x0f));  // version 7
  id.data[8] = static_cast<std::uint8_t>(0x80 | (id.data[8] & 0x3f));  // RFC 9562 variant
  return id;
}

}  // namespace annal
