#!/usr/bin/env python3
"""Copies each marked region of a source file into the docs block that quotes it.

Every fenced block in README.md and docs/ that follows a `<!-- snippet: path#name -->` line is a
copy of the lines between the two `// [name]` (or `# [name]`) markers of `path` (dedented), or of
the whole file for `<!-- snippet: path -->`; tests/docs/snippets.cpp and
tests/package/doc_blocks.cpp check that they still are. Run this after editing or reformatting a
quoted file (scripts/format.sh does). Prints each block it changed; exits 1 if a reference is bad.
"""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
tag = re.compile(r"^\s*<!-- snippet: (\S+?) -->\s*$")


def dedent(lines):
    widths = [len(l) - len(l.lstrip(" ")) for l in lines if l.strip()]
    if not widths:
        return lines
    n = min(widths)
    return [l[n:] if len(l) >= n else l.strip() for l in lines]


def region(ref):
    path, _, name = ref.partition("#")
    lines = (root / path).read_text().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not name:
        return lines
    at = [i for i, l in enumerate(lines) if l.strip() in (f"// [{name}]", f"# [{name}]")]
    if len(at) != 2:
        raise ValueError(f"{path} has {len(at)} '[{name}]' marker lines; a region needs exactly two")
    return dedent(lines[at[0] + 1 : at[1]])


def main():
    failed = False
    docs = [root / "README.md"] + sorted((root / "docs").rglob("*.md"))
    for doc in docs:
        lines = doc.read_text().split("\n")
        out, i, changed = [], 0, False
        while i < len(lines):
            out.append(lines[i])
            m = tag.match(lines[i])
            if m and i + 1 < len(lines) and lines[i + 1].strip().startswith("```"):
                out.append(lines[i + 1])
                j = i + 2
                while j < len(lines) and lines[j].strip() != "```":
                    j += 1
                try:
                    new = region(m.group(1))
                except (OSError, ValueError) as e:
                    print(f"{doc.relative_to(root)}:{i + 1}: {e}", file=sys.stderr)
                    failed = True
                    new = lines[i + 2 : j]
                if new != lines[i + 2 : j]:
                    changed = True
                    print(f"{doc.relative_to(root)}:{i + 2}: copied {m.group(1)} again")
                out.extend(new)
                i = j
                continue
            i += 1
        if changed:
            doc.write_text("\n".join(out))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
