// Reconciliation: digests of a read model and of a fresh recomputation from the log, and the keys
// where they differ.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <annal/codec/binary.hpp>
#include <annal/codec/detail/reflect.hpp>
#include <annal/projection/read_model.hpp>
#include <annal/projection/rebuild.hpp>
#include <annal/store/event_store.hpp>

namespace annal {

// One keyed piece of a read model: "member" for a plain member, "member[key]" for each entry of a
// map member. `hash` covers the binary encoding of its value.
struct model_entry {
  std::string key;
  std::uint64_t hash = 0;
  friend bool operator==(const model_entry&, const model_entry&) = default;
};

namespace detail {
inline std::uint64_t fnv1a(std::string_view bytes,
                           std::uint64_t h = 14695981039346656037ull) noexcept {
  for (const char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

template <class K>
std::string key_text(const K& key) {
  if constexpr (std::is_same_v<K, std::string>) {
    return key;
  } else if constexpr (std::is_integral_v<K>) {
    return std::to_string(key);
  } else {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out = "0x";
    for (const char c : binary_codec::encode(key)) {
      out.push_back(digits[static_cast<unsigned char>(c) >> 4]);
      out.push_back(digits[static_cast<unsigned char>(c) & 0xF]);
    }
    return out;
  }
}
}  // namespace detail

// The entries of a Hana-reflected read model, sorted by key (so unordered maps digest alike).
template <class P>
std::vector<model_entry> model_entries(const P& model) {
  static_assert(detail::reflected<P>,
                "annal: reconciling a read model lists its members: reflect the projection with "
                "BOOST_HANA_DEFINE_STRUCT or BOOST_HANA_ADAPT_STRUCT");
  std::vector<model_entry> out;
  std::string bytes;
  detail::for_each_member(model, [&](const char* name, const auto& member) {
    using M = std::remove_cvref_t<decltype(member)>;
    if constexpr (detail::is_map_v<M>) {
      for (const auto& [key, value] : member) {
        bytes.clear();
        binary_codec::encode(value, bytes);
        out.push_back(
            {std::string(name) + "[" + detail::key_text(key) + "]", detail::fnv1a(bytes)});
      }
    } else {
      bytes.clear();
      binary_codec::encode(member, bytes);
      out.push_back({name, detail::fnv1a(bytes)});
    }
  });
  std::sort(out.begin(), out.end(),
            [](const model_entry& a, const model_entry& b) { return a.key < b.key; });
  return out;
}

namespace detail {
inline std::uint64_t digest_entries(const std::vector<model_entry>& entries) noexcept {
  std::uint64_t h = 14695981039346656037ull;
  for (const model_entry& e : entries) {
    h = fnv1a(e.key, h);
    h = fnv1a(std::string_view("\0", 1), h);
    for (int i = 0; i < 8; ++i) h = (h ^ ((e.hash >> (8 * i)) & 0xFF)) * 1099511628211ull;
  }
  return h;
}

// Keys present on one side only, or with different values; both lists sorted by key.
inline std::vector<std::string> diff_entries(const std::vector<model_entry>& a,
                                             const std::vector<model_entry>& b) {
  std::vector<std::string> out;
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() || j != b.end()) {
    if (j == b.end() || (i != a.end() && i->key < j->key)) {
      out.push_back((i++)->key);
    } else if (i == a.end() || j->key < i->key) {
      out.push_back((j++)->key);
    } else {
      if (i->hash != j->hash) out.push_back(i->key);
      ++i, ++j;
    }
  }
  return out;
}
}  // namespace detail

// One 64-bit digest of a read model's content (FNV-1a over its sorted entries).
template <class P>
std::uint64_t digest(const P& model) {
  return detail::digest_entries(model_entries(model));
}

struct reconciliation {
  std::uint64_t live_digest = 0;
  std::uint64_t fresh_digest = 0;
  std::uint64_t checkpoint = 0;             // the position both models cover
  std::vector<std::string> differing_keys;  // present in one only, or with different values

  bool matches() const noexcept { return live_digest == fresh_digest && differing_keys.empty(); }
};

// Compares two models of one projection key by key.
template <class P>
reconciliation reconcile(const P& live, const P& fresh) {
  const auto a = model_entries(live);
  const auto b = model_entries(fresh);
  reconciliation r;
  r.live_digest = detail::digest_entries(a);
  r.fresh_digest = detail::digest_entries(b);
  r.differing_keys = detail::diff_entries(a, b);
  return r;
}

// Recomputes the model's projection from the log up to the model's checkpoint (a rebuild with
// `options`, so it may run on several workers) and compares it with the model, key by key.
template <class Codec = binary_codec, event_store S, read_model_store M>
reconciliation reconcile_with_log(const S& store, const M& model, rebuild_options options = {}) {
  using P = typename M::model_type;
  // The live side is listed under the model's read lock; the replay runs without holding it.
  std::vector<model_entry> live;
  const std::uint64_t checkpoint = model.read([&](const P& p, std::uint64_t at) {
    live = model_entries(p);
    return at;
  });
  std::vector<model_entry> fresh = model_entries(P{});
  if (checkpoint != 0) {
    options.up_to = checkpoint;
    fresh = model_entries(rebuild<P, Codec>(store, options).model);
  }
  reconciliation r;
  r.checkpoint = checkpoint;
  r.live_digest = detail::digest_entries(live);
  r.fresh_digest = detail::digest_entries(fresh);
  r.differing_keys = detail::diff_entries(live, fresh);
  return r;
}

}  // namespace annal
