// The separately compiled part of annal: include this in exactly one source file of a program whose
// translation units all define ANNAL_SEPARATE_COMPILATION (or let annal_add_compiled_library() in
// CMake do both). That file then holds annal's code that does not depend on the program's types —
// the file log's segments, index, recovery and group commit — and the other files do not
// instantiate it.
#pragma once

#include <annal/file/log.hpp>

namespace annal {
template class basic_file_log<posix_io>;
}  // namespace annal
