// libFuzzer target: the JSON codec on arbitrary text, for a type holding every supported member
// kind.
#include <cstddef>
#include <cstdint>

#include <annal/codec/json.hpp>

#include "fuzz_round_trip.hpp"
#include "sample_events.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  fuzz::check<sample::everything, annal::json_codec>(text);
  fuzz::check<sample::deposited, annal::json_codec>(text);
  fuzz::check<sample::point, annal::json_codec>(text);
  return 0;
}
