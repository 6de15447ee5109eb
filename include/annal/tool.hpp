// The operator's tool built with your own event types and projections: a five-line main.cpp calls
// annal::tool::main<annal::events<...>, Projections...>(argc, argv) and gets every command of the
// generic `annal` program, with events decoded and upcast, verify decoding every event, and
// rebuild, replay and reconcile of the projections by name (docs/tool.md). Needs CLI11 (link
// CLI11::CLI11) and Boost.JSON (annal::annal links it).
#pragma once

#include <annal/core/event_list.hpp>
#include <annal/tool/detail/app.hpp>
#include <annal/tool/detail/typed.hpp>

namespace annal::tool {

// Runs the tool on the command line and returns the exit status for main to return: 0 done, 1
// damage found (or a read model that differs from its replay), 2 bad input (an unknown projection
// among them), 3 any other failure. Events: annal::events<...> of the types `events` and `verify`
// decode (their previous versions upcast); Projections: the ones `rebuild <name>` runs, each named
// by annal::tool::projection_name.
template <class Events, class... Projections>
int main(int argc, char** argv) {
  return detail::run_tool<detail::tool_types<Events, Projections...>>(argc, argv);
}

}  // namespace annal::tool
