// Sends a command to the repository whose aggregate takes it: the one with a `decide` for it,
// found at compile time among the repositories a process manager's runner is given.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include <annal/core/decision.hpp>
#include <annal/core/error.hpp>
#include <annal/core/record.hpp>
#include <annal/store/repository.hpp>

namespace annal {

// What became of one routed command.
struct routed_result {
  command_status status = command_status::accepted;
  bool duplicate = false;       // sent before (the same command id): nothing was stored again
  std::string reason;           // a rejection's text
  bool stream_deleted = false;  // rejected because the aggregate's stream is deleted
};

namespace detail {
template <class R>
struct repository_aggregate;
template <class A, class S, class Codec, class Snapshots>
struct repository_aggregate<repository<A, S, Codec, Snapshots>> {
  using type = A;
};

// Whether the stream holds an event with this id (read only when a command was refused).
template <class S>
bool holds_event(const S& store, std::string_view stream_id, const event_id& id) {
  bool found = false;
  store.read_stream(stream_id, 1, [&](const recorded_event& e) {
    found = e.id == id;
    return !found;
  });
  return found;
}

// A rejection's text: its `reason` where it has one, else what kind of value it is.
template <class R>
std::string rejection_text(const R& r) {
  if constexpr (requires { std::string(r.reason); })
    return std::string(r.reason);
  else if constexpr (std::is_enum_v<R>)
    return "rejected (value " +
           std::to_string(static_cast<long long>(static_cast<std::underlying_type_t<R>>(r))) + ")";
  else
    return "rejected";
}
}  // namespace detail

// Routes each command to the first of its repositories whose aggregate has a `decide` for it:
//   annal::command_router router{videos, jobs};   // repositories, by reference
template <class... Repositories>
class command_router {
 public:
  explicit command_router(Repositories&... repositories) : repositories_(&repositories...) {}

  // Whether one of the repositories takes C.
  template <class C>
  static constexpr bool takes =
      (decider_for<typename detail::repository_aggregate<Repositories>::type, C> || ...);

  // Handles `command` on `stream_id` through its repository. A deleted stream is a rejection the
  // sender sees (`stream_deleted`), not an exception.
  template <class C>
  routed_result handle(std::string_view stream_id, const C& command,
                       const command_context& ctx) const {
    static_assert(takes<C>, "annal: no repository of this command_router takes the command");
    return route<0, C>(stream_id, command, ctx);
  }

 private:
  template <std::size_t I, class C>
  routed_result route(std::string_view stream_id, const C& command,
                      const command_context& ctx) const {
    using repo = std::tuple_element_t<I, std::tuple<Repositories...>>;
    using A = typename detail::repository_aggregate<repo>::type;
    if constexpr (decider_for<A, C>) {
      routed_result out;
      auto& repository = *std::get<I>(repositories_);
      try {
        const auto r = repository.handle(stream_id, command, ctx);
        out.status = r.status;
        out.duplicate = r.duplicate;
        if (r.rejected()) out.reason = detail::rejection_text(*r.rejection);
      } catch (const error& e) {
        if (e.code() != make_error_code(errc::stream_deleted)) throw;
        out.status = command_status::rejected;
        out.stream_deleted = true;
        out.reason = e.what();
      }
      // Sent again after it was carried out, the command meets the state it made, which may well
      // refuse it: its first event in the stream says it was a duplicate.
      if (out.status == command_status::rejected && !ctx.command_id.is_nil() &&
          detail::holds_event(repository.store(), stream_id,
                              detail::derived_event_id(ctx.command_id, 0)))
        out = routed_result{command_status::accepted, true, {}, false};
      return out;
    } else {
      return route<I + 1, C>(stream_id, command, ctx);
    }
  }

  std::tuple<Repositories*...> repositories_;
};

}  // namespace annal
