// The bank example's command line. Parsed in options.cpp, apart from main.cpp: CLI11 costs more to
// compile than annal does, and a file of its own is compiled once, not with every edit of main.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace bank {

struct options {
  std::string command = "demo";  // demo, open, deposit, withdraw, history or balance
  std::string data = "data";
  bool in_memory = false;
  std::string id = "acc-42";
  std::string owner = "Ada Lovelace";
  std::int64_t cents = 0;
  std::uint64_t as_of = 0;
};

// The options, or the exit code when there is nothing to run (--help, or an error already printed).
struct parsed {
  std::optional<options> run;
  int exit_code = 0;
};
parsed parse_options(int argc, char** argv);

}  // namespace bank
