//! Rendering of templates for `templatefile` and `templatestring`: the
//! template sees only the variables it is given (a reference to anything
//! else is an error before anything is evaluated), cannot call the
//! template functions, and a `templatestring` template cannot read files.

use rewind_model::Map;
use std::cell::Cell;

use rewind_model::expr::{Part, TravOp};

use super::*;
use crate::expr::{Files, Scope};

thread_local! {
    /// Inside a template being rendered: `Some(may read files)`.
    static INSIDE: Cell<Option<bool>> = const { Cell::new(None) };
}

/// The functions that render templates (refused inside a template).
pub(super) const TEMPLATE_FUNCTIONS: &[&str] = &["templatefile", "templatestring"];

/// Why a call of `name` is refused where it is made: template functions
/// inside a template, file functions inside a `templatestring` template.
pub(super) fn refused(name: &str) -> Option<EvalError> {
    let inside = INSIDE.with(Cell::get)?;
    if TEMPLATE_FUNCTIONS.contains(&name) {
        return Some(fail(format!(
            "cannot recursively call {name} from inside another template function"
        )));
    }
    if !inside && super::fs::READ_FILES.contains(&name) {
        return Some(fail(format!(
            "cannot use filesystem access functions like {name} in templatestring templates; consider passing the function result as a template variable instead"
        )));
    }
    None
}

/// Restores the template state when a rendering ends.
struct Guard(Option<bool>);

impl Drop for Guard {
    fn drop(&mut self) {
        INSIDE.with(|c| c.set(self.0));
    }
}

/// The scope of a template: its variables, and the caller's files.
struct TemplateScope<'a> {
    vars: &'a Map<String, Value>,
    files: Option<&'a dyn Files>,
}

impl Scope for TemplateScope<'_> {
    fn resolve(&self, root: &str, _ops: &[TravOp], _ev: &mut Evaluator) -> Result<(Value, usize)> {
        match self.vars.get(root) {
            Some(v) => Ok((v.clone(), 0)),
            None => Err(EvalError::new(
                "Unknown variable",
                format!("There is no variable named {root:?}."),
            )),
        }
    }

    fn files(&self) -> Option<&dyn Files> {
        self.files
    }
}

/// Renders a parsed template with `vars` (a map or object, unmarked) as
/// its only variables; `allow_fs` for `templatefile`.
pub(super) fn render(
    ev: &mut Evaluator,
    parts: &[Part],
    vars: &Value,
    allow_fs: bool,
) -> Result<Value> {
    let vars = match vars.unmark().0 {
        Value::Map(_, m) | Value::Object(m) => m,
        _ => {
            return Err(EvalError::new(
                "Invalid function argument",
                "Invalid value for \"vars\" parameter: invalid vars value: must be a map.",
            ))
        }
    };
    for name in vars.keys() {
        if !valid_ident(name) {
            return Err(EvalError::new(
                "Invalid function argument",
                format!("Invalid value for \"vars\" parameter: invalid template variable name {}: must start with a letter, followed by zero or more letters, digits, and underscores.", crate::render::go_quote(name)),
            ));
        }
    }
    let expr = Expr::Template(parts.to_vec()).canonical();
    let mut refs = Vec::new();
    rewind_parse::hcl::collect_refs(&expr, &[], &mut refs);
    if let Some(missing) = refs
        .iter()
        .map(|r| &r.root)
        .find(|r| !vars.contains_key(*r))
    {
        return Err(EvalError::new(
            "Invalid function argument",
            format!(
                "Invalid value for \"vars\" parameter: vars map does not contain key {}.",
                crate::render::go_quote(missing)
            ),
        ));
    }
    let scope = TemplateScope {
        vars,
        files: ev.scope().files(),
    };
    let before = INSIDE.with(|c| c.replace(Some(allow_fs)));
    let _guard = Guard(before);
    let mut inner = Evaluator::new(&scope);
    let r = inner.eval(&expr);
    for n in std::mem::take(&mut inner.notes) {
        ev.note(n);
    }
    let v = r?;
    if v.is_null() {
        return Err(EvalError::new(
            "Template result is null",
            "The result of the template is null, which is not a valid result for a templatestring call.",
        ));
    }
    Ok(v)
}

/// HCL's identifiers (`hclsyntax.ValidIdentifier`, which Terraform checks
/// template variable names with): a letter or `_`, then letters, digits,
/// `_` and `-`.
fn valid_ident(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// `templatestring(template, vars)`: `template` must be a reference to a
/// string that holds the template (not a template itself).
pub(super) fn templatestring(ev: &mut Evaluator, args: &[Expr]) -> Result<Value> {
    if let Some(e) = refused("templatestring") {
        return Err(e);
    }
    if args.len() != 2 {
        return Err(EvalError::new(
            if args.len() < 2 {
                "Not enough function arguments"
            } else {
                "Too many function arguments"
            },
            "Function \"templatestring\" expects 2 argument(s).",
        ));
    }
    let arg_err = |msg: &str| {
        EvalError::new(
            "Invalid function argument",
            format!("Invalid value for \"template\" parameter: {msg}."),
        )
    };
    match &args[0] {
        Expr::Template(parts) => {
            return Err(arg_err(if matches!(parts.as_slice(), [Part::Lit(_)] | []) {
                "invalid template expression: templatestring is only for rendering templates retrieved dynamically from elsewhere, and so does not support providing a literal template; consider using a template string expression instead"
            } else {
                "invalid template expression: templatestring is only for rendering templates retrieved dynamically from elsewhere; to render an inline template, consider using a plain template string expression"
            }))
        }
        e if !is_reference(e) => {
            return Err(arg_err("invalid template expression: must be a direct reference to a single string from elsewhere, containing valid Terraform template syntax"))
        }
        _ => {}
    }
    let tmpl = ev.eval(&args[0])?;
    let vars = ev.eval(&args[1])?;
    let (t, tm) = tmpl.unmark();
    if vars.is_null() {
        return Err(EvalError::new(
            "Invalid function argument",
            "Invalid value for \"vars\" parameter: argument must not be null.",
        ));
    }
    let (vars, vm) = vars.unmark_deep();
    if !t.is_known() || !vars.is_known() {
        return Ok(Value::Unknown(Type::String).mark_if(tm || vm));
    }
    if t.is_null() || t.ty() != Type::String {
        return Err(arg_err("invalid template value: a string is required"));
    }
    // a template or variables rewind cannot see: a value it cannot see
    if t.is_opaque() || vars.has_opaque() {
        let sym = format!(
            "templatestring({}, {})",
            crate::render::symbol(t),
            crate::render::symbol(&vars)
        );
        return Ok(crate::render::opaque(Type::String, sym).mark_if(tm || vm));
    }
    let parts = rewind_parse::hcl::parse_template(t.as_str().unwrap_or_default())
        .map_err(|e| arg_err(&format!("invalid template: {e:?}")))?;
    let v = render(ev, &parts, &vars, false)?;
    let v = crate::convert::convert(&v, &Type::String)
        .map_err(|e| fail(format!("invalid template result: {e}")))?;
    Ok(v.mark_if(tm || vm))
}

/// A reference (a variable and its traversal, possibly indexed or
/// splatted), as `templatestring` requires.
fn is_reference(e: &Expr) -> bool {
    match e {
        Expr::Traversal { .. } => true,
        Expr::Postfix(inner, _) | Expr::Paren(inner) => is_reference(inner),
        _ => false,
    }
}
