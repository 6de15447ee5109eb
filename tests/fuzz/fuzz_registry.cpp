// libFuzzer target: the registry on arbitrary (name, version, payload) records, upcasting included.
// Input layout: name length (1 byte), name, version (uint32 LE), payload (the rest).
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <annal/codec/binary.hpp>
#include <annal/codec/registry.hpp>

#include "fuzz_round_trip.hpp"
#include "sample_events.hpp"

using registry = annal::event_registry<sample::bank_events>;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t name_size = data[0];
  if (size < 1 + name_size + 4) return 0;
  const std::string_view name(reinterpret_cast<const char*>(data + 1), name_size);
  std::uint32_t version = 0;
  std::memcpy(&version, data + 1 + name_size, 4);
  const std::string_view payload(reinterpret_cast<const char*>(data + 5 + name_size),
                                 size - 5 - name_size);
  try {
    registry::decode(name, version, payload, [](const auto& e) {
      // Every delivered current event is stored again as itself and must read back unchanged.
      using E = std::remove_cvref_t<decltype(e)>;
      std::string bytes;
      registry::encode(e, bytes);
      int delivered = 0;
      const bool known = registry::decode(
          annal::event_name_of<E>, annal::event_version_of<E>, bytes, [&](const auto& back) {
            ++delivered;
            if constexpr (std::is_same_v<std::remove_cvref_t<decltype(back)>, E>) {
              if (!test_support::same(e, back))
                fuzz::fail("a current event changed on its way through the registry");
            } else {
              fuzz::fail("a current event decoded as another type");
            }
          });
      if (!known || delivered != 1) fuzz::fail("a current event is not read back exactly once");
    });
  } catch (const annal::error& e) {
    if (e.code() != annal::errc::decode_error)
      fuzz::fail("decode threw an error other than decode_error");
  }
  return 0;
}
