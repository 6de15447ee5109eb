// Decode + fold of 10M small stored events: annal's registry against a hand-written memcpy decoder.
// Groups: decode_fold (no old versions in the data), decode_fold_v1_10pct (10% stored as v1).
// Variants: floor (hand-written), annal (registry, no history declared), annal_chain (registry with
// an upcast chain declared for deposited).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>

#include <boost/hana/define_struct.hpp>

#include <annal/codec/binary.hpp>
#include <annal/codec/registry.hpp>

#include "common/ratio_reporter.hpp"

namespace bank {

enum class currency : std::uint8_t { eur, usd, gbp };
ANNAL_ENUM_RANGE(currency, currency::eur, currency::gbp);

// Stored layout of deposited v2: int64 cents, uint8 currency, uint32 teller (13 bytes).
struct deposited_v1 {
  BOOST_HANA_DEFINE_STRUCT(deposited_v1, (std::int32_t, euros));
};
ANNAL_EVENT(deposited_v1, "bank.deposited", 1);

struct deposited {
  BOOST_HANA_DEFINE_STRUCT(deposited, (std::int64_t, cents), (currency, unit),
                           (std::uint32_t, teller));
};
ANNAL_EVENT(deposited, "bank.deposited", 2);

struct deposited_chained {
  using previous_versions = annal::events<deposited_v1>;
  BOOST_HANA_DEFINE_STRUCT(deposited_chained, (std::int64_t, cents), (currency, unit),
                           (std::uint32_t, teller));
};
ANNAL_EVENT(deposited_chained, "bank.deposited", 2);
inline deposited_chained upcast(const deposited_v1& e) {
  return {std::int64_t{e.euros} * 100, currency::eur, 0};
}

struct withdrawn {
  BOOST_HANA_DEFINE_STRUCT(withdrawn, (std::int64_t, cents));
};
ANNAL_EVENT(withdrawn, "bank.withdrawn", 1);

struct opened {
  BOOST_HANA_DEFINE_STRUCT(opened, (std::uint32_t, branch));
};
ANNAL_EVENT(opened, "bank.opened", 1);

using plain_events = annal::events<opened, deposited, withdrawn>;
using chained_events = annal::events<opened, deposited_chained, withdrawn>;

// The aggregate-like state both decoders fold into.
struct account {
  std::int64_t balance = 0;
  std::uint64_t events = 0;
  std::uint32_t branch = 0;
  std::uint32_t last_teller = 0;
  std::uint32_t foreign = 0;

  void apply(const opened& e) {
    branch = e.branch;
    ++events;
  }
  template <class D>
  void apply_deposit(const D& e) {
    balance += e.cents;
    last_teller = e.teller;
    foreign += e.unit != currency::eur;
    ++events;
  }
  void apply(const deposited& e) { apply_deposit(e); }
  void apply(const deposited_chained& e) { apply_deposit(e); }
  void apply(const withdrawn& e) {
    balance -= e.cents;
    ++events;
  }
};

}  // namespace bank

namespace {

constexpr std::size_t event_count = 10'000'000;

// One stored record as a store hands it over: name, schema version, payload. Framing:
// uint8 name length, name, uint32 version, uint32 payload length, payload.
struct record {
  std::string_view type;
  std::uint32_t version;
  std::string_view payload;
};

inline record next_record(const char*& p) {
  record r;
  const std::size_t name_size = static_cast<unsigned char>(*p++);
  r.type = std::string_view(p, name_size);
  p += name_size;
  std::memcpy(&r.version, p, 4);
  std::uint32_t size = 0;
  std::memcpy(&size, p + 4, 4);
  p += 8;
  r.payload = std::string_view(p, size);
  p += size;
  return r;
}

template <class E>
void append_record(std::string& buffer, const E& e) {
  const std::string payload = annal::binary_codec::encode(e);
  const std::string_view name = annal::event_name_of<E>;
  const std::uint32_t version = annal::event_version_of<E>;
  const auto size = static_cast<std::uint32_t>(payload.size());
  buffer.push_back(static_cast<char>(name.size()));
  buffer.append(name);
  buffer.append(reinterpret_cast<const char*>(&version), 4);
  buffer.append(reinterpret_cast<const char*>(&size), 4);
  buffer.append(payload);
}

// 10M events of one account: an opening, then deposits (60%) and withdrawals; `v1_percent` of the
// deposits are stored in the old v1 layout.
std::string make_events(int v1_percent) {
  std::string buffer;
  buffer.reserve(event_count * 36);
  std::mt19937_64 rng(42);
  append_record(buffer, bank::opened{7});
  for (std::size_t i = 1; i < event_count; ++i) {
    const auto roll = rng() % 100;
    if (roll < 60) {
      if (static_cast<int>(rng() % 100) < v1_percent)
        append_record(buffer, bank::deposited_v1{static_cast<std::int32_t>(rng() % 1000)});
      else
        append_record(buffer, bank::deposited{static_cast<std::int64_t>(rng() % 100000),
                                              static_cast<bank::currency>(rng() % 3),
                                              static_cast<std::uint32_t>(rng() % 50)});
    } else {
      append_record(buffer, bank::withdrawn{static_cast<std::int64_t>(rng() % 50000)});
    }
  }
  return buffer;
}

const std::string& events_without_v1() {
  static const std::string buffer = make_events(0);
  return buffer;
}
const std::string& events_with_v1() {
  static const std::string buffer = make_events(10);
  return buffer;
}

// The floor: what one writes by hand for this layout, with the same checks (payload size, enum
// range).
[[noreturn]] void hand_error() {
  throw std::runtime_error("bad record");
}

bank::account fold_by_hand(const std::string& buffer) {
  bank::account acc;
  const char* p = buffer.data();
  const char* end = p + buffer.size();
  using namespace std::string_view_literals;
  while (p != end) {
    const record r = next_record(p);
    const char* q = r.payload.data();
    if (r.type == "bank.deposited"sv) {
      if (r.version == 2) {
        if (r.payload.size() != 13) hand_error();
        bank::deposited e;
        std::memcpy(&e.cents, q, 8);
        std::uint8_t unit;
        std::memcpy(&unit, q + 8, 1);
        if (unit > 2) hand_error();
        e.unit = static_cast<bank::currency>(unit);
        std::memcpy(&e.teller, q + 9, 4);
        acc.apply(e);
      } else if (r.version == 1) {
        if (r.payload.size() != 4) hand_error();
        std::int32_t euros;
        std::memcpy(&euros, q, 4);
        acc.apply(bank::deposited{std::int64_t{euros} * 100, bank::currency::eur, 0});
      } else {
        hand_error();
      }
    } else if (r.type == "bank.withdrawn"sv && r.version == 1) {
      if (r.payload.size() != 8) hand_error();
      bank::withdrawn e;
      std::memcpy(&e.cents, q, 8);
      acc.apply(e);
    } else if (r.type == "bank.opened"sv && r.version == 1) {
      if (r.payload.size() != 4) hand_error();
      bank::opened e;
      std::memcpy(&e.branch, q, 4);
      acc.apply(e);
    } else {
      hand_error();
    }
  }
  return acc;
}

// The codec alone: records dispatched by hand as in the floor, payloads decoded by binary_codec.
bank::account fold_with_codec(const std::string& buffer) {
  using annal::binary_codec;
  bank::account acc;
  const char* p = buffer.data();
  const char* end = p + buffer.size();
  using namespace std::string_view_literals;
  while (p != end) {
    const record r = next_record(p);
    if (r.type == "bank.deposited"sv && r.version == 2)
      acc.apply(binary_codec::decode<bank::deposited>(r.payload));
    else if (r.type == "bank.withdrawn"sv && r.version == 1)
      acc.apply(binary_codec::decode<bank::withdrawn>(r.payload));
    else if (r.type == "bank.opened"sv && r.version == 1)
      acc.apply(binary_codec::decode<bank::opened>(r.payload));
    else
      hand_error();
  }
  return acc;
}

template <class List>
bank::account fold_with_registry(const std::string& buffer) {
  using registry = annal::event_registry<List>;
  bank::account acc;
  const char* p = buffer.data();
  const char* end = p + buffer.size();
  while (p != end) {
    const record r = next_record(p);
    if (!registry::decode(r.type, r.version, r.payload, [&](const auto& e) { acc.apply(e); }))
        [[unlikely]]
      hand_error();
  }
  return acc;
}

template <bank::account (*Fold)(const std::string&), const std::string& (*Events)()>
void run(benchmark::State& state) {
  const std::string& buffer = Events();
  const bank::account expected = fold_by_hand(buffer);
  for (auto _ : state) {
    const bank::account acc = Fold(buffer);
    benchmark::DoNotOptimize(acc);
    if (acc.balance != expected.balance || acc.events != expected.events)
      state.SkipWithError("fold mismatch");
  }
  state.counters["items"] = static_cast<double>(event_count);
}

}  // namespace

BENCHMARK(run<fold_by_hand, events_without_v1>)
    ->Name("decode_fold/floor")
    ->Unit(benchmark::kNanosecond);
BENCHMARK(run<fold_with_codec, events_without_v1>)
    ->Name("decode_fold/annal_codec_only")
    ->Unit(benchmark::kNanosecond);
BENCHMARK(run<fold_with_registry<bank::plain_events>, events_without_v1>)
    ->Name("decode_fold/annal")
    ->Unit(benchmark::kNanosecond);
BENCHMARK(run<fold_with_registry<bank::chained_events>, events_without_v1>)
    ->Name("decode_fold/annal_chain")
    ->Unit(benchmark::kNanosecond);
BENCHMARK(run<fold_by_hand, events_with_v1>)
    ->Name("decode_fold_v1_10pct/floor")
    ->Unit(benchmark::kNanosecond);
BENCHMARK(run<fold_with_registry<bank::chained_events>, events_with_v1>)
    ->Name("decode_fold_v1_10pct/annal_chain")
    ->Unit(benchmark::kNanosecond);

ANNAL_BENCH_MAIN();
