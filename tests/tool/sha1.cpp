// The tool's SHA-1 (copy's digest) against FIPS 180's test vectors, fed whole and in pieces that
// cross block boundaries, through the SHA extensions (where the CPU has them) and the portable
// code.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>

#include <annal/tool/detail/sha1.hpp>

namespace {

std::string hex_sha1(const std::string& text, std::size_t piece, bool sha_extensions) {
  annal::tool::detail::sha1 sha(sha_extensions);
  for (std::size_t at = 0; at < text.size(); at += piece)
    sha.update(text.data() + at, std::min(piece, text.size() - at));
  std::string out;
  const char* digits = "0123456789abcdef";
  for (const unsigned char byte : sha.finish()) {
    out += digits[byte >> 4];
    out += digits[byte & 0xf];
  }
  return out;
}

}  // namespace

TEST_CASE("sha1 gives FIPS 180's digests, however the bytes are split", "[tool][sha1]") {
  const std::pair<std::string, std::string> vectors[] = {
      {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
      {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
      {std::string(1000000, 'a'), "34aa973cd4c4daa4f61eeb2bdbad27316534016f"},
  };
  for (const bool sha_extensions : {true, false})
    for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{63},
                                    std::size_t{64}, std::size_t{65}, std::size_t{1000000}})
      for (const auto& [text, digest] : vectors) {
        INFO("extensions " << sha_extensions << ", pieces of " << piece << ", " << text.size()
                           << " bytes");
        CHECK(hex_sha1(text, piece, sha_extensions) == digest);
      }
}
