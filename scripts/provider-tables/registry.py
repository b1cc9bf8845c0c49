"""Find a provider's resource types in its Go source and evaluate their
schemas into attribute paths."""

import re

import golite
from golite import match, parse_expr, statements, tokenize
from goschema import UNKNOWN, Attr, GoSource, Obj, SMap, Struct, _as_map

SKIP_CONTEXT = re.compile(r"data_?sources?|ephemeral|list_?resources?|actions?\b|functions?\b", re.I)


class Entry:
    def __init__(self, kind, pkg_dir, file=None, node=None, name=None):
        self.kind = kind  # "call" (node in file), "func" (name), "framework" (recv), "typed" (recv)
        self.pkg_dir = pkg_dir
        self.file = file
        self.node = node
        self.name = name


def enclosing_open(toks, q):
    """Index of the bracket that encloses the token at q (0 if none)."""
    depth = 0
    k = q
    while k > 0:
        k -= 1
        t = toks[k].text
        if t in (")", "]", "}"):
            depth += 1
        elif t in ("(", "[", "{"):
            if depth == 0:
                break
            depth -= 1
    return k


def _context_text(toks, src, q):
    """Text that says what kind of registration the token at q is in: the
    tokens before its enclosing literal and the enclosing function."""
    k = enclosing_open(toks, q)
    before = " ".join(t.text for t in toks[max(0, k - 12) : k])
    fpos = src.rfind("\nfunc ", 0, toks[q].pos)
    fline = src[fpos + 1 : src.find("\n", fpos + 1)] if fpos >= 0 else ""
    vpos = src.rfind("\nvar ", 0, toks[q].pos)
    vline = src[vpos + 1 : src.find("\n", vpos + 1)] if vpos > fpos else ""
    return before + " | " + fline + " | " + vline


def find_resources(go: GoSource, prefix):
    """Resource type -> [Entry] (candidates, most specific first), from
    registrations in the source."""
    out = {}
    typed = {}
    framework = {}
    go.names = set()
    pat = re.compile(r'"' + re.escape(prefix) + r'_[a-z0-9_]+"')
    for d, files in go.dirs.items():
        if d.startswith("vendor/") or "/test" in d or d.startswith("tools") or "acctest" in d:
            continue
        for f in files:
            src = go.tree.read(f)
            has_str = pat.search(src) is not None
            # annotations (AWS): // @SDKResource("aws_x", name="X") before a func
            for m in re.finditer(r'^//\s*@SDKResource\("(' + re.escape(prefix) + r'_[a-z0-9_]+)"[^\n]*\n(?://[^\n]*\n)*func\s+(\w+)', src, re.M):
                out.setdefault(m.group(1), []).append(Entry("func", d, f, name=m.group(2)))
            # framework resources: Metadata on a resource.MetadataRequest
            for m in re.finditer(r"^func \((?:\w+ )?\*?(\w+)\) Metadata\(([^)]*)\)[^{]*\{(.*?)^\}", src, re.M | re.S):
                params = m.group(2)
                if "resource.MetadataRequest" not in params:
                    continue
                tm = re.search(r'TypeName\s*=\s*(?:\w+\.ProviderTypeName\s*\+\s*)?"(\w+)"', m.group(3))
                if not tm:
                    continue
                name = tm.group(1)
                if "ProviderTypeName" in m.group(3).split("TypeName", 2)[-1][:60] or not name.startswith(prefix + "_"):
                    name = prefix + name if name.startswith("_") else name
                if not name.startswith(prefix + "_") or m.group(1).endswith(("ListResource", "List")):
                    continue
                framework.setdefault(name, []).append(Entry("framework", d, f, name=m.group(1)))
            # typed SDK (AzureRM): ResourceType() returning the name, with a Create method
            for m in re.finditer(r'^func \((?:\w+ )?\*?(\w+)\) ResourceType\(\) string \{\s*return "(' + re.escape(prefix) + r'_[a-z0-9_]+)"', src, re.M):
                typed.setdefault(m.group(2), []).append(Entry("typed", d, f, name=m.group(1)))
            if not has_str:
                continue
            toks = None
            for m in pat.finditer(src):
                go.names.add(m.group()[1:-1])
                if toks is None:
                    toks = tokenize(src)
                    by_pos = {t.pos: q for q, t in enumerate(toks)}
                q = by_pos.get(m.start())
                if q is None:
                    continue
                name = m.group()[1:-1]
                n = len(toks)
                if q + 1 < n and toks[q + 1].text == ":" and q > 0 and toks[q - 1].text in ("{", ",", ";"):
                    # map entry "prefix_x": expr
                    ctx = _context_text(toks, src, q)
                    before = ctx.split(" | ")[0]
                    if SKIP_CONTEXT.search(ctx) or not re.search(r"Resource", before):
                        continue
                    e = q + 2
                    while e < n and toks[e].text not in (",", "}"):
                        if toks[e].text in golite._OPEN:
                            e = match(toks, e)
                        e += 1
                    node, _ = parse_expr(toks, q + 2, e)
                    out.setdefault(name, []).append(Entry("call", d, f, node=node))
                elif q >= 2 and toks[q - 1].text == ":" and toks[q - 2].text in ("Name", "TypeName"):
                    # a registration literal {Name: "x", Type: ..., Schema: ...}
                    k = enclosing_open(toks, q)
                    if toks[k].text != "{":
                        continue
                    end = match(toks, k)
                    elems = golite._elements(toks, k + 1, end)
                    keys = {kk[1]: v for kk, v in elems if kk is not None and kk[0] == "name"}
                    typ = keys.get("Type")
                    ctx = _context_text(toks, src, q)
                    if typ is not None and typ[0] == "sel" and re.search(r"DataSource|List|Ephemeral", typ[2]):
                        continue
                    if typ is None and SKIP_CONTEXT.search(ctx):
                        continue
                    for key in ("Schema", "Factory"):
                        if key in keys:
                            v = keys[key]
                            if v[0] == "name":
                                out.setdefault(name, []).append(Entry("func", d, f, name=v[1]))
                            else:
                                out.setdefault(name, []).append(Entry("call", d, f, node=v))
                            break
    for extra in (typed, framework):
        for name, entries in extra.items():
            out.setdefault(name, []).extend(entries)
    return out


def plugin_go_replacements(go: GoSource, entries):
    """A resource served by terraform-plugin-go (no SDK or framework
    schema): the attribute paths its PlanResourceChange puts in
    `resp.RequiresReplace`. Paths appended to the list are force-new; a
    list assigned whole (a special case the provider decides) is recorded
    as conditional."""
    smap = SMap()
    found = False
    dirs = {e.pkg_dir for e in entries}
    for d in sorted(dirs):
        for f in go.dirs.get(d, []):
            src = go.tree.read(f)
            for m in re.finditer(r"RequiresReplace\s*=\s*(append\(|\[\]\*tftypes\.AttributePath\{)", src):
                start = m.end()
                depth = 1
                i = start
                while i < len(src) and depth:
                    if src[i] in "({":
                        depth += 1
                    elif src[i] in ")}":
                        depth -= 1
                    i += 1
                body = src[start:i]
                whole = m.group(1) != "append("
                for chain in re.finditer(r"NewAttributePath\(\)((?:\s*\.WithAttributeName\(\"[^\"]+\"\))+)", body):
                    names = re.findall(r'WithAttributeName\("([^"]+)"\)', chain.group(1))
                    found = True
                    node = smap
                    for q, name in enumerate(names):
                        a = node.get(name)
                        if a is None:
                            a = Attr()
                            node[name] = a
                        if q + 1 == len(names):
                            if whole:
                                smap.conditional[".".join(names)] = "RequiresReplace set by the provider's plan in a special case"
                            else:
                                a.force_new = True
                        else:
                            if a.children is None:
                                a.children = SMap()
                            node = a.children
    return smap if found else None


def evaluate_any(go: GoSource, entries):
    """The first candidate that evaluates to a schema; "data source" when
    the only candidates are data sources; None when none evaluates."""
    result = None
    for e in entries:
        try:
            v = evaluate(go, e)
        except RecursionError:
            v = None
        if v == "data source":
            result = result or v
            continue
        if v is not None and (v or result is None):
            if v:
                return v
            result = v
    if result is None:
        result = plugin_go_replacements(go, entries)
    return result


def evaluate(go: GoSource, entry: Entry):
    """The attribute map (SMap) of a registered resource, or None."""
    pkg = go.package(entry.pkg_dir)
    imports = pkg.imports.get(entry.file, {})
    if entry.kind == "call":
        v = go.eval(entry.node, pkg, imports, {}, 0)
        if isinstance(v, (golite.Tok,)):
            return None
        from goschema import Func, Closure

        if isinstance(v, (Func, Closure)):
            v = go._call(("call", entry.node, []), pkg, imports, {}, 0)
        return _as_map(v)
    if entry.kind == "func":
        fn = pkg.funcs.get(entry.name)
        if fn is None:
            return None
        v = go.call_func(fn, [], 0)
        if isinstance(v, Struct) or v is UNKNOWN or _as_map(v) is None:
            # AWS framework constructor: returns &resourceX{}
            recv = _constructed_type(fn)
            if recv is not None:
                return _framework(go, pkg, recv)
        return _as_map(v)
    if entry.kind == "framework":
        return _framework(go, pkg, entry.name)
    if entry.kind == "typed":
        fn = pkg.methods.get((entry.name, "Arguments"))
        if fn is None:
            return None
        if (entry.name, "Create") not in pkg.methods:
            return "data source"
        return _as_map(go.call_func(fn, [], 0))
    return None


def _constructed_type(fn):
    for q, t in enumerate(fn.body):
        if t.kind == "ident" and q + 1 < len(fn.body) and fn.body[q + 1].text == "{" and t.text[:1].islower() and t.text.startswith("resource"):
            return t.text
    return None


def _framework(go, pkg, recv):
    fn = pkg.methods.get((recv, "Schema"))
    if fn is None:
        return None
    env = {p: UNKNOWN for p in fn.params}
    v = go.run(fn.body, pkg, pkg.imports.get(fn.file, {}), env, 1)
    return _as_map(v)


def flatten(smap, prefix="", out=None, whole=False):
    """Attribute paths -> (force_new: True/False/None, conditional,
    computed_only) for every attribute and nested block attribute."""
    if out is None:
        out = {}
    for name, a in smap.items():
        if not isinstance(a, Attr) or not isinstance(name, str):
            continue
        path = prefix + name
        fn = True if whole else a.force_new
        out[path] = (fn, a.conditional, a.computed_only, a.unknown)
        if a.children is not None:
            flatten(a.children, path + ".", out, whole=(whole or (a.force_new is True and _framework_whole(a))))
        elif a.unknown:
            out[path] = (None, None, False, True)
    return out


def _framework_whole(a):
    return getattr(a, "whole", False)
