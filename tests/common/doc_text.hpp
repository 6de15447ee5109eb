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

}  // namespace doc_text
