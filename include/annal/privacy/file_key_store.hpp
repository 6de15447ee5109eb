// Keys of data subjects in a directory, one small file each: durable, shared by processes.
#pragma once

#include <sodium.h>

#include <cerrno>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include <unistd.h>

#include <annal/core/error.hpp>
#include <annal/detail/atomic_file.hpp>
#include <annal/privacy/key_store.hpp>

namespace annal {

// A key_store in a directory: each subject's key in its own file, created crash-safely and
// exclusively (processes asking at once all get the one key that was linked into place), and
// forgotten by unlinking the file and syncing the directory. No state in memory, so every process
// sees a key forgotten by another at once. File names and contents are hashes and keys: no subject
// id is written in clear. Protect the directory as you would any key material; on flash or a
// journaling file system an unlinked file's blocks may linger until reused, so for erasure that
// must hold against the disk itself, keep this directory on an encrypted volume or model
// key_store over a KMS or an HSM.
class file_key_store {
 public:
  explicit file_key_store(std::filesystem::path directory) : dir_(std::move(directory)) {
    detail::privacy::init_sodium();
    std::error_code ec;
    // A directory made here is the owner's alone, as its key files are; one that exists keeps the
    // permissions it was given.
    if (std::filesystem::create_directories(dir_, ec) && !ec)
      std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::replace, ec);
    if (ec || !std::filesystem::is_directory(dir_))
      throw error(errc::io_error,
                  "cannot use " + dir_.string() + " as a key store directory" +
                      (ec ? ": " + ec.message() : std::string(": not a directory")));
  }

  const std::filesystem::path& directory() const noexcept { return dir_; }

  data_key key_for(std::string_view subject) {
    detail::privacy::check_subject(subject);
    const entry e(subject, dir_);
    if (auto found = read(e, subject)) return *found;
    const data_key fresh = data_key::generate();
    std::string body(e.hash, e.hash + hash_size);
    body.append(reinterpret_cast<const char*>(fresh.data()), data_key::size);
    const bool created =
        detail::create_file_exclusively(e.path, detail::checked_bytes(magic, body), 0600);
    sodium_memzero(body.data(), body.size());
    if (created) return fresh;
    if (auto winner = read(e, subject)) return *winner;  // another thread or process made it
    throw error(errc::io_error, "the key file " + e.path.string() +
                                    " of a data subject vanished while it was created");
  }

  std::optional<data_key> find_key(std::string_view subject) {
    detail::privacy::check_subject(subject);
    return read(entry(subject, dir_), subject);
  }

  void forget(std::string_view subject) {
    detail::privacy::check_subject(subject);
    const entry e(subject, dir_);
    if (::unlink(e.path.c_str()) != 0 && errno != ENOENT)
      detail::throw_io("cannot delete the key file", e.path, errno);
    detail::fsync_directory(dir_);
  }

 private:
  static constexpr std::size_t hash_size = 32;
  static constexpr std::string_view magic = "annalkey";

  // A subject's file: named by the first half of a BLAKE2b hash of its id, holding the whole hash
  // (so two ids sharing a name would be told apart) and the key.
  struct entry {
    entry(std::string_view subject, const std::filesystem::path& dir) {
      crypto_generichash(hash, hash_size, reinterpret_cast<const unsigned char*>(subject.data()),
                         subject.size(), nullptr, 0);
      char name[hash_size + 1];
      sodium_bin2hex(name, sizeof name, hash, hash_size / 2);
      path = dir / (std::string(name) + ".key");
    }
    unsigned char hash[hash_size];
    std::filesystem::path path;
  };

  static std::optional<data_key> read(const entry& e, std::string_view subject) {
    detail::checked_file file = detail::read_checked_file(e.path, magic);
    if (file.status == detail::checked_file::state::missing) return std::nullopt;
    const bool ok = file.status == detail::checked_file::state::ok &&
                    file.body.size() == hash_size + data_key::size &&
                    sodium_memcmp(file.body.data(), e.hash, hash_size) == 0;
    if (!ok) {
      const std::string why =
          file.status != detail::checked_file::state::ok ? file.reason
          : file.body.size() != hash_size + data_key::size
              ? "it holds " + std::to_string(file.body.size()) + " bytes, not a hash and a key"
              : "it belongs to another subject";
      sodium_memzero(file.body.data(), file.body.size());
      throw error(errc::corrupt_log, "the key file " + e.path.string() + " of data subject '" +
                                         std::string(subject) + "' is damaged (" + why +
                                         "): values sealed under it cannot be read until it is "
                                         "restored from a backup");
    }
    const data_key key =
        data_key::from_bytes(reinterpret_cast<const unsigned char*>(file.body.data()) + hash_size);
    sodium_memzero(file.body.data(), file.body.size());
    return key;
  }

  std::filesystem::path dir_;
};

}  // namespace annal
