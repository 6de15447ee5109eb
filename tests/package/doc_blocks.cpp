// Checks that the non-C++ blocks of README.md and docs/ (CMake, shell, Python, JSON, text) that
// carry a `<!-- snippet: ... -->` line are exact copies of files the tests run, as
// tests/docs/snippets.cpp does for C++ blocks. docs/consuming.md must mark every block.
//   <!-- snippet: path/from/repo/root#name -->  the lines between two `# [name]` (or `// [name]`)
//                                                lines of that file, dedented
//   <!-- snippet: path/from/repo/root -->        the whole file
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "../common/doc_text.hpp"

namespace fs = std::filesystem;

namespace {

using doc_text::dedent;
using doc_text::read_lines;
using doc_text::trim;

// The lines `ref` names (a whole file, or a region of it), or false with the reason in `why`.
bool extract(const fs::path& root, const std::string& ref, std::vector<std::string>& out,
             std::string& why) {
  const auto hash = ref.find('#');
  const fs::path source = root / ref.substr(0, hash);
  if (hash != std::string::npos)
    return doc_text::marked_region(source, ref.substr(hash + 1), out, why);
  if (!fs::is_regular_file(source)) {
    why = "source " + source.string() + " does not exist";
    return false;
  }
  out = read_lines(source);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: annal_doc_blocks <repository root>\n";
    return 2;
  }
  const fs::path root = argv[1];
  int blocks = 0, failures = 0;
  for (const fs::path& path : doc_text::markdown_files(root)) {
    const auto lines = read_lines(path);
    const std::string doc = fs::relative(path, root).string();
    const bool every_block = doc == "docs/consuming.md";
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const std::string fence = trim(lines[i]);
      if (fence.rfind("```", 0) != 0 || fence == "```") continue;
      std::vector<std::string> block;
      std::size_t j = i + 1;
      for (; j < lines.size() && trim(lines[j]) != "```"; ++j) block.push_back(lines[j]);
      const std::string where = doc + ":" + std::to_string(i + 1);
      const std::string tag = i > 0 ? trim(lines[i - 1]) : "";
      const std::string open = "<!-- snippet: ", close = " -->";
      const bool marked = tag.rfind(open, 0) == 0 && tag.size() >= open.size() + close.size() &&
                          tag.compare(tag.size() - close.size(), close.size(), close) == 0;
      const bool cpp = fence == "```cpp" || fence == "```c++";  // tests/docs/snippets.cpp's
      if (cpp || (!marked && !every_block)) {
        i = j;
        continue;
      }
      ++blocks;
      std::vector<std::string> source;
      std::string why;
      if (!marked) {
        std::cerr << where << ": block without a '<!-- snippet: file[#name] -->' line above it\n";
        ++failures;
      } else if (const auto ref = tag.substr(open.size(), tag.size() - open.size() - close.size());
                 !extract(root, ref, source, why)) {
        std::cerr << where << ": " << why << "\n";
        ++failures;
      } else if (dedent(block) != source) {
        std::cerr << where << ": block differs from " << ref << "; copy it again\n";
        ++failures;
      }
      i = j;
    }
  }
  std::cout << blocks << " marked non-C++ blocks in docs/, " << failures
            << " not matching the files the tests run\n";
  return failures == 0 && blocks > 0 ? 0 : 1;
}
