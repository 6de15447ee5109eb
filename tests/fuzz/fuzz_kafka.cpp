// libFuzzer target: a Kafka message's headers, key and value, as kafka_replay decodes them. Anyone
// who can write to the topic chooses these bytes. Whatever decodes must be the event the
// publisher's header encoder writes back: encoding it and decoding that gives the same event.
#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <annal/core/error.hpp>
#include <annal/kafka/detail/record.hpp>

namespace {

namespace k = annal::detail::kafka;

[[noreturn]] void crash(const char* what) {
  std::fprintf(stderr, "kafka decode failure: %s\n", what);
  std::abort();
}

// Decodes from header values indexed like k::header_names; nullopt where a header is missing.
bool decode(const std::array<std::optional<std::string>, k::header_names.size()>& values,
            std::optional<std::string_view> key, std::string_view payload,
            annal::recorded_event& out) {
  const auto fail = [](const std::string& why) {
    throw annal::error(annal::errc::decode_error, why);
  };
  const auto header = [&](std::string_view name) -> std::string_view {
    for (std::size_t i = 0; i < k::header_names.size(); ++i)
      if (k::header_names[i] == name) {
        if (!values[i]) fail("header '" + std::string(name) + "' is missing");
        return *values[i];
      }
    crash("decode_event asked for a header the publisher does not write");
  };
  try {
    k::decode_event(header, key, payload, out, fail);
    return true;
  } catch (const annal::error& e) {
    if (e.code() != annal::errc::decode_error)
      crash("decoding threw an error other than decode_error");
    return false;
  }
}

}  // namespace

// The input: each header's presence and value, then whether there is a key and its bytes, then
// the payload (the rest).
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  std::array<std::optional<std::string>, k::header_names.size()> values;
  for (auto& v : values)
    if (in.ConsumeBool()) v = in.ConsumeRandomLengthString(256);
  std::optional<std::string> key;
  if (in.ConsumeBool()) key = in.ConsumeRandomLengthString(256);
  const std::string payload = in.ConsumeRemainingBytesAsString();

  annal::recorded_event first;
  if (!decode(values, key, payload, first)) return 0;

  // What decoded is an event: the publisher's encoding of it decodes to the same event.
  k::header_encoder encoder;
  encoder.encode(first);
  std::array<std::optional<std::string>, k::header_names.size()> again;
  for (std::size_t i = 0; i < again.size(); ++i) again[i] = std::string(encoder.value(i));
  annal::recorded_event second;
  if (!decode(again, first.stream_id, first.payload, second))
    crash("the encoding of a decoded event does not decode");
  if (first != second) crash("the encoding of a decoded event decodes to another event");
  return 0;
}
