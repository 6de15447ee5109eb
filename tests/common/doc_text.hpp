// Line helpers for the checks that docs' blocks are copies of compiled or tested files.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace doc_text {

inline std::vector<std::string> read_lines(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// The lines without the indentation they all share (blank lines aside).
inline std::vector<std::string> dedent(std::vector<std::string> lines) {
  std::size_t indent = std::string::npos;
  for (const auto& l : lines)
    if (!trim(l).empty()) indent = std::min(indent, l.find_first_not_of(' '));
  if (indent == std::string::npos) return lines;
  for (auto& l : lines) l = l.size() >= indent ? l.substr(indent) : trim(l);
  return lines;
}

// The lines of `source` between its two `// [name]` (or `# [name]`) marker lines, dedented; or
// false with the reason in `why`.
inline bool marked_region(const std::filesystem::path& source, const std::string& name,
                          std::vector<std::string>& out, std::string& why) {
  if (!std::filesystem::is_regular_file(source)) {
    why = "source " + source.string() + " does not exist";
    return false;
  }
  const auto lines = read_lines(source);
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (trim(lines[i]) == "// [" + name + "]" || trim(lines[i]) == "# [" + name + "]")
      at.push_back(i);
  if (at.size() != 2) {
    why = source.string() + " has " + std::to_string(at.size()) + " '// [" + name +
          "]' lines; a region needs exactly two";
    return false;
  }
  out = dedent({lines.begin() + at[0] + 1, lines.begin() + at[1]});
  return true;
}

// README.md and every Markdown file under docs/.
inline std::vector<std::filesystem::path> markdown_files(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> docs{root / "README.md"};
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root / "docs"))
    if (entry.path().extension() == ".md") docs.push_back(entry.path());
  return docs;
}

}  // namespace doc_text
