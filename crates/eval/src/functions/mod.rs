//! Terraform's built-in functions.
//!
//! Each function has a `Spec`: its parameters (type, and whether null,
//! unknown and sensitive arguments reach the implementation), its return
//! type and its implementation. `call` does what cty does around every
//! call: converts the arguments to the parameter types, returns an
//! unknown value of the return type when an argument is unknown, and marks
//! the result sensitive when an argument was.

use rewind_model::expr::Expr;

use crate::convert::convert;
use crate::expr::{EvalError, Evaluator, Result};
use crate::types::Type;
use crate::value::Value;

/// A parameter type.
#[derive(Clone, Copy, Debug)]
pub(crate) enum P {
    Any,
    Bool,
    Number,
    String,
    ListOf(&'static P),
    SetOf(&'static P),
    MapOf(&'static P),
}

impl P {
    pub fn to_type(self) -> Type {
        match self {
            P::Any => Type::Dynamic,
            P::Bool => Type::Bool,
            P::Number => Type::Number,
            P::String => Type::String,
            P::ListOf(e) => Type::list(e.to_type()),
            P::SetOf(e) => Type::set(e.to_type()),
            P::MapOf(e) => Type::map(e.to_type()),
        }
    }
}

/// Null arguments reach the implementation.
pub(crate) const NULL_OK: u8 = 1;
/// Unknown arguments reach the implementation.
pub(crate) const UNKNOWN_OK: u8 = 2;
/// Sensitive arguments reach the implementation with their marks (the
/// implementation marks its result itself).
pub(crate) const MARKED_OK: u8 = 4;
/// A `P::Any` parameter accepts a value whose type is not decided yet (an
/// untyped `null`); without it such an argument makes the call's result
/// unknown, as cty's `AllowDynamicType`.
pub(crate) const DYN_OK: u8 = 8;

/// One parameter.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Param {
    pub name: &'static str,
    pub ty: P,
    pub flags: u8,
}

/// A parameter (a macro, so that parameter lists are constants).
macro_rules! p {
    ($name:expr, $ty:expr) => {
        Param {
            name: $name,
            ty: $ty,
            flags: 0,
        }
    };
}

/// A parameter with flags.
macro_rules! pf {
    ($name:expr, $ty:expr, $flags:expr) => {
        Param {
            name: $name,
            ty: $ty,
            flags: $flags,
        }
    };
}

mod collection;
mod crypto;
mod datetime;
mod encoding;
mod fs;
mod ipnet;
mod numeric;
mod string;
mod template;
mod typeconv;
mod yaml;
mod yamldecode;

pub use fs::glob_match;

/// How a function's implementation is called.
pub(crate) type Impl = fn(&mut Evaluator, &[Value]) -> Result<Value>;

/// A function.
#[derive(Clone, Copy)]
pub(crate) struct Spec {
    pub params: &'static [Param],
    pub var_param: Option<Param>,
    /// The result type for these (converted) arguments; used for the
    /// unknown result of a call with unknown arguments.
    pub ret: fn(&[Value]) -> Type,
    /// True when the implementation handles arguments that are only partly
    /// known (a list with an unknown element); otherwise such a call gives
    /// an unknown result.
    pub partial: bool,
    pub imp: Impl,
}

pub(crate) fn ret_string(_: &[Value]) -> Type {
    Type::String
}
pub(crate) fn ret_number(_: &[Value]) -> Type {
    Type::Number
}
pub(crate) fn ret_bool(_: &[Value]) -> Type {
    Type::Bool
}
pub(crate) fn ret_dynamic(_: &[Value]) -> Type {
    Type::Dynamic
}
pub(crate) fn ret_list_string(_: &[Value]) -> Type {
    Type::list(Type::String)
}
/// A function of fixed parameters whose arguments must be wholly known.
pub(crate) fn fixed(params: &'static [Param], ret: fn(&[Value]) -> Type, imp: Impl) -> Spec {
    Spec {
        params,
        var_param: None,
        ret,
        partial: false,
        imp,
    }
}

/// A function of fixed parameters followed by any number of `var_param`
/// arguments; `partial` as [`Spec::partial`].
pub(crate) fn variadic(
    params: &'static [Param],
    var_param: Param,
    ret: fn(&[Value]) -> Type,
    partial: bool,
    imp: Impl,
) -> Spec {
    Spec {
        params,
        var_param: Some(var_param),
        ret,
        partial,
        imp,
    }
}

/// The type of the first argument.
pub(crate) fn ret_first(args: &[Value]) -> Type {
    args.first().map(Value::ty).unwrap_or(Type::Dynamic)
}

/// Finds a function by name.
fn lookup(name: &str) -> Option<Spec> {
    typeconv::lookup(name)
        .or_else(|| collection::lookup(name))
        .or_else(|| string::lookup(name))
        .or_else(|| numeric::lookup(name))
        .or_else(|| encoding::lookup(name))
        .or_else(|| crypto::lookup(name))
        .or_else(|| fs::lookup(name))
        .or_else(|| datetime::lookup(name))
        .or_else(|| ipnet::lookup(name))
}

/// Functions whose result cannot be known before apply (they read the
/// clock, make random values, or use a random salt): their calls are
/// unknown, as Terraform plans them.
const APPLY_TIME: &[&str] = &["timestamp", "uuid", "bcrypt", "plantimestamp"];

/// Functions rewind does not evaluate although they are pure: their calls
/// give an unknown value and a note (docs/functions.md says why).
#[cfg(test)]
pub(crate) const NOT_EVALUATED: &[&str] = &["base64gzip", "rsadecrypt"];

/// The names of the functions this evaluator implements (checked against
/// Terraform's list by the tests).
#[cfg(test)]
pub(crate) fn implemented() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = typeconv::NAMES
        .iter()
        .chain(collection::NAMES)
        .chain(string::NAMES)
        .chain(numeric::NAMES)
        .chain(encoding::NAMES)
        .chain(crypto::NAMES)
        .chain(fs::NAMES)
        .chain(datetime::NAMES)
        .chain(ipnet::NAMES)
        .copied()
        .chain(["try", "can", "templatestring"])
        .collect();
    names.sort_unstable();
    names
}

/// Every function Terraform 1.11 has (the built-in provider's namespaced
/// functions aside).
pub(crate) const TERRAFORM_FUNCTIONS: &[&str] = &[
    "abs",
    "abspath",
    "alltrue",
    "anytrue",
    "base64decode",
    "base64encode",
    "base64gzip",
    "base64sha256",
    "base64sha512",
    "basename",
    "bcrypt",
    "can",
    "ceil",
    "chomp",
    "chunklist",
    "cidrhost",
    "cidrnetmask",
    "cidrsubnet",
    "cidrsubnets",
    "coalesce",
    "coalescelist",
    "compact",
    "concat",
    "contains",
    "csvdecode",
    "dirname",
    "distinct",
    "element",
    "endswith",
    "ephemeralasnull",
    "file",
    "filebase64",
    "filebase64sha256",
    "filebase64sha512",
    "fileexists",
    "filemd5",
    "fileset",
    "filesha1",
    "filesha256",
    "filesha512",
    "flatten",
    "floor",
    "format",
    "formatdate",
    "formatlist",
    "indent",
    "index",
    "issensitive",
    "join",
    "jsondecode",
    "jsonencode",
    "keys",
    "length",
    "log",
    "lookup",
    "lower",
    "matchkeys",
    "max",
    "md5",
    "merge",
    "min",
    "nonsensitive",
    "one",
    "parseint",
    "pathexpand",
    "plantimestamp",
    "pow",
    "range",
    "regex",
    "regexall",
    "replace",
    "reverse",
    "rsadecrypt",
    "sensitive",
    "setintersection",
    "setproduct",
    "setsubtract",
    "setunion",
    "sha1",
    "sha256",
    "sha512",
    "signum",
    "slice",
    "sort",
    "split",
    "startswith",
    "strcontains",
    "strrev",
    "substr",
    "sum",
    "templatefile",
    "templatestring",
    "textdecodebase64",
    "textencodebase64",
    "timeadd",
    "timecmp",
    "timestamp",
    "title",
    "tobool",
    "tolist",
    "tomap",
    "tonumber",
    "toset",
    "tostring",
    "transpose",
    "trim",
    "trimprefix",
    "trimspace",
    "trimsuffix",
    "try",
    "upper",
    "urlencode",
    "uuid",
    "uuidv5",
    "values",
    "yamldecode",
    "yamlencode",
    "zipmap",
];

/// Calls the function `name` with argument expressions `args`.
pub(crate) fn call(
    ev: &mut Evaluator,
    name: &str,
    args: &[Expr],
    expand_final: bool,
) -> Result<Value> {
    let name = name.strip_prefix("core::").unwrap_or(name);
    match name {
        "try" => return try_fn(ev, args),
        "can" => return can_fn(ev, args),
        "templatestring" => return template::templatestring(ev, args),
        _ => {}
    }
    if let Some(e) = template::refused(name) {
        return Err(e);
    }
    let vals = evaluate_args(ev, args, expand_final)?;
    let vals = match vals {
        Some(v) => v,
        None => return Ok(Value::unknown()),
    };
    if APPLY_TIME.contains(&name) {
        let ty = if name == "bcrypt" || name == "uuid" || name.ends_with("timestamp") {
            Type::String
        } else {
            Type::Dynamic
        };
        return Ok(Value::Unknown(ty).mark_if(vals.iter().any(Value::has_marks)));
    }
    if name == "startswith" && vals.len() == 2 && !expand_final {
        if let Some(v) = startswith_refined(ev, &args[0], &vals) {
            return Ok(v);
        }
    }
    match lookup(name) {
        Some(f) => {
            let v = call_spec(ev, name, &f, Some(vals))?;
            // what a function built counts, but not a file read whole: it
            // is as large as a file the configuration has (a bundle given
            // to `filebase64`), not a value grown by evaluation
            if !READ_WHOLE.contains(&name) {
                ev.spend_result(&v)?;
            }
            Ok(v)
        }
        None if TERRAFORM_FUNCTIONS.contains(&name) || name.starts_with("provider::") => {
            ev.note(format!(
                "function {name}() is not evaluated by rewind: its result is a value rewind cannot see (the same for the same arguments)"
            ));
            Ok(ev.opaque_call(name, &vals, Type::Dynamic))
        }
        None => Err(EvalError::new(
            "Call to unknown function",
            format!("There is no function named {name:?}."),
        )),
    }
}

/// `startswith(str, prefix)` when `str` is not known yet (or is a deployed
/// value rewind cannot see) but is a template with a known prefix, as
/// Terraform's function reads cty's refinement; `None` when that does not
/// decide it.
fn startswith_refined(ev: &mut Evaluator, str_expr: &Expr, vals: &[Value]) -> Option<Value> {
    let (s, m1) = vals[0].unmark();
    let (prefix, m2) = vals[1].unmark();
    let Value::String(prefix) = prefix else {
        return None;
    };
    if s.is_null() || (s.is_wholly_known() && !s.has_opaque()) {
        return None;
    }
    let marked = m1 || m2;
    if prefix.is_empty() && !s.is_known() {
        return Some(Value::Bool(true).mark_if(marked));
    }
    let known = ev.known_prefix(str_expr).filter(|k| !k.is_empty())?;
    if known.starts_with(&**prefix) {
        return Some(Value::Bool(true).mark_if(marked));
    }
    (known.len() >= prefix.len()).then(|| Value::Bool(false).mark_if(marked))
}

/// Functions whose result is a file's content, read whole.
const READ_WHOLE: &[&str] = &["file", "filebase64"];

/// Evaluates call arguments, expanding a final `...` argument; `None` when
/// the expanded argument is unknown (so is the call's result).
fn evaluate_args(
    ev: &mut Evaluator,
    args: &[Expr],
    expand_final: bool,
) -> Result<Option<Vec<Value>>> {
    let mut vals = Vec::with_capacity(args.len());
    for a in args {
        vals.push(ev.eval(a)?);
    }
    if expand_final {
        let last = vals.pop().ok_or_else(|| {
            EvalError::new(
                "Missing final argument",
                "The ... symbol expands the last argument; there is none.",
            )
        })?;
        let (inner, marked) = last.unmark();
        if !inner.is_known() {
            return Ok(None);
        }
        match inner.as_seq() {
            Some(items) => vals.extend(items.iter().map(|v| v.clone().mark_if(marked))),
            None => return Err(EvalError::new(
                "Invalid expanding argument value",
                "The expanding argument (indicated by ...) must be of a tuple, list, or set type.",
            )),
        }
    }
    Ok(Some(vals))
}

fn call_spec(ev: &mut Evaluator, name: &str, f: &Spec, vals: Option<Vec<Value>>) -> Result<Value> {
    let Some(vals) = vals else {
        return Ok(Value::unknown());
    };
    let n = f.params.len();
    if vals.len() < n {
        return Err(EvalError::new(
            "Not enough function arguments",
            format!(
                "Function {name:?} expects {} argument(s). Missing value for {:?}.",
                n,
                f.params[vals.len()].name
            ),
        ));
    }
    if vals.len() > n && f.var_param.is_none() {
        return Err(EvalError::new(
            "Too many function arguments",
            format!("Function {name:?} expects only {n} argument(s)."),
        ));
    }
    let mut args = Vec::with_capacity(vals.len());
    let mut marked = false;
    let mut unknown = false;
    let mut dynamic = false;
    for (i, v) in vals.into_iter().enumerate() {
        let param = if i < n {
            f.params[i]
        } else {
            f.var_param.expect("checked above")
        };
        // an object known in part is, to a function, what it stands for
        // (its result depends on the attributes rewind does not see)
        let v = match v.unmark() {
            (Value::Partial(p), m) => p.rest.clone().mark_if(m),
            _ => v,
        };
        if v.is_null() && param.flags & NULL_OK == 0 {
            return Err(EvalError::new(
                "Invalid function argument",
                format!(
                    "Invalid value for {:?} parameter: argument must not be null.",
                    param.name
                ),
            ));
        }
        if matches!(param.ty, P::Any) && param.flags & DYN_OK == 0 && v.ty() == Type::Dynamic {
            dynamic = true;
        }
        let v = convert(&v, &param.ty.to_type()).map_err(|e| {
            EvalError::new(
                "Invalid function argument",
                format!("Invalid value for {:?} parameter: {e}.", param.name),
            )
        })?;
        let v = if param.flags & MARKED_OK == 0 {
            let (v, m) = v.unmark_deep();
            marked |= m;
            v
        } else {
            v
        };
        if param.flags & UNKNOWN_OK == 0 && (!v.is_known() || (!f.partial && !v.is_wholly_known()))
        {
            unknown = true;
        }
        args.push(v);
    }
    if dynamic {
        return Ok(Value::unknown().mark_if(marked));
    }
    if unknown {
        return Ok(Value::Unknown((f.ret)(&args)).mark_if(marked));
    }
    // an operation on values rewind cannot see: a value it cannot see
    // either, named after the call
    // (coalesce() looks at its arguments in order: one it cannot see after
    // the one that decides does not matter)
    if name != "coalesce"
        && args
            .iter()
            .any(|a| a.is_opaque() || (!f.partial && a.has_opaque()))
    {
        let parts: Vec<String> = args.iter().map(crate::render::symbol).collect();
        let sym = format!("{name}({})", parts.join(", "));
        return Ok(crate::render::opaque((f.ret)(&args), sym).mark_if(marked));
    }
    let r = (f.imp)(ev, &args).map_err(|e| call_error(name, e, marked))?;
    Ok(r.mark_if(marked))
}

/// A function's error as a call's: named after the function, and not
/// quoting a sensitive argument (`marked`: one was): the reason may quote
/// it (`failed to decode base64 data "..."`).
fn call_error(name: &str, e: EvalError, marked: bool) -> EvalError {
    if e.summary == "Evaluation limit" {
        // rewind's limit, not the function's failure: it stays one (which
        // try() and can() do not catch), and it quotes no argument
        e
    } else if marked {
        // the reason may quote the argument (`failed to decode base64
        // data "..."`): what it says of a secret is not shown
        let summary = if e.summary == "Invalid function argument" {
            e.summary
        } else {
            "Error in function call".to_string()
        };
        EvalError::new(
            summary,
            format!(
                "Call to function {name:?} failed on a sensitive argument (the reason would show its value)."
            ),
        )
    } else if e.summary == "Invalid function argument" || e.summary.starts_with("Error in function")
    {
        e
    } else {
        EvalError::new(
            "Error in function call",
            format!("Call to function {name:?} failed: {}", e.detail),
        )
    }
}

/// `try(a, b, ...)`: the first argument that evaluates without error; an
/// unknown result when the first that does is not wholly known.
fn try_fn(ev: &mut Evaluator, args: &[Expr]) -> Result<Value> {
    if args.is_empty() {
        return Err(EvalError::new(
            "Invalid function argument",
            "at least one argument is required",
        ));
    }
    let mut last = None;
    for a in args {
        match ev.eval(a) {
            Ok(v) => {
                if !v.is_wholly_known() {
                    return Ok(Value::unknown().mark_if(v.has_marks()));
                }
                return Ok(v);
            }
            Err(e) if e.summary == "Evaluation limit" => return Err(e),
            Err(e) => last = Some(e),
        }
    }
    Err(EvalError::new(
        "Error in function call",
        format!(
            "Call to function \"try\" failed: no expression succeeded: {}",
            last.map(|e| e.to_string()).unwrap_or_default()
        ),
    ))
}

/// `can(x)`: whether `x` evaluates without error (unknown when it is not
/// wholly known yet).
fn can_fn(ev: &mut Evaluator, args: &[Expr]) -> Result<Value> {
    if args.len() != 1 {
        return Err(EvalError::new(
            "Invalid function argument",
            "Function \"can\" expects exactly one argument.",
        ));
    }
    match ev.eval(&args[0]) {
        Ok(v) if !v.is_wholly_known() => Ok(Value::Unknown(Type::Bool)),
        Ok(_) => Ok(Value::Bool(true)),
        Err(e) if e.summary == "Evaluation limit" => Err(e),
        Err(_) => Ok(Value::Bool(false)),
    }
}

/// Helpers for implementations: arguments already converted and known.
pub(crate) fn arg_str(args: &[Value], i: usize) -> &str {
    args.get(i).and_then(Value::as_str).unwrap_or_default()
}

pub(crate) fn arg_num(args: &[Value], i: usize) -> crate::Number {
    args.get(i)
        .and_then(Value::as_number)
        .cloned()
        .unwrap_or_else(crate::Number::zero)
}

pub(crate) fn arg_seq(args: &[Value], i: usize) -> &[Value] {
    args.get(i).and_then(Value::as_seq).unwrap_or_default()
}

/// An argument that must be a whole number that fits an `i64` (Go's
/// `int`); otherwise the error cty's conversion gives, which Terraform
/// reports as a failed call (the callers whose functions report it as an
/// invalid argument say so themselves).
pub(crate) fn arg_int(args: &[Value], i: usize, what: &str) -> Result<i64> {
    let n = arg_num(args, i);
    n.to_i64().ok_or_else(|| {
        fail(if n.is_integer() {
            format!("{what}: value must be a whole number, between -9223372036854775808 and 9223372036854775807")
        } else {
            format!("{what}: value must be a whole number, between -9223372036854775808 and 9223372036854775807 (got {n})")
        })
    })
}

/// An error Terraform reports against one argument.
pub(crate) fn arg_fail(param: &str, msg: impl std::fmt::Display) -> EvalError {
    EvalError::new(
        "Invalid function argument",
        format!("Invalid value for {param:?} parameter: {msg}."),
    )
}

pub(crate) fn fail(msg: impl Into<String>) -> EvalError {
    EvalError::new("Error in function call", msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `x` is a value rewind cannot see, `t` a template.
    struct OpaqueScope;

    impl crate::expr::Scope for OpaqueScope {
        fn resolve(
            &self,
            root: &str,
            _ops: &[rewind_model::expr::TravOp],
            _ev: &mut Evaluator,
        ) -> Result<(Value, usize)> {
            match root {
                "x" => Ok((Value::Opaque(Type::String, "a.b.id".into()), 0)),
                "t" => Ok((Value::string("<${v}>"), 0)),
                _ => Err(EvalError::new("Unknown variable", root.to_string())),
            }
        }
    }

    /// `src` evaluated in [`OpaqueScope`].
    fn eval_src(src: &str) -> Result<Value> {
        let e = rewind_parse::hcl::parse_expression(src)
            .unwrap()
            .canonical();
        Evaluator::new(&OpaqueScope).eval(&e)
    }

    /// A function's error on a sensitive argument does not quote it; the
    /// same call on a plain argument says why it failed.
    #[test]
    fn errors_on_sensitive_arguments_do_not_quote_them() {
        let error = |src: &str| {
            let e = eval_src(src).unwrap_err();
            format!("{}: {}", e.summary, e.detail)
        };
        for src in [
            r#"base64decode(sensitive("hunter2!"))"#,
            r#"cidrhost(sensitive("hunter2/99"), 1)"#,
            r#"jsondecode(sensitive("{hunter2"))"#,
            r#"base64decode(join("", [sensitive("hunter2!")]))"#,
        ] {
            let e = error(src);
            assert!(!e.contains("hunter2"), "{src}: {e}");
            assert!(e.contains("sensitive argument"), "{src}: {e}");
        }
        assert!(error(r#"base64decode("hunter2!")"#).contains("hunter2"));
    }

    #[test]
    fn calls_on_values_rewind_cannot_see_are_opaque() {
        let eval = |src: &str| eval_src(src).unwrap();
        for src in [
            r#"format("%s-%v", "a", [x])"#,
            r#"templatestring(t, {v = x})"#,
            r#"formatlist("%s", [x])[0]"#,
            r#"yamlencode({a = x})"#,
            r#"md5(x)"#,
        ] {
            assert!(matches!(eval(src), Value::Opaque(..)), "{src}");
        }
        assert_eq!(
            eval(r#"templatestring(t, {v = "y"})"#),
            Value::string("<y>")
        );
    }

    /// Every function of Terraform is evaluated, or deliberately unknown
    /// (apply-time or not evaluated), and nothing else is claimed.
    #[test]
    fn every_terraform_function_is_accounted_for() {
        let done = implemented();
        for name in TERRAFORM_FUNCTIONS {
            let evaluated = done.contains(name);
            let unknown = APPLY_TIME.contains(name) || NOT_EVALUATED.contains(name);
            assert!(
                evaluated != unknown,
                "{name}: evaluated {evaluated}, unknown {unknown}"
            );
        }
        for name in &done {
            assert!(
                TERRAFORM_FUNCTIONS.contains(name),
                "{name} is no Terraform function"
            );
            assert!(
                lookup(name).is_some() || ["try", "can", "templatestring"].contains(name),
                "{name} has no implementation"
            );
        }
    }
}
