// A planted mistake for the layering check's own test: forward declarations that include a
// definition, which the headers including fwd.hpp would then all pay for.
#pragma once

#include <annal/core/record.hpp>
