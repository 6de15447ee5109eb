// The bank example's command line, with CLI11.
#include "options.hpp"

#include <CLI/CLI.hpp>

namespace bank {

parsed parse_options(int argc, char** argv) {
  CLI::App app{"annal bank example: an account kept as events"};
  options o;
  app.add_option("--data", o.data, "directory of the file log")->capture_default_str();
  app.add_flag("--memory", o.in_memory, "keep events in memory only");
  app.add_option("--account", o.id, "account (stream) id")->capture_default_str();
  app.require_subcommand(0, 1);
  app.add_subcommand("demo", "open, deposit, withdraw, and show balance and history (default)");
  app.add_subcommand("open", "open the account")->add_option("--owner", o.owner);
  app.add_subcommand("deposit", "deposit cents")->add_option("cents", o.cents)->required();
  app.add_subcommand("withdraw", "withdraw cents")->add_option("cents", o.cents)->required();
  app.add_subcommand("history", "list the account's events");
  app.add_subcommand("balance", "show the balance")
      ->add_option("--as-of-version", o.as_of, "also show the balance at this version");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return {std::nullopt, app.exit(e)};
  }
  if (!app.get_subcommands().empty()) o.command = app.get_subcommands().front()->get_name();
  return {o, 0};
}

}  // namespace bank
