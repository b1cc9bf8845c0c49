//! The compact, deterministic binary encoding of rewind's objects.
//!
//! Integers are unsigned LEB128 varints, strings are a varint length and
//! UTF-8 bytes, values are a tag byte and their content. The exact layout
//! is documented in `docs/store-format.md`.

use crate::expr::{BinOp, Expr, ForExpr, Part, TravOp, UnOp};
use crate::{Hash, Path, PathStep, Value};

/// A decoding failure: what was wrong and at which byte offset.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{message} at byte {offset}")]
pub struct DecodeError {
    pub message: String,
    pub offset: usize,
}

/// Value tags.
const T_NULL: u8 = 0;
const T_FALSE: u8 = 1;
const T_TRUE: u8 = 2;
const T_NUMBER: u8 = 3;
const T_STRING: u8 = 4;
const T_LIST: u8 = 5;
const T_MAP: u8 = 6;
const T_EXPR: u8 = 7;

/// Expression tags (inside a `T_EXPR` value).
const E_NULL: u8 = 0;
const E_FALSE: u8 = 1;
const E_TRUE: u8 = 2;
const E_NUMBER: u8 = 3;
const E_TEMPLATE: u8 = 4;
const E_TUPLE: u8 = 5;
const E_OBJECT: u8 = 6;
const E_TRAVERSAL: u8 = 7;
const E_POSTFIX: u8 = 8;
const E_CALL: u8 = 9;
const E_UNARY: u8 = 10;
const E_BINARY: u8 = 11;
const E_COND: u8 = 12;
const E_FOR: u8 = 13;
const E_PAREN: u8 = 14;

/// Binary operators by their code.
const BINOPS: [BinOp; 13] = [
    BinOp::Or,
    BinOp::And,
    BinOp::Eq,
    BinOp::Ne,
    BinOp::Lt,
    BinOp::Le,
    BinOp::Gt,
    BinOp::Ge,
    BinOp::Add,
    BinOp::Sub,
    BinOp::Mul,
    BinOp::Div,
    BinOp::Mod,
];

/// An encoder writing into a byte vector.
#[derive(Default)]
pub struct Enc {
    buf: Vec<u8>,
}

impl Enc {
    pub fn new() -> Enc {
        Enc { buf: Vec::new() }
    }
    pub fn with_capacity(n: usize) -> Enc {
        Enc {
            buf: Vec::with_capacity(n),
        }
    }
    /// An encoder appending to `buf`.
    pub fn from_vec(buf: Vec<u8>) -> Enc {
        Enc { buf }
    }
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub fn u8(&mut self, b: u8) {
        self.buf.push(b);
    }
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }
    pub fn uvar(&mut self, mut n: u64) {
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.buf.push(b);
                return;
            }
            self.buf.push(b | 0x80);
        }
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.uvar(b.len() as u64);
        self.buf.extend_from_slice(b);
    }
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    pub fn hash(&mut self, h: &Hash) {
        self.buf.extend_from_slice(&h.0);
    }
    pub fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.u8(T_NULL),
            Value::Bool(false) => self.u8(T_FALSE),
            Value::Bool(true) => self.u8(T_TRUE),
            Value::Number(n) => {
                self.u8(T_NUMBER);
                self.str(n);
            }
            Value::String(s) => {
                self.u8(T_STRING);
                self.str(s);
            }
            Value::List(l) => {
                self.u8(T_LIST);
                self.uvar(l.len() as u64);
                for i in l {
                    self.value(i);
                }
            }
            Value::Map(m) => {
                self.u8(T_MAP);
                self.uvar(m.len() as u64);
                for (k, v) in m {
                    self.str(k);
                    self.value(v);
                }
            }
            Value::Expr(e) => {
                self.u8(T_EXPR);
                // written in place behind a one-byte length (an expression
                // is almost always shorter than 128 bytes), widened after
                // when it is not: no buffer of its own per expression
                let at = self.buf.len();
                self.buf.push(0);
                self.expr(e);
                let len = self.buf.len() - at - 1;
                if len < 0x80 {
                    self.buf[at] = len as u8;
                } else {
                    let mut prefix = Enc::with_capacity(10);
                    prefix.uvar(len as u64);
                    self.buf.splice(at..at + 1, prefix.buf);
                }
            }
        }
    }
    /// An expression tree (see docs/store-format.md, "expression").
    pub fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Null => self.u8(E_NULL),
            Expr::Bool(false) => self.u8(E_FALSE),
            Expr::Bool(true) => self.u8(E_TRUE),
            Expr::Number(n) => {
                self.u8(E_NUMBER);
                self.str(n);
            }
            Expr::Template(parts) => {
                self.u8(E_TEMPLATE);
                self.parts(parts);
            }
            Expr::Tuple(items) => {
                self.u8(E_TUPLE);
                self.uvar(items.len() as u64);
                for i in items {
                    self.expr(i);
                }
            }
            Expr::Object(items) => {
                self.u8(E_OBJECT);
                self.uvar(items.len() as u64);
                for (k, v) in items {
                    self.expr(k);
                    self.expr(v);
                }
            }
            Expr::Traversal { root, ops, .. } => {
                self.u8(E_TRAVERSAL);
                self.str(root);
                self.ops(ops);
            }
            Expr::Postfix(inner, ops) => {
                self.u8(E_POSTFIX);
                self.expr(inner);
                self.ops(ops);
            }
            Expr::Call {
                name,
                args,
                expand_final,
            } => {
                self.u8(E_CALL);
                self.str(name);
                self.u8(u8::from(*expand_final));
                self.uvar(args.len() as u64);
                for a in args {
                    self.expr(a);
                }
            }
            Expr::Unary(op, inner) => {
                self.u8(E_UNARY);
                self.u8(match op {
                    UnOp::Neg => 0,
                    UnOp::Not => 1,
                });
                self.expr(inner);
            }
            Expr::Binary(op, l, r) => {
                self.u8(E_BINARY);
                self.u8(BINOPS.iter().position(|o| o == op).unwrap_or(0) as u8);
                self.expr(l);
                self.expr(r);
            }
            Expr::Cond(c, a, b) => {
                self.u8(E_COND);
                self.expr(c);
                self.expr(a);
                self.expr(b);
            }
            Expr::For(f) => {
                self.u8(E_FOR);
                let flags = u8::from(f.key_var.is_some())
                    | u8::from(f.key.is_some()) << 1
                    | u8::from(f.cond.is_some()) << 2
                    | u8::from(f.grouping) << 3;
                self.u8(flags);
                if let Some(k) = &f.key_var {
                    self.str(k);
                }
                self.str(&f.value_var);
                self.expr(&f.coll);
                if let Some(k) = &f.key {
                    self.expr(k);
                }
                self.expr(&f.value);
                if let Some(c) = &f.cond {
                    self.expr(c);
                }
            }
            Expr::Paren(inner) => {
                self.u8(E_PAREN);
                self.expr(inner);
            }
        }
    }
    fn ops(&mut self, ops: &[TravOp]) {
        self.uvar(ops.len() as u64);
        for op in ops {
            match op {
                TravOp::Attr(a) => {
                    self.u8(0);
                    self.str(a);
                }
                TravOp::Index(e) => {
                    self.u8(1);
                    self.expr(e);
                }
                TravOp::LegacyIndex(n) => {
                    self.u8(2);
                    self.uvar(*n);
                }
                TravOp::AttrSplat => self.u8(3),
                TravOp::FullSplat => self.u8(4),
            }
        }
    }
    fn parts(&mut self, parts: &[Part]) {
        self.uvar(parts.len() as u64);
        for p in parts {
            match p {
                Part::Lit(s) => {
                    self.u8(0);
                    self.str(s);
                }
                Part::Interp(e) => {
                    self.u8(1);
                    self.expr(e);
                }
                Part::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    self.u8(2);
                    self.expr(cond);
                    self.parts(then);
                    self.parts(otherwise);
                }
                Part::For(f) => {
                    let crate::expr::TemplateFor {
                        key_var,
                        value_var,
                        coll,
                        body,
                    } = &**f;
                    self.u8(3);
                    self.u8(u8::from(key_var.is_some()));
                    if let Some(k) = key_var {
                        self.str(k);
                    }
                    self.str(value_var);
                    self.expr(coll);
                    self.parts(body);
                }
            }
        }
    }
    pub fn path(&mut self, p: &Path) {
        self.uvar(p.0.len() as u64);
        for s in &p.0 {
            match s {
                PathStep::Key(k) => {
                    self.u8(0);
                    self.str(k);
                }
                PathStep::Index(i) => {
                    self.u8(1);
                    self.uvar(*i as u64);
                }
            }
        }
    }
}

/// A decoder over a byte slice. Every read is bounds-checked.
pub struct Dec<'a> {
    buf: &'a [u8],
    pos: usize,
    depth: usize,
}

/// Values nest at most this deep when decoded (guards the stack).
const MAX_DEPTH: usize = 4096;

impl<'a> Dec<'a> {
    pub fn new(buf: &'a [u8]) -> Dec<'a> {
        Dec {
            buf,
            pos: 0,
            depth: 0,
        }
    }
    pub fn error(&self, message: impl Into<String>) -> DecodeError {
        DecodeError {
            message: message.into(),
            offset: self.pos,
        }
    }
    pub fn pos(&self) -> usize {
        self.pos
    }
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }
    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(self.error("trailing bytes"))
        }
    }
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| self.error("unexpected end of data"))?;
        self.pos += 1;
        Ok(b)
    }
    pub fn raw(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(self.error("unexpected end of data"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn uvar(&mut self) -> Result<u64, DecodeError> {
        let mut n: u64 = 0;
        let mut shift = 0;
        loop {
            let b = self.u8()?;
            if shift >= 64 || (shift == 63 && b > 1) {
                return Err(self.error("varint overflow"));
            }
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
            shift += 7;
        }
    }
    /// A length or count, checked against what is left to read.
    pub fn len(&mut self) -> Result<usize, DecodeError> {
        let n = self.uvar()?;
        if n > self.remaining() as u64 {
            return Err(self.error(format!("length {n} exceeds the data")));
        }
        Ok(n as usize)
    }
    /// A count of items that each take at least `min_item` bytes: refused
    /// when the rest of the data could not hold that many, so a crafted
    /// count never drives an allocation.
    pub fn count(&mut self, min_item: usize) -> Result<usize, DecodeError> {
        let n = self.uvar()?;
        if n.saturating_mul(min_item.max(1) as u64) > self.remaining() as u64 {
            return Err(self.error(format!(
                "a count of {n} items exceeds the data ({} bytes left)",
                self.remaining()
            )));
        }
        Ok(n as usize)
    }
    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.len()?;
        self.raw(n)
    }
    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        let start = self.pos;
        let b = self.bytes()?;
        std::str::from_utf8(b).map_err(|_| DecodeError {
            message: "invalid UTF-8 in string".into(),
            offset: start,
        })
    }
    pub fn string(&mut self) -> Result<String, DecodeError> {
        self.str().map(str::to_string)
    }
    pub fn hash(&mut self) -> Result<Hash, DecodeError> {
        let b = self.raw(32)?;
        let mut h = [0u8; 32];
        h.copy_from_slice(b);
        Ok(Hash(h))
    }
    pub fn value(&mut self) -> Result<Value, DecodeError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("values nested too deeply"));
        }
        let v = match self.u8()? {
            T_NULL => Value::Null,
            T_FALSE => Value::Bool(false),
            T_TRUE => Value::Bool(true),
            T_NUMBER => Value::Number(self.string()?),
            T_STRING => Value::String(self.string()?),
            T_EXPR => {
                let bytes = self.bytes()?;
                // an expression decoded before from the same bytes (while
                // a `ShareExprs` is alive) is shared without decoding
                // again; its nesting cannot pass the limit here either
                // when the depth left exceeds its length
                if self.depth + bytes.len() < MAX_DEPTH {
                    if let Some(e) = crate::value::shared_encoded(bytes) {
                        self.depth -= 1;
                        return Ok(Value::Expr(e));
                    }
                }
                let mut inner = Dec {
                    buf: bytes,
                    pos: 0,
                    depth: self.depth,
                };
                let e = inner.expr().map_err(|mut err| {
                    err.offset += self.pos - bytes.len();
                    err
                })?;
                inner.finish()?;
                // shared by its bytes only: hashing the tree to share it
                // with equal ones made otherwise (and again each time the
                // set grows) cost more than the copies it saved
                let e = std::sync::Arc::new(e);
                crate::value::remember_encoded(bytes, &e);
                Value::Expr(e)
            }
            T_LIST => {
                let n = self.len()?;
                let mut l = Vec::with_capacity(n.min(4096));
                for _ in 0..n {
                    l.push(self.value()?);
                }
                Value::List(l)
            }
            T_MAP => {
                let n = self.len()?;
                let mut m = crate::Map::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    let k = self.string()?;
                    if m.last_key_value().is_some_and(|(l, _)| *l >= k) {
                        return Err(self.error("map keys out of order"));
                    }
                    let v = self.value()?;
                    // keys arrive sorted: each goes at the end
                    m.insert(k, v);
                }
                Value::Map(m)
            }
            t => return Err(self.error(format!("unknown value tag {t}"))),
        };
        self.depth -= 1;
        Ok(v)
    }
    /// Skips one value without building it.
    pub(crate) fn skip_value(&mut self) -> Result<(), DecodeError> {
        // (values left to skip, whether each is preceded by a map key)
        let mut stack: Vec<(usize, bool)> = vec![(1, false)];
        while let Some(top) = stack.last_mut() {
            if top.0 == 0 {
                stack.pop();
                continue;
            }
            top.0 -= 1;
            if top.1 {
                self.bytes()?;
            }
            if stack.len() > MAX_DEPTH {
                return Err(self.error("values nested too deeply"));
            }
            match self.u8()? {
                T_NULL | T_FALSE | T_TRUE => {}
                T_NUMBER | T_STRING | T_EXPR => {
                    self.bytes()?;
                }
                T_LIST => {
                    let n = self.len()?;
                    stack.push((n, false));
                }
                T_MAP => {
                    let n = self.len()?;
                    stack.push((n, true));
                }
                t => return Err(self.error(format!("unknown value tag {t}"))),
            }
        }
        Ok(())
    }

    /// An expression tree written by [`Enc::expr`].
    pub fn expr(&mut self) -> Result<Expr, DecodeError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("expressions nested too deeply"));
        }
        let e = match self.u8()? {
            E_NULL => Expr::Null,
            E_FALSE => Expr::Bool(false),
            E_TRUE => Expr::Bool(true),
            E_NUMBER => Expr::Number(self.string()?),
            E_TEMPLATE => Expr::Template(self.parts()?),
            E_TUPLE => Expr::Tuple(self.exprs()?),
            E_OBJECT => {
                let n = self.len()?;
                let mut items = Vec::with_capacity(n.min(4096));
                for _ in 0..n {
                    let k = self.expr()?;
                    items.push((k, self.expr()?));
                }
                Expr::Object(items)
            }
            E_TRAVERSAL => {
                let root = self.string()?;
                Expr::Traversal {
                    root,
                    ops: self.ops()?,
                    pos: 0,
                }
            }
            E_POSTFIX => {
                let inner = self.expr()?;
                Expr::Postfix(Box::new(inner), self.ops()?)
            }
            E_CALL => {
                let name = self.string()?;
                let expand_final = match self.u8()? {
                    0 => false,
                    1 => true,
                    b => return Err(self.error(format!("bad flag {b}"))),
                };
                Expr::Call {
                    name,
                    args: self.exprs()?,
                    expand_final,
                }
            }
            E_UNARY => {
                let op = match self.u8()? {
                    0 => UnOp::Neg,
                    1 => UnOp::Not,
                    b => return Err(self.error(format!("unknown unary operator {b}"))),
                };
                Expr::Unary(op, Box::new(self.expr()?))
            }
            E_BINARY => {
                let code = self.u8()?;
                let op = *BINOPS
                    .get(code as usize)
                    .ok_or_else(|| self.error(format!("unknown binary operator {code}")))?;
                let l = self.expr()?;
                Expr::Binary(op, Box::new(l), Box::new(self.expr()?))
            }
            E_COND => {
                let c = self.expr()?;
                let a = self.expr()?;
                Expr::Cond(Box::new(c), Box::new(a), Box::new(self.expr()?))
            }
            E_FOR => Expr::For(Box::new(self.for_expr()?)),
            E_PAREN => Expr::Paren(Box::new(self.expr()?)),
            t => return Err(self.error(format!("unknown expression tag {t}"))),
        };
        self.depth -= 1;
        Ok(e)
    }

    /// A list of expressions as [`Enc::expr`] writes a tuple's elements
    /// and a call's arguments: their count, then each.
    fn exprs(&mut self) -> Result<Vec<Expr>, DecodeError> {
        let n = self.len()?;
        let mut items = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            items.push(self.expr()?);
        }
        Ok(items)
    }

    /// The body of a `for` expression (after its tag): flags saying which
    /// of the key variable, key, condition and grouping are there, then
    /// the parts in source order.
    fn for_expr(&mut self) -> Result<ForExpr, DecodeError> {
        let flags = self.u8()?;
        if flags > 0x0f {
            return Err(self.error(format!("bad for flags {flags}")));
        }
        let key_var = if flags & 1 != 0 {
            Some(self.string()?)
        } else {
            None
        };
        let value_var = self.string()?;
        let coll = self.expr()?;
        let key = if flags & 2 != 0 {
            Some(self.expr()?)
        } else {
            None
        };
        let value = self.expr()?;
        let cond = if flags & 4 != 0 {
            Some(self.expr()?)
        } else {
            None
        };
        Ok(ForExpr {
            key_var,
            value_var,
            coll,
            key,
            value,
            cond,
            grouping: flags & 8 != 0,
        })
    }

    fn ops(&mut self) -> Result<Vec<TravOp>, DecodeError> {
        let n = self.len()?;
        let mut ops = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            ops.push(match self.u8()? {
                0 => TravOp::Attr(self.string()?),
                1 => TravOp::Index(Box::new(self.expr()?)),
                2 => TravOp::LegacyIndex(self.uvar()?),
                3 => TravOp::AttrSplat,
                4 => TravOp::FullSplat,
                t => return Err(self.error(format!("unknown traversal step {t}"))),
            });
        }
        Ok(ops)
    }
    fn parts(&mut self) -> Result<Vec<Part>, DecodeError> {
        let n = self.len()?;
        let mut parts = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            parts.push(match self.u8()? {
                0 => Part::Lit(self.string()?),
                1 => Part::Interp(self.expr()?),
                2 => {
                    let cond = self.expr()?;
                    let then = self.parts()?;
                    Part::If {
                        cond: Box::new(cond),
                        then,
                        otherwise: self.parts()?,
                    }
                }
                3 => {
                    let key_var = match self.u8()? {
                        0 => None,
                        1 => Some(self.string()?),
                        b => return Err(self.error(format!("bad flag {b}"))),
                    };
                    let value_var = self.string()?;
                    let coll = self.expr()?;
                    Part::For(Box::new(crate::expr::TemplateFor {
                        key_var,
                        value_var,
                        coll,
                        body: self.parts()?,
                    }))
                }
                t => return Err(self.error(format!("unknown template part {t}"))),
            });
        }
        Ok(parts)
    }

    pub fn path(&mut self) -> Result<Path, DecodeError> {
        let n = self.len()?;
        let mut steps = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            match self.u8()? {
                0 => steps.push(PathStep::Key(self.string()?)),
                1 => steps.push(PathStep::Index(self.uvar()? as usize)),
                t => return Err(self.error(format!("unknown path step {t}"))),
            }
        }
        Ok(Path(steps))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        for n in [0u64, 1, 127, 128, 300, u32::MAX as u64, u64::MAX] {
            let mut e = Enc::new();
            e.uvar(n);
            let b = e.into_bytes();
            let mut d = Dec::new(&b);
            assert_eq!(d.uvar().unwrap(), n);
            d.finish().unwrap();
        }
    }

    #[test]
    fn values_round_trip_and_reject_garbage() {
        let mut m = crate::Map::new();
        m.insert(
            "a".to_string(),
            Value::List(vec![Value::Null, Value::Bool(true)]),
        );
        m.insert(
            "b".to_string(),
            Value::expr(Expr::Traversal {
                root: "var".into(),
                ops: vec![TravOp::Attr("x".into())],
                pos: 0,
            }),
        );
        m.insert("c".to_string(), Value::number("1.5"));
        let v = Value::Map(m);
        let mut e = Enc::new();
        e.value(&v);
        let b = e.into_bytes();
        assert_eq!(Dec::new(&b).value().unwrap(), v);
        assert!(Dec::new(&[T_LIST, 200]).value().is_err());
        assert!(Dec::new(&[99]).value().is_err());
        let mut d = Dec::new(&b);
        d.skip_value().unwrap();
        d.finish().unwrap();
        assert!(Dec::new(&[T_STRING, 2, 0xff, 0xfe]).value().is_err());
    }

    /// Template directives, index steps and legacy steps encode to the
    /// bytes rewind 0.1.0 wrote before `Part` and `TravOp` boxed them (the
    /// hex below was written by the encoder of 548ff7f for the same tree),
    /// and decode back to the same tree.
    #[test]
    fn template_directives_and_index_steps_keep_their_bytes() {
        use crate::expr::{Part, TemplateFor, TravOp};
        let var = |root: &str, attr: &str| Expr::Traversal {
            root: root.into(),
            ops: vec![TravOp::Attr(attr.into())],
            pos: 0,
        };
        let bare = |root: &str, ops: Vec<TravOp>| Expr::Traversal {
            root: root.into(),
            ops,
            pos: 0,
        };
        let e = Expr::Tuple(vec![
            Expr::Template(vec![
                Part::For(Box::new(TemplateFor {
                    key_var: Some("k".into()),
                    value_var: "v".into(),
                    coll: var("var", "m"),
                    body: vec![
                        Part::Interp(bare("k", vec![])),
                        Part::Lit("=".into()),
                        Part::Interp(bare(
                            "v",
                            vec![TravOp::Index(Box::new(Expr::Number("0".into())))],
                        )),
                    ],
                })),
                Part::If {
                    cond: Box::new(var("var", "on")),
                    then: vec![Part::Lit("x".into())],
                    otherwise: vec![Part::Lit("y".into())],
                },
            ]),
            bare(
                "a",
                vec![
                    TravOp::Attr("b".into()),
                    TravOp::Index(Box::new(var("var", "i"))),
                    TravOp::Attr("c".into()),
                    TravOp::LegacyIndex(2),
                    TravOp::AttrSplat,
                ],
            ),
        ]);
        assert_eq!(
            e.to_string(),
            r#"["%{for k, v in var.m}${k}=${v[0]}%{endfor}%{if var.on}x%{else}y%{endif}", a.b[var.i].c[2][*]]"#
        );
        let mut enc = Enc::new();
        enc.expr(&e);
        let bytes = enc.into_bytes();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "050204020301016b017607037661720100016d030107016b0000013d0107017601010301300207037661720100026f6e01000178010001790701610500016201070376617201000169000163020203"
        );
        let mut d = Dec::new(&bytes);
        assert_eq!(d.expr().unwrap(), e);
        d.finish().unwrap();
    }

    /// An expression is written in place behind its length: short ones
    /// behind one byte, one of 128 bytes or more behind a wider varint,
    /// the bytes a separate buffer copied behind its length gave (as
    /// rewind wrote them before), around other values.
    #[test]
    fn expressions_in_place_keep_their_bytes_at_every_length() {
        for len in [0usize, 1, 100, 117, 118, 119, 120, 200, 16_370, 16_400] {
            // a traversal whose root name makes the encoding `len` + 4..6 bytes
            let e = Expr::Traversal {
                root: "r".repeat(len),
                ops: vec![TravOp::Attr("id".into())],
                pos: 0,
            };
            let mut inner = Enc::new();
            inner.expr(&e);
            let mut want = Enc::new();
            want.u8(T_LIST);
            want.uvar(3);
            want.u8(T_STRING);
            want.str("before");
            want.u8(T_EXPR);
            want.bytes(&inner.buf);
            want.u8(T_NULL);
            let v = Value::List(vec![Value::str("before"), Value::expr(e), Value::Null]);
            let mut got = Enc::new();
            got.value(&v);
            assert_eq!(got.buf, want.buf, "expression of {} bytes", inner.buf.len());
            assert_eq!(Dec::new(&got.buf).value().unwrap(), v);
        }
    }

    /// While a `ShareExprs` is alive, an expression decoded again from
    /// the same bytes is the copy decoded before (not decoded again), and
    /// equal to what a decoder without sharing gives; bytes that differ
    /// by one step give their own expression, and damaged bytes still fail.
    #[test]
    fn repeated_expressions_are_decoded_once_and_shared() {
        let var = |root: &str, attr: &str| {
            Value::expr(Expr::Traversal {
                root: root.into(),
                ops: vec![TravOp::Attr(attr.into())],
                pos: 0,
            })
        };
        let mut m = crate::Map::new();
        m.insert("a".to_string(), var("var", "vpc_id"));
        m.insert("b".to_string(), var("var", "vpc_id"));
        m.insert("c".to_string(), var("var", "vpc_ic"));
        let v = Value::List(vec![Value::Map(m.clone()), Value::Map(m)]);
        let mut e = Enc::new();
        e.value(&v);
        let bytes = e.into_bytes();
        let plain = Dec::new(&bytes).value().unwrap();
        let shared = {
            let _share = crate::value::ShareExprs::new();
            let first = Dec::new(&bytes).value().unwrap();
            let again = Dec::new(&bytes).value().unwrap();
            (first, again)
        };
        assert_eq!(plain, v);
        assert_eq!(shared.0, v);
        assert_eq!(shared.1, v);
        let exprs = |v: &Value| -> Vec<std::sync::Arc<Expr>> {
            let Value::List(items) = v else { panic!() };
            items
                .iter()
                .flat_map(|m| {
                    let Value::Map(m) = m else { panic!() };
                    m.iter()
                        .map(|(_, x)| match x {
                            Value::Expr(e) => e.clone(),
                            _ => panic!(),
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let (first, again) = (exprs(&shared.0), exprs(&shared.1));
        // a and b, in both maps and both decodes: one copy
        for x in [&first[1], &first[3], &first[4], &again[0], &again[4]] {
            assert!(std::sync::Arc::ptr_eq(&first[0], x));
        }
        // c is its own expression, shared with its repeats
        assert!(!std::sync::Arc::ptr_eq(&first[0], &first[2]));
        assert!(std::sync::Arc::ptr_eq(&first[2], &again[5]));
        // without sharing, nothing is shared
        let p = exprs(&plain);
        assert!(!std::sync::Arc::ptr_eq(&p[0], &p[1]));
        // an expression's bytes damaged after it was shared: still an error
        let _share = crate::value::ShareExprs::new();
        Dec::new(&bytes).value().unwrap();
        let at = bytes.windows(6).position(|w| w == b"vpc_id").unwrap();
        let mut bad = bytes.clone();
        bad[at + 2] = 0xff;
        assert!(Dec::new(&bad).value().is_err());
    }

    /// The sizes the model's memory depends on (a larger one is a
    /// regression of the 100k plan's and snapshot's memory).
    #[test]
    fn expression_parts_and_steps_stay_small() {
        use std::mem::size_of;
        assert!(
            size_of::<crate::expr::Part>() <= 64,
            "{}",
            size_of::<crate::expr::Part>()
        );
        assert!(
            size_of::<crate::expr::TravOp>() <= 24,
            "{}",
            size_of::<crate::expr::TravOp>()
        );
        assert!(
            size_of::<crate::Node>() <= 200,
            "{}",
            size_of::<crate::Node>()
        );
    }
}
