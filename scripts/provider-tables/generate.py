#!/usr/bin/env python3
"""Generate rewind's provider knowledge from the providers' own sources.

For every table pinned in providers.json (a provider, a version, the tag or
commit of its source), read the provider's Go source at that ref and its
registry documentation, and write

  crates/diff/data/providers/NAME-VERSION.txt   which attributes force a new
                                                resource, per resource type
  crates/diff/data/providers/tables.rs          the list of tables (compiled in)
  crates/diff/data/data_bearing.json            which resource types hold data,
                                                with the settings that protect
                                                or restore it

Sources (read-only; nothing fetched is written into the repository):
  --mirrors DIR          a directory of git mirrors named OWNER+NAME
                         (DIR/OWNER+NAME/repo or DIR/OWNER+NAME as a git dir)
  --source NAME=PATH     the source of one provider: a git repository (read at
                         the pinned ref) or, with @ appended (PATH@), a plain
                         directory already at the pinned version

Usage:
  python3 scripts/provider-tables/generate.py --mirrors /work/.mirror
  python3 scripts/provider-tables/generate.py --mirrors M --only null,random
"""

import argparse
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import docsref  # noqa: E402
import goschema  # noqa: E402
import registry  # noqa: E402
import sources  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
SKIP_TOP = {"id", "timeouts"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", help="directory of git mirrors OWNER+NAME")
    ap.add_argument("--source", action="append", default=[], help="NAME=PATH (git repository) or NAME=PATH@ (plain directory)")
    ap.add_argument("--only", help="comma-separated provider names (others keep their current tables)")
    ap.add_argument("--out", default=os.path.join(ROOT, "crates", "diff", "data"))
    args = ap.parse_args()

    pins = json.load(open(os.path.join(HERE, "providers.json")))["tables"]
    rules = json.load(open(os.path.join(HERE, "data_bearing_rules.json")))
    only = set(args.only.split(",")) if args.only else None
    overrides = {}
    for s in args.source:
        name, _, path = s.partition("=")
        overrides[name] = path
    outdir = os.path.join(args.out, "providers")
    os.makedirs(outdir, exist_ok=True)

    schemas = {}  # name -> (version, {type: flat})
    for pin in pins:
        name = pin["name"]
        if only is not None and name not in only:
            continue
        t0 = time.time()
        tree = open_tree(pin, args.mirrors, overrides.get(name))
        table, flat_all, stats = build_table(pin, tree)
        tree.close()
        path = os.path.join(outdir, f"{name}-{pin['version']}.txt")
        with open(path, "w") as f:
            f.write(render_table(pin, tree, table, stats))
        schemas[name] = (pin["version"], flat_all)  # the last (newest) pin of a provider wins
        print(
            f"{name} {pin['version']}: {stats['types']} types ({stats['from_go']} from Go source, {stats['docs_only']} from docs only), "
            f"{stats['force_new']} force-new paths, {stats['conditional']} conditional, {time.time() - t0:.0f}s",
            file=sys.stderr,
        )

    write_index(outdir)
    if only is None:
        db = data_bearing(rules, schemas)
        with open(os.path.join(args.out, "data_bearing.json"), "w") as f:
            f.write(render_data_bearing(db, rules, schemas))
        print(f"data bearing: {sum(len(v['resources']) for v in db.values())} types", file=sys.stderr)


def open_tree(pin, mirrors, override):
    if override:
        if override.endswith("@"):
            return sources.Tree(override[:-1])
        return sources.Tree(override, pin["ref"])
    if not mirrors:
        raise SystemExit(f"{pin['name']}: give --mirrors DIR or --source {pin['name']}=PATH")
    repo = pin.get("mirror", pin["repository"])
    return sources.Tree(os.path.join(mirrors, repo.replace("/", "+")), pin["ref"])


def norm_path(p):
    """`a.0.b` / `a.#.b` (SDK addressing) -> `a.b`."""
    return ".".join(s for s in p.split(".") if s and s != "#" and not s.isdigit() and s != "*")


def build_table(pin, tree):
    prefix = pin.get("prefix", pin["name"])
    go = goschema.GoSource(tree)
    found = registry.find_resources(go, prefix)
    docs = docsref.resource_docs(tree, prefix)
    table = {}
    flat_all = {}
    stats = {"types": 0, "from_go": 0, "docs_only": 0, "force_new": 0, "conditional": 0, "from_docs_paths": 0, "not_evaluated": [], "docs_not_in_source": 0}
    types = set(found) | set(docs)
    for rtype in sorted(types):
        smap = None
        if rtype in found:
            smap = registry.evaluate_any(go, found[rtype])
        if smap == "data source":
            if rtype not in docs:
                continue
            smap = None
        if smap is not None and not smap and rtype not in docs:
            smap = None
        flat = registry.flatten(smap) if smap is not None else {}
        doc = docs.get(rtype, {})
        if rtype not in found and rtype not in go.names:
            # a documentation page that is not a resource of the source
            # (one page for several IAM resources, a guide...)
            stats["docs_not_in_source"] += 1
            continue
        if smap is None and not doc:
            stats["not_evaluated"].append(rtype)
            continue
        force = set()
        cond = {}
        settable = set()
        for p, (fn, note, computed_only, unknown) in flat.items():
            if p.split(".")[0] in SKIP_TOP or computed_only:
                continue
            settable.add(p)
            if fn is True:
                force.add(p)
            elif note:
                cond[p] = note
        if smap is not None:
            for k, note in smap.conditional.items():
                k = norm_path(k)
                if k not in force:
                    cond.setdefault(k, note)
        # the documentation fills what the Go source could not evaluate
        for p, (fn, note) in doc.items():
            p = norm_path(p)
            if p.split(".")[0] in SKIP_TOP:
                continue
            go_state = _go_state(flat, p) if smap is not None else None
            if go_state is not None:
                continue
            settable.add(p)
            if fn:
                force.add(p)
                stats["from_docs_paths"] += 1
            elif note and p not in force:
                cond[p] = "documentation: " + note
        for p in list(cond):
            if p in force:
                del cond[p]
        # blocks (paths with nested attributes in the schema): a force-new
        # block whose nested attributes update in place is written `name!{}`
        blocks = {p.rsplit(".", 1)[0] for p in flat if "." in p}
        table[rtype] = (sorted(force), cond, blocks)
        flat_all[rtype] = settable
        stats["types"] += 1
        if smap is not None:
            stats["from_go"] += 1
        else:
            stats["docs_only"] += 1
        stats["force_new"] += len(force)
        stats["conditional"] += len(cond)
    return table, flat_all, stats


def _go_state(flat, p):
    """What the Go schema says of path p: True/False when it knows, None
    when the attribute (or an ancestor) could not be evaluated or the path
    is not in the schema under an unknown ancestor."""
    if p in flat:
        fn, _, _, unknown = flat[p]
        return None if (unknown or fn is None) else fn
    parts = p.split(".")
    for k in range(len(parts) - 1, 0, -1):
        anc = ".".join(parts[:k])
        if anc in flat:
            fn, _, _, unknown = flat[anc]
            return None if unknown else False
    # not in the schema at all: the documentation names something the
    # source does not have (renamed, removed, or a doc error)
    return False


# ------------------------------------------------------------------ output


def render_paths(paths, blocks=()):
    """Nested rendering: `a,b{c,d!{e}}`; `!` marks a block that forces a
    new resource itself (adding or removing it), and `name!{}` a force-new
    block none of whose nested attributes forces a new resource."""
    tree = {}
    for p in paths:
        node = tree
        parts = p.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, [False, {}])[1]
        leaf = node.setdefault(parts[-1], [False, {}])
        leaf[0] = True

    def render(node, prefix=""):
        out = []
        for name in sorted(node):
            fn, kids = node[name]
            if kids:
                out.append(f"{name}{'!' if fn else ''}{{{render(kids, prefix + name + '.')}}}")
            elif prefix + name in blocks:
                out.append(f"{name}!{{}}")
            else:
                out.append(name)
        return ",".join(out)

    return render(tree)


def render_table(pin, tree, table, stats):
    lines = [
        "# rewind provider table 1: which attribute changes force a new resource",
        "# generated by scripts/provider-tables/generate.py; do not edit by hand",
        f"provider\tregistry.terraform.io/hashicorp/{pin['name']}",
        f"name\t{pin['name']}",
        f"version\t{pin['version']}",
        f"source\t{pin['repository']} {pin['ref']}" + (f" (read from {pin['mirror']} at commit {tree.commit})" if pin.get("mirror") else f" (commit {tree.commit})"),
    ]
    if pin.get("note"):
        lines.append(f"note\t{pin['note']}")
    lines.append(
        f"coverage\t{stats['types']} resource types: {stats['from_go']} from the Go schemas, {stats['docs_only']} from the documentation only; "
        f"{stats['from_docs_paths']} force-new paths from the documentation where the Go source could not be evaluated"
    )
    lines.append("# R TYPE PATHS: a type the table covers (PATHS may be empty: every argument updates in place)")
    lines.append("# C TYPE PATH NOTE: a replacement only under a condition")
    for rtype in sorted(table):
        force, cond, blocks = table[rtype]
        lines.append(f"R\t{rtype}\t{render_paths(force, blocks)}")
        for p in sorted(cond):
            lines.append(f"C\t{rtype}\t{p}\t{cond[p]}")
    return "\n".join(lines) + "\n"


def write_index(outdir):
    files = sorted(f for f in os.listdir(outdir) if f.endswith(".txt"))
    lines = [
        "// generated by scripts/provider-tables/generate.py; do not edit by hand",
        "// (provider name, version, table text)",
        "&[",
    ]
    for f in files:
        m = re.match(r"^([a-z0-9]+)-(.+)\.txt$", f)
        if not m:
            continue
        lines.append(f'    ("{m.group(1)}", "{m.group(2)}", include_str!("{f}")),')
    lines.append("]")
    with open(os.path.join(outdir, "tables.rs"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


# ------------------------------------------------------------------ data-bearing


def data_bearing(rules, schemas):
    out = {}
    for name, (version, flat_all) in sorted(schemas.items()):
        prules = rules["providers"].get(name, {})
        exact = prules.get("types", {})
        patterns = [(re.compile(r["match"]), r) for r in prules.get("patterns", [])]
        excl = [re.compile(x) for x in prules.get("exclude", [])]
        res = {}
        for rtype in sorted(flat_all):
            hit = exact.get(rtype)
            if hit is None:
                if any(x.search(rtype) for x in excl):
                    continue
                for rx, r in patterns:
                    if rx.search(rtype):
                        hit = r
                        break
            if hit is None:
                continue
            entry = {"holds": hit["holds"], "severity": hit["severity"]}
            settings = {}
            for p in sorted(flat_all[rtype]):
                leaf = p.split(".")[-1]
                role = rules["settings"].get(p) or rules["settings"].get(leaf)
                if role:
                    settings[p] = role
            if settings:
                entry["settings"] = settings
            res[rtype] = entry
        out[name] = {"version": version, "resources": res}
    return out


def render_data_bearing(db, rules, schemas):
    """JSON with one resource type per line (readable diffs)."""
    d = lambda v: json.dumps(v, sort_keys=False)  # noqa: E731
    lines = [
        "{",
        f' "format_version": 2,',
        f' "conventions": {d(rules["conventions"])},',
        f' "setting_roles": {d(rules["setting_roles"])},',
        ' "providers": {',
    ]
    names = sorted(db)
    for pi, name in enumerate(names):
        res = db[name]["resources"]
        lines.append(
            f'  {d(name)}: {{"provider": {d("registry.terraform.io/hashicorp/" + name)}, "version": {d(db[name]["version"])}, "resources": {{'
        )
        types = sorted(res)
        for ti, rtype in enumerate(types):
            comma = "," if ti + 1 < len(types) else ""
            lines.append(f"   {d(rtype)}: {d(res[rtype])}{comma}")
        lines.append("  }}" + ("," if pi + 1 < len(names) else ""))
    lines.append(" }")
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
