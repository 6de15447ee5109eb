// A planted mistake for the layering check's own test: the pure core reaching up to the command
// layer.
#pragma once

#include <annal/store/repository.hpp>
