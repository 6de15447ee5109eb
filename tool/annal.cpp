// The generic `annal` tool: inspects, verifies, copies, replicates, promotes, backs up, restores
// and archives any annal store by URL, without the user's event types (docs/tool.md). The same
// implementation as <annal/tool.hpp>'s typed tool, given no types.
#include <annal/tool/detail/app.hpp>

int main(int argc, char** argv) {
  return annal::tool::detail::run_tool<annal::tool::detail::no_types>(argc, argv);
}
