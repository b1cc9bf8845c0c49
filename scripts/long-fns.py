#!/usr/bin/env python3
"""List Rust functions longer than a threshold (default 100 lines).

Usage: scripts/long-fns.py [--min N] [PATH ...]   (default: crates/*/src)

A function is counted from its `fn` line to the line of its closing brace,
found by matching braces outside strings, chars and comments. Tests
(`#[cfg(test)]` modules and `tests/` folders) are not listed.
Output: lines, then file:line and the function's name, longest first.
"""
import os
import re
import sys

FN = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?(?:extern\s+\"[^\"]*\"\s+)?fn\s+([A-Za-z_][A-Za-z0-9_]*)")


def strip(src):
    """The source with strings, chars and comments blanked (newlines kept)."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', src[i:i + 10]) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            m = re.match(r'r(#*)"', src[i:])
            end = '"' + m.group(1)
            j = src.find(end, i + len(m.group(0)))
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", src[i:j]))
            i = j
        elif c == "'":
            m = re.match(r"'(\\.[^']*|[^\\'])'", src[i:])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:  # a lifetime
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    clean = strip(text).split("\n")
    # lines inside #[cfg(test)] modules are skipped
    skip_until = -1
    for idx, line in enumerate(clean):
        if idx <= skip_until:
            continue
        if line.strip().startswith("#[cfg(test)]"):
            end = block_end(clean, idx + 1)
            skip_until = idx + 1 if end is None else end
            continue
        m = FN.match(line)
        if not m:
            continue
        end = block_end(clean, idx)
        if end is None:
            continue
        yield m.group(1), idx + 1, end - idx + 1


def block_end(lines, start):
    """The index of the line closing the first `{` at or after `start`
    (None when a `;` ends the item first: a declaration without a body)."""
    depth, opened = 0, False
    for j in range(start, len(lines)):
        for c in lines[j]:
            if c == "{":
                depth, opened = depth + 1, True
            elif c == "}":
                depth -= 1
                if opened and depth == 0:
                    return j
            elif c == ";" and not opened and depth == 0:
                return None
    return None


def main(argv):
    minimum, paths = 100, []
    it = iter(argv)
    for a in it:
        if a == "--min":
            minimum = int(next(it))
        else:
            paths.append(a)
    if not paths:
        paths = sorted(os.path.join("crates", c, "src") for c in os.listdir("crates") if os.path.isdir(os.path.join("crates", c, "src")))
    found = []
    for root in paths:
        for dirpath, _, files in os.walk(root):
            if "/tests" in dirpath or dirpath.endswith("tests"):
                continue
            for name in files:
                if name.endswith(".rs"):
                    p = os.path.join(dirpath, name)
                    for fn, line, length in functions(p):
                        if length > minimum:
                            found.append((length, f"{p}:{line}", fn))
    found.sort(key=lambda r: (-r[0], r[1]))
    for length, where, fn in found:
        print(f"{length:5} {where} {fn}")
    print(f"{len(found)} functions over {minimum} lines")


if __name__ == "__main__":
    main(sys.argv[1:])
