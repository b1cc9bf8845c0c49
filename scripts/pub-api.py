#!/usr/bin/env python3
"""Count what each library crate exports, as rustdoc sees it.

Usage: scripts/pub-api.py [--no-build] [CRATE ...]   (default: every library crate)

Runs `cargo doc --no-deps` for the crates (unless --no-build) and reads the
HTML it wrote: `all.html` lists every item reachable from the crate root
(structs, enums, functions, traits, type aliases, constants, statics,
macros; public modules are counted apart, by their pages), whatever module it is declared in, so
`pub` items in private modules that nothing re-exports are not counted, and
a re-exported item is counted once. Beside the items: the inherent methods,
public fields and enum variants on their pages (trait-impl methods are not
counted: they are the trait's API). `pub-lines` is what a grep sees: the
lines declaring a `pub` (not `pub(crate)`) fn, struct, enum, trait, type,
const, static, mod or use in the crate's sources, reachable or not.
Output: one line per crate and a total.
"""
import html
import os
import re
import shutil
import subprocess
import sys

LIBS = ["model", "parse", "eval", "odb", "diff", "plan", "engine", "report"]
SECTION = re.compile(r'<h3 id="([a-z-]+)">[^<]*</h3><ul class="all-items">(.*?)</ul>', re.S)
LINK = re.compile(r'<li><a href="([^"]+)">')


def count(crate):
    root = os.path.join("target", "doc", "rewind_" + crate)
    with open(os.path.join(root, "all.html"), encoding="utf-8") as f:
        page = f.read()
    items, modules, methods, fields, variants = 0, 0, 0, 0, 0
    # every public module has a folder with its index page
    for dirpath, _, files in os.walk(root):
        if dirpath != root and "index.html" in files:
            modules += 1
    for section, body in SECTION.findall(page):
        links = LINK.findall(body)
        items += len(links)
        for href in links:
            with open(os.path.join(root, html.unescape(href)), encoding="utf-8") as f:
                text = f.read()
            inherent = text.split('id="trait-implementations"')[0]
            inherent = inherent.split('id="synthetic-implementations"')[0]
            if section == "traits":
                methods += len(set(re.findall(r'id="(?:tymethod|method)\.([^"]+)"', inherent)))
            else:
                methods += len(set(re.findall(r'id="method\.([^"]+)"', inherent)))
            fields += len(set(re.findall(r'id="structfield\.([^"]+)"', inherent)))
            variants += len(set(re.findall(r'id="variant\.([^".]+)"', inherent)))
    return items, modules, methods, fields, variants


DECLARED = re.compile(r"^\s*pub\s+(?:unsafe\s+|const\s+|async\s+)*(fn|struct|enum|trait|type|const|static|mod|use|union)\b")


def declared(crate):
    """Lines declaring a `pub` item (not `pub(crate)`) in the crate's
    sources, reachable or not: what a grep sees."""
    n = 0
    for dirpath, _, files in os.walk(os.path.join("crates", crate, "src")):
        for name in files:
            if name.endswith(".rs"):
                with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                    n += sum(1 for line in f if DECLARED.match(line))
    return n


def main(argv):
    build = "--no-build" not in argv
    crates = [a for a in argv if not a.startswith("--")] or LIBS
    if build:
        # pages of items that are no longer public would stay behind
        for c in crates:
            shutil.rmtree(os.path.join("target", "doc", "rewind_" + c), ignore_errors=True)
        cmd = ["cargo", "doc", "--no-deps", "-q"]
        for c in crates:
            cmd += ["-p", "rewind-" + c]
        subprocess.run(cmd, check=True)
    head = ("crate", "items", "modules", "methods", "fields", "variants", "pub-lines")
    print("%-8s %6s %8s %8s %7s %9s %10s" % head)
    total = [0] * 6
    for c in crates:
        row = count(c) + (declared(c),)
        total = [a + b for a, b in zip(total, row)]
        print("%-8s %6d %8d %8d %7d %9d %10d" % ((c,) + row))
    print("%-8s %6d %8d %8d %7d %9d %10d" % (("total",) + tuple(total)))


if __name__ == "__main__":
    main(sys.argv[1:])
