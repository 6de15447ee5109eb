// Every member of basic_file_log that does not depend on a visitor: what <annal/src.hpp> compiles
// once in the separately compiled mode, and what every includer of file/log.hpp compiles otherwise.
#pragma once

#include <annal/file/detail/appending.hpp>
#include <annal/file/detail/follower.hpp>
#include <annal/file/detail/group_commit.hpp>
#include <annal/file/detail/index.hpp>
#include <annal/file/detail/records.hpp>
#include <annal/file/detail/recovery.hpp>
