#!/usr/bin/env python3
"""The crate graph as cargo sees it: each workspace crate's rewind-*
dependencies (normal, then dev), from `cargo metadata`. Compare with the
picture and the paragraph under it in ARCHITECTURE.md.

Usage: python3 scripts/crate-graph.py [--dot]
"""

import json
import subprocess
import sys


def edges():
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline"],
        check=True, capture_output=True, text=True).stdout)
    out = {}
    for p in meta["packages"]:
        deps = [d for d in p["dependencies"] if d["name"].startswith("rewind-")]
        out[p["name"]] = (
            sorted(d["name"] for d in deps if d["kind"] is None),
            sorted(d["name"] for d in deps if d["kind"] == "dev"),
        )
    return dict(sorted(out.items()))


def short(name):
    return name[len("rewind-"):]


def main():
    graph = edges()
    if sys.argv[1:] == ["--dot"]:
        print("digraph crates {")
        for crate, (normal, dev) in graph.items():
            for d in normal:
                print('  "%s" -> "%s";' % (short(crate), short(d)))
            for d in dev:
                print('  "%s" -> "%s" [style=dashed];' % (short(crate), short(d)))
        print("}")
        return
    for crate, (normal, dev) in graph.items():
        line = "%s -> %s" % (short(crate), ", ".join(map(short, normal)) or "(none)")
        if dev:
            line += "   (dev: %s)" % ", ".join(map(short, dev))
        print(line)


if __name__ == "__main__":
    main()
