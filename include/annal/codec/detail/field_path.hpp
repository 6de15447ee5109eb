// Where a codec is inside a value ("items[3].price"), kept on the stack and spelled out only on
// error.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <annal/core/error.hpp>

namespace annal::detail {

// One step from the top-level value down to the field being read; nodes live in the callers'
// frames, so following a path costs a few stores and nothing is formatted unless there is an error.
struct field_path {
  enum class step : unsigned char { root, member, element, alternative };

  const field_path* parent = nullptr;
  const char* name = nullptr;
  std::size_t index = 0;
  step kind = step::root;

  constexpr field_path() = default;
  constexpr field_path(const field_path& up, const char* member) noexcept
      : parent(&up), name(member), kind(step::member) {}
  constexpr field_path(const field_path& up, std::size_t element, step k = step::element) noexcept
      : parent(&up), index(element), kind(k) {}

  // "items[3].price"; "shape<1>.radius" for the alternative of a variant; "" at the top level. A
  // template so that the separately compiled mode compiles it once (see detail/validate.hpp).
  template <class = void>
  std::string str() const {
    std::vector<const field_path*> chain;
    for (const field_path* p = this; p != nullptr && p->kind != step::root; p = p->parent)
      chain.push_back(p);
    std::string out;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      const field_path& p = **it;
      switch (p.kind) {
        case step::member:
          if (!out.empty()) out += '.';
          out += p.name;
          break;
        case step::element:
          out += '[' + std::to_string(p.index) + ']';
          break;
        case step::alternative:
          out += '<' + std::to_string(p.index) + '>';
          break;
        case step::root:
          break;
      }
    }
    return out;
  }
};

// Templates for the separately compiled mode, like field_path::str.
template <class = void>
std::string describe_field(const field_path& path) {
  const std::string where = path.str();
  return where.empty() ? std::string("top level") : "field '" + where + "'";
}

// "decode error at byte 17, field 'items[3].price': truncated int64 (needs 8 bytes, 3 left)"
template <class = void>
[[noreturn, gnu::cold, gnu::noinline]] void throw_decode_error(std::size_t offset,
                                                               const field_path& path,
                                                               std::string_view what) {
  throw error(errc::decode_error, "decode error at byte " + std::to_string(offset) + ", " +
                                      describe_field(path) + ": " + std::string(what));
}

// JSON shape errors have no byte offset once the text is parsed: the path is the position.
template <class = void>
[[noreturn, gnu::cold, gnu::noinline]] void throw_json_shape_error(const field_path& path,
                                                                   std::string_view what) {
  throw error(errc::decode_error,
              "decode error at " + describe_field(path) + ": " + std::string(what));
}

// A value that cannot be stored because it could never be read back (invalid UTF-8, oversize).
template <class = void>
[[noreturn, gnu::cold, gnu::noinline]] void throw_encode_error(const field_path& path,
                                                               std::string_view what) {
  throw error(errc::invalid_argument,
              "encode error at " + describe_field(path) + ": " + std::string(what));
}

#if defined(ANNAL_SEPARATE_COMPILATION)
extern template std::string field_path::str() const;
extern template std::string describe_field(const field_path&);
extern template void throw_decode_error(std::size_t, const field_path&, std::string_view);
extern template void throw_json_shape_error(const field_path&, std::string_view);
extern template void throw_encode_error(const field_path&, std::string_view);
#endif

}  // namespace annal::detail
