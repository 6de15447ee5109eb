// Checks that every C++ block in README.md and docs/ is an exact copy of a marked region of a
// compiled source file, so the docs cannot drift from code that builds. A block is preceded by
//   <!-- snippet: path/from/repo/root.cpp#name -->
// and the source holds the same lines between two `// [name]` marker lines (indentation of the
// region is removed before comparing).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "../common/doc_text.hpp"

namespace fs = std::filesystem;

namespace {

using doc_text::dedent;
using doc_text::read_lines;
using doc_text::trim;

// The lines between the first two `// [name]` markers, or an error text.
bool extract(const fs::path& source, const std::string& name, std::vector<std::string>& out,
             std::string& why) {
  return doc_text::marked_region(source, name, out, why);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: annal_docs_snippets <repository root>\n";
    return 2;
  }
  const fs::path root = argv[1];
  int blocks = 0, failures = 0;
  for (const fs::path& path : doc_text::markdown_files(root)) {
    const auto lines = read_lines(path);
    const std::string doc = fs::relative(path, root).string();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::string fence = trim(lines[i]);
      if (fence != "```cpp" && fence != "```c++") continue;
      ++blocks;
      std::vector<std::string> block;
      std::size_t j = i + 1;
      for (; j < lines.size() && trim(lines[j]) != "```"; ++j) block.push_back(lines[j]);
      const std::string where = doc + ":" + std::to_string(i + 1);
      const std::string tag = i > 0 ? trim(lines[i - 1]) : "";
      const std::string open = "<!-- snippet: ", close = " -->";
      if (tag.rfind(open, 0) != 0 || tag.size() < open.size() + close.size() ||
          tag.compare(tag.size() - close.size(), close.size(), close) != 0) {
        std::cerr << where << ": C++ block without a '<!-- snippet: file#name -->' line above it\n";
        ++failures;
        i = j;
        continue;
      }
      const std::string ref = tag.substr(open.size(), tag.size() - open.size() - close.size());
      const auto hash = ref.find('#');
      std::vector<std::string> region;
      std::string why;
      if (hash == std::string::npos) {
        std::cerr << where << ": snippet reference '" << ref << "' lacks '#name'\n";
        ++failures;
      } else if (!extract(root / ref.substr(0, hash), ref.substr(hash + 1), region, why)) {
        std::cerr << where << ": " << why << "\n";
        ++failures;
      } else if (dedent(block) != region) {
        std::cerr << where << ": block differs from " << ref << "; copy the region again\n";
        ++failures;
      }
      i = j;
    }
  }
  std::cout << blocks << " C++ blocks in docs/, " << failures << " not matching compiled code\n";
  return failures == 0 ? 0 : 1;
}
