// A consumer of annal::privacy: its headers compile and libsodium links and runs.
#include <annal/privacy/key_store.hpp>
#include <annal/privacy/seal.hpp>

int main() {
  annal::memory_key_store keys;
  const auto sealed = annal::seal(keys, "customer-1", std::string("Ada"));
  const auto opened = annal::unseal(keys, sealed);
  keys.forget("customer-1");
  return opened == std::string("Ada") && !annal::unseal(keys, sealed) ? 0 : 1;
}
