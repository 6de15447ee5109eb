// The decider: a pure decide(state, command) beside the fold that evolves state from events.
#pragma once

#include <annal/core/decision.hpp>
#include <annal/core/hydrate.hpp>
