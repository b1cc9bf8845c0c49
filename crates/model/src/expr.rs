//! Terraform expressions as syntax trees.
//!
//! The parser builds these; the model keeps them (in canonical form, see
//! [`Expr::canonical`]) wherever a value needs evaluation, and the
//! evaluator walks them. `Display` prints the one canonical spelling of an
//! expression (single spaces, no comments or redundant parentheses,
//! heredocs as quoted templates, legacy `.0` as `[0]`, `"${x}"` as `x`).

use std::fmt::{self, Write as _};

use crate::value::{canonical_number, is_identifier, quote};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl BinOp {
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And => 2,
            BinOp::Eq | BinOp::Ne => 3,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 4,
            BinOp::Add | BinOp::Sub => 5,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 6,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Or => "||",
            BinOp::And => "&&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnOp {
    Neg,
    Not,
}

/// One step after a variable or an expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TravOp {
    /// `.name`
    Attr(String),
    /// `[expr]` (boxed: most steps are `.name`, and an `Expr` inline
    /// would make every step 56 bytes)
    Index(Box<Expr>),
    /// `.0` (legacy index syntax)
    LegacyIndex(u64),
    /// `.*`
    AttrSplat,
    /// `[*]`
    FullSplat,
}

/// A part of a string template or heredoc. The directives are rare and
/// boxed, so a part is the size of an `Expr` (it was 128 bytes, and
/// templates' parts were a quarter of the memory of a model).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    Lit(String),
    Interp(Expr),
    If {
        cond: Box<Expr>,
        then: Vec<Part>,
        otherwise: Vec<Part>,
    },
    For(Box<TemplateFor>),
}

/// A template's `%{for}` directive.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TemplateFor {
    pub key_var: Option<String>,
    pub value_var: String,
    pub coll: Expr,
    pub body: Vec<Part>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Expr {
    Null,
    Bool(bool),
    /// Number literal text as written.
    Number(String),
    /// A quoted string or heredoc, already unescaped / trimmed.
    Template(Vec<Part>),
    Tuple(Vec<Expr>),
    Object(Vec<(Expr, Expr)>),
    /// A variable (`var`, `aws_vpc`, `count`...) and its traversal steps.
    Traversal {
        root: String,
        ops: Vec<TravOp>,
        pos: u32,
    },
    /// Traversal steps applied to any other expression (`f(x)[0].id`).
    Postfix(Box<Expr>, Vec<TravOp>),
    Call {
        name: String,
        args: Vec<Expr>,
        expand_final: bool,
    },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    For(Box<ForExpr>),
    Paren(Box<Expr>),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ForExpr {
    pub key_var: Option<String>,
    pub value_var: String,
    pub coll: Expr,
    /// `Some` for an object `for` (`{for k, v in x : k => v}`).
    pub key: Option<Expr>,
    pub value: Expr,
    pub cond: Option<Expr>,
    pub grouping: bool,
}

/// An object key that is a literal: an identifier, a string or a number.
pub fn static_key(k: &Expr) -> Option<String> {
    match k {
        Expr::Traversal { root, ops, .. } if ops.is_empty() => Some(root.clone()),
        Expr::Template(parts) => match parts.as_slice() {
            [] => Some(String::new()),
            [Part::Lit(s)] => Some(s.clone()),
            _ => None,
        },
        Expr::Number(n) => Some(canonical_number(n)),
        Expr::Bool(b) => Some(b.to_string()),
        Expr::Null => Some("null".into()),
        _ => None,
    }
}

impl Expr {
    /// The expression without redundant parentheses.
    pub fn unparen(&self) -> &Expr {
        match self {
            Expr::Paren(inner) => inner.unparen(),
            Expr::Template(parts) => match parts.as_slice() {
                [Part::Interp(inner)] => inner.unparen(),
                _ => self,
            },
            _ => self,
        }
    }

    /// The canonical form kept in the model: one tree per meaning, so two
    /// spellings of the same expression are equal (and hash the same).
    /// Parentheses go (their grouping is in the tree's shape), `"${x}"`
    /// becomes `x`, adjacent template literals merge, number literals take
    /// their canonical text, legacy `.0` becomes `[0]`, `.*` followed only
    /// by attributes becomes `[*]`, literal object keys become strings
    /// (an expression key that is a bare name keeps one pair of
    /// parentheses, which is what makes it an expression), and byte
    /// positions are cleared.
    pub fn canonical(&self) -> Expr {
        self.clone().into_canonical()
    }

    /// [`Expr::canonical`] of an expression given away: its strings,
    /// lists and boxes are reused where the form keeps them, so making a
    /// copy canonical allocates little beyond the copy (which is how
    /// [`Expr::canonical`] and a parse's values make theirs).
    pub fn into_canonical(self) -> Expr {
        match self.into_unparen() {
            e @ (Expr::Null | Expr::Bool(_)) => e,
            Expr::Number(n) => Expr::Number(canonical_number(&n)),
            Expr::Template(parts) => Expr::Template(canonical_parts(parts)),
            Expr::Tuple(items) => {
                Expr::Tuple(exact(items.into_iter().map(Expr::into_canonical).collect()))
            }
            Expr::Object(items) => Expr::Object(exact(
                items
                    .into_iter()
                    .map(|(k, v)| (canonical_key(k), v.into_canonical()))
                    .collect(),
            )),
            Expr::Traversal { root, ops, .. } => Expr::Traversal {
                root,
                ops: canonical_ops(ops),
                pos: 0,
            },
            Expr::Postfix(mut inner, ops) => match take_expr(&mut inner).into_canonical() {
                // `(a.b).c` is `a.b.c`
                Expr::Traversal {
                    root, ops: mut all, ..
                } => {
                    all.extend(ops);
                    Expr::Traversal {
                        root,
                        ops: canonical_ops(all),
                        pos: 0,
                    }
                }
                Expr::Postfix(inner2, mut all) => {
                    all.extend(ops);
                    Expr::Postfix(inner2, canonical_ops(all))
                }
                other => {
                    *inner = other;
                    Expr::Postfix(inner, canonical_ops(ops))
                }
            },
            Expr::Call {
                name,
                args,
                expand_final,
            } => Expr::Call {
                name,
                args: exact(args.into_iter().map(Expr::into_canonical).collect()),
                expand_final,
            },
            Expr::Unary(op, mut inner) => {
                *inner = take_expr(&mut inner).into_canonical();
                match (op, &*inner) {
                    // `-1` is a number literal (`-0` stays an operation:
                    // negative zero is a value of its own)
                    (UnOp::Neg, Expr::Number(n))
                        if !n.starts_with('-') && canonical_number(n) != "0" =>
                    {
                        Expr::Number(canonical_number(&format!("-{n}")))
                    }
                    _ => Expr::Unary(op, inner),
                }
            }
            Expr::Binary(op, l, r) => Expr::Binary(op, canonical_box(l), canonical_box(r)),
            Expr::Cond(c, a, b) => Expr::Cond(canonical_box(c), canonical_box(a), canonical_box(b)),
            Expr::For(mut f) => {
                f.coll = take_expr(&mut f.coll).into_canonical();
                f.key = f.key.take().map(Expr::into_canonical);
                f.value = take_expr(&mut f.value).into_canonical();
                f.cond = f.cond.take().map(Expr::into_canonical);
                Expr::For(f)
            }
            Expr::Paren(_) => unreachable!("into_unparen removed it"),
        }
    }

    /// [`Expr::unparen`] of an expression given away.
    fn into_unparen(self) -> Expr {
        match self {
            Expr::Paren(inner) => inner.into_unparen(),
            Expr::Template(mut parts) if matches!(parts.as_slice(), [Part::Interp(_)]) => {
                match parts.pop() {
                    Some(Part::Interp(inner)) => inner.into_unparen(),
                    _ => unreachable!("one interpolation"),
                }
            }
            e => e,
        }
    }

    /// True for expressions that contain no reference and no function call
    /// (their value is known from the text alone).
    pub fn is_literal(&self) -> bool {
        match self {
            Expr::Null | Expr::Bool(_) | Expr::Number(_) => true,
            Expr::Template(parts) => parts.iter().all(|p| matches!(p, Part::Lit(_))),
            Expr::Tuple(items) => items.iter().all(Expr::is_literal),
            Expr::Object(items) => items
                .iter()
                .all(|(k, v)| static_key(k).is_some() && v.is_literal()),
            Expr::Paren(inner) => inner.is_literal(),
            Expr::Unary(UnOp::Neg, inner) => matches!(inner.unparen(), Expr::Number(_)),
            _ => false,
        }
    }
}

fn is_bare_name(e: &Expr) -> bool {
    matches!(e, Expr::Traversal { ops, .. } if ops.is_empty())
}

/// A list kept in a canonical expression: without the spare room a
/// parse grew it with (expressions live as long as the command).
fn exact<T>(mut v: Vec<T>) -> Vec<T> {
    v.shrink_to_fit();
    v
}

/// A string kept in a canonical expression, without spare room.
fn exact_str(mut s: String) -> String {
    s.shrink_to_fit();
    s
}

/// The expression in `slot`, leaving `null` there.
fn take_expr(slot: &mut Expr) -> Expr {
    std::mem::replace(slot, Expr::Null)
}

/// A boxed expression made canonical in its box.
fn canonical_box(mut e: Box<Expr>) -> Box<Expr> {
    *e = take_expr(&mut e).into_canonical();
    e
}

/// An object key's canonical form: a literal key (a name, a string, a
/// number...) as a string; an expression key canonical, a bare name kept
/// in one pair of parentheses (which is what makes it an expression).
fn canonical_key(k: Expr) -> Expr {
    match k {
        Expr::Template(ref parts) if matches!(parts.as_slice(), [Part::Lit(_)]) => k,
        Expr::Traversal { root, ops, .. } if ops.is_empty() => {
            Expr::Template(vec![Part::Lit(root)])
        }
        k => match static_key(&k) {
            Some(s) => Expr::Template(vec![Part::Lit(s)]),
            None => match k.into_canonical() {
                bare @ Expr::Traversal { .. } if is_bare_name(&bare) => Expr::Paren(Box::new(bare)),
                other => other,
            },
        },
    }
}

/// Traversal steps made canonical in place: legacy `.0` as `[0]`, `.*`
/// followed only by attributes as `[*]`.
fn canonical_ops(mut ops: Vec<TravOp>) -> Vec<TravOp> {
    // whether every step after the one looked at is an attribute
    let mut attrs_after = true;
    for op in ops.iter_mut().rev() {
        let is_attr = matches!(op, TravOp::Attr(_));
        match op {
            TravOp::Index(e) => **e = take_expr(e).into_canonical(),
            TravOp::LegacyIndex(n) => *op = TravOp::Index(Box::new(Expr::Number(n.to_string()))),
            TravOp::AttrSplat if attrs_after => *op = TravOp::FullSplat,
            TravOp::Attr(_) | TravOp::AttrSplat | TravOp::FullSplat => {}
        }
        attrs_after &= is_attr;
    }
    exact(ops)
}

/// Template parts made canonical: empty literals dropped, adjacent ones
/// merged.
fn canonical_parts(parts: Vec<Part>) -> Vec<Part> {
    let mut out: Vec<Part> = Vec::with_capacity(parts.len());
    for p in parts {
        let next = match p {
            Part::Lit(s) => {
                if s.is_empty() {
                    continue;
                }
                if let Some(Part::Lit(prev)) = out.last_mut() {
                    prev.push_str(&s);
                    prev.shrink_to_fit();
                    continue;
                }
                Part::Lit(exact_str(s))
            }
            Part::Interp(e) => Part::Interp(e.into_canonical()),
            Part::If {
                cond,
                then,
                otherwise,
            } => Part::If {
                cond: canonical_box(cond),
                then: canonical_parts(then),
                otherwise: canonical_parts(otherwise),
            },
            Part::For(mut f) => {
                f.coll = take_expr(&mut f.coll).into_canonical();
                f.body = canonical_parts(std::mem::take(&mut f.body));
                Part::For(f)
            }
        };
        out.push(next);
    }
    exact(out)
}

/// Binding strength used to decide where parentheses are needed.
fn strength(e: &Expr) -> u8 {
    match e {
        Expr::Cond(..) => 0,
        Expr::Binary(op, ..) => op.precedence(),
        Expr::Unary(..) => 7,
        Expr::Paren(inner) => strength(inner),
        _ => 8,
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        Printer { out: &mut out }.expr(self, 0);
        f.write_str(&out)
    }
}

struct Printer<'o> {
    out: &'o mut String,
}

impl Printer<'_> {
    fn expr(&mut self, e: &Expr, min: u8) {
        let e = e.unparen();
        if strength(e) < min {
            self.out.push('(');
            self.expr(e, 0);
            self.out.push(')');
            return;
        }
        match e {
            Expr::Null => self.out.push_str("null"),
            Expr::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Expr::Number(n) => self.out.push_str(&canonical_number(n)),
            Expr::Template(parts) => {
                self.out.push('"');
                self.parts(parts);
                self.out.push('"');
            }
            Expr::Tuple(items) => {
                self.out.push('[');
                self.list(items);
                self.out.push(']');
            }
            Expr::Object(items) => self.object(items),
            Expr::Traversal { root, ops, .. } => {
                self.out.push_str(root);
                self.ops(ops);
            }
            Expr::Postfix(inner, ops) => {
                self.expr(inner, 8);
                self.ops(ops);
            }
            Expr::Call {
                name,
                args,
                expand_final,
            } => {
                self.out.push_str(name);
                self.out.push('(');
                self.list(args);
                if *expand_final {
                    self.out.push_str("...");
                }
                self.out.push(')');
            }
            Expr::Unary(op, inner) => {
                self.out.push(match op {
                    UnOp::Neg => '-',
                    UnOp::Not => '!',
                });
                self.expr(inner, 7);
            }
            Expr::Binary(op, l, r) => {
                let p = op.precedence();
                self.expr(l, p);
                self.out.push(' ');
                self.out.push_str(op.as_str());
                self.out.push(' ');
                self.expr(r, p + 1);
            }
            Expr::Cond(c, a, b) => {
                self.expr(c, 1);
                self.out.push_str(" ? ");
                self.expr(a, 0);
                self.out.push_str(" : ");
                self.expr(b, 0);
            }
            Expr::For(f) => self.for_expr(f),
            Expr::Paren(_) => unreachable!("unparen removed it"),
        }
    }

    /// Prints `items` separated by `, ` (the elements of a tuple, the
    /// arguments of a call).
    fn list(&mut self, items: &[Expr]) {
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.expr(it, 0);
        }
    }

    /// Prints an object constructor on one line: `{}`, or
    /// `{ k = v, "quoted key" = v, (computed) = v }`.
    fn object(&mut self, items: &[(Expr, Expr)]) {
        if items.is_empty() {
            self.out.push_str("{}");
            return;
        }
        self.out.push_str("{ ");
        for (i, (k, v)) in items.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.object_key(k);
            self.out.push_str(" = ");
            self.expr(v, 0);
        }
        self.out.push_str(" }");
    }

    /// Prints the key of an object constructor: a bare identifier, a quoted
    /// string, or a parenthesized expression for a key computed from
    /// other values.
    fn object_key(&mut self, k: &Expr) {
        match static_key(k) {
            Some(key) if !matches!(k, Expr::Paren(_)) => {
                if is_identifier(&key) {
                    self.out.push_str(&key)
                } else {
                    // a quoted key is a template: `${` and `%{`
                    // in it are escaped, as in any literal
                    self.out
                        .push_str(&quote(&key).replace("${", "$${").replace("%{", "%%{"))
                }
            }
            _ => {
                self.out.push('(');
                self.expr(k, 0);
                self.out.push(')');
            }
        }
    }

    /// Prints a `for` expression: `[for k, v in coll : value if cond]`, or
    /// `{ for k, v in coll : key => value... if cond }`.
    fn for_expr(&mut self, f: &ForExpr) {
        let object = f.key.is_some();
        self.out.push_str(if object { "{ for " } else { "[for " });
        if let Some(k) = &f.key_var {
            self.out.push_str(k);
            self.out.push_str(", ");
        }
        self.out.push_str(&f.value_var);
        self.out.push_str(" in ");
        self.expr(&f.coll, 0);
        self.out.push_str(" : ");
        if let Some(k) = &f.key {
            self.expr(k, 0);
            self.out.push_str(" => ");
        }
        self.expr(&f.value, 0);
        if f.grouping {
            self.out.push_str("...");
        }
        if let Some(c) = &f.cond {
            self.out.push_str(" if ");
            self.expr(c, 0);
        }
        self.out.push_str(if object { " }" } else { "]" });
    }

    fn ops(&mut self, ops: &[TravOp]) {
        for (i, op) in ops.iter().enumerate() {
            match op {
                TravOp::Attr(a) => {
                    self.out.push('.');
                    self.out.push_str(a);
                }
                TravOp::Index(e) => {
                    self.out.push('[');
                    self.expr(e, 0);
                    self.out.push(']');
                }
                TravOp::LegacyIndex(n) => {
                    let _ = write!(self.out, "[{n}]");
                }
                TravOp::AttrSplat => {
                    // `.*` equals `[*]` when only attribute steps follow.
                    let only_attrs = ops[i + 1..].iter().all(|o| matches!(o, TravOp::Attr(_)));
                    self.out.push_str(if only_attrs { "[*]" } else { ".*" });
                }
                TravOp::FullSplat => self.out.push_str("[*]"),
            }
        }
    }

    fn parts(&mut self, parts: &[Part]) {
        for (i, p) in parts.iter().enumerate() {
            match p {
                Part::Lit(s) => {
                    let q = quote(s);
                    let inner = &q[1..q.len() - 1];
                    let text = inner.replace("${", "$${").replace("%{", "%%{");
                    // A `$` (`%`) that ends a literal right before an
                    // interpolation (a directive) would read as the escape
                    // `$${` (`%%{`): it is written as an interpolation of
                    // itself. (Only strip markers make such a template.)
                    let last = match parts.get(i + 1) {
                        Some(Part::Interp(_)) => '$',
                        Some(Part::If { .. } | Part::For(_)) => '%',
                        _ => '\0',
                    };
                    match text.strip_suffix(last) {
                        Some(rest) if last != '\0' => {
                            self.out.push_str(rest);
                            self.out.push_str(&format!("${{\"{last}\"}}"));
                        }
                        _ => self.out.push_str(&text),
                    }
                }
                Part::Interp(e) => {
                    self.out.push_str("${");
                    self.expr(e, 0);
                    self.out.push('}');
                }
                Part::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    self.out.push_str("%{if ");
                    self.expr(cond, 0);
                    self.out.push('}');
                    self.parts(then);
                    if !otherwise.is_empty() {
                        self.out.push_str("%{else}");
                        self.parts(otherwise);
                    }
                    self.out.push_str("%{endif}");
                }
                Part::For(f) => {
                    let TemplateFor {
                        key_var,
                        value_var,
                        coll,
                        body,
                    } = &**f;
                    self.out.push_str("%{for ");
                    if let Some(k) = key_var {
                        self.out.push_str(k);
                        self.out.push_str(", ");
                    }
                    self.out.push_str(value_var);
                    self.out.push_str(" in ");
                    self.expr(coll, 0);
                    self.out.push('}');
                    self.parts(body);
                    self.out.push_str("%{endfor}");
                }
            }
        }
    }
}
