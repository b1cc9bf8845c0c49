"""A small reader of Go source, enough to evaluate Terraform provider
schemas: terraform-plugin-sdk `map[string]*schema.Schema` literals
(`ForceNew: true`, nested `Elem: &schema.Resource{...}`), and
terraform-plugin-framework schemas (`Attributes`, `Blocks`, `NestedObject`,
`PlanModifiers: ... RequiresReplace()`), through helper functions, local
variables, `m["k"] = ...` additions and `x.ForceNew = true` mutations.

It is not a Go compiler: what it cannot evaluate is Unknown, and the
generator falls back on the provider's documentation for it.
"""

import re

# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r]+)
  | (?P<nl>\n)
  | (?P<lcomment>//[^\n]*)
  | (?P<bcomment>/\*.*?\*/)
  | (?P<raw>`[^`]*`)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<rune>'(?:[^'\\\n]|\\.)*')
  | (?P<num>\.?[0-9][0-9a-zA-Z_.]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\.\.\.|:=|==|!=|<=|>=|&&|\|\||<-|\+\+|--|[-+*/%&|^<>=!]=?|&\^|<<|>>|.)
    """,
    re.S | re.X,
)

_SEMI_AFTER = {"ident", "num", "str", "raw", "rune"}
_SEMI_AFTER_OPS = {")", "]", "}", "++", "--"}
_SEMI_AFTER_KW = {"return", "break", "continue", "fallthrough"}


class Tok:
    __slots__ = ("kind", "text", "pos")

    def __init__(self, kind, text, pos):
        self.kind = kind
        self.text = text
        self.pos = pos

    def __repr__(self):
        return f"{self.text!r}"


def tokenize(src):
    """Tokens with Go's automatic semicolons (kind 'op', text ';')."""
    out = []
    last = None
    for m in _TOKEN.finditer(src):
        kind = m.lastgroup
        if kind in ("ws", "lcomment"):
            continue
        if kind == "bcomment":
            if "\n" in m.group() and last is not None and _needs_semi(last):
                out.append(Tok("op", ";", m.start()))
                last = None
            continue
        if kind == "nl":
            if last is not None and _needs_semi(last):
                out.append(Tok("op", ";", m.start()))
                last = None
            continue
        t = Tok(kind, m.group(), m.start())
        out.append(t)
        last = t
    return out


def _needs_semi(t):
    if t.kind in _SEMI_AFTER:
        return t.kind != "ident" or t.text not in ("func", "struct", "interface", "map", "chan", "else", "if", "for", "switch", "go", "defer", "select", "case", "default", "import", "package", "var", "const", "type", "range") or t.text in _SEMI_AFTER_KW
    return t.kind == "op" and t.text in _SEMI_AFTER_OPS


def unquote(s):
    if s.startswith("`"):
        return s[1:-1]
    body = s[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


_OPEN = {"(": ")", "[": "]", "{": "}"}


def match(toks, i):
    """Index of the bracket closing the one at i."""
    depth = 0
    n = len(toks)
    while i < n:
        t = toks[i].text if toks[i].kind == "op" else None
        if t in _OPEN:
            depth += 1
        elif t in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return n - 1


# ---------------------------------------------------------------- expressions
# Nodes are tuples: ("lit", type_text, [(key_node|None, val_node)]),
# ("call", fn_node, [args]), ("name", x), ("sel", base_node, name),
# ("str", s), ("index", base, idx), ("funclit", params, body_toks),
# ("bool", b), ("unknown", text)

_STOP = {",", ")", "]", "}", ";", ":"}


def parse_expr(toks, i, end):
    """Parse an expression at toks[i:end]; returns (node, next index)."""
    node, i = parse_unary(toks, i, end)
    # binary operators: keep string concatenations, the rest is unknown
    parts = [node]
    binop = False
    while i < end and toks[i].kind == "op" and toks[i].text not in _STOP and toks[i].text not in ("{", "=", ":=") :
        op = toks[i].text
        binop = True
        if op == "+":
            rhs, i = parse_unary(toks, i + 1, end)
            parts.append(rhs)
        else:
            rhs, i = parse_unary(toks, i + 1, end)
            parts.append(("unknown", op))
    if binop:
        if all(p[0] == "str" for p in parts):
            return ("str", "".join(p[1] for p in parts)), i
        return ("concat", parts), i
    return node, i


def parse_unary(toks, i, end):
    while i < end and toks[i].kind == "op" and toks[i].text in ("&", "*", "!", "-", "+", "<-", "^"):
        if toks[i].text == "!":
            node, j = parse_unary(toks, i + 1, end)
            if node[0] == "bool":
                return ("bool", not node[1]), j
            return ("not", node), j
        i += 1
    return parse_primary(toks, i, end)


def _parse_type(toks, i, end):
    """Skip a type at i; returns the index after it."""
    if i >= end:
        return i
    t = toks[i]
    if t.text == "*":
        return _parse_type(toks, i + 1, end)
    if t.text == "[":
        j = match(toks, i)
        return _parse_type(toks, j + 1, end)
    if t.text == "map" and i + 1 < end and toks[i + 1].text == "[":
        j = match(toks, i + 1)
        return _parse_type(toks, j + 1, end)
    if t.text in ("struct", "interface") and i + 1 < end and toks[i + 1].text == "{":
        return match(toks, i + 1) + 1
    if t.text == "func":
        j = match(toks, i + 1) + 1
        if j < end and toks[j].text == "(":
            return match(toks, j) + 1
        if j < end and (toks[j].kind == "ident" or toks[j].text in ("*", "[")):
            return _parse_type(toks, j, end)
        return j
    if t.kind == "ident":
        j = i + 1
        while j + 1 < end and toks[j].text == "." and toks[j + 1].kind == "ident":
            j += 2
        if j < end and toks[j].text == "[" and toks[j - 1].kind == "ident":
            # generic instantiation: T[X]
            k = match(toks, j)
            if k + 1 < end and toks[k + 1].text == "{":
                return k + 1
        return j
    return i + 1


def _text(toks, i, j):
    return "".join(t.text for t in toks[i:j])


def parse_primary(toks, i, end):
    if i >= end:
        return ("unknown", ""), i
    t = toks[i]
    node = None
    if t.kind in ("str", "raw"):
        node, i = ("str", unquote(t.text)), i + 1
    elif t.kind in ("num", "rune"):
        node, i = ("unknown", t.text), i + 1
    elif t.text == "func":
        # function literal: func(params) results { body }
        p = i + 1
        pe = match(toks, p)
        params = _param_names(toks, p + 1, pe)
        j = pe + 1
        while j < end and toks[j].text != "{":
            if toks[j].text in ("(", "["):
                j = match(toks, j)
            j += 1
        if j >= end:
            return ("unknown", "func"), end
        be = match(toks, j)
        node, i = ("funclit", params, toks[j + 1 : be]), be + 1
    elif t.text == "(":
        j = match(toks, i)
        inner, _ = parse_expr(toks, i + 1, j)
        node, i = inner, j + 1
    elif t.text == "{":
        j = match(toks, i)
        node, i = ("lit", "", _elements(toks, i + 1, j)), j + 1
    elif t.text in ("[", "map", "struct") or (t.kind == "ident"):
        if t.text in ("true", "false"):
            node, i = ("bool", t.text == "true"), i + 1
        elif t.text == "nil":
            node, i = ("unknown", "nil"), i + 1
        else:
            j = _parse_type(toks, i, end)
            if j < end and toks[j].text == "{" and (t.text in ("[", "map", "struct") or _is_type_name(toks, i, j)):
                k = match(toks, j)
                node, i = ("lit", _text(toks, i, j), _elements(toks, j + 1, k)), k + 1
            elif t.kind == "ident":
                node, i = ("name", t.text), i + 1
            else:
                node, i = ("unknown", t.text), j
    else:
        return ("unknown", t.text), i + 1
    # postfix: selectors, calls, index, type assertions
    while i < end:
        t = toks[i]
        if t.text == "." and i + 1 < end and toks[i + 1].kind == "ident":
            node = ("sel", node, toks[i + 1].text)
            i += 2
            if i < end and toks[i].text == "{" and _composite_ok(node):
                k = match(toks, i)
                node = ("lit", _sel_text(node), _elements(toks, i + 1, k))
                i = k + 1
        elif t.text == "." and i + 1 < end and toks[i + 1].text == "(":
            i = match(toks, i + 1) + 1  # type assertion
        elif t.text == "(":
            k = match(toks, i)
            node = ("call", node, _args(toks, i + 1, k))
            i = k + 1
        elif t.text == "[":
            k = match(toks, i)
            idx, _ = parse_expr(toks, i + 1, k)
            node = ("index", node, idx)
            i = k + 1
            if i < end and toks[i].text == "{" and node[1][0] in ("name", "sel"):
                # generic type literal T[X]{...}
                k2 = match(toks, i)
                node = ("lit", "generic", _elements(toks, i + 1, k2))
                i = k2 + 1
        else:
            break
    return node, i


def _composite_ok(node):
    # pkg.Type{...}: a selector of a plain name, capitalised
    return node[0] == "sel" and node[1][0] == "name" and node[2][:1].isupper()


def _is_type_name(toks, i, j):
    # X{ or pkg.X{ where X is not obviously a variable: accept when the
    # last identifier is capitalised or qualified (Go code style)
    if j - i == 1:
        return toks[i].text[:1].isupper()
    return True


def _sel_text(node):
    if node[0] == "name":
        return node[1]
    if node[0] == "sel":
        return _sel_text(node[1]) + "." + node[2]
    return "?"


def _split(toks, i, end, sep=","):
    """Split toks[i:end] at top-level separators."""
    parts = []
    start = i
    while i < end:
        t = toks[i].text
        if toks[i].kind == "op" and t in _OPEN:
            i = match(toks, i) + 1
            continue
        if toks[i].kind == "op" and t == sep:
            parts.append((start, i))
            start = i + 1
        i += 1
    if start < end:
        parts.append((start, end))
    return parts


def _args(toks, i, end):
    out = []
    for a, b in _split(toks, i, end):
        if a < b:
            node, _ = parse_expr(toks, a, b)
            out.append(node)
    return out


def _elements(toks, i, end):
    out = []
    for a, b in _split(toks, i, end):
        # skip stray semicolons
        while a < b and toks[a].text == ";":
            a += 1
        if a >= b:
            continue
        colon = None
        j = a
        while j < b:
            tt = toks[j]
            if tt.kind == "op" and tt.text in _OPEN:
                j = match(toks, j) + 1
                continue
            if tt.kind == "op" and tt.text == ":":
                colon = j
                break
            j += 1
        if colon is not None:
            key, _ = parse_expr(toks, a, colon)
            val, _ = parse_expr(toks, colon + 1, b)
            out.append((key, val))
        else:
            val, _ = parse_expr(toks, a, b)
            out.append((None, val))
    return out


def _param_names(toks, i, end):
    """Parameter names of a signature's parameter list toks[i:end]."""
    names = []
    for a, b in _split(toks, i, end):
        if a < b and toks[a].kind == "ident":
            if b - a >= 2:
                names.append(toks[a].text)
            else:
                # `a, b string`: a lone identifier shares the next type
                names.append(toks[a].text)
    return names


# ---------------------------------------------------------------- statements


def statements(toks):
    """Split a block body into statements: (kind, data) with kinds
    'assign' (lhs_toks, rhs_toks, define), 'return' (toks), 'block'
    (inner toks, header toks, keyword), 'expr' (toks)."""
    out = []
    i = 0
    n = len(toks)
    while i < n:
        t = toks[i]
        if t.text == ";":
            i += 1
            continue
        if t.kind == "ident" and t.text in ("if", "for", "switch", "select", "else"):
            # header up to the block's opening brace
            j = i + 1
            while j < n and toks[j].text != "{":
                if toks[j].text in ("(", "["):
                    j = match(toks, j) + 1
                    continue
                if toks[j].text == "map" and j + 1 < n and toks[j + 1].text == "[":
                    k = _parse_type(toks, j, n)
                    if k < n and toks[k].text == "{":
                        j = match(toks, k) + 1
                        continue
                    j = k
                    continue
                if toks[j].text == "func":
                    # a function literal in the header
                    k = j + 1
                    while k < n and toks[k].text != "{":
                        k += 1
                    j = match(toks, k) + 1
                    continue
                j += 1
            if j >= n:
                break
            k = match(toks, j)
            out.append(("block", toks[j + 1 : k], toks[i + 1 : j], t.text))
            i = k + 1
            continue
        if t.kind == "ident" and t.text in ("case", "default"):
            j = i
            while j < n and toks[j].text != ":":
                if toks[j].text in _OPEN:
                    j = match(toks, j)
                j += 1
            i = j + 1
            continue
        if t.text == "{":
            k = match(toks, i)
            out.append(("block", toks[i + 1 : k], [], "{"))
            i = k + 1
            continue
        # a simple statement up to ';' at depth 0
        j = i
        while j < n and toks[j].text != ";":
            if toks[j].kind == "op" and toks[j].text in _OPEN:
                j = match(toks, j)
            j += 1
        st = toks[i:j]
        i = j + 1
        if not st:
            continue
        if st[0].text == "return":
            out.append(("return", st[1:]))
            continue
        if st[0].text in ("var", "const") and len(st) > 1:
            # var x = expr / var x T = expr
            eq = next((k for k, tt in enumerate(st) if tt.text == "="), None)
            if eq is not None:
                out.append(("assign", st[1:2], st[eq + 1 :], True))
            else:
                out.append(("assign", st[1:2], [], True))
            continue
        # assignment?
        depth = 0
        for k, tt in enumerate(st):
            if tt.kind == "op" and tt.text in _OPEN:
                depth += 1
            elif tt.kind == "op" and tt.text in (")", "]", "}"):
                depth -= 1
            elif depth == 0 and tt.kind == "op" and tt.text in ("=", ":="):
                out.append(("assign", st[:k], st[k + 1 :], tt.text == ":="))
                break
        else:
            out.append(("expr", st))
    return out
