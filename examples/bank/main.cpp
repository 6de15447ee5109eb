// The flagship example: a bank account kept as events in the embedded file log under ./data.
// Run it twice: the second run starts from the state the first one stored.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <variant>

#include <annal/annal.hpp>

#include "account.hpp"

namespace {

std::string money(std::int64_t cents) {
  char text[32];
  std::snprintf(text, sizeof text, "%s%lld.%02lld", cents < 0 ? "-" : "",
                static_cast<long long>((cents < 0 ? -cents : cents) / 100),
                static_cast<long long>((cents < 0 ? -cents : cents) % 100));
  return text;
}

// [report]
template <class Result>
void report(const char* what, const Result& r) {
  if (r.accepted())
    std::cout << what << ": ok, balance " << money(r.state.balance) << ", version " << r.version
              << "\n";
  else if (r.rejected())
    std::cout << what << ": rejected (" << r.rejection->reason << ")\n";
  else
    std::cout << what << ": conflict, stream is at version " << r.version << "\n";
}
// [report]

// [history]
template <class Repository>
void print_history(const Repository& accounts, const std::string& id) {
  for (const auto& e : accounts.history(id)) {
    std::cout << "  v" << e.stream_version << "  #" << e.position << "  ";
    std::visit([](const auto& ev) {
      using E = std::decay_t<decltype(ev)>;
      std::cout << annal::event_name_of<E>;
      if constexpr (requires { ev.cents; }) std::cout << " " << money(ev.cents);
      if constexpr (requires { ev.owner; }) std::cout << " " << ev.owner;
    }, e.event);
    std::cout << "\n";
  }
}
// [history]

template <class Store>
int run(Store& store, const std::string& command, const std::string& id, std::int64_t cents,
        const std::string& owner, std::uint64_t as_of) {
  // [repository]
  annal::repository<bank::account, Store> accounts{store};
  // [repository]
  if (command == "open") {
    report("open", accounts.handle(id, bank::open{owner}));
  } else if (command == "deposit") {
    report("deposit", accounts.handle(id, bank::deposit{cents}));
  } else if (command == "withdraw") {
    report("withdraw", accounts.handle(id, bank::withdraw{cents}));
  } else if (command == "history") {
    print_history(accounts, id);
  } else if (command == "balance") {
    const auto now = accounts.load(id);
    std::cout << id << ": balance " << money(now.state.balance) << " at version " << now.version
              << "\n";
    if (as_of > 0) {
      const auto then = accounts.load(id, annal::at_version{as_of});
      std::cout << id << ": balance " << money(then.state.balance) << " as of version "
                << then.version << "\n";
    }
  } else {  // the demo: what a first-time reader should see
    // [demo]
    const auto before = accounts.load(id);
    std::cout << "account " << id << " starts at version " << before.version << ", balance "
              << money(before.state.balance) << "\n";
    if (!before.state.is_open) report("open", accounts.handle(id, bank::open{owner}));
    report("deposit 100.00", accounts.handle(id, bank::deposit{10'000}));
    report("withdraw 25.50", accounts.handle(id, bank::withdraw{2'550}));
    report("withdraw 1000000.00", accounts.handle(id, bank::withdraw{100'000'000}));

    const auto now = accounts.load(id);
    std::cout << "balance " << money(now.state.balance) << " at version " << now.version << "\n";
    const auto then = accounts.load(id, annal::at_version{2});
    std::cout << "balance as of version 2: " << money(then.state.balance) << "\n";
    std::cout << "history:\n";
    print_history(accounts, id);
    // [demo]
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"annal bank example: an account kept as events"};
  std::string data = "data";
  bool in_memory = false;
  std::string id = "acc-42";
  std::string owner = "Ada Lovelace";
  std::int64_t cents = 0;
  std::uint64_t as_of = 0;
  app.add_option("--data", data, "directory of the file log")->capture_default_str();
  app.add_flag("--memory", in_memory, "keep events in memory only");
  app.add_option("--account", id, "account (stream) id")->capture_default_str();
  app.require_subcommand(0, 1);
  app.add_subcommand("demo", "open, deposit, withdraw, and show balance and history (default)");
  app.add_subcommand("open", "open the account")->add_option("--owner", owner);
  app.add_subcommand("deposit", "deposit cents")->add_option("cents", cents)->required();
  app.add_subcommand("withdraw", "withdraw cents")->add_option("cents", cents)->required();
  app.add_subcommand("history", "list the account's events");
  app.add_subcommand("balance", "show the balance")
      ->add_option("--as-of-version", as_of, "also show the balance at this version");
  CLI11_PARSE(app, argc, argv);
  const std::string command =
      app.get_subcommands().empty() ? "demo" : app.get_subcommands().front()->get_name();

  try {
    if (in_memory) {
      annal::memory_store store;
      return run(store, command, id, cents, owner, as_of);
    }
    annal::file_log store{data};
    std::cout << "events are kept in " << data << "/\n";
    return run(store, command, id, cents, owner, as_of);
  } catch (const annal::error& e) {
    std::cerr << "bank: " << e.what() << "\n";
    return 1;
  }
}
