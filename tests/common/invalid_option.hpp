// A matcher for the options contract (docs/api.md): an invalid option throws errc::invalid_argument
// naming the option and the value it was given.
#pragma once

#include <string>

#include <catch2/catch.hpp>

#include <annal/core/error.hpp>

namespace annal_test {

inline Catch::Matchers::Generic::PredicateMatcher<annal::error> names_invalid_option(
    std::string option, std::string value) {
  return Catch::Predicate<annal::error>(
      [option, value](const annal::error& e) {
        const std::string what = e.what();
        return e.code() == annal::errc::invalid_argument &&
               what.find(option) != std::string::npos && what.find(value) != std::string::npos;
      },
      "errc::invalid_argument naming " + option + " and " + value);
}

}  // namespace annal_test
