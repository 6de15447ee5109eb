// Every member of basic_file_log that does not depend on a visitor. For posix_io, <annal/src.hpp>
// instantiates them once in the separately compiled mode; otherwise each user of the log does.
#pragma once

#include <annal/file/detail/appending.hpp>
#include <annal/file/detail/archived.hpp>
#include <annal/file/detail/follower.hpp>
#include <annal/file/detail/group_commit.hpp>
#include <annal/file/detail/index.hpp>
#include <annal/file/detail/records.hpp>
#include <annal/file/detail/recovery.hpp>
