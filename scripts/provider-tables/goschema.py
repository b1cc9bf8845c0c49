"""Evaluate provider resource schemas from Go source (see golite.py)."""

import posixpath
import re

import golite
from golite import match, parse_expr, statements, tokenize

MAX_DEPTH = 30

# plan modifiers that replace on any change of a configured value
UNCONDITIONAL = {"RequiresReplaceIfConfigured", "RequiresReplaceIfValuesNotNull"}


class Attr:
    """One schema attribute or block."""

    __slots__ = ("force_new", "conditional", "computed_only", "children", "unknown", "whole")

    def __init__(self):
        self.force_new = False
        self.conditional = None
        self.computed_only = False
        self.children = None  # SMap for blocks / nested attributes
        self.unknown = False
        self.whole = False

    def copy(self):
        a = Attr()
        a.force_new = self.force_new
        a.conditional = self.conditional
        a.computed_only = self.computed_only
        a.children = self.children.copy() if self.children is not None else None
        a.unknown = self.unknown
        a.whole = self.whole
        return a


class SMap(dict):
    """Attribute name -> Attr (a schema map, or a resource's schema)."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.incomplete = False
        self.conditional = {}

    def copy(self):
        m = SMap({k: (v.copy() if isinstance(v, Attr) else v) for k, v in self.items()})
        m.incomplete = self.incomplete
        m.conditional = dict(self.conditional)
        return m


class Obj:
    """A schema.Resource / framework schema: its attribute map."""

    def __init__(self, smap, customize=None):
        self.smap = smap
        self.customize = customize


class Struct:
    def __init__(self, type_text):
        self.type_text = type_text


class Closure:
    def __init__(self, params, body, pkg, imports, env):
        self.params = params
        self.body = body
        self.pkg = pkg
        self.imports = imports
        self.env = env


class Unknown:
    pass


UNKNOWN = Unknown()


class Func:
    __slots__ = ("name", "recv", "params", "body", "file", "pkg", "header")

    def __init__(self, name, recv, params, body, file, pkg, header):
        self.name = name
        self.recv = recv
        self.params = params
        self.body = body
        self.file = file
        self.pkg = pkg
        self.header = header


class Package:
    def __init__(self, dir):
        self.dir = dir
        self.funcs = {}
        self.methods = {}  # (recv type, name) -> Func
        self.vars = {}  # name -> (file, toks)
        self.consts = {}  # name -> str
        self.imports = {}  # file -> {alias: dir}
        self.loaded = False


_IMPORT_RE = re.compile(r'^\s*(?:(\w+|\.|_)\s+)?"([^"]+)"\s*$', re.M)


class GoSource:
    """All packages of one provider tree, indexed lazily per directory."""

    def __init__(self, tree):
        self.tree = tree
        self.module = ""
        if "go.mod" in tree.file_set:
            m = re.search(r"^module\s+(\S+)", tree.read("go.mod"), re.M)
            if m:
                self.module = m.group(1)
        self.dirs = {}
        for f in tree.files:
            if f.endswith(".go") and not f.endswith("_test.go"):
                self.dirs.setdefault(posixpath.dirname(f), []).append(f)
        self.packages = {}
        self.stats = {"unresolved_calls": 0}
        self.active = {}
        self.memo = {}

    # -------------------------------------------------------- indexing

    def import_dir(self, path):
        if self.module and (path == self.module or path.startswith(self.module + "/")):
            d = path[len(self.module) + 1 :]
            return d if d in self.dirs else None
        v = "vendor/" + path
        if v in self.dirs:
            return v
        return None

    def package(self, dir):
        p = self.packages.get(dir)
        if p is None:
            p = Package(dir)
            self.packages[dir] = p
        if not p.loaded:
            p.loaded = True
            for f in self.dirs.get(dir, []):
                self._index_file(p, f)
        return p

    def _index_file(self, p, f):
        src = self.tree.read(f)
        imports = {}
        for block in re.finditer(r"^import\s*\((.*?)^\)", src, re.S | re.M):
            for m in _IMPORT_RE.finditer(block.group(1)):
                self._add_import(imports, m.group(1), m.group(2))
        for m in re.finditer(r'^import\s+(?:(\w+|\.|_)\s+)?"([^"]+)"', src, re.M):
            self._add_import(imports, m.group(1), m.group(2))
        p.imports[f] = imports
        toks = tokenize(src)
        n = len(toks)
        i = 0
        while i < n:
            t = toks[i]
            if t.text in ("(", "[", "{"):
                i = match(toks, i) + 1
                continue
            if t.kind == "ident" and t.text == "func":
                i = self._index_func(p, f, toks, i)
                continue
            if t.kind == "ident" and t.text in ("var", "const"):
                i = self._index_decl(p, f, toks, i + 1, t.text)
                continue
            i += 1

    def _add_import(self, imports, alias, path):
        d = self.import_dir(path)
        if alias in (None, ""):
            parts = path.split("/")
            alias = parts[-1]
            if re.fullmatch(r"v\d+", alias) and len(parts) > 1:
                alias = parts[-2]
            alias = alias.replace("-", "_")
            if alias.startswith("terraform_plugin_") or alias.startswith("go_"):
                alias = alias.split("_")[-1]
        if alias in ("_", "."):
            return
        imports[alias] = d

    def _index_func(self, p, f, toks, i):
        n = len(toks)
        start = i
        j = i + 1
        recv = None
        if j < n and toks[j].text == "(":
            k = match(toks, j)
            rt = [t.text for t in toks[j + 1 : k] if t.kind == "ident"]
            recv = rt[-1] if rt else None
            # generic receivers: T[X]
            inner = toks[j + 1 : k]
            for q, t in enumerate(inner):
                if t.text == "[":
                    ids = [x.text for x in inner[:q] if x.kind == "ident"]
                    recv = ids[-1] if ids else recv
                    break
            j = k + 1
        if j >= n or toks[j].kind != "ident":
            return j
        name = toks[j].text
        j += 1
        if j < n and toks[j].text == "[":  # type parameters
            j = match(toks, j) + 1
        if j >= n or toks[j].text != "(":
            return j
        pe = match(toks, j)
        params = golite._param_names(toks, j + 1, pe)
        j = pe + 1
        # results up to the body
        while j < n and toks[j].text not in ("{", ";"):
            if toks[j].text in ("(", "["):
                j = match(toks, j) + 1
                continue
            if toks[j].text in ("interface", "struct") and j + 1 < n and toks[j + 1].text == "{":
                j = match(toks, j + 1) + 1
                continue
            if toks[j].text == "func":
                j += 1
                continue
            j += 1
        if j >= n or toks[j].text != "{":
            return j + 1
        be = match(toks, j)
        fn = Func(name, recv, params, toks[j + 1 : be], f, p, toks[start:j])
        if recv:
            p.methods[(recv, name)] = fn
        else:
            p.funcs.setdefault(name, fn)
        return be + 1

    def _index_decl(self, p, f, toks, i, kw):
        n = len(toks)
        if i < n and toks[i].text == "(":
            k = match(toks, i)
            for st in statements(toks[i + 1 : k]):
                self._decl_spec(p, f, st, kw)
            return k + 1
        j = i
        while j < n and toks[j].text != ";":
            if toks[j].text in golite._OPEN:
                j = match(toks, j)
            j += 1
        for st in statements(toks[i:j] + [golite.Tok("op", ";", 0)]):
            self._decl_spec(p, f, st, kw)
        return j + 1

    def _decl_spec(self, p, f, st, kw):
        if st[0] == "assign":
            lhs, rhs = st[1], st[2]
            names = [t.text for t in lhs if t.kind == "ident"]
            if not names or not rhs:
                return
            name = names[0]
            if kw == "const" and len(rhs) == 1 and rhs[0].kind in ("str", "raw"):
                p.consts[name] = golite.unquote(rhs[0].text)
            else:
                p.vars.setdefault(name, (f, rhs))
        elif st[0] == "expr":
            toks = st[1]
            # `Name Type = "x"` lands here when the tokens have no '='
            eq = [q for q, t in enumerate(toks) if t.text == "="]
            if eq and toks[0].kind == "ident":
                rhs = toks[eq[0] + 1 :]
                if kw == "const" and len(rhs) == 1 and rhs[0].kind in ("str", "raw"):
                    p.consts[toks[0].text] = golite.unquote(rhs[0].text)

    # -------------------------------------------------------- evaluation

    def call_func(self, fn, args, depth):
        if depth > MAX_DEPTH:
            return UNKNOWN
        # a function recursing into itself (nested statement schemas of
        # WAF rules...) is followed twice, then its value is unknown
        active = self.active.get(id(fn), 0)
        if active >= 2:
            return UNKNOWN
        key = None
        if all(isinstance(a, (str, bool, Unknown)) for a in args):
            key = (id(fn), tuple(a if not isinstance(a, Unknown) else None for a in args))
            if key in self.memo:
                return _copy_value(self.memo[key])
        env = {}
        for q, name in enumerate(fn.params):
            env[name] = args[q] if q < len(args) else UNKNOWN
        imports = fn.pkg.imports.get(fn.file, {})
        self.active[id(fn)] = active + 1
        try:
            v = self.run(fn.body, fn.pkg, imports, env, depth + 1)
        finally:
            self.active[id(fn)] = active
        if key is not None and active == 0:
            self.memo[key] = v
            return _copy_value(v)
        return v

    def run(self, body, pkg, imports, env, depth):
        """Execute a function body; returns its (last top-level) return value."""
        ret = [None, None]  # top-level, nested
        self._exec(statements(body), pkg, imports, env, depth, ret, True)
        if ret[0] is not None:
            return ret[0]
        if ret[1] is not None:
            return ret[1]
        return env.get("__schema__", UNKNOWN)

    def _exec(self, stmts, pkg, imports, env, depth, ret, top):
        for st in stmts:
            kind = st[0]
            try:
                if kind == "return":
                    if st[1]:
                        node, _ = parse_expr(st[1], 0, len(st[1]))
                        v = self.eval(node, pkg, imports, env, depth)
                        if top:
                            ret[0] = v
                            return
                        if ret[1] is None or isinstance(ret[1], Unknown):
                            ret[1] = v
                elif kind == "assign":
                    self._assign(st[1], st[2], st[3], pkg, imports, env, depth)
                elif kind == "block":
                    inner, header, kw = st[1], st[2], st[3]
                    if kw == "for":
                        self._for(inner, header, pkg, imports, env, depth)
                    else:
                        self._exec(statements(inner), pkg, imports, env, depth, ret, False)
                elif kind == "expr":
                    self._expr_stmt(st[1], pkg, imports, env, depth)
            except RecursionError:
                continue

    def _assign(self, lhs, rhs, define, pkg, imports, env, depth):
        if not rhs:
            if lhs and lhs[0].kind == "ident":
                env[lhs[0].text] = UNKNOWN
            return
        # multiple assignment: a, b := f() -> first value only
        lhs_parts = golite._split(lhs, 0, len(lhs))
        rhs_parts = golite._split(rhs, 0, len(rhs))
        pairs = []
        if len(lhs_parts) == len(rhs_parts):
            pairs = list(zip(lhs_parts, rhs_parts))
        elif lhs_parts and rhs_parts:
            pairs = [(lhs_parts[0], rhs_parts[0])]
        for (la, lb), (ra, rb) in pairs:
            node, _ = parse_expr(rhs, ra, rb)
            val = self.eval(node, pkg, imports, env, depth)
            target, _ = parse_expr(lhs, la, lb)
            self._store(target, val, pkg, imports, env, depth)

    def _store(self, target, val, pkg, imports, env, depth):
        if target[0] == "name":
            env[target[1]] = val
            return
        if target[0] == "index":
            base = self.eval(target[1], pkg, imports, env, depth)
            key = self.eval(target[2], pkg, imports, env, depth)
            m = _as_map(base)
            if m is not None and isinstance(key, str):
                m[key] = _as_attr(val)
            return
        if target[0] == "sel":
            field = target[2]
            if field == "Schema" and target[1][0] == "name":
                # resp.Schema = ... (framework) / r.Schema = map (SDK)
                base = env.get(target[1][1])
                if isinstance(base, Obj):
                    base.smap = _as_map(val) if _as_map(val) is not None else base.smap
                else:
                    env["__schema__"] = val
                return
            base = self.eval(target[1], pkg, imports, env, depth)
            if isinstance(base, Attr):
                _set_field(base, field, val)
            elif isinstance(base, Obj) and field == "CustomizeDiff":
                pass

    def _for(self, inner, header, pkg, imports, env, depth):
        texts = [t.text for t in header]
        if "range" not in texts:
            return
        r = texts.index("range")
        node, _ = parse_expr(header, r + 1, len(header))
        over = self.eval(node, pkg, imports, env, depth)
        m = _as_map(over)
        if m is None:
            return
        body_text = " ".join(t.text for t in inner)
        if re.search(r"\. ForceNew = true", body_text):
            # keys the loop skips: `if k == X || k == Y { continue }`
            skip = set()
            for q, t in enumerate(inner):
                if t.text == "==" and q + 1 < len(inner):
                    node, _ = parse_expr(inner, q + 1, len(inner))
                    v = self.eval(node, pkg, imports, env, depth)
                    if isinstance(v, str):
                        skip.add(v)
            for key, a in m.items():
                if isinstance(a, Attr) and key not in skip:
                    a.force_new = True
        vars_ = [t.text for t in header[:r] if t.kind == "ident"]
        if len(vars_) >= 2:
            k, v = vars_[0], vars_[1]
            for st in statements(inner):
                if st[0] == "assign":
                    lt = [t.text for t in st[1]]
                    rt = [t.text for t in st[2]]
                    if len(lt) == 4 and lt[1] == "[" and lt[2] == k and rt == [v]:
                        dst = _as_map(self.eval(("name", lt[0]), pkg, imports, env, depth))
                        if dst is not None:
                            for key, a in m.items():
                                dst[key] = a.copy() if isinstance(a, Attr) else a

    def _expr_stmt(self, toks, pkg, imports, env, depth):
        node, _ = parse_expr(toks, 0, len(toks))
        if node[0] == "call":
            fn = node[1]
            name = fn[2] if fn[0] == "sel" else fn[1] if fn[0] == "name" else None
            if name == "Copy" and len(node[2]) == 2:
                dst = _as_map(self.eval(node[2][0], pkg, imports, env, depth))
                src = _as_map(self.eval(node[2][1], pkg, imports, env, depth))
                if dst is not None and src is not None:
                    for key, a in src.items():
                        dst[key] = a.copy() if isinstance(a, Attr) else a
                return
            if name == "delete" and len(node[2]) == 2:
                dst = _as_map(self.eval(node[2][0], pkg, imports, env, depth))
                key = self.eval(node[2][1], pkg, imports, env, depth)
                if dst is not None and isinstance(key, str):
                    dst.pop(key, None)
                return
            # calls for their effect on an argument (helpers that mutate a
            # schema passed in): evaluate so mutations through params land
            self.eval(node, pkg, imports, env, depth)

    def lookup_pkg_value(self, pkg, name, depth):
        if name in pkg.consts:
            return pkg.consts[name]
        if name in pkg.vars:
            f, toks = pkg.vars[name]
            node, _ = parse_expr(toks, 0, len(toks))
            return self.eval(node, pkg, pkg.imports.get(f, {}), {}, depth + 1)
        if name in pkg.funcs:
            return pkg.funcs[name]
        return UNKNOWN

    def eval(self, node, pkg, imports, env, depth):
        if depth > MAX_DEPTH:
            return UNKNOWN
        k = node[0]
        if k == "str":
            return node[1]
        if k == "bool":
            return node[1]
        if k == "name":
            n = node[1]
            if n in env:
                return env[n]
            return self.lookup_pkg_value(pkg, n, depth)
        if k == "sel":
            base = node[1]
            if base[0] == "name" and base[1] not in env and base[1] in imports:
                d = imports[base[1]]
                if d is None:
                    return UNKNOWN
                return self.lookup_pkg_value(self.package(d), node[2], depth)
            bv = self.eval(base, pkg, imports, env, depth)
            if isinstance(bv, Obj) and node[2] == "Schema":
                return bv.smap
            if isinstance(bv, Attr) and node[2] == "Elem":
                return Obj(bv.children) if bv.children is not None else UNKNOWN
            return UNKNOWN
        if k == "index":
            base = _as_map(self.eval(node[1], pkg, imports, env, depth))
            key = self.eval(node[2], pkg, imports, env, depth)
            if base is not None and isinstance(key, str):
                return base.get(key, UNKNOWN)
            return UNKNOWN
        if k == "call":
            return self._call(node, pkg, imports, env, depth)
        if k == "funclit":
            return Closure(node[1], node[2], pkg, imports, env)
        if k == "lit":
            return self._lit(node, pkg, imports, env, depth)
        if k == "not":
            v = self.eval(node[1], pkg, imports, env, depth)
            return (not v) if isinstance(v, bool) else UNKNOWN
        if k == "concat":
            vals = [self.eval(p, pkg, imports, env, depth) for p in node[1]]
            if all(isinstance(v, str) for v in vals):
                return "".join(vals)
            return UNKNOWN
        return UNKNOWN

    def _resolve_fn(self, fnode, pkg, imports, env, depth):
        if fnode[0] == "name":
            n = fnode[1]
            if n in env:
                v = env[n]
                return v if isinstance(v, (Closure, Func)) else None
            f = pkg.funcs.get(n)
            if f is None and n in pkg.vars:
                v = self.lookup_pkg_value(pkg, n, depth)
                return v if isinstance(v, (Closure, Func)) else None
            return f
        if fnode[0] == "sel" and fnode[1][0] == "name":
            alias = fnode[1][1]
            if alias not in env and alias in imports:
                d = imports[alias]
                if d is None:
                    return None
                return self.package(d).funcs.get(fnode[2])
            # method on a local struct value: T{}.Method()
            bv = env.get(alias)
            if isinstance(bv, Struct):
                return pkg.methods.get((bv.type_text, fnode[2]))
        if fnode[0] == "sel" and fnode[2] in ("SchemaMap", "CoreConfigSchema") and fnode[1][0] == "call":
            base = self.eval(fnode[1], pkg, imports, env, depth)
            if isinstance(base, Obj):
                smap = base.smap
                return Closure([], [], pkg, imports, {"__value__": smap})
        if fnode[0] == "sel" and fnode[1][0] == "lit":
            return pkg.methods.get((fnode[1][1].split(".")[-1], fnode[2]))
        if fnode[0] in ("funclit",):
            return Closure(fnode[1], fnode[2], pkg, imports, env)
        return None

    def _call(self, node, pkg, imports, env, depth):
        fnode, args = node[1], node[2]
        if fnode == ("name", "make") and "make" not in env:
            return SMap()
        fn = self._resolve_fn(fnode, pkg, imports, env, depth)
        if fn is None:
            self.stats["unresolved_calls"] += 1
            return UNKNOWN
        argv = [self.eval(a, pkg, imports, env, depth) for a in args]
        if isinstance(fn, Closure):
            if "__value__" in fn.env and not fn.body:
                return fn.env["__value__"]
            env2 = dict(fn.env)
            for q, name in enumerate(fn.params):
                env2[name] = argv[q] if q < len(argv) else UNKNOWN
            return self.run(fn.body, fn.pkg, fn.imports, env2, depth + 1)
        return self.call_func(fn, argv, depth)

    def _lit(self, node, pkg, imports, env, depth):
        type_text, elems = node[1], node[2]
        keys = {}
        for key, val in elems:
            if key is not None and key[0] == "name":
                keys[key[1]] = val
        short = type_text.split(".")[-1].lstrip("*&")
        if type_text.startswith("map["):
            m = SMap()
            for key, val in elems:
                if key is None:
                    continue
                kv = self.eval(key, pkg, imports, env, depth)
                if not isinstance(kv, str):
                    m.incomplete = True
                    continue
                if val[0] == "lit" and val[1] == "":
                    v = self._attr_lit(val[2], "", pkg, imports, env, depth)
                else:
                    v = self.eval(val, pkg, imports, env, depth)
                m[kv] = _as_attr(v)
            return m
        if type_text.startswith("[") :
            return [self.eval(v, pkg, imports, env, depth) if v[0] != "lit" or v[1] else self._lit(("lit", type_text.split("]", 1)[-1], v[2]), pkg, imports, env, depth) for _, v in elems]
        if short == "Resource" and ("Schema" in keys or "SchemaFunc" in keys or not keys):
            smap = SMap()
            if "Schema" in keys:
                v = self.eval(keys["Schema"], pkg, imports, env, depth)
                smap = _as_map(v) if _as_map(v) is not None else SMap()
            elif "SchemaFunc" in keys:
                f = self.eval(keys["SchemaFunc"], pkg, imports, env, depth)
                if isinstance(f, (Closure, Func)):
                    v = self._call(("call", keys["SchemaFunc"], []), pkg, imports, env, depth)
                    smap = _as_map(v) if _as_map(v) is not None else SMap()
            cd = keys.get("CustomizeDiff")
            if cd is not None:
                smap.conditional.update(self.customize_conditionals(cd, pkg, imports, depth))
            return Obj(smap)
        nested = short.endswith("Attribute") or short.endswith("Block")
        if nested:
            return self._attr_lit(elems, type_text, pkg, imports, env, depth)
        if "Attributes" in keys or "Blocks" in keys:
            smap = SMap()
            for part in ("Attributes", "Blocks"):
                if part in keys:
                    v = _as_map(self.eval(keys[part], pkg, imports, env, depth))
                    if v is not None:
                        smap.update(v)
                        smap.incomplete |= v.incomplete
            return Obj(smap)
        if (type_text == "" or short == "Schema") and _is_attr_keys(keys):
            return self._attr_lit(elems, "", pkg, imports, env, depth)
        if not elems and type_text:
            return Struct(short)
        return UNKNOWN

    def _attr_lit(self, elems, type_text, pkg, imports, env, depth):
        a = Attr()
        keys = {}
        for key, val in elems:
            if key is not None and key[0] == "name":
                keys[key[1]] = val
        if "ForceNew" in keys:
            a.force_new = self.eval(keys["ForceNew"], pkg, imports, env, depth) is True
        computed = "Computed" in keys and self.eval(keys["Computed"], pkg, imports, env, depth) is True
        settable = any(
            k in keys and self.eval(keys[k], pkg, imports, env, depth) is True for k in ("Optional", "Required")
        )
        a.computed_only = computed and not settable
        if "Elem" in keys:
            v = self.eval(keys["Elem"], pkg, imports, env, depth)
            if isinstance(v, Obj):
                a.children = v.smap
        if "NestedObject" in keys:
            v = self.eval(keys["NestedObject"], pkg, imports, env, depth)
            if isinstance(v, Obj):
                a.children = v.smap
            elif _as_map(v) is not None:
                a.children = _as_map(v)
        for part in ("Attributes", "Blocks"):
            if part in keys:
                v = _as_map(self.eval(keys[part], pkg, imports, env, depth))
                if v is not None:
                    if a.children is None:
                        a.children = SMap()
                    a.children.update(v)
        if "PlanModifiers" in keys:
            for name in self.modifier_names(keys["PlanModifiers"], pkg, imports, env, depth):
                if "RequiresReplace" not in name or name.endswith(("Request", "Response")):
                    continue
                if name.startswith("RequiresReplaceIf") and name not in UNCONDITIONAL:
                    a.conditional = a.conditional or f"{name} (a provider-defined condition)"
                else:
                    a.force_new = True
                    # framework: the modifier compares the whole value, so
                    # any change inside a nested attribute or block replaces
                    a.whole = a.children is not None
        return a

    def modifier_names(self, node, pkg, imports, env, depth):
        out = []
        if node[0] == "lit":
            for _, v in node[2]:
                out.extend(self._modifier_name(v, pkg, imports, depth))
        elif node[0] == "call":
            # a helper returning the modifier list
            fn = self._resolve_fn(node[1], pkg, imports, env, depth)
            if isinstance(fn, Func):
                out.extend(_modifier_names_in(fn.body))
            name = node[1][2] if node[1][0] == "sel" else node[1][1] if node[1][0] == "name" else ""
            if name == "append":
                for a in node[2]:
                    out.extend(self.modifier_names(a, pkg, imports, env, depth))
        elif node[0] == "name" and node[1] in env:
            pass
        return out

    def _modifier_name(self, v, pkg, imports, depth):
        if v[0] == "call":
            f = v[1]
            name = f[2] if f[0] == "sel" else f[1] if f[0] == "name" else ""
            if "RequiresReplace" in name:
                return [name]
            # a provider helper wrapping RequiresReplace
            fn = self._resolve_fn(f, pkg, imports, {}, depth)
            if isinstance(fn, Func) and depth < MAX_DEPTH:
                names = _modifier_names_in(fn.body)
                if names:
                    return names
            return [name]
        return []

    def customize_conditionals(self, node, pkg, imports, depth):
        """Attributes a CustomizeDiff may force new (ForceNewIf,
        ForceNewIfChange, d.ForceNew(...)): conditional replacements."""
        out = {}
        seen = set()

        def visit_node(n, p, imps, level):
            if n is None or level > 3:
                return
            if n[0] == "call":
                f = n[1]
                name = f[2] if f[0] == "sel" else f[1] if f[0] == "name" else ""
                if name.startswith("ForceNew") and n[2]:
                    key = self.eval(n[2][0], p, imps, {}, depth + 1)
                    if isinstance(key, str):
                        out[key] = f"CustomizeDiff {name}"
                visit_node(f, p, imps, level)
                for a in n[2]:
                    visit_node(a, p, imps, level)
            elif n[0] in ("name", "sel"):
                fn = self._resolve_fn(n, p, imps, {}, depth + 1)
                if isinstance(fn, Func) and id(fn) not in seen:
                    seen.add(id(fn))
                    visit_toks(fn.body, fn.pkg, fn.pkg.imports.get(fn.file, {}), level + 1)
            elif n[0] == "funclit":
                visit_toks(n[2], p, imps, level + 1)

        def visit_toks(toks, p, imps, level):
            if level > 3:
                return
            for q, t in enumerate(toks):
                if t.kind == "ident" and t.text.startswith("ForceNew") and q + 1 < len(toks) and toks[q + 1].text == "(":
                    e = match(toks, q + 1)
                    args = golite._args(toks, q + 2, e)
                    if args:
                        key = self.eval(args[0], p, imps, {}, depth + 1)
                        if isinstance(key, str):
                            out[key.replace(".0.", ".")] = f"CustomizeDiff {t.text}"
                elif t.kind == "ident" and q + 1 < len(toks) and toks[q + 1].text in (",", ")") and q > 0 and toks[q - 1].text in ("(", ","):
                    fn = p.funcs.get(t.text)
                    if fn is not None and id(fn) not in seen:
                        seen.add(id(fn))
                        visit_toks(fn.body, fn.pkg, fn.pkg.imports.get(fn.file, {}), level + 1)

        visit_node(node, pkg, imports, 0)
        return out


def _copy_value(v):
    if isinstance(v, (SMap, Attr)):
        return v.copy()
    if isinstance(v, Obj):
        return Obj(v.smap.copy(), v.customize)
    return v


def _modifier_names_in(toks):
    return [t.text for t in toks if t.kind == "ident" and "RequiresReplace" in t.text]


def _is_attr_keys(keys):
    return bool(keys) and any(
        k in keys for k in ("Type", "ForceNew", "Elem", "Optional", "Required", "Computed", "PlanModifiers", "Description")
    )


def _as_map(v):
    if isinstance(v, SMap):
        return v
    if isinstance(v, Obj):
        return v.smap
    return None


def _as_attr(v):
    if isinstance(v, Attr):
        return v
    a = Attr()
    if isinstance(v, Obj):
        a.children = v.smap
        return a
    a.unknown = True
    a.force_new = None
    return a


def _set_field(a, field, val):
    if field == "ForceNew":
        a.force_new = val is True
    elif field == "Computed" and val is True:
        pass
    elif field in ("Optional", "Required") and val is True:
        a.computed_only = False
    elif field == "Elem" and isinstance(val, Obj):
        a.children = val.smap
