// libFuzzer target: the binary codec on arbitrary bytes, for a type holding every supported member
// kind.
#include <cstddef>
#include <cstdint>

#include <annal/codec/binary.hpp>

#include "fuzz_round_trip.hpp"
#include "sample_events.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  fuzz::check<sample::everything, annal::binary_codec>(bytes);
  fuzz::check<sample::deposited, annal::binary_codec>(bytes);
  fuzz::check<sample::point, annal::binary_codec>(bytes);
  return 0;
}
