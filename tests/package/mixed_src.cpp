// Mixing the two modes: the separately compiled part, compiled once.
#include <annal/src.hpp>
