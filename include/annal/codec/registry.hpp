// The per-list registry: maps a stored (name, version) to its decoder and upcast chain, built at
// compile time.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <annal/codec/binary.hpp>
#include <annal/codec/upcast.hpp>
#include <annal/core/error.hpp>
#include <annal/core/event.hpp>
#include <annal/core/event_list.hpp>
#include <annal/fwd.hpp>

namespace annal {

// Declared, never defined: an error mentioning this type names two event types of one registry
// that claim the same stored (name, version), so stored data could not say which one it is.
template <class First, class Second>
struct two_event_types_share_a_stored_name_and_version;

namespace detail::registry {

template <class List>
using closure = upcasting::closure<List>;

// A's types, then those of B that A does not hold: a retired type may also be declared as a
// previous version of the events it became.
template <class A, class B>
struct join;
template <class... A>
struct join<events<A...>, events<>> {
  using type = events<A...>;
};
template <class... A, class H, class... B>
struct join<events<A...>, events<H, B...>>
    : join<std::conditional_t<(std::is_same_v<A, H> || ...), events<A...>, events<A..., H>>,
           events<B...>> {};

template <class List>
struct as_tuple;
template <class... T>
struct as_tuple<events<T...>> {
  using type = std::tuple<T...>;
};

// A stored name seen through at most 16 of its bytes: the first 8 and the last 8 (overlapping for
// names of 9 to 16 bytes, zero-padded below 8). For names up to 16 bytes, equal probes mean equal
// names, so a lookup needs no memcmp; longer names compare their middle too.
struct name_probe {
  std::uint64_t head = 0;
  std::uint64_t tail = 0;
  std::size_t size = 0;
};

constexpr std::uint64_t load_le(std::string_view s, std::size_t at, std::size_t n) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

constexpr name_probe probe_of(std::string_view s) noexcept {
  const std::size_t n = s.size();
  name_probe p;
  p.size = n;
  if (std::is_constant_evaluated() || n < 8 || std::endian::native != std::endian::little) {
    p.head = load_le(s, 0, n < 8 ? n : 8);
    p.tail = n > 8 ? load_le(s, n - 8, 8) : 0;
  } else {
    std::memcpy(&p.head, s.data(), 8);
    if (n > 8) std::memcpy(&p.tail, s.data() + n - 8, 8);
  }
  return p;
}

constexpr std::uint64_t hash_of(const name_probe& p, std::uint32_t version) noexcept {
  std::uint64_t h = p.head * 0x9E3779B97F4A7C15ull;
  h ^= (p.tail + p.size) * 0xBF58476D1CE4E5B9ull;
  h ^= (std::uint64_t{version} + 1) * 0x94D049BB133111EBull;
  return h ^ (h >> 32);
}

struct key {
  name_probe probe;
  std::uint32_t version = 0;
  std::string_view name;
};

// An open-addressing table built at compile time. Its size is the smallest power of two, at least
// twice the number of keys, where no two keys share a slot (up to 64 times the keys; beyond that,
// collisions probe the next slot): a lookup of a stored key reads exactly one slot.
template <class Types>
struct table;
template <class... T>
struct table<events<T...>> {
  static constexpr std::size_t size = sizeof...(T);

  static constexpr std::array<key, size + 1> keys{
      key{probe_of(event_name_of<T>), event_version_of<T>, event_name_of<T>}..., key{}};

  static constexpr std::size_t slot_count = [] {
    std::size_t smallest = 4;
    while (smallest < 2 * size) smallest *= 2;
    for (std::size_t n = smallest; n <= 64 * smallest; n *= 2) {
      bool distinct = true;
      for (std::size_t i = 0; i < size && distinct; ++i)
        for (std::size_t j = i + 1; j < size && distinct; ++j)
          distinct =
              ((hash_of(keys[i].probe, keys[i].version) ^ hash_of(keys[j].probe, keys[j].version)) &
               (n - 1)) != 0;
      if (distinct) return n;
    }
    return smallest;
  }();
  static constexpr std::size_t mask = slot_count - 1;

  // slot -> 1 + index into keys, 0 when empty.
  static constexpr std::array<std::uint32_t, slot_count> slots = [] {
    std::array<std::uint32_t, slot_count> s{};
    for (std::size_t i = 0; i < size; ++i) {
      std::size_t at = hash_of(keys[i].probe, keys[i].version) & mask;
      while (s[at] != 0) at = (at + 1) & mask;
      s[at] = static_cast<std::uint32_t>(i + 1);
    }
    return s;
  }();

  // The first pair of types with the same (name, version), or {size, size}.
  static consteval std::pair<std::size_t, std::size_t> duplicate() {
    for (std::size_t i = 0; i < size; ++i)
      for (std::size_t j = i + 1; j < size; ++j)
        if (keys[i].name == keys[j].name && keys[i].version == keys[j].version) return {i, j};
    return {size, size};
  }

  static std::size_t find(std::string_view name, std::uint32_t version) noexcept {
    const name_probe p = probe_of(name);
    std::size_t at = hash_of(p, version) & mask;
    for (std::uint32_t slot = slots[at]; slot != 0; slot = slots[at = (at + 1) & mask]) {
      const key& k = keys[slot - 1];
      if (k.probe.head == p.head && k.probe.tail == p.tail && k.probe.size == p.size &&
          k.version == version &&
          (p.size <= 16 || std::memcmp(name.data() + 8, k.name.data() + 8, p.size - 16) == 0))
          [[likely]]
        return slot - 1;
    }
    return size;
  }
};

template <class T, class CurrentAndOld, class Retired>
inline constexpr bool is_retired_v =
    list_traits<Retired>::template contains<T> && !list_traits<CurrentAndOld>::template contains<T>;

template <class List, class CurrentAndOld, class Retired, class Stored, class T>
consteval bool check_stored_type() {
  static_assert(
      event<T>,
      "annal::event_registry: a type named in previous_versions or retired_events_of is not "
      "an event; declare its stored name and version with ANNAL_EVENT");
  if constexpr (list_contains_v<List, T> ||
                (is_retired_v<T, CurrentAndOld, Retired> && !upcasting::has_upcast<T>))
    return true;
  else
    return upcasting::check_path<List, Stored, T>();
}

template <class List, class Stored>
consteval bool check_keys() {
  using stored_table = table<Stored>;
  constexpr auto dup = stored_table::duplicate();
  if constexpr (dup.first != stored_table::size) {
    using tuple = typename as_tuple<Stored>::type;
    (void)sizeof(
        two_event_types_share_a_stored_name_and_version<std::tuple_element_t<dup.first, tuple>,
                                                        std::tuple_element_t<dup.second, tuple>>);
    static_assert(always_false_v<List>,
                  "annal::event_registry: two event types have the same stored name and version; "
                  "give the newer one a higher version (see docs/upcasting.md)");
    return false;
  } else {
    return true;
  }
}

template <class List, class CurrentAndOld, class Retired, class Stored>
consteval bool check_all() {
  return []<class... T>(events<T...>) {
    // Declarations are checked only once every chain is whole, so a missing upcast is reported as
    // such rather than as a declaration that leads nowhere.
    if constexpr (!(check_stored_type<List, CurrentAndOld, Retired, Stored, T>() && ... &&
                    check_keys<List, Stored>()))
      return false;
    else
      return (upcasting::check_declared_versions<T>() && ...);
  }(Stored{});
}

// Evaluated once per registry: every old version has an upcast path, every stored key is unique.
template <class List, class CurrentAndOld, class Retired, class Stored>
inline constexpr bool checked_v = check_all<List, CurrentAndOld, Retired, Stored>();

// "bank.deposited v1: decode error at byte 3, ...": the record's identity before the codec's
// message. A template for the separately compiled mode (see detail/validate.hpp).
template <class = void>
[[noreturn]] void rethrow_with_identity(const error& e, std::string_view name,
                                        std::uint32_t version) {
  throw error(e.code(),
              "event '" + std::string(name) + "' v" + std::to_string(version) + ": " + e.what());
}

#if defined(ANNAL_SEPARATE_COMPILATION)
extern template void rethrow_with_identity(const error&, std::string_view, std::uint32_t);
#endif

}  // namespace detail::registry

// Maps stored (name, version) pairs to decoders for the events of List, their previous versions
// (previous_versions_of) and the list's retired events (retired_events_of), with each old version's
// upcast chain composed and checked at compile time. Codec defaults to binary_codec (fwd.hpp).
template <class List, class Codec>
class event_registry {
  static_assert(event_list<List>,
                "annal::event_registry<List, Codec> requires List to be annal::events<...>");
  static_assert(
      detail::list_traits<List>::all_events,
      "annal::event_registry<List, Codec>: every type of List must be an event (ANNAL_EVENT)");

  using current_and_old = typename detail::registry::closure<List>::type;
  using retired = typename detail::registry::closure<retired_events_of_t<List>>::type;
  using stored = typename detail::registry::join<current_and_old, retired>::type;
  using table = detail::registry::table<stored>;

  template <std::size_t I>
  using stored_at = std::tuple_element_t<I, typename detail::registry::as_tuple<stored>::type>;

  template <class T>
  static constexpr bool is_retired_v = detail::registry::is_retired_v<T, current_and_old, retired>;

  template <class T, class F>
  static void decode_and_deliver(std::string_view name, std::uint32_t version,
                                 std::string_view payload, F& on_event) {
    T value = [&] {
      try {
        return Codec::template decode<T>(payload);
      } catch (const error& e) {
        detail::registry::rethrow_with_identity(e, name, version);
      }
    }();
    detail::upcasting::deliver<List>(std::move(value), on_event);
  }

  // Old and retired records take an out-of-line path, so that declaring history leaves the code
  // for current records exactly as it was.
  template <class T, class F>
  [[gnu::noinline]] static void decode_old(std::string_view name, std::uint32_t version,
                                           std::string_view payload, F& on_event) {
    if constexpr (is_retired_v<T> && !detail::upcasting::has_upcast<T>) {
      // Skipped unread: a retired event's old layout may no longer even be known.
    } else {
      decode_and_deliver<T>(name, version, payload, on_event);
    }
  }

  template <class T, class F>
  static void decode_one(std::string_view name, std::uint32_t version, std::string_view payload,
                         F& on_event) {
    if constexpr (list_contains_v<List, T>)
      decode_and_deliver<T>(name, version, payload, on_event);
    else
      decode_old<T>(name, version, payload, on_event);
  }

  template <class F, std::size_t... I>
  static void dispatch(std::size_t index, std::string_view name, std::uint32_t version,
                       std::string_view payload, F& on_event, std::index_sequence<I...>) {
    (void)((index == I ? (decode_one<stored_at<I>>(name, version, payload, on_event), true)
                       : false) ||
           ...);
  }

 public:
  using event_list_type = List;
  using codec = Codec;

  // How many stored (name, version) pairs this registry reads.
  static constexpr std::size_t size = table::size;

  // Decodes one stored record and calls on_event(const E&) for each current event E of List it
  // turns into: one normally, several for a split, none for a retired event. Returns false, and
  // calls nothing, when (type, version) is unknown: the caller knows the stream and its policy.
  // Throws annal::error(decode_error) for bad bytes, naming the record, byte offset and field.
  template <class F>
  static bool decode(std::string_view type, std::uint32_t version, std::string_view payload,
                     F&& on_event) {
    static_assert(detail::registry::checked_v<List, current_and_old, retired, stored>);
    const std::size_t index = table::find(type, version);
    if (index == table::size) return false;
    dispatch(index, type, version, payload, on_event, std::make_index_sequence<table::size>{});
    return true;
  }

  // True when some version of records stored under `type` can be read: a reader that meets an
  // unknown version of such a type cannot skip it (it lists the event), it must stop.
  static bool knows_name(std::string_view type) noexcept {
    for (std::size_t i = 0; i < table::size; ++i)
      if (table::keys[i].name == type) return true;
    return false;
  }

  // Every stored name this registry reads, each once, in list order: what a reader of List asks
  // a filtered read for (store/filter.hpp), old versions' and retired events' names included.
  static std::vector<std::string> stored_names() {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < table::size; ++i)
      if (std::find(out.begin(), out.end(), table::keys[i].name) == out.end())
        out.emplace_back(table::keys[i].name);
    return out;
  }

  // The schema versions of `type` this registry reads, for messages: "1, 2, 3".
  static std::string versions_of(std::string_view type) {
    std::string out;
    for (std::size_t i = 0; i < table::size; ++i)
      if (table::keys[i].name == type)
        out += (out.empty() ? "" : ", ") + std::to_string(table::keys[i].version);
    return out;
  }

  // True when records stored as (type, version) can be read.
  static bool knows(std::string_view type, std::uint32_t version) noexcept {
    static_assert(detail::registry::checked_v<List, current_and_old, retired, stored>);
    return table::find(type, version) != table::size;
  }

  // Appends the encoding of a current event; its stored name and version are event_info_of<E>.
  template <class E>
  static void encode(const E& e, std::string& out) {
    static_assert(list_contains_v<List, E>,
                  "annal::event_registry::encode(e): new records are written only as current "
                  "events of the list");
    Codec::encode(e, out);
  }

  // Calls f(std::type_identity<T>{}) for every type this registry reads: current, old and retired.
  template <class F>
  static constexpr void for_each_stored_type(F&& f) {
    for_each_event_type<stored>(std::forward<F>(f));
  }
};

}  // namespace annal
