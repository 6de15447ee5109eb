// A read model kept in one checksummed file with its checkpoint: both change in one atomic write.
#pragma once

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>

#include <annal/codec/binary.hpp>
#include <annal/codec/detail/reflect.hpp>
#include <annal/codec/fingerprint.hpp>
#include <annal/core/error.hpp>
#include <annal/detail/atomic_file.hpp>
#include <annal/projection/projection.hpp>
#include <annal/projection/read_model.hpp>
#include <annal/runtime/log.hpp>

namespace annal {

namespace detail {
inline constexpr std::string_view read_model_file_magic = "ANNMODL1";
}

// The whole model (encoded with binary_codec, so P must be Hana-reflected), its schema fingerprint
// and its checkpoint are written as one file, replaced atomically (temp file, fsync, rename,
// directory fsync) after every batch: a crash leaves the model of the last committed batch with
// that batch's checkpoint, so no event is applied twice or skipped. When a handler throws, the
// batch is rolled back by reloading the file. A damaged file is reported through annal::log, a file
// of another schema of P through an info message; either way the model starts empty at checkpoint
// 0, to be rebuilt from the log. Suits models that are cheap to rewrite per batch; raise the
// projector's batch size to commit less often.
template <class P>
class file_read_model : public detail::locked_model<P> {
  static_assert(check_projection<P>());
  using base = detail::locked_model<P>;
  using base::mutex_, base::model_, base::checkpoint_;
  static_assert(detail::reflected<P>,
                "annal::file_read_model<P> stores P with binary_codec: P must be reflected with "
                "BOOST_HANA_DEFINE_STRUCT or BOOST_HANA_ADAPT_STRUCT");

 public:
  explicit file_read_model(std::filesystem::path path) : path_(std::move(path)) {
    if (path_.has_parent_path()) std::filesystem::create_directories(path_.parent_path());
    load_file();
  }
  file_read_model(const file_read_model&) = delete;
  file_read_model& operator=(const file_read_model&) = delete;

  template <class F>
  void update(F&& f) {
    std::unique_lock lock(mutex_);
    const std::uint64_t before = checkpoint_;
    try {
      std::forward<F>(f)(model_, checkpoint_);
    } catch (...) {
      load_file();  // roll back to the last commit; the exception goes on to the caller
      throw;
    }
    if (checkpoint_ != before) write_file(model_, checkpoint_);
  }

  void replace(P model, std::uint64_t checkpoint) {
    std::unique_lock lock(mutex_);
    write_file(model, checkpoint);
    model_ = std::move(model);
    checkpoint_ = checkpoint;
  }

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  void write_file(const P& model, std::uint64_t checkpoint) const {
    std::string body;
    detail::put_u64(body, checkpoint);
    detail::put_u64(body, schema_fingerprint_v<P>);
    binary_codec::encode(model, body);
    detail::write_checked_file(path_, detail::read_model_file_magic, body);
  }

  void load_file() {
    detail::checked_file file = detail::read_checked_file(path_, detail::read_model_file_magic);
    model_ = P{};
    checkpoint_ = 0;
    if (file.status == detail::checked_file::state::missing) return;
    std::string reason = file.reason;
    if (file.status == detail::checked_file::state::ok) {
      if (file.body.size() >= 16 && detail::get_le(file.body, 8, 8) != schema_fingerprint_v<P>) {
        log(log_level::info,
            "read model file " + path_.string() +
                " holds another schema of the projection; it restarts from position 0");
        return;
      }
      if (file.body.size() >= 16) {
        try {
          P model = binary_codec::decode<P>(std::string_view(file.body).substr(16));
          checkpoint_ = detail::get_le(file.body, 0, 8);
          model_ = std::move(model);
          return;
        } catch (const error& e) {
          if (e.code() != make_error_code(errc::decode_error)) throw;
          reason = e.what();
        }
      } else {
        reason = "no checkpoint and schema fingerprint";
      }
    }
    log(log_level::warning, "corrupt read model file " + path_.string() + " ignored (" + reason +
                                "); the projection restarts from position 0");
  }

  std::filesystem::path path_;
};

}  // namespace annal
