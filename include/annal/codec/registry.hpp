// The per-list registry: maps a stored (name, version) to its decoder and upcast chain, built at compile time.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <annal/codec/binary.hpp>
#include <annal/codec/upcast.hpp>
#include <annal/core/error.hpp>
#include <annal/core/event.hpp>
#include <annal/core/event_list.hpp>

namespace annal {

// Declared, never defined: an error mentioning this type names two event types of one registry
// that claim the same stored (name, version), so stored data could not say which one it is.
template <class First, class Second>
struct two_event_types_share_a_stored_name_and_version;

namespace detail::registry {

// Every type reachable from a list through previous_versions, each once, current events first.
template <class Acc, class... T>
struct collect;
template <class Acc, class Previous, class... Rest>
struct collect_expand;

template <class... A>
struct collect<events<A...>> {
  using type = events<A...>;
};
template <class... A, class H, class... R>
struct collect<events<A...>, H, R...> {
  using type = typename std::conditional_t<(std::is_same_v<A, H> || ...), collect<events<A...>, R...>,
                                           collect_expand<events<A..., H>, previous_versions_of_t<H>, R...>>::type;
};
template <class Acc, class... P, class... R>
struct collect_expand<Acc, events<P...>, R...> : collect<Acc, R..., P...> {};

template <class List>
struct closure;
template <class... E>
struct closure<events<E...>> : collect<events<>, E...> {};

template <class A, class B>
struct join;
template <class... A, class... B>
struct join<events<A...>, events<B...>> {
  using type = events<A..., B...>;
};

template <class List>
struct as_tuple;
template <class... T>
struct as_tuple<events<T...>> {
  using type = std::tuple<T...>;
};

// A hash of the stored name that reads at most 16 bytes, so a lookup costs the same for any name
// length; names with equal hashes are told apart by comparing them.
constexpr std::uint64_t load_le(std::string_view s, std::size_t at, std::size_t n) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

constexpr std::uint64_t name_hash(std::string_view s) noexcept {
  const std::size_t n = s.size();
  std::uint64_t a = 0, b = 0;
  if (std::is_constant_evaluated() || n < 8 || std::endian::native != std::endian::little) {
    a = load_le(s, 0, n < 8 ? n : 8);
    b = n > 8 ? load_le(s, n - 8, 8) : 0;
  } else {
    std::memcpy(&a, s.data(), 8);
    if (n > 8) std::memcpy(&b, s.data() + n - 8, 8);
  }
  std::uint64_t h = (a ^ 0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
  h ^= (b + n) * 0x94D049BB133111EBull;
  return h ^ (h >> 31);
}

struct key {
  std::uint64_t hash;
  std::uint32_t version;
  std::uint32_t index;
  std::string_view name;
};

constexpr bool key_less(const key& a, std::uint64_t hash, std::uint32_t version) noexcept {
  return a.hash < hash || (a.hash == hash && a.version < version);
}

template <class Tuple>
struct table;
template <class... T>
struct table<events<T...>> {
  static constexpr std::size_t size = sizeof...(T);

  static constexpr std::array<key, size> keys = [] {
    std::array<key, size> k{};
    std::uint32_t i = 0;
    ((k[i] = key{name_hash(event_name_of<T>), event_version_of<T>, i, event_name_of<T>}, ++i), ...);
    std::sort(k.begin(), k.end(), [](const key& a, const key& b) { return key_less(a, b.hash, b.version); });
    return k;
  }();

  // The first pair of types with the same (name, version), or {size, size}.
  static consteval std::pair<std::size_t, std::size_t> duplicate() {
    constexpr std::array<event_info, size + 1> infos{event_info_of<T>..., event_info{}};
    for (std::size_t i = 0; i < size; ++i)
      for (std::size_t j = i + 1; j < size; ++j)
        if (infos[i].name == infos[j].name && infos[i].version == infos[j].version) return {i, j};
    return {size, size};
  }

  static std::size_t find(std::string_view name, std::uint32_t version) noexcept {
    const std::uint64_t hash = name_hash(name);
    auto it = std::lower_bound(keys.begin(), keys.end(), key{hash, version, 0, {}},
                               [](const key& a, const key& b) { return key_less(a, b.hash, b.version); });
    for (; it != keys.end() && it->hash == hash && it->version == version; ++it)
      if (it->name == name) return it->index;
    return size;
  }
};

template <class T, class CurrentAndOld, class Retired>
inline constexpr bool is_retired_v = list_traits<Retired>::template contains<T> &&
                                     !list_traits<CurrentAndOld>::template contains<T>;

template <class List, class CurrentAndOld, class Retired, class T>
consteval bool check_stored_type() {
  static_assert(event<T>,
                "annal::event_registry: a type named in previous_versions or retired_events_of is not "
                "an event; declare its stored name and version with ANNAL_EVENT");
  if constexpr (list_contains_v<List, T> ||
                (is_retired_v<T, CurrentAndOld, Retired> && !upcasting::has_upcast<T>))
    return true;
  else
    return upcasting::check_path<List, T>();
}

template <class List, class Stored>
consteval bool check_keys() {
  using stored_table = table<Stored>;
  constexpr auto dup = stored_table::duplicate();
  if constexpr (dup.first != stored_table::size) {
    using tuple = typename as_tuple<Stored>::type;
    static_assert(always_false_v<List>,
                  "annal::event_registry: two event types have the same stored name and version; "
                  "give the newer one a higher version (see docs/upcasting.md)");
    (void)sizeof(two_event_types_share_a_stored_name_and_version<std::tuple_element_t<dup.first, tuple>,
                                                                  std::tuple_element_t<dup.second, tuple>>);
    return false;
  } else {
    return true;
  }
}

template <class List, class CurrentAndOld, class Retired, class Stored>
consteval bool check_all() {
  return []<class... T>(events<T...>) {
    return (check_stored_type<List, CurrentAndOld, Retired, T>() && ... && check_keys<List, Stored>());
  }(Stored{});
}

// Evaluated once per registry: every old version has an upcast path, every stored key is unique.
template <class List, class CurrentAndOld, class Retired, class Stored>
inline constexpr bool checked_v = check_all<List, CurrentAndOld, Retired, Stored>();

// "bank.deposited v1: decode error at byte 3, ...": the record's identity before the codec's message.
[[noreturn]] inline void rethrow_with_identity(const error& e, std::string_view name, std::uint32_t version) {
  std::string what = e.what();
  const std::string suffix = ": " + e.code().message();
  if (what.size() >= suffix.size() && what.compare(what.size() - suffix.size(), suffix.size(), suffix) == 0)
    what.resize(what.size() - suffix.size());
  throw error(e.code(), "event '" + std::string(name) + "' v" + std::to_string(version) + ": " + what);
}

}  // namespace detail::registry

// Maps stored (name, version) pairs to decoders for the events of List, their previous versions
// (previous_versions_of) and the list's retired events (retired_events_of), with each old version's
// upcast chain composed and checked at compile time.
template <class List, class Codec = binary_codec>
class event_registry {
  static_assert(event_list<List>, "annal::event_registry<List, Codec> requires List to be annal::events<...>");
  static_assert(detail::list_traits<List>::all_events,
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
  static void decode_one(std::string_view name, std::uint32_t version, std::string_view payload, F& on_event) {
    if constexpr (is_retired_v<T> && !detail::upcasting::has_upcast<T>) {
      // Skipped unread: a retired event's old layout may no longer even be known.
    } else {
      T value = [&] {
        try {
          return Codec::template decode<T>(payload);
        } catch (const error& e) {
          detail::registry::rethrow_with_identity(e, name, version);
        }
      }();
      detail::upcasting::deliver<List>(std::move(value), on_event);
    }
  }

  template <class F, std::size_t... I>
  static void dispatch(std::size_t index, std::string_view name, std::uint32_t version, std::string_view payload,
                       F& on_event, std::index_sequence<I...>) {
    (void)((index == I ? (decode_one<stored_at<I>>(name, version, payload, on_event), true) : false) || ...);
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
  static bool decode(std::string_view type, std::uint32_t version, std::string_view payload, F&& on_event) {
    static_assert(detail::registry::checked_v<List, current_and_old, retired, stored>);
    const std::size_t index = table::find(type, version);
    if (index == table::size) return false;
    dispatch(index, type, version, payload, on_event, std::make_index_sequence<table::size>{});
    return true;
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
                  "annal::event_registry::encode(e): new records are written only as current events of the list");
    Codec::encode(e, out);
  }

  // Calls f(std::type_identity<T>{}) for every type this registry reads: current, old and retired.
  template <class F>
  static constexpr void for_each_stored_type(F&& f) {
    for_each_event_type<stored>(std::forward<F>(f));
  }
};

}  // namespace annal
