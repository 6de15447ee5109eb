// The right to erasure in an append-only log: customers' names and e-mail addresses are sealed
// under a key per customer (annal::privacy), kept in a file log with the keys in a directory
// beside it. Forgetting a customer deletes their key: the log still holds every event and every
// total still adds up, but their personal data can no longer be read, here or in any copy.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <annal/annal.hpp>
#include <annal/privacy/file_key_store.hpp>
#include <annal/privacy/seal.hpp>

#include "customer.hpp"

namespace {

std::string money(std::int64_t cents) {
  char text[32];
  std::snprintf(text, sizeof text, "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return text;
}

// Whether `text` appears in any file under `dir`: the proof that nothing was stored in clear.
bool appears_under(const std::filesystem::path& dir, const std::string& text) {
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    if (bytes.find(text) != std::string::npos) return true;
  }
  return false;
}

template <class Repository, class Keys>
void report(const Repository& customers, Keys& keys, const std::vector<std::string>& ids) {
  std::int64_t revenue = 0;
  for (const auto& id : ids) {
    const auto c = customers.load(id).state;
    if (!c.is_registered) continue;
    // Personal data leaves the system here, and only here, while its key exists.
    const auto name = annal::unseal(keys, c.name);
    const auto email = annal::unseal(keys, c.email);
    std::cout << "  " << id << "  " << (name ? *name : "(erased)") << " <"
              << (email ? *email : "(erased)") << ">  " << c.orders
              << (c.orders == 1 ? " order, " : " orders, ") << money(c.spent_cents) << "\n";
    revenue += c.spent_cents;
  }
  std::cout << "  revenue " << money(revenue) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"annal erasure example: personal data sealed per customer, erased on request"};
  std::string data = "erasure-data";
  app.add_option("--data", data, "directory of the file log and the keys")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    std::filesystem::remove_all(data);  // each run tells the story from the start
    std::filesystem::create_directories(data);
    annal::file_log store{std::filesystem::path(data) / "log"};
    annal::file_key_store keys{std::filesystem::path(data) / "keys"};
    annal::repository<shop::customer, annal::file_log> customers{store};
    const std::vector<std::string> ids = {"customer-1", "customer-2"};

    // Where personal data enters: sealed before it becomes a command.
    const auto registration = [&](const std::string& id, const std::string& name,
                                  const std::string& email) {
      return shop::register_customer{annal::seal(keys, id, name), annal::seal(keys, id, email)};
    };
    customers.handle("customer-1", registration("customer-1", "Ada Lovelace", "ada@example.org"));
    customers.handle("customer-2", registration("customer-2", "Charles Babbage", "cb@example.org"));
    customers.handle("customer-1", shop::place_order{12'500});
    customers.handle("customer-2", shop::place_order{4'000});
    customers.handle("customer-1", shop::place_order{2'250});
    std::cout << "customers:\n";
    report(customers, keys, ids);
    std::cout << "names in the log in clear: " << (appears_under(data, "Lovelace") ? "yes" : "no")
              << "\n";

    // Erasure: record the request, then forget the key.
    const auto r = customers.handle("customer-1", shop::forget_customer{"asked on 2026-11-23"});
    if (!r.accepted()) throw std::runtime_error("the erasure was not recorded");
    keys.forget("customer-1");
    std::cout << "after forgetting customer-1:\n";
    report(customers, keys, ids);
    const auto refused = customers.handle("customer-1", shop::place_order{100});
    std::cout << "an order for customer-1: "
              << (refused.rejected() ? "rejected (" + refused.rejection->reason + ")" : "accepted")
              << "\n";
    std::cout << "events kept in the log: " << store.last_position() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "erasure: " << e.what() << "\n";
    return 1;
  }
}
