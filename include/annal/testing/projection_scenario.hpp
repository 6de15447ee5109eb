// The given/then fixture for projections: events in, as a projector would deliver them; read model
// out.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <type_traits>
#include <utility>

#include <annal/codec/upcast.hpp>
#include <annal/projection/projection.hpp>
#include <annal/testing/given_when_then.hpp>

namespace annal::testing {

namespace diagnostic {
// Never defined: names a projection and an old event version it knows by name but cannot upcast.
template <class Projection, class Event>
struct given_event_is_an_old_version_the_projection_cannot_read;
}  // namespace diagnostic

namespace detail {
template <class P, class E>
constexpr bool check_projection_given_event() {
  using listed = typename P::events;
  if constexpr (!event<E>) {
    static_assert(annal::detail::always_false<P, E>,
                  "annal::testing: given(...) takes events (declared with ANNAL_EVENT)");
    return false;
  } else if constexpr (list_contains_v<listed, E> ||
                       annal::detail::upcasting::is_foreign_event<
                           annal::detail::upcasting::closure_t<listed>, E>() ||
                       upcastable_to<E, listed>) {
    return true;
  } else {
    // An error here: the projection knows this event's stored name, but this version has no
    // upcast() chain to an event it lists, so a projector would stop at such a record.
    (void)sizeof(diagnostic::given_event_is_an_old_version_the_projection_cannot_read<P, E>);
    static_assert(
        annal::detail::always_false<P, E>,
        "annal::testing: given(...) names an old version of an event the projection "
        "lists, with no upcast() chain to it; declare it in the event's previous_versions "
        "and write its upcast()");
    return false;
  }
}
}  // namespace detail

// projection_scenario<P>().given(events...).then_state(check): each event gets an envelope (stream
// "stream-1" unless given_on names another, the next version of its stream, the next global
// position) and reaches P as a projector would deliver it: a listed event to its handler, an old
// version or retired event upcast first (each part P lists, in order), and an event P does not
// list passed over.
template <class P>
class projection_scenario {
  static_assert(check_projection<P>());

 public:
  template <class... E>
  projection_scenario& given(const E&... events) & {
    return given_on("stream-1", events...);
  }
  template <class... E>
  projection_scenario given(const E&... events) && {
    given(events...);
    return std::move(*this);
  }

  template <class... E>
  projection_scenario& given_on(const std::string& stream_id, const E&... events) & {
    static_assert((detail::check_projection_given_event<P, E>() && ...));
    (deliver(stream_id, events), ...);
    return *this;
  }
  template <class... E>
  projection_scenario given_on(const std::string& stream_id, const E&... events) && {
    given_on(stream_id, events...);
    return std::move(*this);
  }

  // The read model after the given events.
  const P& state() const noexcept { return model_; }
  // How many handler calls the given events made.
  std::size_t delivered() const noexcept { return delivered_; }

  // Calls check(state()): a check returning bool is one assertion; a void one asserts itself.
  template <class F>
    requires std::invocable<F&, const P&>
  const projection_scenario& then_state(F check, const char* file = __builtin_FILE(),
                                        std::size_t line = __builtin_LINE()) const {
    if constexpr (std::is_same_v<std::invoke_result_t<F&, const P&>, void>)
      check(model_);
    else
      report(check_state(model_, check), site{file, line});
    return *this;
  }

 private:
  template <class E>
  void deliver(const std::string& stream_id, const E& e) {
    envelope_header h;
    h.stream_id = stream_id;
    h.stream_version = ++versions_[stream_id];
    h.position = ++position_;
    const auto handle = [&](const auto& current) {
      project_event(model_, current, h);
      ++delivered_;
    };
    if constexpr (list_contains_v<typename P::events, E>)
      handle(e);
    else if constexpr (upcastable_to<E, typename P::events>)
      upcast_to<typename P::events>(e, handle);
    // Otherwise an event P does not list: a projector skips it.
  }

  P model_{};
  std::map<std::string, std::uint64_t> versions_;
  std::uint64_t position_ = 0;
  std::size_t delivered_ = 0;
};

}  // namespace annal::testing
