#!/usr/bin/env python3
"""Print the ordering Terraform recorded in an oracle case's apply.dot.

Usage: python3 scripts/oracle-order.py fixtures/oracle/plan/d04-replace-all [...]

For every operation node of the apply graph (create/update node "ADDR",
"ADDR (destroy)", "ADDR (destroy deposed KEY)", "ADDR (forget)") it prints
the operation nodes it transitively waits for.  apply.dot is transitively
reduced and routes most edges through "(expand)", module, variable and
output nodes, so the ordering between two operations is reachability, not a
direct edge.  stdlib only; a reading aid for people writing tests.
"""
import json
import os
import re
import sys

EDGE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)"\s*$')
NODE = re.compile(r'^\s*"((?:[^"\\]|\\.)*)" \[label')


def unq(s):
    return s.replace('\\"', '"')


def parse(path):
    nodes, edges = set(), []
    with open(path) as f:
        for line in f:
            m = EDGE.match(line)
            if m:
                a, b = unq(m.group(1)), unq(m.group(2))
                edges.append((a, b))
                nodes.update((a, b))
                continue
            m = NODE.match(line)
            if m:
                nodes.add(unq(m.group(1)))
    return nodes, edges


RESOURCE_ADDR = re.compile(
    r'^(module\.[A-Za-z0-9_-]+(\[[^\]]*\])?\.)*(data\.)?([A-Za-z0-9_]+)\.[A-Za-z0-9_-]+(\[[^\]]*\])?'
    r'( \((destroy|destroy deposed [0-9a-f]+|forget)\))?$')
NOT_RESOURCE = {"var", "output", "local", "module", "check", "provider"}


def is_op(name):
    """A resource-instance operation node of an apply graph."""
    if not name.startswith("[root] "):
        return False
    m = RESOURCE_ADDR.match(name[len("[root] "):])
    return bool(m) and m.group(4) not in NOT_RESOURCE


def main():
    for case in sys.argv[1:]:
        nodes, edges = parse(os.path.join(case, "apply.dot"))
        succ = {}
        for a, b in edges:
            succ.setdefault(a, set()).add(b)
        ops = sorted(n for n in nodes if is_op(n))
        print("== %s" % os.path.basename(case.rstrip("/")))
        for n in ops:
            seen, stack = set(), [n]
            while stack:
                x = stack.pop()
                for y in succ.get(x, ()):
                    if y not in seen:
                        seen.add(y)
                        stack.append(y)
            waits = [o[7:] for o in ops if o in seen]
            print("  %-50s waits for: %s" % (n[7:], ", ".join(waits) or "-"))


if __name__ == "__main__":
    main()
