// Sealing and unsealing a personal value (a 24-byte name) beside the floor: libsodium's
// XChaCha20-Poly1305 encrypting and decrypting the same plaintext with a key already in hand, no
// key lookup, no encoding, no base64.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

#include <annal/privacy/file_key_store.hpp>
#include <annal/privacy/key_store.hpp>
#include <annal/privacy/seal.hpp>

#include "common/ratio_reporter.hpp"

namespace {

const std::string name = "Augusta Ada King-Noel 42";  // 24 bytes

template <class Keys>
void round_trip(benchmark::State& state, Keys& keys) {
  for (auto _ : state) {
    const auto sealed = annal::seal(keys, "customer-42", name);
    auto opened = annal::unseal(keys, sealed);
    benchmark::DoNotOptimize(opened);
  }
  state.SetItemsProcessed(state.iterations());
}

void seal_unseal_memory(benchmark::State& state) {
  annal::memory_key_store keys;
  round_trip(state, keys);
}

// Two file reads a round trip (no key is cached, so a forget in another process counts at once).
void seal_unseal_file(benchmark::State& state) {
  const auto dir = std::filesystem::temp_directory_path() / "annal-bench-keys";
  std::filesystem::remove_all(dir);
  annal::file_key_store keys(dir);
  round_trip(state, keys);
  std::filesystem::remove_all(dir);
}

void seal_unseal_floor(benchmark::State& state) {
  if (sodium_init() < 0) state.SkipWithError("sodium_init failed");
  unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
  randombytes_buf(key, sizeof key);
  const std::string ad = "customer-42";
  for (auto _ : state) {
    unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
    randombytes_buf(nonce, sizeof nonce);
    std::string sealed(name.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
    unsigned long long n = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        reinterpret_cast<unsigned char*>(sealed.data()), &n,
        reinterpret_cast<const unsigned char*>(name.data()), name.size(),
        reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, nonce, key);
    std::string opened(name.size(), '\0');
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            reinterpret_cast<unsigned char*>(opened.data()), &n, nullptr,
            reinterpret_cast<const unsigned char*>(sealed.data()), sealed.size(),
            reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nonce, key) != 0)
      state.SkipWithError("decrypt failed");
    benchmark::DoNotOptimize(opened);
  }
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

BENCHMARK(seal_unseal_memory)->Name("seal_unseal/annal");
BENCHMARK(seal_unseal_file)->Name("seal_unseal/annal_file_keys");
BENCHMARK(seal_unseal_floor)->Name("seal_unseal/floor");

ANNAL_BENCH_MAIN();
