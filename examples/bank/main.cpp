// The flagship example: a bank account kept as events in the embedded file log under ./data.
// Run it twice: the second run starts from the state the first one stored.
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <variant>

#include <annal/annal.hpp>

#include "account.hpp"
#include "options.hpp"

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
    std::visit(
        [](const auto& ev) {
          using E = std::decay_t<decltype(ev)>;
          std::cout << annal::event_name_of<E>;
          if constexpr (requires { ev.cents; }) std::cout << " " << money(ev.cents);
          if constexpr (requires { ev.owner; }) std::cout << " " << ev.owner;
        },
        e.event);
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
  const bank::parsed parsed = bank::parse_options(argc, argv);
  if (!parsed.run) return parsed.exit_code;
  const bank::options& o = *parsed.run;
  try {
    if (o.in_memory) {
      annal::memory_store store;
      return run(store, o.command, o.id, o.cents, o.owner, o.as_of);
    }
    annal::file_log store{o.data};
    std::cout << "events are kept in " << o.data << "/\n";
    return run(store, o.command, o.id, o.cents, o.owner, o.as_of);
  } catch (const annal::error& e) {
    std::cerr << "bank: " << e.what() << "\n";
    return 1;
  }
}
