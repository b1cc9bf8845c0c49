//! Evaluation of expressions (HCL's native expression semantics).

use std::collections::BTreeMap;
use std::sync::Arc;

use rewind_model::expr::{BinOp, Expr, ForExpr, Part, TravOp, UnOp};

use crate::convert::{convert, unify};
use crate::number::Number;
use crate::types::Type;
use crate::value::Value;

/// An evaluation error: what Terraform would refuse, with a summary and
/// the details.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{summary}: {detail}")]
pub struct EvalError {
    pub summary: String,
    pub detail: String,
    /// Where in a body the value that failed sits, outermost first: the
    /// argument or block, then keys and indexes (`input`, `count`; or
    /// `ebs_block_device`, `0`, `volume_size`). Empty when not known.
    pub path: Vec<String>,
}

impl EvalError {
    pub fn new(summary: impl Into<String>, detail: impl Into<String>) -> EvalError {
        EvalError {
            summary: summary.into(),
            detail: detail.into(),
            path: Vec::new(),
        }
    }

    /// The error of a value at `step` of an enclosing one.
    pub fn within(mut self, step: impl Into<String>) -> EvalError {
        self.path.insert(0, step.into());
        self
    }
}

pub type Result<T> = std::result::Result<T, EvalError>;

/// Resolves the references of an expression: the root name of a traversal
/// (`var`, `local`, `aws_instance`, `module`, `count`, `each`, `path`...)
/// and the steps after it.
pub trait Scope {
    /// The value of the reference `root` followed by `ops`, and how many of
    /// `ops` it used (`var.x` uses one step; the evaluator applies the
    /// rest). `ev` evaluates index keys and applies steps when the scope
    /// resolves more of the traversal itself.
    fn resolve(&self, root: &str, ops: &[TravOp], ev: &mut Evaluator) -> Result<(Value, usize)>;

    /// Files for `file()`, `templatefile()` and the other file functions;
    /// `None` when the scope has none (the functions return unknown).
    fn files(&self) -> Option<&dyn Files> {
        None
    }
}

/// Read access to the files of a configuration, for the file functions.
/// Paths are as Terraform sees them: relative to the working directory
/// (the root module), or absolute.
pub trait Files {
    fn read(&self, path: &str) -> std::result::Result<Vec<u8>, String>;
    /// True for a regular file, false when nothing is there, an error for
    /// anything else (a directory: Terraform's `fileexists` refuses it).
    fn exists(&self, path: &str) -> std::result::Result<bool, String>;
    /// Regular files under `base` matching the glob `pattern` (see
    /// [`crate::functions::glob_match`]), relative to `base`, sorted.
    fn glob(&self, base: &str, pattern: &str) -> std::result::Result<Vec<String>, String>;
    /// The text of a configuration file rewind parsed, `file` relative to
    /// the configuration's base (as a node's location names it), to point
    /// an error at its line; `None` (the default) when it cannot be read.
    fn source(&self, file: &str) -> Option<Vec<u8>> {
        let _ = file;
        None
    }
    /// The absolute path of the working directory, for `abspath` of a
    /// relative path; `None` (the default) leaves that unknown.
    fn working_dir(&self) -> Option<String> {
        None
    }
    /// Is `path` a file these files never hold: outside the
    /// configuration's tree (`../shared/x`, an absolute path), or through a
    /// symbolic link that leads out of it? Terraform reads it; rewind
    /// neither reads nor stores it, so a function reading it gives a value
    /// rewind cannot see (the same for the same call), not an error.
    /// False by default.
    fn outside(&self, path: &str) -> bool {
        let _ = path;
        false
    }
}

/// A scope with nothing in it (for literals and tests).
pub struct EmptyScope;

impl Scope for EmptyScope {
    fn resolve(&self, root: &str, _ops: &[TravOp], _ev: &mut Evaluator) -> Result<(Value, usize)> {
        Err(EvalError::new(
            "Unknown variable",
            format!("There is no variable named {root:?}."),
        ))
    }
}

/// Limits that turn a runaway evaluation into an error.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Nested expression depth.
    pub depth: u32,
    /// Elements built or visited by one evaluation (collections from
    /// `range`, `for`, splats, functions...).
    pub work: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            depth: 512,
            work: 5_000_000,
        }
    }
}

/// Bytes of text that count as one unit of work (an element of a
/// collection takes about as much memory as 8 to 64 bytes of text).
pub(crate) const BYTES_PER_UNIT: usize = 8;

/// Evaluates expressions against a scope, with variables bound by `for`
/// expressions and template directives.
pub struct Evaluator<'s> {
    scope: &'s dyn Scope,
    bindings: Vec<(Arc<str>, Value)>,
    depth: u32,
    work: u64,
    limits: Limits,
    /// The expanded sizes (and what they hold) of the collections measured
    /// by [`Evaluator::bound`] that hold collections or many values, by
    /// address (each entry holds its collection, so the address stays its
    /// own).
    sizes: std::collections::HashMap<usize, (u64, u64, Value)>,
    /// Things the evaluation could not do exactly (functions it does not
    /// implement, which gave unknown values).
    pub notes: Vec<String>,
}

/// What the parts of a template evaluated so far have shown about the
/// whole template.
#[derive(Default)]
struct TemplateSeen {
    /// A part is known only after apply: so is the template.
    unknown: bool,
    /// A part read a sensitive value: the template is sensitive.
    marked: bool,
    /// A part is a value rewind cannot see: the template is opaque, named
    /// by its text with the part's symbol in it.
    opaque: bool,
}

impl<'s> Evaluator<'s> {
    pub fn new(scope: &'s dyn Scope) -> Evaluator<'s> {
        Evaluator {
            scope,
            bindings: Vec::new(),
            depth: 0,
            work: 0,
            limits: Limits::default(),
            sizes: std::collections::HashMap::new(),
            notes: Vec::new(),
        }
    }

    pub fn scope(&self) -> &'s dyn Scope {
        self.scope
    }

    /// Adds a variable binding (templates' variables, `dynamic` block
    /// iterators).
    pub fn bind(&mut self, name: &str, v: Value) {
        self.bindings.push((Arc::from(name), v));
    }

    /// Removes the last binding.
    pub fn unbind(&mut self) {
        self.bindings.pop();
    }

    /// The units of work counted so far (see [`Limits::work`]).
    pub fn work_done(&self) -> u64 {
        self.work
    }

    /// How deep expressions (and the values functions build, such as a
    /// decoded document) may nest.
    pub(crate) fn depth_limit(&self) -> u32 {
        self.limits.depth
    }

    /// Counts `n` units of work, failing past the limit.
    pub(crate) fn spend(&mut self, n: u64) -> Result<()> {
        self.work = self.work.saturating_add(n);
        if self.work > self.limits.work {
            return Err(EvalError::new(
                "Evaluation limit",
                format!(
                    "the expression builds or visits more than {} elements; rewind stops here rather than run away",
                    self.limits.work
                ),
            ));
        }
        Ok(())
    }

    /// Counts the building of `n` bytes of text: a unit of work per
    /// [`BYTES_PER_UNIT`], so doubling a string from expression to
    /// expression runs into the limit as doubling a list does.
    pub(crate) fn spend_bytes(&mut self, n: usize) -> Result<()> {
        self.spend((n / BYTES_PER_UNIT) as u64)
    }

    /// Counts what a function built: the elements of a collection, the
    /// bytes of a string (its parts are counted by the functions that
    /// built them).
    pub(crate) fn spend_result(&mut self, v: &Value) -> Result<()> {
        match v {
            Value::String(s) => self.spend_bytes(s.len()),
            Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                self.spend(items.len() as u64)
            }
            Value::Map(_, m) | Value::Object(m) => self.spend(m.len() as u64),
            Value::Sensitive(inner) => self.spend_result(inner),
            _ => Ok(()),
        }
    }

    /// The result of a pure function rewind does not compute: the same
    /// whenever its arguments are, so an opaque value named after the call
    /// (long arguments by their SHA-256).
    pub(crate) fn opaque_call(&mut self, name: &str, args: &[Value], ty: Type) -> Value {
        use sha2::Digest as _;
        if args.iter().any(|a| !a.is_wholly_known()) {
            return Value::Unknown(ty);
        }
        let parts: Vec<String> = args.iter().map(crate::render::symbol).collect();
        let mut shown = parts.join(", ");
        if shown.len() > 256 {
            let digest = sha2::Sha256::digest(shown.as_bytes());
            shown = format!(
                "sha256:{}",
                digest
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            );
        }
        let marked = args.iter().any(Value::has_marks);
        Value::Opaque(ty, format!("{name}({shown})").into()).mark_if(marked)
    }

    pub fn note(&mut self, msg: String) {
        if !self.notes.contains(&msg) {
            self.notes.push(msg);
        }
    }

    /// The value of an expression.
    pub fn eval(&mut self, e: &Expr) -> Result<Value> {
        self.depth += 1;
        if self.depth > self.limits.depth {
            self.depth -= 1;
            return Err(EvalError::new(
                "Expression too deep",
                format!("expressions nest more than {} levels", self.limits.depth),
            ));
        }
        self.spend(1)?;
        let r = self.eval_inner(e);
        self.depth -= 1;
        match e {
            // where a value can hold another more than once
            Expr::Tuple(_) | Expr::Object(_) | Expr::For(_) | Expr::Call { .. } => {
                r.and_then(|v| self.bound(&v).map(|()| v))
            }
            _ => r,
        }
    }

    /// Fails when a value repeats collections inside it so much that,
    /// written out in full, it has more elements than the evaluation may
    /// visit ([`Limits::work`]) beyond those it holds. A collection
    /// repeated inside another (`l1 = [l0, l0]`, `concat(l, l)`) is held
    /// once but counts each time it appears: that is what comparing,
    /// converting, encoding or writing the value visits, so forty such
    /// locals would otherwise build in a moment a value no traversal
    /// finishes (2^40 elements). A large value without repetition (a
    /// decoded document) is left to the limits on what a walk holds.
    /// Measured once per shared collection, so this takes time in the
    /// collections the value holds, not in its expanded size.
    pub fn bound(&mut self, v: &Value) -> Result<()> {
        let (expanded, held) = self.expanded(v, &mut std::collections::HashSet::new());
        if expanded.saturating_sub(held) <= self.limits.work {
            return Ok(());
        }
        Err(EvalError::new(
            "Evaluation limit",
            format!(
                "a value repeats collections inside it into more than {} elements beyond those it holds, written out in full (a collection repeated inside another counts each time it appears); rewind stops here rather than run away",
                self.limits.work
            ),
        ))
    }

    /// The elements of a value written out in full (a string is one), and
    /// how many it holds (each collection that holds collections, or 64
    /// values or more, counted at its first appearance, `seen`; a small
    /// collection of plain values each time); those collections measured
    /// once per evaluation (saturating).
    fn expanded(&mut self, v: &Value, seen: &mut std::collections::HashSet<usize>) -> (u64, u64) {
        let (items, addr): (&mut dyn Iterator<Item = &Value>, usize) = match v {
            Value::List(_, xs) | Value::Set(_, xs) | Value::Tuple(xs) => {
                (&mut xs.iter(), Arc::as_ptr(xs) as usize)
            }
            Value::Map(_, m) | Value::Object(m) => (&mut m.values(), Arc::as_ptr(m) as usize),
            Value::Partial(p) => (&mut p.attrs.values(), Arc::as_ptr(&p.attrs) as usize),
            Value::Sensitive(inner) => return self.expanded(inner, seen),
            _ => return (1, 1),
        };
        if let Some((n, held, _)) = self.sizes.get(&addr) {
            // what it holds once in this value, however often it appears
            let first = seen.insert(addr);
            return (*n, if first { *held } else { 0 });
        }
        let (mut n, mut held) = (1u64, 1u64);
        // a large collection of plain values is measured once too, so
        // repeating it counts (`[for i in range(1000) : local.million]`)
        let mut nested = items.size_hint().0 >= 64;
        for x in items {
            let x = x.unmark().0;
            nested |= x.is_collection() || matches!(x, Value::Partial(_));
            let (e, h) = self.expanded(x, seen);
            n = n.saturating_add(e);
            held = held.saturating_add(h);
        }
        if nested {
            seen.insert(addr);
            self.sizes.insert(addr, (n, held, v.clone()));
        }
        (n, held)
    }

    fn eval_inner(&mut self, e: &Expr) -> Result<Value> {
        match e {
            Expr::Null => Ok(Value::null()),
            Expr::Bool(b) => Ok(Value::Bool(*b)),
            Expr::Number(n) => Number::parse(n)
                .map(Value::Number)
                .map_err(|e| EvalError::new("Invalid number literal", format!("{n}: {e}"))),
            Expr::Template(parts) => self.template(parts),
            Expr::Tuple(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.eval(i)?);
                }
                Ok(Value::tuple(out))
            }
            Expr::Object(items) => self.object(items),
            Expr::Traversal { root, ops, .. } => self.traversal(root, ops),
            Expr::Postfix(inner, ops) => {
                let v = self.eval(inner)?;
                self.apply_ops(v, ops)
            }
            Expr::Call {
                name,
                args,
                expand_final,
            } => crate::functions::call(self, name, args, *expand_final),
            Expr::Unary(op, inner) => {
                let v = self.eval(inner)?;
                unary(*op, &v)
            }
            Expr::Binary(op, l, r) => self.binary(*op, l, r),
            Expr::Cond(c, a, b) => self.conditional(c, a, b),
            Expr::For(f) => self.for_expr(f),
            Expr::Paren(inner) => self.eval(inner),
        }
    }

    fn lookup_binding(&self, name: &str) -> Option<&Value> {
        self.bindings
            .iter()
            .rev()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| v)
    }

    fn traversal(&mut self, root: &str, ops: &[TravOp]) -> Result<Value> {
        if let Some(v) = self.lookup_binding(root) {
            let v = v.clone();
            return self.apply_ops(v, ops);
        }
        // the scope resolves what it can; index steps it needs (resource
        // instances) are evaluated here first
        let scope = self.scope;
        let (v, used) = scope.resolve(root, ops, self)?;
        self.apply_ops(v, &ops[used.min(ops.len())..])
    }

    /// Applies traversal steps to a value (attribute and index access,
    /// splats).
    pub fn apply_ops(&mut self, mut v: Value, ops: &[TravOp]) -> Result<Value> {
        let mut i = 0;
        while i < ops.len() {
            match &ops[i] {
                TravOp::Attr(name) => v = get_attr(&v, name)?,
                TravOp::Index(key) => {
                    let k = self.eval(key)?;
                    v = index(&v, &k)?;
                }
                TravOp::LegacyIndex(n) => v = index(&v, &Value::Number(Number::from_u64(*n)))?,
                TravOp::FullSplat => return self.splat(v, &ops[i + 1..]),
                TravOp::AttrSplat => {
                    // `.*` takes the attribute steps after it
                    let mut end = i + 1;
                    while end < ops.len()
                        && matches!(ops[end], TravOp::Attr(_) | TravOp::LegacyIndex(_))
                    {
                        end += 1;
                    }
                    v = self.splat(v, &ops[i + 1..end])?;
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
        Ok(v)
    }

    fn splat(&mut self, source: Value, each: &[TravOp]) -> Result<Value> {
        let (src, marked) = source.unmark();
        let is_seq = matches!(src, Value::List(..) | Value::Set(..) | Value::Tuple(_))
            || matches!(src, Value::Null(t) | Value::Unknown(t) if matches!(t, Type::List(_) | Type::Set(_) | Type::Tuple(_)));
        if src.is_null() {
            if is_seq {
                return Err(EvalError::new(
                    "Splat of null value",
                    "Splat expressions (with the * symbol) cannot be applied to null sequences.",
                ));
            }
            return Ok(Value::tuple(Vec::new()).mark_if(marked));
        }
        if let Value::Partial(_) = src {
            // one object: `[obj][*]...`
            let item = self.apply_ops(src.clone(), each)?;
            return Ok(Value::tuple(vec![item]).mark_if(marked));
        }
        if src.ty() == Type::Dynamic || src.is_opaque() {
            return Ok(Value::unknown().mark_if(marked));
        }
        let items: Vec<Value> = if is_seq {
            match src {
                Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                    items.to_vec()
                }
                Value::Unknown(t) => {
                    // the result's type from one unknown element
                    let ety = match t {
                        Type::List(e) | Type::Set(e) => (**e).clone(),
                        _ => Type::Dynamic,
                    };
                    let each_v = self.apply_ops(Value::Unknown(ety), each)?;
                    let ty = match t {
                        Type::Tuple(_) => Type::Dynamic,
                        _ => Type::list(each_v.ty()),
                    };
                    return Ok(Value::Unknown(ty).mark_if(marked));
                }
                _ => Vec::new(),
            }
        } else {
            if !src.is_known() {
                return Ok(Value::unknown().mark_if(marked));
            }
            vec![src.clone()]
        };
        self.spend(items.len() as u64)?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.apply_ops(item, each)?);
        }
        let as_list = matches!(src, Value::List(..) | Value::Set(..));
        let result = if as_list {
            if out.is_empty() {
                let ety = match src {
                    Value::List(t, _) | Value::Set(t, _) => {
                        self.apply_ops(Value::Unknown(t.clone()), each)?.ty()
                    }
                    _ => Type::Dynamic,
                };
                Value::list_of(ety, out)
            } else {
                let tys: Vec<Type> = out.iter().map(Value::ty).collect();
                let first = tys[0].clone();
                if tys.iter().any(|t| *t != first) {
                    return Err(EvalError::new(
                        "Invalid nested splat expressions",
                        "The second level of splat expression produced elements of different types.",
                    ));
                }
                Value::list_of(first, out)
            }
        } else {
            Value::tuple(out)
        };
        Ok(result.mark_if(marked))
    }

    /// What is known of a template's value that is not (unknown, or a
    /// deployed value rewind cannot see): the text up to its first part
    /// that is not known, made safe as HCL's `StringPrefix` refinement
    /// does (`safe_prefix`; a template's value is also never null).
    /// `None` for what is not a template of several parts.
    pub(crate) fn known_prefix(&mut self, e: &Expr) -> Option<String> {
        let parts = match e {
            Expr::Paren(inner) => return self.known_prefix(inner),
            Expr::Template(parts) if !matches!(parts.as_slice(), [Part::Interp(_)]) => parts,
            _ => return None,
        };
        let mut out = String::new();
        for p in parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Interp(e) => {
                    let v = self.eval(e).ok()?;
                    let v = v.unmark_deep().0;
                    match convert(&v, &Type::String) {
                        Ok(Value::String(s)) if !v.has_opaque() => out.push_str(&s),
                        _ => break,
                    }
                }
                _ => break,
            }
        }
        Some(safe_prefix(out))
    }

    /// Is `v` (the value of `e`) a template not known yet whose known
    /// prefix `other` (a known string, or null) cannot have?
    fn differs_by_prefix(&mut self, e: &Expr, v: &Value, other: &Value) -> bool {
        let v = v.unmark().0;
        if v.is_wholly_known() && !v.has_opaque() {
            return false;
        }
        let other = other.unmark().0;
        let decidable = other.is_null() || matches!(other, Value::String(_));
        if !decidable {
            return false;
        }
        match (self.known_prefix(e), other) {
            (Some(_), o) if o.is_null() => true,
            (Some(p), Value::String(s)) => !s.starts_with(p.as_str()),
            _ => false,
        }
    }

    fn template(&mut self, parts: &[Part]) -> Result<Value> {
        // a template of one interpolation is its value
        if let [Part::Interp(e)] = parts {
            return self.eval(e);
        }
        let mut out = String::new();
        let mut seen = TemplateSeen::default();
        self.template_parts(parts, &mut out, &mut seen)?;
        let v = if seen.unknown {
            Value::Unknown(Type::String)
        } else if seen.opaque {
            crate::render::opaque(Type::String, format!("\"{out}\""))
        } else {
            Value::string(out)
        };
        Ok(v.mark_if(seen.marked))
    }

    /// Appends the text of template `parts` to `out`, noting in `seen`
    /// what makes the whole template unknown, sensitive or opaque.
    fn template_parts(
        &mut self,
        parts: &[Part],
        out: &mut String,
        seen: &mut TemplateSeen,
    ) -> Result<()> {
        for p in parts {
            let before = out.len();
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Interp(e) => self.template_interp(e, out, seen)?,
                Part::If {
                    cond,
                    then,
                    otherwise,
                } => self.template_if(cond, then, otherwise, out, seen)?,
                Part::For(f) => self.template_for(f, out, seen)?,
            }
            // directives count their own parts
            if matches!(p, Part::Lit(_) | Part::Interp(_)) {
                self.spend_bytes(out.len() - before)?;
            }
        }
        Ok(())
    }

    /// An interpolation `${e}`: its value as a string (a symbol for an
    /// opaque one; nothing for an unknown one). Null, and values that do
    /// not convert to a string, are errors.
    fn template_interp(
        &mut self,
        e: &Expr,
        out: &mut String,
        seen: &mut TemplateSeen,
    ) -> Result<()> {
        let v = self.eval(e)?;
        let (inner, m) = v.unmark();
        seen.marked |= m;
        if inner.is_null() {
            return Err(EvalError::new(
                "Invalid template interpolation value",
                format!("The expression result is null. Cannot include a null value in a string template. ({e})"),
            ));
        }
        if !inner.is_known() {
            seen.unknown = true;
            return Ok(());
        }
        if inner.has_opaque() {
            seen.opaque = true;
            out.push_str(&crate::render::symbol(inner));
            return Ok(());
        }
        let s = convert(inner, &Type::String).map_err(|err| {
            EvalError::new(
                "Invalid template interpolation value",
                format!("Cannot include the given value in a string template: {err}. ({e})"),
            )
        })?;
        let (s, m) = s.unmark();
        seen.marked |= m;
        match s {
            Value::String(s) => out.push_str(s),
            _ => seen.unknown = true,
        }
        Ok(())
    }

    /// An `%{if cond}then%{else}otherwise%{endif}` directive: the branch
    /// the condition chooses; both, named by the condition, when it is
    /// opaque. A null condition is an error.
    fn template_if(
        &mut self,
        cond: &Expr,
        then: &[Part],
        otherwise: &[Part],
        out: &mut String,
        seen: &mut TemplateSeen,
    ) -> Result<()> {
        let c = self.eval(cond)?;
        let (c, m) = c.unmark();
        seen.marked |= m;
        if c.is_null() {
            return Err(EvalError::new(
                "Invalid template if directive",
                "The condition is null.",
            ));
        }
        if !c.is_known() {
            seen.unknown = true;
            return Ok(());
        }
        if c.has_opaque() {
            // both branches, named by the condition
            let mut a = String::new();
            let mut b = String::new();
            self.template_parts(then, &mut a, seen)?;
            self.template_parts(otherwise, &mut b, seen)?;
            seen.opaque = true;
            out.push_str(&format!(
                "%{{if {}}}{a}%{{else}}{b}%{{endif}}",
                crate::render::symbol(c)
            ));
            return Ok(());
        }
        let c = convert(c, &Type::Bool)
            .map_err(|err| EvalError::new("Invalid template if directive", err.to_string()))?;
        if c.as_bool() == Some(true) {
            self.template_parts(then, out, seen)
        } else {
            self.template_parts(otherwise, out, seen)
        }
    }

    /// A `%{for k, v in coll}body%{endfor}` directive: the body once per
    /// element, with the loop variables bound. A null collection, or one
    /// that cannot be iterated, is an error.
    fn template_for(
        &mut self,
        f: &rewind_model::expr::TemplateFor,
        out: &mut String,
        seen: &mut TemplateSeen,
    ) -> Result<()> {
        let rewind_model::expr::TemplateFor {
            key_var,
            value_var,
            coll,
            body,
        } = f;
        let c = self.eval(coll)?;
        let (c, m) = c.unmark();
        seen.marked |= m;
        if c.is_null() {
            return Err(EvalError::new(
                "Invalid template for directive",
                "The collection is null.",
            ));
        }
        if !c.is_known() || c.is_opaque() {
            seen.unknown = true;
            return Ok(());
        }
        let elems = elements(c).ok_or_else(|| {
            EvalError::new(
                "Invalid template for directive",
                format!("{} value cannot be iterated", c.ty().friendly_name()),
            )
        })?;
        self.spend(elems.len() as u64)?;
        for (k, v) in elems {
            let before = self.bindings.len();
            if let Some(kv) = key_var {
                self.bind(kv, k);
            }
            self.bind(value_var, v);
            let r = self.template_parts(body, out, seen);
            self.bindings.truncate(before);
            r?;
        }
        Ok(())
    }

    fn object(&mut self, items: &[(Expr, Expr)]) -> Result<Value> {
        let mut out = BTreeMap::new();
        let mut unknown = false;
        let mut marked = false;
        for (k, v) in items {
            let key = match k {
                // a bare name is a literal key
                Expr::Traversal { root, ops, .. } if ops.is_empty() => Value::string(root),
                other => self.eval(other)?,
            };
            let (key, m) = key.unmark();
            marked |= m;
            if key.is_null() {
                return Err(EvalError::new(
                    "Null value as key",
                    "Can't use a null value as a key.",
                ));
            }
            let value = self.eval(v)?;
            if !key.is_known() || key.has_opaque() {
                unknown = true;
                continue;
            }
            let key = convert(key, &Type::String)
                .map_err(|e| EvalError::new("Incorrect key type", e.to_string()))?;
            if let Some(s) = key.as_str() {
                out.insert(s.to_string(), value);
            }
        }
        if unknown {
            return Ok(Value::unknown().mark_if(marked));
        }
        Ok(Value::object(out.into_iter().collect()).mark_if(marked))
    }

    fn binary(&mut self, op: BinOp, l: &Expr, r: &Expr) -> Result<Value> {
        let lv = self.eval(l);
        let rv = self.eval(r);
        match op {
            // Terraform 1.11 (HCL 2.23) evaluates both sides: no
            // short-circuit, an error on either side fails the expression
            BinOp::And | BinOp::Or => {
                let a = to_operand(&lv?, &Type::Bool, "left")?;
                let b = to_operand(&rv?, &Type::Bool, "right")?;
                let marked = a.has_marks() || b.has_marks();
                if a.is_known() && b.is_known() && (a.has_opaque() || b.has_opaque()) {
                    return Ok(opaque_op(Type::Bool, op.as_str(), &[&a, &b]).mark_if(marked));
                }
                let r = match (a.unmark().0, b.unmark().0) {
                    (Value::Bool(x), Value::Bool(y)) => {
                        Value::Bool(if op == BinOp::Or { *x || *y } else { *x && *y })
                    }
                    _ => Value::Unknown(Type::Bool),
                };
                Ok(r.mark_if(marked))
            }
            BinOp::Eq | BinOp::Ne => {
                let (lv, rv) = (lv?, rv?);
                // a template not known yet is still a string with a known
                // prefix, never null (cty's refinements): `"pre-${x}" != ""`
                // is known
                if self.differs_by_prefix(l, &lv, &rv) || self.differs_by_prefix(r, &rv, &lv) {
                    let marked = lv.has_marks() || rv.has_marks();
                    return Ok(Value::Bool(op == BinOp::Ne).mark_if(marked));
                }
                if lv.is_wholly_known()
                    && rv.is_wholly_known()
                    && (lv.has_opaque() || rv.has_opaque())
                    && !lv.unmark_deep().0.raw_eq(&rv.unmark_deep().0)
                {
                    let marked = lv.has_marks() || rv.has_marks();
                    return Ok(opaque_op(Type::Bool, op.as_str(), &[&lv, &rv]).mark_if(marked));
                }
                let eq = lv.equals(&rv);
                if op == BinOp::Ne {
                    let (inner, m) = eq.unmark();
                    Ok(match inner {
                        Value::Bool(b) => Value::Bool(!b),
                        other => other.clone(),
                    }
                    .mark_if(m))
                } else {
                    Ok(eq)
                }
            }
            _ => {
                let a = to_operand(&lv?, &Type::Number, "left")?;
                let b = to_operand(&rv?, &Type::Number, "right")?;
                let marked = a.has_marks() || b.has_marks();
                let (a, b) = (a.unmark().0.clone(), b.unmark().0.clone());
                let result_ty = match op {
                    BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => Type::Bool,
                    _ => Type::Number,
                };
                let (x, y) = match (&a, &b) {
                    (Value::Number(x), Value::Number(y)) => (x, y),
                    (Value::Opaque(..), Value::Number(_) | Value::Opaque(..))
                    | (Value::Number(_), Value::Opaque(..)) => {
                        return Ok(opaque_op(result_ty, op.as_str(), &[&a, &b]).mark_if(marked));
                    }
                    _ => return Ok(Value::Unknown(result_ty).mark_if(marked)),
                };
                let fail = |e: crate::number::NumberError| {
                    EvalError::new("Operation failed", format!("Error during operation: {e}."))
                };
                let r = match op {
                    BinOp::Add => Value::Number(x.add(y).map_err(fail)?),
                    BinOp::Sub => Value::Number(x.sub(y).map_err(fail)?),
                    BinOp::Mul => Value::Number(x.mul(y).map_err(fail)?),
                    // x / 0 is an infinity; 0 / 0 fails
                    BinOp::Div => Value::Number(x.div(y).map_err(fail)?),
                    // x % 0 is x
                    BinOp::Mod => Value::Number(x.rem(y).map_err(fail)?),
                    BinOp::Lt => Value::Bool(x < y),
                    BinOp::Le => Value::Bool(x <= y),
                    BinOp::Gt => Value::Bool(x > y),
                    BinOp::Ge => Value::Bool(x >= y),
                    _ => unreachable!("logical and equality operators are handled above"),
                };
                Ok(r.mark_if(marked))
            }
        }
    }

    fn conditional(&mut self, c: &Expr, a: &Expr, b: &Expr) -> Result<Value> {
        let ta = self.eval(a);
        let tb = self.eval(b);
        let ty_of = |r: &Result<Value>| match r {
            Ok(v) => v.ty(),
            Err(_) => Type::Dynamic,
        };
        let is_untyped_null = |r: &Result<Value>| matches!(r, Ok(v) if matches!(v.unmark().0, Value::Null(Type::Dynamic)));
        let result_ty = if is_untyped_null(&ta) {
            ty_of(&tb)
        } else if is_untyped_null(&tb) {
            ty_of(&ta)
        } else {
            let (x, y) = (ty_of(&ta), ty_of(&tb));
            if x == Type::Dynamic || y == Type::Dynamic {
                Type::Dynamic
            } else {
                unify(&[x.clone(), y.clone()]).ok_or_else(|| {
                    EvalError::new(
                        "Inconsistent conditional result types",
                        format!(
                            "The true and false result expressions must have consistent types: {} and {}.",
                            x.friendly_name(),
                            y.friendly_name()
                        ),
                    )
                })?
            }
        };
        let cond = self.eval(c)?;
        let (cond, cm) = cond.unmark();
        let marked = cm
            || ta.as_ref().is_ok_and(Value::has_marks)
            || tb.as_ref().is_ok_and(Value::has_marks);
        if cond.is_null() {
            return Err(EvalError::new(
                "Null condition",
                "The condition value is null. Conditions must either be true or false.",
            ));
        }
        if cond.is_known() && cond.has_opaque() {
            if let (Ok(x), Ok(y)) = (&ta, &tb) {
                if x.is_wholly_known() && y.is_wholly_known() {
                    let sym = format!(
                        "({} ? {} : {})",
                        crate::render::symbol(cond),
                        crate::render::symbol(x),
                        crate::render::symbol(y)
                    );
                    return Ok(crate::render::opaque(result_ty, sym).mark_if(marked));
                }
            }
        }
        if !cond.is_known() || cond.has_opaque() {
            if let (Ok(x), Ok(y)) = (&ta, &tb) {
                if x.is_null() && y.is_null() {
                    return Ok(Value::Null(result_ty).mark_if(marked));
                }
            }
            return Ok(Value::Unknown(result_ty).mark_if(marked));
        }
        let cond = convert(cond, &Type::Bool).map_err(|_| {
            EvalError::new(
                "Incorrect condition type",
                "The condition expression must be of type bool.",
            )
        })?;
        let chosen = if cond.as_bool() == Some(true) { ta } else { tb }?;
        let v = convert(&chosen, &result_ty).map_err(|e| {
            EvalError::new(
                "Inconsistent conditional result types",
                format!("The result value has the wrong type: {e}."),
            )
        })?;
        Ok(v.mark_if(marked))
    }

    fn for_expr(&mut self, f: &ForExpr) -> Result<Value> {
        let coll = self.eval(&f.coll)?;
        if coll.is_null() {
            return Err(EvalError::new(
                "Iteration over null value",
                "A null value cannot be used as the collection in a 'for' expression.",
            ));
        }
        if coll.ty() == Type::Dynamic {
            return Ok(Value::unknown().mark_if(coll.has_marks()));
        }
        let (c, mut marked) = coll.unmark();
        if !c.is_known() || c.is_opaque() {
            return Ok(Value::unknown().mark_if(marked));
        }
        let elems = elements(c).ok_or_else(|| {
            EvalError::new(
                "Iteration over non-iterable value",
                format!(
                    "A value of type {} cannot be used as the collection in a 'for' expression.",
                    c.ty().friendly_name()
                ),
            )
        })?;
        self.spend(elems.len() as u64)?;
        let mut known = true;
        let mut items: Vec<Value> = Vec::new();
        // keys come in any order: a tree while building, one sort at the end
        let mut entries: BTreeMap<String, Value> = BTreeMap::new();
        let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (k, v) in elems {
            let before = self.bindings.len();
            if let Some(kv) = &f.key_var {
                self.bind(kv, k);
            }
            self.bind(&f.value_var, v);
            let r = self.for_item(f, &mut known, &mut marked);
            self.bindings.truncate(before);
            match r? {
                None => {}
                Some((None, v)) => items.push(v),
                Some((Some(key), v)) => {
                    if f.grouping {
                        groups.entry(key).or_default().push(v);
                    } else {
                        match entries.entry(key) {
                            std::collections::btree_map::Entry::Occupied(e) => {
                                // Terraform quotes the key even when it is
                                // sensitive; rewind never does (nor when an
                                // item so far was: the key may be made of it)
                                let key = if marked {
                                    "(sensitive value)".to_string()
                                } else {
                                    format!("{:?}", e.key())
                                };
                                return Err(EvalError::new(
                                    "Duplicate object key",
                                    format!("Two different items produced the key {key} in this 'for' expression. If duplicates are expected, use the ellipsis (...) after the value expression to enable grouping by key."),
                                ));
                            }
                            std::collections::btree_map::Entry::Vacant(e) => {
                                e.insert(v);
                            }
                        }
                    }
                }
            }
        }
        if !known {
            return Ok(Value::unknown().mark_if(marked));
        }
        let v = if f.key.is_some() {
            if f.grouping {
                Value::object(
                    groups
                        .into_iter()
                        .map(|(k, vs)| (k, Value::tuple(vs)))
                        .collect(),
                )
            } else {
                Value::object(entries.into_iter().collect())
            }
        } else {
            Value::tuple(items)
        };
        Ok(v.mark_if(marked))
    }

    /// One element of a `for`: `None` when filtered out (or unknown),
    /// else the key (object `for`) and the value.
    fn for_item(
        &mut self,
        f: &ForExpr,
        known: &mut bool,
        marked: &mut bool,
    ) -> Result<Option<(Option<String>, Value)>> {
        if let Some(cond) = &f.cond {
            let c = self.eval(cond)?;
            let (c, m) = c.unmark();
            *marked |= m;
            if c.is_null() {
                return Err(EvalError::new(
                    "Invalid 'for' condition",
                    "The value of the 'if' clause must not be null.",
                ));
            }
            if !c.is_known() || c.has_opaque() {
                *known = false;
                return Ok(None);
            }
            let c = convert(c, &Type::Bool).map_err(|e| {
                EvalError::new(
                    "Invalid 'for' condition",
                    format!("The 'if' clause value is invalid: {e}."),
                )
            })?;
            if c.as_bool() != Some(true) {
                return Ok(None);
            }
        }
        let key = match &f.key {
            None => None,
            Some(ke) => {
                let k = self.eval(ke)?;
                let (k, m) = k.unmark();
                *marked |= m;
                if k.is_null() {
                    return Err(EvalError::new(
                        "Invalid object key",
                        "Key expression in 'for' expression must not produce a null value.",
                    ));
                }
                if !k.is_known() || k.has_opaque() {
                    *known = false;
                    return Ok(None);
                }
                let k = convert(k, &Type::String).map_err(|e| {
                    EvalError::new(
                        "Invalid object key",
                        format!("The key expression produced an invalid result: {e}."),
                    )
                })?;
                Some(k.as_str().unwrap_or_default().to_string())
            }
        };
        let v = self.eval(&f.value)?;
        Ok(Some((key, v)))
    }
}

/// The opaque result of an operation on opaque operands: named after the
/// operation and its operands, so the same operation on the same deployed
/// values is the same value.
fn opaque_op(ty: Type, op: &str, operands: &[&Value]) -> Value {
    let parts: Vec<String> = operands.iter().map(|v| crate::render::symbol(v)).collect();
    crate::render::opaque(ty, format!("({})", parts.join(&format!(" {op} "))))
}

/// Converts an operand, with Terraform's message when it cannot be.
fn to_operand(v: &Value, ty: &Type, side: &str) -> Result<Value> {
    if v.is_null() {
        return Err(EvalError::new(
            "Operation failed",
            "Error during operation: argument must not be null.",
        ));
    }
    convert(v, ty).map_err(|e| {
        EvalError::new(
            "Invalid operand",
            format!("Unsuitable value for {side} operand: {e}."),
        )
    })
}

fn unary(op: UnOp, v: &Value) -> Result<Value> {
    let ty = match op {
        UnOp::Neg => Type::Number,
        UnOp::Not => Type::Bool,
    };
    if v.is_null() {
        return Err(EvalError::new(
            "Operation failed",
            "Error during operation: argument must not be null.",
        ));
    }
    let c = convert(v, &ty).map_err(|e| {
        EvalError::new(
            "Invalid operand",
            format!("Unsuitable value for unary operand: {e}."),
        )
    })?;
    let (inner, marked) = c.unmark();
    let r = match (op, inner) {
        (UnOp::Neg, Value::Opaque(t, sym)) => Value::Opaque(t.clone(), format!("-<{sym}>").into()),
        (UnOp::Not, Value::Opaque(t, sym)) => Value::Opaque(t.clone(), format!("!<{sym}>").into()),
        (UnOp::Neg, Value::Number(n)) => Value::Number(n.neg()),
        (UnOp::Not, Value::Bool(b)) => Value::Bool(!b),
        _ => Value::Unknown(ty),
    };
    Ok(r.mark_if(marked))
}

/// The (key, value) pairs a `for` iterates: index and element for
/// sequences, key and element for mappings, element twice for sets.
pub fn elements(v: &Value) -> Option<Vec<(Value, Value)>> {
    match v {
        Value::List(_, items) | Value::Tuple(items) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| (Value::int(i as i64), x.clone()))
                .collect(),
        ),
        Value::Set(_, items) => Some(items.iter().map(|x| (x.clone(), x.clone())).collect()),
        Value::Map(_, m) | Value::Object(m) => Some(
            m.iter()
                .map(|(k, x)| (Value::string(k), x.clone()))
                .collect(),
        ),
        _ => None,
    }
}

/// The type of attribute `name` of a value of type `t` that is not known
/// (or not seen): an object's attribute type, a map's element type.
fn attr_type(t: &Type, name: &str) -> Result<Type> {
    match t {
        Type::Object(attrs) => attrs.get(name).cloned().ok_or_else(|| {
            EvalError::new(
                "Unsupported attribute",
                format!("This object does not have an attribute named {name:?}."),
            )
        }),
        Type::Map(e) => Ok((**e).clone()),
        Type::Dynamic => Ok(Type::Dynamic),
        other => Err(EvalError::new(
            "Unsupported attribute",
            format!(
                "Can't access attributes on a value of type {}.",
                other.friendly_name()
            ),
        )),
    }
}

/// `v.name`.
pub fn get_attr(v: &Value, name: &str) -> Result<Value> {
    let (inner, marked) = v.unmark();
    let r = match inner {
        Value::Null(_) => {
            return Err(EvalError::new(
                "Attempt to get attribute from null value",
                format!(
                "This value is null, so it does not have any attributes (looking for {name:?})."
            ),
            ))
        }
        Value::Unknown(t) => Value::Unknown(attr_type(t, name)?),
        Value::Partial(p) => p.attr(name),
        // an object or map rewind cannot see: its attribute neither
        Value::Opaque(t @ (Type::Dynamic | Type::Object(_) | Type::Map(_)), sym) => {
            Value::Opaque(attr_type(t, name)?, format!("{sym}.{name}").into())
        }
        Value::Object(m) => match m.get(name) {
            Some(x) => x.clone(),
            None => {
                return Err(EvalError::new(
                    "Unsupported attribute",
                    format!("This object does not have an attribute named {name:?}."),
                ))
            }
        },
        Value::Map(_, m) => match m.get(name) {
            Some(x) => x.clone(),
            None => {
                return Err(EvalError::new(
                    "Missing map element",
                    format!("This map does not have an element with the key {name:?}."),
                ))
            }
        },
        other => {
            return Err(EvalError::new(
                "Unsupported attribute",
                format!(
                    "Can't access attributes on a {}; looking for {name:?}.",
                    other.ty().friendly_name()
                ),
            ))
        }
    };
    Ok(r.mark_if(marked))
}

/// `v[key]`.
pub fn index(v: &Value, key: &Value) -> Result<Value> {
    let (inner, marked) = v.unmark();
    let (k, km) = key.unmark();
    let marked = marked || km;
    if k.is_null() {
        return Err(EvalError::new(
            "Invalid index",
            "Can't use a null value as an indexing key.",
        ));
    }
    if inner.is_null() {
        return Err(EvalError::new(
            "Attempt to index null value",
            "This value is null, so it does not have any indices.",
        ));
    }
    let r = match inner {
        Value::Opaque(_, sym) => match k {
            Value::String(_) | Value::Number(_) => Value::Opaque(
                Type::Dynamic,
                format!("{sym}[{}]", crate::render::inline(k)).into(),
            ),
            _ => Value::unknown(),
        },
        _ if matches!(k, Value::Opaque(..)) => Value::unknown(),
        Value::Partial(p) => match k {
            Value::String(s) => p.attr(s),
            Value::Number(n) => p.attr(&n.to_string()),
            Value::Unknown(_) => Value::unknown(),
            _ => {
                return Err(EvalError::new(
                    "Invalid index",
                    "The given key does not identify an element in this collection value: a string is required.",
                ))
            }
        },
        Value::Unknown(t) => Value::Unknown(element_type(t, k)),
        _ if !k.is_known() => Value::Unknown(match inner {
            Value::List(t, _) | Value::Map(t, _) => t.clone(),
            _ => Type::Dynamic,
        }),
        Value::List(_, items) | Value::Tuple(items) => index_sequence(items, k)?,
        Value::Map(_, m) | Value::Object(m) => index_mapping(m, k, km)?,
        Value::Set(..) => {
            return Err(EvalError::new(
                "Invalid index",
                "Elements of a set are identified only by their value and don't have any separate index or key to select with, so it's only possible to perform operations across all elements of the set.",
            ))
        }
        other => {
            return Err(EvalError::new(
                "Invalid index",
                format!("This value does not have any indices ({}).", other.ty().friendly_name()),
            ))
        }
    };
    Ok(r.mark_if(marked))
}

/// The type of `t[k]` for a value of type `t` not known yet: the element
/// type of a list or map, the type of a tuple's element or an object's
/// attribute `k` names; any type otherwise.
fn element_type(t: &Type, k: &Value) -> Type {
    match t {
        Type::List(e) | Type::Map(e) => (**e).clone(),
        Type::Tuple(es) => match k.as_number().and_then(Number::to_i64) {
            Some(i) if i >= 0 && (i as usize) < es.len() => es[i as usize].clone(),
            _ => Type::Dynamic,
        },
        Type::Object(attrs) => match k.as_str() {
            Some(name) => attrs.get(name).cloned().unwrap_or(Type::Dynamic),
            None => Type::Dynamic,
        },
        _ => Type::Dynamic,
    }
}

/// Element `k` (known, not null) of a list or tuple: `k` must convert to
/// a whole number inside it.
fn index_sequence(items: &[Value], k: &Value) -> Result<Value> {
    let n = convert(k, &Type::Number).map_err(|_| {
        EvalError::new(
            "Invalid index",
            "The given key does not identify an element in this collection value: a number is required.",
        )
    })?;
    let i = n.as_number().and_then(Number::to_i64);
    match i {
        Some(i) if i >= 0 && (i as usize) < items.len() => Ok(items[i as usize].clone()),
        _ => Err(EvalError::new(
            "Invalid index",
            format!(
                "The given key does not identify an element in this collection value{}.",
                if n.as_number().is_some_and(|n| !n.is_integer()) {
                    ": a whole number is required"
                } else {
                    ""
                }
            ),
        )),
    }
}

/// Element `k` (known, not null) of a map or object: `k` must convert to a
/// string it holds. The key is quoted in the error (as Terraform shows it
/// beside the message) unless it is `sensitive`.
fn index_mapping(
    m: &rewind_model::Map<String, Value>,
    k: &Value,
    sensitive: bool,
) -> Result<Value> {
    let s =
        convert(k, &Type::String).map_err(|e| EvalError::new("Invalid index", e.to_string()))?;
    let s = s.as_str().unwrap_or_default();
    match m.get(s) {
        Some(x) => Ok(x.clone()),
        None if sensitive => Err(EvalError::new(
            "Invalid index",
            "The given key does not identify an element in this collection value.",
        )),
        None => Err(EvalError::new(
            "Invalid index",
            format!("The given key does not identify an element in this collection value ({s:?})."),
        )),
    }
}

/// The prefix of a template's value HCL records when the rest is not known
/// (cty's `SafeKnownPrefix`): at most 128 bytes, and without a final
/// character that what follows could combine with (kept when it is one of
/// the delimiters cty knows end a grapheme cluster). Conservative for text
/// beyond ASCII: it stops before the first such character.
fn safe_prefix(mut s: String) -> String {
    let mut end = s.len().min(128);
    if let Some(i) = s.find(|c: char| !c.is_ascii()) {
        end = end.min(i);
    }
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    const DELIMITERS: &str = "-_:;/\\,.(){}[]|?!~ \t@#$%^&*+\"'";
    match s.chars().last() {
        Some(c) if DELIMITERS.contains(c) => {}
        Some(c) => {
            s.truncate(s.len() - c.len_utf8());
        }
        None => {}
    }
    s
}
