// Hydration speed and allocations: annal::hydrate against a tagged-union switch (the floor), a
// virtual event hierarchy and a std::function map keyed by event name, over 10M events.
#include <annal/core/hydrate.hpp>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <benchmark/benchmark.h>

#include "common/ratio_reporter.hpp"

// --- Allocation counting: every operator new in this program goes through here ------------------
namespace {
std::atomic<std::uint64_t> allocation_count{0};
}  // namespace

void* operator new(std::size_t size) {
  allocation_count.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  return ::operator new(size);
}
// Out of line, so g++ does not see free() meet operator new and warn of a mismatch that is not one.
[[gnu::noinline]] void operator delete(void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace bench {

constexpr std::size_t event_count = 10'000'000;

// The state every variant computes. Two independent one-cycle chains: enough real work that
// nothing folds away, little enough that dispatch cost stays visible.
struct tally {
  std::int64_t total = 0;
  std::uint64_t flags = 0;
};

// Event K's effect; each type does something different, so no two switch cases merge.
template <int K>
inline void step(tally& t, std::int32_t a, std::int32_t b) {
  t.total += std::int64_t{a} * (K + 1);
  t.flags ^= std::uint64_t{std::uint32_t(b)} << (K % 32);
}

// One case (or event) a macro, laid out by hand.
// clang-format off
#define BENCH_EVENT(n)                 \
  struct e##n {                        \
    static constexpr int kind = n;     \
    std::int32_t a;                    \
    std::int32_t b;                    \
  };                                   \
  ANNAL_EVENT(e##n, "bench.e" #n, 1)

BENCH_EVENT(0) BENCH_EVENT(1) BENCH_EVENT(2) BENCH_EVENT(3)
BENCH_EVENT(4) BENCH_EVENT(5) BENCH_EVENT(6) BENCH_EVENT(7)
BENCH_EVENT(8) BENCH_EVENT(9) BENCH_EVENT(10) BENCH_EVENT(11)
BENCH_EVENT(12) BENCH_EVENT(13) BENCH_EVENT(14) BENCH_EVENT(15)
#undef BENCH_EVENT
    // clang-format on

    // --- annal
    // ---------------------------------------------------------------------------------------
    template <class... E>
    struct account {
  using events = annal::events<E...>;
  tally t;
  template <class Event>
  void apply(const Event& e) {
    step<Event::kind>(t, e.a, e.b);
  }
};
using account4 = account<e0, e1, e2, e3>;
using account16 = account<e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15>;
static_assert(annal::check_aggregate<account4>() && annal::check_aggregate<account16>());

// --- floor: what one writes by hand, an enum tag and a union, and a switch -----------------------
struct payload {
  std::int32_t a;
  std::int32_t b;
};
struct tagged_event {
  std::uint8_t tag;
  union {
    e0 v0;
    e1 v1;
    e2 v2;
    e3 v3;
    e4 v4;
    e5 v5;
    e6 v6;
    e7 v7;
    e8 v8;
    e9 v9;
    e10 v10;
    e11 v11;
    e12 v12;
    e13 v13;
    e14 v14;
    e15 v15;
  };
};

// One case (or event) a macro, laid out by hand.
// clang-format off
#define BENCH_CASE(n) \
  case n:             \
    step<n>(t, e.v##n.a, e.v##n.b); \
    break;

[[gnu::noinline]] tally floor4(const std::vector<tagged_event>& events) {
  tally t;
  for (const tagged_event& e : events) {
    switch (e.tag) {
      BENCH_CASE(0) BENCH_CASE(1) BENCH_CASE(2) BENCH_CASE(3)
    }
  }
  return t;
}

[[gnu::noinline]] tally floor16(const std::vector<tagged_event>& events) {
  tally t;
  for (const tagged_event& e : events) {
    switch (e.tag) {
      BENCH_CASE(0) BENCH_CASE(1) BENCH_CASE(2) BENCH_CASE(3)
      BENCH_CASE(4) BENCH_CASE(5) BENCH_CASE(6) BENCH_CASE(7)
      BENCH_CASE(8) BENCH_CASE(9) BENCH_CASE(10) BENCH_CASE(11)
      BENCH_CASE(12) BENCH_CASE(13) BENCH_CASE(14) BENCH_CASE(15)
    }
  }
  return t;
}
#undef BENCH_CASE
// clang-format on

// --- virtual: the classic event hierarchy -------------------------------------------------------
struct event_base {
  virtual ~event_base() = default;
  virtual void apply(tally& t) const = 0;
};
template <int K>
struct virtual_event final : event_base {
  std::int32_t a;
  std::int32_t b;
  virtual_event(std::int32_t a_, std::int32_t b_) : a(a_), b(b_) {}
  void apply(tally& t) const override { step<K>(t, a, b); }
};
using virtual_stream = std::vector<std::unique_ptr<event_base>>;

[[gnu::noinline]] tally fold_virtual(const virtual_stream& events) {
  tally t;
  for (const auto& e : events) e->apply(t);
  return t;
}

// --- function_map: handlers looked up by stored name on every event ------------------------------
using handler = std::function<void(tally&, const void*)>;
using handler_map = std::unordered_map<std::string, handler>;
struct named_event {
  const std::string* name;  // interned: one string per event type, as a decoder would keep
  const void* data;
};

// --- Data: one kind sequence per group, materialised in each variant's form ---------------------
// Kinds, and the two payload fields derived from the position. A single-type stream uses the
// last type: g++ peels the first alternative out of annal's jump table, and the floor's switch
// gets no such help, so type 0 would flatter annal.
std::vector<std::uint8_t> make_kinds(int types, bool mixed) {
  std::vector<std::uint8_t> kinds(event_count, static_cast<std::uint8_t>(types - 1));
  if (mixed) {
    std::mt19937 rng(42);
    std::uniform_int_distribution<int> pick(0, types - 1);
    for (auto& k : kinds) k = static_cast<std::uint8_t>(pick(rng));
  }
  return kinds;
}
inline payload payload_at(std::size_t i) {
  return {static_cast<std::int32_t>(i % 2001) - 1000,
          static_cast<std::int32_t>(std::uint32_t(i * 2654435761u))};
}

template <class V, std::size_t... I>
V make_alternative(int kind, payload p, std::index_sequence<I...>) {
  V v;
  (void)((kind == int(I) ? (v.template emplace<I>(p.a, p.b), true) : false) || ...);
  return v;
}

template <class A>
auto make_annal_stream(const std::vector<std::uint8_t>& kinds) {
  using V = annal::aggregate_event_t<A>;
  std::vector<V> out;
  out.reserve(kinds.size());
  for (std::size_t i = 0; i < kinds.size(); ++i)
    out.push_back(make_alternative<V>(kinds[i], payload_at(i),
                                      std::make_index_sequence<std::variant_size_v<V>>{}));
  return out;
}

std::vector<tagged_event> make_tagged_stream(const std::vector<std::uint8_t>& kinds) {
  std::vector<tagged_event> out(kinds.size());
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    out[i].tag = kinds[i];
    const payload p = payload_at(i);
    out[i].v0 = e0{p.a, p.b};  // every member has the same layout; v0 is the common initial one
  }
  return out;
}

template <std::size_t... I>
std::unique_ptr<event_base> make_virtual(int kind, payload p, std::index_sequence<I...>) {
  std::unique_ptr<event_base> out;
  (void)((kind == int(I) ? (out = std::make_unique<virtual_event<I>>(p.a, p.b), true) : false) ||
         ...);
  return out;
}

virtual_stream make_virtual_stream(const std::vector<std::uint8_t>& kinds) {
  virtual_stream out;
  out.reserve(kinds.size());
  for (std::size_t i = 0; i < kinds.size(); ++i)
    out.push_back(make_virtual(kinds[i], payload_at(i), std::make_index_sequence<16>{}));
  return out;
}

// Function map data: the payloads live in an annal variant vector; records point into it.
template <class A>
struct function_map_data {
  std::vector<annal::aggregate_event_t<A>> payloads;
  std::vector<std::string> names;
  std::vector<named_event> records;
  handler_map handlers;
};

template <class A>
function_map_data<A> make_function_map(const std::vector<std::uint8_t>& kinds) {
  function_map_data<A> d;
  d.payloads = make_annal_stream<A>(kinds);
  annal::for_each_event_type<typename A::events>([&](auto type) {
    using E = typename decltype(type)::type;
    d.names.emplace_back(annal::event_name_of<E>);
    d.handlers.emplace(std::string(annal::event_name_of<E>), [](tally& t, const void* p) {
      const E& e = *static_cast<const E*>(p);
      step<E::kind>(t, e.a, e.b);
    });
  });
  d.records.reserve(kinds.size());
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    const void* data = std::visit([](const auto& e) -> const void* { return &e; }, d.payloads[i]);
    d.records.push_back({&d.names[kinds[i]], data});
  }
  return d;
}

[[gnu::noinline]] tally fold_function_map(const std::vector<named_event>& records,
                                          const handler_map& handlers) {
  tally t;
  for (const named_event& r : records) handlers.find(*r.name)->second(t, r.data);
  return t;
}

// One dataset alive at a time (10M events in one form is 120-400 MB); rebuilt when the key changes.
template <class T, class Build>
const T& dataset(const std::string& key, Build build) {
  static std::string current_key;
  static std::shared_ptr<void> current;
  if (current_key != key) {
    current.reset();
    current = std::make_shared<T>(build());
    current_key = key;
  }
  return *static_cast<const T*>(current.get());
}

// Runs `fold` once per iteration and reports time per event and heap allocations per event.
template <class Fold>
void measure(benchmark::State& state, Fold fold) {
  std::uint64_t allocations = 0;
  for (auto _ : state) {
    const std::uint64_t before = allocation_count.load(std::memory_order_relaxed);
    auto result = fold();
    allocations += allocation_count.load(std::memory_order_relaxed) - before;
    benchmark::DoNotOptimize(result);
  }
  state.counters["items"] = double(event_count);
  state.counters["allocs/event"] =
      double(allocations) / (double(state.iterations()) * double(event_count));
}

template <class A>
void register_group(const char* group, int types, bool mixed) {
  const std::string g = group;
  auto kinds = [types, mixed] { return make_kinds(types, mixed); };

  benchmark::RegisterBenchmark((g + "/floor").c_str(), [=](benchmark::State& state) {
    const auto& events = dataset<std::vector<tagged_event>>(
        g + "/floor", [&] { return make_tagged_stream(kinds()); });
    measure(state, [&] { return types == 4 ? floor4(events) : floor16(events); });
  });
  benchmark::RegisterBenchmark((g + "/annal").c_str(), [=](benchmark::State& state) {
    using V = annal::aggregate_event_t<A>;
    const auto& events =
        dataset<std::vector<V>>(g + "/annal", [&] { return make_annal_stream<A>(kinds()); });
    measure(state, [&] { return annal::hydrate<A>(events); });
  });
  benchmark::RegisterBenchmark((g + "/virtual").c_str(), [=](benchmark::State& state) {
    const auto& events =
        dataset<virtual_stream>(g + "/virtual", [&] { return make_virtual_stream(kinds()); });
    measure(state, [&] { return fold_virtual(events); });
  });
  benchmark::RegisterBenchmark((g + "/function_map").c_str(), [=](benchmark::State& state) {
    const auto& d = dataset<function_map_data<A>>(g + "/function_map",
                                                  [&] { return make_function_map<A>(kinds()); });
    measure(state, [&] { return fold_function_map(d.records, d.handlers); });
  });
}

}  // namespace bench

namespace {
const bool registered = [] {
  bench::register_group<bench::account4>("hydrate_single4", 4, false);
  bench::register_group<bench::account4>("hydrate_mix4", 4, true);
  bench::register_group<bench::account16>("hydrate_single16", 16, false);
  bench::register_group<bench::account16>("hydrate_mix16", 16, true);
  return true;
}();
}  // namespace

ANNAL_BENCH_MAIN()
