#!/usr/bin/env python3
"""A second reader of a rewind store, written from docs/store-format.md alone.

It reads a store without encryption (a local directory) the way the
document says a compatible implementation must, and checks everything it
reads: the config, the refs and their checksum, every snapshot record's
hash, every pack index and pack (magic, trailer, blocks, record headers),
every object's id, and the strict decoding of every Tree, Model, Group and
Node, and the combined pack index of the local cache when there is one
(§18.1) against the pack indexes. It then walks each named snapshot from its record to its files and
its model, and compares what it finds with the counts the record states.

Python 3 standard library only: BLAKE3 and the LZ4 block format are
implemented below (hashlib has no BLAKE3), from their specifications and
the summary in §5.2 of the document.

Usage:
    store-format-check.py STORE_DIR [--json]
    store-format-check.py --examples docs/store-format.md

With --examples it decodes the worked examples of §19 (and the BLAKE3
example of §2) from the document itself and checks the ids it states.
Exit status 0 when everything checks, 1 on the first problem (printed on
standard error), 2 on bad usage.
"""

import json
import os
import re
import sys

# --------------------------------------------------------------------------
# BLAKE3 (default 32-byte output; hash mode only: the store keys ids only
# when encrypted, which this reader does not open)

_IV = (
    0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
    0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
)
_PERM = (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)
_CHUNK_START, _CHUNK_END, _PARENT, _ROOT = 1, 2, 4, 8
_M = 0xFFFFFFFF


def _g(s, a, b, c, d, x, y):
    s[a] = (s[a] + s[b] + x) & _M
    t = s[d] ^ s[a]
    s[d] = ((t >> 16) | (t << 16)) & _M
    s[c] = (s[c] + s[d]) & _M
    t = s[b] ^ s[c]
    s[b] = ((t >> 12) | (t << 20)) & _M
    s[a] = (s[a] + s[b] + y) & _M
    t = s[d] ^ s[a]
    s[d] = ((t >> 8) | (t << 24)) & _M
    s[c] = (s[c] + s[d]) & _M
    t = s[b] ^ s[c]
    s[b] = ((t >> 7) | (t << 25)) & _M


def _compress(cv, m, counter, block_len, flags):
    s = list(cv) + list(_IV[:4]) + [counter & _M, (counter >> 32) & _M, block_len, flags]
    for r in range(7):
        _g(s, 0, 4, 8, 12, m[0], m[1])
        _g(s, 1, 5, 9, 13, m[2], m[3])
        _g(s, 2, 6, 10, 14, m[4], m[5])
        _g(s, 3, 7, 11, 15, m[6], m[7])
        _g(s, 0, 5, 10, 15, m[8], m[9])
        _g(s, 1, 6, 11, 12, m[10], m[11])
        _g(s, 2, 7, 8, 13, m[12], m[13])
        _g(s, 3, 4, 9, 14, m[14], m[15])
        if r < 6:
            m = [m[p] for p in _PERM]
    return [s[i] ^ s[i + 8] for i in range(8)]


def _words(block):
    block = block + bytes(64 - len(block))
    return [int.from_bytes(block[i:i + 4], "little") for i in range(0, 64, 4)]


def _chunk_cv(data, chunk_index, root):
    cv = _IV
    blocks = [data[i:i + 64] for i in range(0, len(data), 64)] or [b""]
    for n, block in enumerate(blocks):
        flags = 0
        if n == 0:
            flags |= _CHUNK_START
        if n == len(blocks) - 1:
            flags |= _CHUNK_END | (_ROOT if root else 0)
        cv = _compress(cv, _words(block), chunk_index, len(block), flags)
    return cv


def _subtree_cv(data, chunk_index, root):
    if len(data) <= 1024:
        return _chunk_cv(data, chunk_index, root)
    full_chunks = (len(data) - 1) // 1024
    left = (1 << (full_chunks.bit_length() - 1)) * 1024
    lcv = _subtree_cv(data[:left], chunk_index, False)
    rcv = _subtree_cv(data[left:], chunk_index + left // 1024, False)
    return _compress(_IV, lcv + rcv, 0, 64, _PARENT | (_ROOT if root else 0))


def blake3(data):
    """The 32-byte BLAKE3 hash of `data`."""
    return b"".join(w.to_bytes(4, "little") for w in _subtree_cv(bytes(data), 0, True))


def blake3_hex(data):
    return blake3(data).hex()


# --------------------------------------------------------------------------
# LZ4 block format (§5.2)


def lz4_block_decompress(src, size):
    out = bytearray()
    i = 0
    n = len(src)
    while True:
        if i >= n:
            raise Bad("lz4: input ends before a token")
        token = src[i]
        i += 1
        lit = token >> 4
        if lit == 15:
            while True:
                if i >= n:
                    raise Bad("lz4: literal length runs past the input")
                b = src[i]
                i += 1
                lit += b
                if b != 255:
                    break
        if i + lit > n:
            raise Bad("lz4: literals run past the input")
        out += src[i:i + lit]
        i += lit
        if i == n:
            break  # the final sequence: literals only
        if i + 2 > n:
            raise Bad("lz4: offset cut short")
        offset = src[i] | (src[i + 1] << 8)
        i += 2
        if offset == 0 or offset > len(out):
            raise Bad("lz4: bad match offset %d" % offset)
        ml = token & 15
        if ml == 15:
            while True:
                if i >= n:
                    raise Bad("lz4: match length runs past the input")
                b = src[i]
                i += 1
                ml += b
                if b != 255:
                    break
        ml += 4
        start = len(out) - offset
        if offset >= ml:
            out += out[start:start + ml]
        else:
            for k in range(ml):
                out.append(out[start + k])
        if len(out) > size:
            break
    if len(out) != size:
        raise Bad("lz4: decompressed to %d bytes, not %d" % (len(out), size))
    return bytes(out)


# --------------------------------------------------------------------------
# Primitive encodings (§3)


class Bad(Exception):
    """Something in the store does not follow the document."""


class Reader:
    def __init__(self, data, what):
        self.b = data
        self.i = 0
        self.what = what

    def left(self):
        return len(self.b) - self.i

    def take(self, n):
        if n > self.left():
            raise Bad("%s: read past the end" % self.what)
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def u8(self):
        return self.take(1)[0]

    def varint(self):
        v = 0
        for k in range(10):
            b = self.u8()
            if k == 9 and b > 1:
                raise Bad("%s: varint overflows 64 bits" % self.what)
            v |= (b & 0x7F) << (7 * k)
            if not b & 0x80:
                return v
        raise Bad("%s: varint longer than 10 bytes" % self.what)

    def count(self):
        n = self.varint()
        if n > self.left():
            raise Bad("%s: count %d larger than the %d bytes left" % (self.what, n, self.left()))
        return n

    def bytes_(self):
        return self.take(self.count())

    def str_(self):
        try:
            return self.bytes_().decode("utf-8")
        except UnicodeDecodeError:
            raise Bad("%s: a str is not UTF-8" % self.what)

    def hash_(self):
        return self.take(32).hex()

    def end(self):
        if self.left():
            raise Bad("%s: %d trailing bytes" % (self.what, self.left()))


MAX_DEPTH = 4096


def read_value(r, depth=0):
    if depth > MAX_DEPTH:
        raise Bad("%s: values nested deeper than 4096" % r.what)
    tag = r.u8()
    if tag == 0:
        return None
    if tag in (1, 2):
        return tag == 2
    if tag == 3:
        return ("number", r.str_())
    if tag == 4:
        return r.str_()
    if tag == 5:
        return [read_value(r, depth + 1) for _ in range(r.count())]
    if tag == 6:
        out = {}
        prev = None
        for _ in range(r.count()):
            k = r.str_()
            kb = k.encode()
            if prev is not None and kb <= prev:
                raise Bad("%s: map keys out of order" % r.what)
            prev = kb
            out[k] = read_value(r, depth + 1)
        return out
    if tag == 7:
        inner = Reader(r.bytes_(), r.what + " (expression)")
        e = read_expr(inner, depth + 1)
        inner.end()
        return ("expr", e)
    raise Bad("%s: unknown value tag %02x" % (r.what, tag))


def read_path(r):
    steps = []
    for _ in range(r.count()):
        kind = r.u8()
        if kind == 0:
            steps.append(r.str_())
        elif kind == 1:
            steps.append(r.varint())
        else:
            raise Bad("%s: unknown path step kind %02x" % (r.what, kind))
    return steps


UNARY = ("-", "!")
BINARY = ("||", "&&", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%")


def read_ops(r, depth):
    ops = []
    for _ in range(r.count()):
        k = r.u8()
        if k == 0:
            ops.append(("attr", r.str_()))
        elif k == 1:
            ops.append(("index", read_expr(r, depth + 1)))
        elif k == 2:
            ops.append(("legacy", r.varint()))
        elif k == 3:
            ops.append(("attr_splat",))
        elif k == 4:
            ops.append(("full_splat",))
        else:
            raise Bad("%s: unknown traversal step %02x" % (r.what, k))
    return ops


def read_parts(r, depth):
    if depth > MAX_DEPTH:
        raise Bad("%s: expressions nested deeper than 4096" % r.what)
    parts = []
    for _ in range(r.count()):
        k = r.u8()
        if k == 0:
            parts.append(("lit", r.str_()))
        elif k == 1:
            parts.append(("interp", read_expr(r, depth + 1)))
        elif k == 2:
            parts.append(("if", read_expr(r, depth + 1), read_parts(r, depth + 1), read_parts(r, depth + 1)))
        elif k == 3:
            key = r.str_() if r.u8() else None
            parts.append(("for", key, r.str_(), read_expr(r, depth + 1), read_parts(r, depth + 1)))
        else:
            raise Bad("%s: unknown template part %02x" % (r.what, k))
    return parts


def read_expr(r, depth=0):
    if depth > MAX_DEPTH:
        raise Bad("%s: expressions nested deeper than 4096" % r.what)
    d = depth + 1
    tag = r.u8()
    if tag == 0:
        return ("null",)
    if tag in (1, 2):
        return ("bool", tag == 2)
    if tag == 3:
        return ("number", r.str_())
    if tag == 4:
        return ("template", read_parts(r, d))
    if tag == 5:
        return ("tuple", [read_expr(r, d) for _ in range(r.count())])
    if tag == 6:
        return ("object", [(read_expr(r, d), read_expr(r, d)) for _ in range(r.count())])
    if tag == 7:
        return ("traversal", r.str_(), read_ops(r, d))
    if tag == 8:
        return ("postfix", read_expr(r, d), read_ops(r, d))
    if tag == 9:
        name = r.str_()
        expand = r.u8()
        if expand > 1:
            raise Bad("%s: call expansion flag %02x" % (r.what, expand))
        return ("call", name, expand == 1, [read_expr(r, d) for _ in range(r.count())])
    if tag == 10:
        op = r.u8()
        if op >= len(UNARY):
            raise Bad("%s: unknown unary operator %02x" % (r.what, op))
        return ("unary", UNARY[op], read_expr(r, d))
    if tag == 11:
        op = r.u8()
        if op >= len(BINARY):
            raise Bad("%s: unknown binary operator %02x" % (r.what, op))
        return ("binary", BINARY[op], read_expr(r, d), read_expr(r, d))
    if tag == 12:
        return ("cond", read_expr(r, d), read_expr(r, d), read_expr(r, d))
    if tag == 13:
        flags = r.u8()
        if flags & ~0x0F:
            raise Bad("%s: unknown for flags %02x" % (r.what, flags))
        key_var = r.str_() if flags & 1 else None
        val_var = r.str_()
        coll = read_expr(r, d)
        key = read_expr(r, d) if flags & 2 else None
        value = read_expr(r, d)
        cond = read_expr(r, d) if flags & 4 else None
        return ("for", key_var, val_var, coll, key, value, cond, bool(flags & 8))
    if tag == 14:
        return ("paren", read_expr(r, d))
    raise Bad("%s: unknown expression tag %02x" % (r.what, tag))


# --------------------------------------------------------------------------
# Objects (§4)

BLOB, TREE, MODEL, GROUP, NODE, LOGCHUNK = 1, 2, 3, 4, 5, 7
TYPE_NAMES = {BLOB: "blob", TREE: "tree", MODEL: "model", GROUP: "group", NODE: "node", LOGCHUNK: "logchunk"}

NODE_KINDS = (
    "terraform", "provider", "variable", "local", "data", "resource", "module",
    "output", "moved", "removed", "import", "check", "tfvars", "instance", "action",
)
EDGE_KINDS = ("reference", "depends_on", "provider", "module", "state")


def decode_tree(data, what):
    r = Reader(data, what)
    version = r.u8()
    if version not in (1, 2):
        raise Bad("%s: unknown tree version %02x" % (what, version))
    entries = []
    prev = None
    for _ in range(r.count()):
        name = r.str_()
        if not name or name in (".", "..") or any(c in name for c in "/\\\0"):
            raise Bad("%s: invalid entry name %r" % (what, name))
        nb = name.encode()
        if prev is not None and nb <= prev:
            raise Bad("%s: entries out of order at %r" % (what, name))
        prev = nb
        kind = r.u8()
        if kind > 3 or (kind == 3 and version != 2):
            raise Bad("%s: entry kind %02x in a version %d tree" % (what, kind, version))
        size = r.varint()
        entries.append((name, kind, size, r.hash_()))
    r.end()
    if version == 2 and not any(e[1] == 3 for e in entries):
        raise Bad("%s: a version 2 tree without a link" % what)
    return entries


def decode_node(data, what):
    r = Reader(data, what)
    version = r.u8()
    if version != 2:
        raise Bad("%s: unknown node version %02x" % (what, version))
    kind = r.u8()
    if kind >= len(NODE_KINDS):
        raise Bad("%s: unknown node kind %d" % (what, kind))
    node = {
        "kind": NODE_KINDS[kind],
        "address": r.str_(),
        "module": r.str_(),
        "type": r.str_(),
        "name": r.str_(),
        "body": read_value(r),
    }
    node["facts"] = {r.str_(): read_value(r) for _ in range(r.count())}
    node["sensitive"] = [read_path(r) for _ in range(r.count())]
    edges = []
    for _ in range(r.count()):
        to = r.str_()
        ek = r.u8()
        if ek >= len(EDGE_KINDS):
            raise Bad("%s: unknown edge kind %d" % (what, ek))
        edges.append((to, ek))
    if edges != sorted(set(edges), key=lambda e: (e[0].encode(), e[1])):
        raise Bad("%s: edges not sorted or duplicated" % what)
    node["edges"] = [(to, EDGE_KINDS[k]) for to, k in edges]
    r.end()
    return node


def decode_group(data, what):
    r = Reader(data, what)
    version = r.u8()
    if version != 1:
        raise Bad("%s: unknown group version %02x" % (what, version))
    entries = []
    for _ in range(r.count()):
        address = r.str_()
        kind = r.u8()
        if kind >= len(NODE_KINDS):
            raise Bad("%s: unknown node kind %d" % (what, kind))
        entries.append({"address": address, "kind": NODE_KINDS[kind], "node": r.hash_(),
                        "line": r.varint(), "col": r.varint()})
    r.end()
    return entries


def decode_model(data, what):
    r = Reader(data, what)
    version = r.u8()
    if version != 1:
        raise Bad("%s: unknown model version %02x" % (what, version))
    model = {"root": r.str_(), "state": None}
    if r.u8():
        model["state"] = {"path": r.str_(), "lineage": r.str_(), "serial": r.varint(),
                          "terraform_version": r.str_()}
    model["groups"] = [(r.str_(), r.hash_(), r.varint()) for _ in range(r.count())]
    diags = []
    for _ in range(r.count()):
        diags.append({"error": r.u8() != 0, "file": r.str_(), "line": r.varint(),
                      "col": r.varint(), "message": r.str_()})
    model["diagnostics"] = diags
    r.end()
    return model


# --------------------------------------------------------------------------
# Packs and indexes (§5, §6)

HEX64 = re.compile(r"^[0-9a-f]{64}$")
KNOWN_TYPES = set(TYPE_NAMES)


def u32(b, o):
    return int.from_bytes(b[o:o + 4], "little")


def parse_index(data, name):
    what = "packs/%s.idx" % name
    if len(data) < 76 or data[:8] != b"RWIDX002":
        raise Bad("%s: short or bad magic %r" % (what, data[:8]))
    if blake3(data[:-32]) != data[-32:]:
        raise Bad("%s: index checksum does not match" % what)
    n = u32(data, 8)
    if len(data) != 76 + 53 * n:
        raise Bad("%s: length %d is not 76 + 53 x %d" % (what, len(data), n))
    if data[12 + 53 * n:44 + 53 * n].hex() != name:
        raise Bad("%s: the pack checksum inside is not the name" % what)
    entries = []
    prev = None
    for k in range(n):
        e = data[12 + 53 * k:12 + 53 * (k + 1)]
        oid = e[:32]
        if prev is not None and oid <= prev:
            raise Bad("%s: ids not strictly increasing" % what)
        prev = oid
        typ = e[52]
        if typ not in KNOWN_TYPES:
            raise Bad("%s: unknown type code %d" % (what, typ))
        entries.append({"id": oid.hex(), "block": int.from_bytes(e[32:40], "little"),
                        "block_len": u32(e, 40), "inner": u32(e, 44), "len": u32(e, 48), "type": typ})
    return entries


def parse_pack(data, name):
    """The pack's blocks by offset: offset -> (stored length, uncompressed block)."""
    what = "packs/%s.pack" % name
    if len(data) < 40 or data[:8] != b"RWPACK02":
        raise Bad("%s: short or bad magic %r" % (what, data[:8]))
    if blake3(data[:-32]) != data[-32:] or data[-32:].hex() != name:
        raise Bad("%s: trailer is not blake3 of the body, or not the name" % what)
    blocks = {}
    off = 8
    end = len(data) - 32
    while off < end:
        if off + 9 > end:
            raise Bad("%s: block header at %d cut short" % (what, off))
        flags, s, u = data[off], u32(data, off + 1), u32(data, off + 5)
        body = data[off + 9:off + 9 + s]
        if off + 9 + s > end:
            raise Bad("%s: block at %d runs into the trailer" % (what, off))
        if flags == 0:
            if u != s:
                raise Bad("%s: stored block at %d with u %d != s %d" % (what, off, u, s))
            block = body
        elif flags == 1:
            if u > s * 255 + 64:
                raise Bad("%s: block at %d claims an impossible size" % (what, off))
            block = lz4_block_decompress(body, u)
        elif flags in (2, 3):
            raise Bad("%s: a sealed block (encrypted store): not read by this checker" % what)
        else:
            raise Bad("%s: block at %d has flags %02x" % (what, off, flags))
        blocks[off] = (9 + s, flags, block)
        off += 9 + s
    return blocks


def records(block):
    """The object records of an uncompressed block (§5.1)."""
    i = 0
    while i < len(block):
        if i + 37 > len(block):
            raise Bad("record header cut short")
        n = u32(block, i + 1)
        yield {"type": block[i], "len": n, "id": block[i + 5:i + 37].hex(), "inner": i + 37}
        i += 37 + n
    if i != len(block):
        raise Bad("the last record runs past its block")


# --------------------------------------------------------------------------
# The store


class Store:
    def __init__(self, root):
        self.root = root
        self.objects = {}  # id -> (type, bytes)
        self.counts = {name: 0 for name in TYPE_NAMES.values()}
        self.packs = 0
        self.indexes = {}  # pack name -> {id: index entry}

    def get(self, key):
        path = os.path.join(self.root, *key.split("/"))
        try:
            with open(path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def list(self, prefix):
        d = os.path.join(self.root, prefix)
        if not os.path.isdir(d):
            return []
        return sorted(n for n in os.listdir(d) if os.path.isfile(os.path.join(d, n)))

    def open(self):
        raw = self.get("config")
        if raw is None:
            raise Bad("no config: not a store")
        config = json.loads(raw)
        if config.get("format") != "rewind-store":
            raise Bad("config: format is %r" % config.get("format"))
        if config.get("version") not in (3, 4, 5, 6):
            raise Bad("config: version %r not implemented" % config.get("version"))
        if "created" not in config:
            raise Bad("config: no created")
        if "encryption" in config:
            raise Bad("config: an encrypted store (§22): this checker reads stores without encryption")
        self.config = config

    def load_packs(self):
        """§12: every packs/<64 hex>.idx, with its pack read whole and checked."""
        for key in self.list("packs"):
            if not key.endswith(".idx") or not HEX64.match(key[:-4]):
                continue
            name = key[:-4]
            entries = parse_index(self.get("packs/" + key), name)
            pack = self.get("packs/%s.pack" % name)
            if pack is None:
                raise Bad("packs/%s.idx without its pack" % name)
            blocks = parse_pack(pack, name)
            self.packs += 1
            self.indexes[name] = {e["id"]: e for e in entries}
            for e in entries:
                self.read_entry(e, blocks, name)

    def read_entry(self, e, blocks, name):
        what = "object %s in packs/%s" % (e["id"], name)
        if e["block"] not in blocks:
            raise Bad("%s: no block starts at offset %d" % (what, e["block"]))
        block_len, _flags, block = blocks[e["block"]]
        if block_len != e["block_len"]:
            raise Bad("%s: block length %d, index says %d" % (what, block_len, e["block_len"]))
        if e["inner"] < 37 or e["inner"] + e["len"] > len(block):
            raise Bad("%s: outside its block" % what)
        head = block[e["inner"] - 37:e["inner"]]
        if (head[0], u32(head, 1), head[5:37].hex()) != (e["type"], e["len"], e["id"]):
            raise Bad("%s: record header differs from the index entry" % what)
        if not any(rec["inner"] == e["inner"] for rec in records(block)):
            raise Bad("%s: not at a record boundary" % what)
        data = block[e["inner"]:e["inner"] + e["len"]]
        if blake3_hex(data) != e["id"]:
            raise Bad("%s: blake3 of its bytes is not its id" % what)
        if e["id"] not in self.objects:
            self.counts[TYPE_NAMES[e["type"]]] += 1
        self.objects[e["id"]] = (e["type"], data)
        self.decode(e["id"])

    def object(self, oid, typ):
        if oid not in self.objects:
            raise Bad("%s %s is in no pack index" % (TYPE_NAMES[typ], oid))
        t, data = self.objects[oid]
        if t != typ:
            raise Bad("%s is a %s, not a %s" % (oid, TYPE_NAMES[t], TYPE_NAMES[typ]))
        return data

    def decode(self, oid):
        t, data = self.objects[oid]
        what = "%s %s" % (TYPE_NAMES[t], oid)
        if t == TREE:
            return decode_tree(data, what)
        if t == MODEL:
            return decode_model(data, what)
        if t == GROUP:
            return decode_group(data, what)
        if t == NODE:
            return decode_node(data, what)
        if t == LOGCHUNK:
            entries = json.loads(data)
            if not isinstance(entries, list):
                raise Bad("%s: not a JSON array" % what)
            return entries
        return data

    def refs(self):
        """§8.1: the refs document, its checksum checked."""
        raw = self.get("refs")
        if raw is None:
            if self.list("snapshots"):
                raise Bad("refs missing while snapshots/ holds records")
            return {"version": 1, "tags": {}, "envs": {}, "log": [], "log_chunks": []}
        text = raw.decode("utf-8")
        at = text.rfind("\n# blake3 ")
        if at < 0:
            raise Bad("refs: no checksum line")
        j = text[:at]
        if text[at + len("\n# blake3 "):].strip() != blake3_hex(j.encode()):
            raise Bad("refs: checksum mismatch")
        doc = json.loads(j)
        if doc.get("version") != 1:
            raise Bad("refs: version %r" % doc.get("version"))
        return doc

    def record(self, sid):
        raw = self.get("snapshots/" + sid)
        if raw is None:
            raise Bad("snapshots/%s is missing" % sid)
        if blake3_hex(raw) != sid:
            raise Bad("snapshots/%s: blake3 of its bytes is not its name" % sid)
        rec = json.loads(raw)
        for field in ("format", "tree", "model", "time", "message", "env", "labels",
                      "source", "root", "program_version", "files", "resources", "instances"):
            if field not in rec:
                raise Bad("snapshots/%s: no %s" % (sid, field))
        return rec

    def files(self, tree_id, prefix=""):
        """§12 "List a tree's files": path -> (kind, size, blob id)."""
        out = {}
        for name, kind, size, oid in decode_tree(self.object(tree_id, TREE), "tree " + tree_id):
            path = prefix + name
            if kind == 2:
                if size != 0:
                    raise Bad("tree %s: directory %s with size %d" % (tree_id, path, size))
                out.update(self.files(oid, path + "/"))
            else:
                blob = self.object(oid, BLOB)
                if len(blob) != size:
                    raise Bad("tree %s: %s has size %d, its blob %d bytes" % (tree_id, path, size, len(blob)))
                out[path] = (kind, size, oid)
        return out

    def model(self, model_id):
        """§12 "Load a model": nodes and instances."""
        m = decode_model(self.object(model_id, MODEL), "model " + model_id)
        nodes, instances = [], []
        prev = None
        for key, gid, count in m["groups"]:
            if prev is not None and key.encode() <= prev:
                raise Bad("model %s: group keys out of order" % model_id)
            prev = key.encode()
            entries = decode_group(self.object(gid, GROUP), "group " + gid)
            if len(entries) != count:
                raise Bad("model %s: group %r has %d entries, the model says %d" % (model_id, key, len(entries), count))
            for e in entries:
                node = decode_node(self.object(e["node"], NODE), "node " + e["node"])
                if node["address"] != e["address"] or node["kind"] != e["kind"]:
                    raise Bad("group %s: entry %s names node %s" % (gid, e["address"], node["address"]))
                if key.startswith("state:"):
                    if node["kind"] != "instance" or node["module"] != key[len("state:"):]:
                        raise Bad("group %s: %s in state group %r" % (gid, node["address"], key))
                    instances.append(node)
                else:
                    nodes.append(node)
        m["nodes"], m["instances"] = nodes, instances
        return m


def resolve(st, files, path):
    """The regular file `path` of a tree leads to, following its links inside
    the tree (§4.2: at most 40 links, never out of the tree), or None."""
    parts = path.split("/")
    done = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not done:
                return None
            done.pop()
            continue
        here = "/".join(done + [part])
        entry = files.get(here)
        if entry and entry[0] == 3:
            links += 1
            if links > 40:
                return None
            target = st.object(entry[2], BLOB).decode("utf-8")
            if target.startswith("/"):
                return None
            parts = target.split("/") + parts
            continue
        done.append(part)
    entry = files.get("/".join(done))
    return entry if entry and entry[0] in (0, 1) else None


def check_reads(st, sid, files, nodes):
    """§7: the fact `reads` names files of the tree with the hash of what
    reading them gives (through links), or `(missing)`."""
    for node in nodes:
        for attr, reads in node["facts"].get("reads", {}).items():
            for path, digest in reads.items():
                entry = resolve(st, files, path)
                found = entry[2] if entry else "(missing)"
                if digest != found:
                    raise Bad("snapshot %s: %s reads %s (%s) with hash %s, the tree gives %s"
                              % (sid, node["address"], path, attr, digest, found))


def check_midx(st):
    """§18.1: the combined pack index of the local cache, when there is one:
    read as the document says, and compared entry by entry with the indexes
    of the packs it covers. None when there is none; "ignored" when it
    names a pack no longer listed (a reader does not use it)."""
    data = st.get("cache/packs.midx")
    if data is None:
        return None
    what = "cache/packs.midx"
    if len(data) < 1072 or data[:8] != b"RWMIDX01":
        raise Bad("%s: short or bad magic %r" % (what, data[:8]))
    p, n = u32(data, 8), u32(data, 12)
    if len(data) != 1072 + 32 * p + 57 * n:
        raise Bad("%s: length %d is not 1072 + 32 x %d + 57 x %d" % (what, len(data), p, n))
    if blake3(data[:-32]) != data[-32:]:
        raise Bad("%s: checksum does not match" % what)
    names = [data[16 + 32 * i:48 + 32 * i].hex() for i in range(p)]
    if any(name not in st.indexes for name in names):
        return {"packs": p, "objects": n, "ignored": True}
    fan = 16 + 32 * p
    ids, locs = fan + 1024, fan + 1024 + 32 * n
    fanout = [u32(data, fan + 4 * b) for b in range(256)]
    counted = [0] * 256
    prev = None
    for k in range(n):
        oid = data[ids + 32 * k:ids + 32 * (k + 1)]
        if prev is not None and oid <= prev:
            raise Bad("%s: ids not strictly increasing" % what)
        prev = oid
        counted[oid[0]] += 1
        loc = data[locs + 25 * k:locs + 25 * (k + 1)]
        if u32(loc, 0) >= p:
            raise Bad("%s: entry %d names pack %d of %d" % (what, k, u32(loc, 0), p))
        name = names[u32(loc, 0)]
        got = {"id": oid.hex(), "block": int.from_bytes(loc[4:12], "little"), "block_len": u32(loc, 12),
               "inner": u32(loc, 16), "len": u32(loc, 20), "type": loc[24]}
        if st.indexes[name].get(oid.hex()) != got:
            raise Bad("%s: entry of %s differs from packs/%s.idx" % (what, oid.hex(), name))
    if fanout != [sum(counted[:b + 1]) for b in range(256)]:
        raise Bad("%s: the fan-out table does not count the ids" % what)
    covered = set()
    for name in names:
        covered.update(st.indexes[name])
    if len(covered) != n:
        raise Bad("%s: lists %d objects, the packs it covers hold %d" % (what, n, len(covered)))
    return {"packs": p, "objects": n, "ignored": False}


def check_store(root):
    st = Store(root)
    st.open()
    refs = st.refs()
    st.load_packs()

    log = []
    for cid in refs.get("log_chunks", []):
        data = st.object(cid, LOGCHUNK)
        log.extend(json.loads(data))
    log.extend(refs["log"])
    for entry in log:
        for field in ("time", "ref", "old", "new", "reason"):
            if field not in entry:
                raise Bad("ref log entry without %s: %r" % (field, entry))

    named = set(refs["tags"].values())
    for marks in refs["envs"].values():
        named.update(v for v in marks.values() if v)
    named.update(e[k] for e in log for k in ("old", "new") if e[k])

    snapshots = {}
    todo = sorted(named)
    while todo:
        sid = todo.pop()
        if sid in snapshots:
            continue
        rec = st.record(sid)
        files = st.files(rec["tree"])
        model = st.model(rec["model"])
        if model["root"] != rec["root"]:
            raise Bad("snapshot %s: record root %r, model root %r" % (sid, rec["root"], model["root"]))
        check_reads(st, sid, files, model["nodes"] + model["instances"])
        if model["state"] and model["state"]["path"] not in files:
            raise Bad("snapshot %s: state file %s is not in the tree" % (sid, model["state"]["path"]))
        counted = {
            "files": len(files),
            "resources": sum(1 for n in model["nodes"] if n["kind"] == "resource"),
            "instances": sum(1 for n in model["instances"] if not n["address"].startswith("output.")),
        }
        for k, v in counted.items():
            if rec[k] != v:
                raise Bad("snapshot %s: the record says %s = %d, the objects hold %d" % (sid, k, rec[k], v))
        snapshots[sid] = {
            "env": rec["env"],
            "parent": rec.get("parent"),
            "time": rec["time"],
            "tree": rec["tree"],
            "model": rec["model"],
            "files": counted["files"],
            "links": sum(1 for f in files.values() if f[0] == 3),
            "resources": counted["resources"],
            "instances": counted["instances"],
            "nodes": len(model["nodes"]),
            "groups": len(model["groups"]),
            "diagnostics": len(model["diagnostics"]),
            "state": model["state"],
        }
        if rec.get("parent"):
            todo.append(rec["parent"])

    for key in st.list("snapshots"):
        if HEX64.match(key) and key not in snapshots:
            st.record(key)  # unnamed records are still hash-checked

    return {
        "store": {"format": st.config["format"], "version": st.config["version"]},
        "tags": refs["tags"],
        "envs": refs["envs"],
        "log_entries": len(log),
        "log_chunks": len(refs.get("log_chunks", [])),
        "packs": st.packs,
        "objects": len(st.objects),
        "midx": check_midx(st),
        "by_type": st.counts,
        "snapshots": snapshots,
    }


def print_text(res):
    s = res["store"]
    print("store: %s version %d" % (s["format"], s["version"]))
    for tag, sid in sorted(res["tags"].items()):
        print("tag %s -> %s" % (tag, sid))
    for env, marks in sorted(res["envs"].items()):
        print("env %s: latest %s, good %s" % (env, marks.get("latest", "-"), marks.get("good", "-")))
    print("ref log: %d entries (%d in log chunks)" % (res["log_entries"], res["log_chunks"]))
    for sid, snap in sorted(res["snapshots"].items(), key=lambda kv: kv[1]["time"]):
        print("snapshot %s (%s, %s): %d files, %d resources, %d instances, %d nodes in %d groups"
              % (sid[:12], snap["env"], snap["time"], snap["files"], snap["resources"],
                 snap["instances"], snap["nodes"], snap["groups"]))
    counts = ", ".join("%d %ss" % (n, t) for t, n in res["by_type"].items() if n)
    print("%d objects in %d packs (%s): every id verified, every object decoded" % (res["objects"], res["packs"], counts))
    m = res["midx"]
    if m is not None:
        print("combined pack index (cache, §18.1): %d objects of %d packs, %s" % (
            m["objects"], m["packs"],
            "ignored: it names a pack no longer listed" if m["ignored"] else "every entry as its pack index says"))


# --------------------------------------------------------------------------
# The worked examples of the document (§2, §19)


def doc_section(doc, number):
    m = re.search(r"^### %s .*?(?=^### |^## )" % re.escape(number), doc, re.M | re.S)
    if not m:
        raise Bad("the document has no section %s" % number)
    return m.group(0)


def hex_dump(section):
    m = re.search(r"```\n((?:[0-9a-f]{4}  .*\n)+)```", section)
    if not m:
        raise Bad("no hex dump in %r" % section[:40])
    out = bytearray()
    for line in m.group(1).splitlines():
        out += bytes.fromhex(line[6:])
    return bytes(out)


def stated_ids(section):
    return re.findall(r"`([0-9a-f]{64})`", section)


def expect(cond, msg):
    if not cond:
        raise Bad("worked example: " + msg)


def check_examples(path):
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    m = re.search(r'`blake3\("hello"\)` =\s*`([0-9a-f]{64})`', doc)
    expect(m and blake3_hex(b"hello") == m.group(1), "blake3(\"hello\") (§2)")

    s = doc_section(doc, "19.1")
    tree = hex_dump(s)
    ids = stated_ids(s)
    entries = decode_tree(tree, "§19.1")
    expect(entries == [("main.tf", 0, 13, ids[0])], "§19.1 entries %r" % entries)
    expect(blake3_hex(b"terraform {}\n") == ids[0], "§19.1 blob id")
    expect(blake3_hex(tree) == ids[-1], "§19.1 tree id")

    s = doc_section(doc, "19.2")
    pack = hex_dump(s)
    name = stated_ids(s)[-1]
    blocks = parse_pack(pack, name)
    expect(list(blocks) == [8], "§19.2 one block at offset 8")
    _, flags, block = blocks[8]
    recs = list(records(block))
    expect(flags == 0 and len(recs) == 1 and recs[0]["type"] == BLOB, "§19.2 one stored blob record")
    expect(block[recs[0]["inner"]:] == b"terraform {}\n", "§19.2 blob bytes")

    s = doc_section(doc, "19.3")
    idx = hex_dump(s)
    entries = parse_index(idx, name)
    expect(len(entries) == 1 and entries[0]["block"] == 8 and entries[0]["block_len"] == 59
           and entries[0]["inner"] == 37 and entries[0]["len"] == 13, "§19.3 entry %r" % entries)
    expect(idx[-32:].hex() == stated_ids(s)[-1], "§19.3 index checksum")

    s = doc_section(doc, "19.4")
    node_bytes = hex_dump(s)
    node = decode_node(node_bytes, "§19.4")
    expect(node["address"] == "aws_subnet.a" and node["kind"] == "resource", "§19.4 address")
    expect(node["body"]["cidr_block"] == "10.0.1.0/24", "§19.4 cidr_block")
    expect(node["body"]["vpc_id"] == ("expr", ("traversal", "aws_vpc", [("attr", "main"), ("attr", "id")])),
           "§19.4 vpc_id %r" % (node["body"]["vpc_id"],))
    expect(node["edges"] == [("aws_vpc.main", "reference")], "§19.4 edges")
    expect(len(node_bytes) == 101 and blake3_hex(node_bytes) == stated_ids(s)[-1], "§19.4 node id")

    s = doc_section(doc, "19.5")
    m = re.search(r"```\n(\{.*?\})\n# blake3 ([0-9a-f]{64})\n```", s, re.S)
    expect(m and blake3_hex(m.group(1).encode()) == m.group(2), "§19.5 refs checksum")
    expect(json.loads(m.group(1)) == {"version": 1, "tags": {}, "envs": {}, "log": [], "log_chunks": []},
           "§19.5 empty refs")
    print("worked examples of %s: blake3, tree, pack, index, node and refs check" % path)


def main(argv):
    if len(argv) == 3 and argv[1] == "--examples":
        check_examples(argv[2])
        return 0
    if len(argv) in (2, 3) and (len(argv) == 2 or argv[2] == "--json"):
        res = check_store(argv[1])
        if len(argv) == 3:
            json.dump(res, sys.stdout, indent=2, sort_keys=True)
            print()
        else:
            print_text(res)
        return 0
    print(__doc__.strip().split("Usage:")[1].split("\n\n")[0], file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Bad as e:
        print("store-format-check: %s" % e, file=sys.stderr)
        sys.exit(1)
