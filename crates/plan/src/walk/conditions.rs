//! Custom conditions, checked as `terraform plan` checks them: a
//! variable's `validation` rules, a resource's or data source's
//! `precondition` (before its instance is planned) and `postcondition`
//! (on the planned value, `self`), an output's `precondition`, and a
//! `check` block's `assert`s. A false condition fails the plan (a `check`
//! assertion only warns, as in Terraform); one whose value is known only
//! after apply is left for apply, as Terraform leaves it.
//!
//! Only the target's walk checks them ([`Walk::is_target`]): the current
//! configuration was applied, its conditions held then.
//!
//! An error message is shown unless it carries a secret: a value marked
//! sensitive, or read from anything rewind holds secret by its name (a
//! variable `db_password`), which Terraform would print.

use rewind_eval::{convert, Type, Value};
use rewind_model::expr::TravOp;

use crate::refs::each_reference;
use rewind_model::{InstanceAddr, Node, NodeKind, Value as Lit};

use super::{InstanceScope, Repetition, Walk};

/// A kind of rule; its block and the summary of Terraform's error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Rule {
    Validation,
    Precondition,
    Postcondition,
    OutputPrecondition,
    Assert,
}

impl Rule {
    fn block(self) -> &'static str {
        match self {
            Rule::Validation => "validation",
            Rule::Precondition | Rule::OutputPrecondition => "precondition",
            Rule::Postcondition => "postcondition",
            Rule::Assert => "assert",
        }
    }

    fn summary(self) -> &'static str {
        match self {
            Rule::Validation => "Invalid value for variable",
            Rule::Precondition => "Resource precondition failed",
            Rule::Postcondition => "Resource postcondition failed",
            Rule::OutputPrecondition => "Module output value precondition failed",
            Rule::Assert => "Check block assertion failed",
        }
    }

    /// The rule's blocks in a node's body (`lifecycle` holds a resource's).
    fn blocks(self, node: &Node) -> Vec<&rewind_model::Map<String, Lit>> {
        let holder = match self {
            Rule::Precondition | Rule::Postcondition => node.body.block("lifecycle"),
            _ => Some(node.body.as_ref()),
        };
        match holder.and_then(|h| h.get(self.block())) {
            Some(Lit::List(items)) => items.iter().filter_map(Lit::as_map).collect(),
            Some(Lit::Map(m)) => vec![m],
            _ => Vec::new(),
        }
    }
}

/// What the message of a failed rule says in place of one carrying a
/// secret (Terraform's words).
const SECRET_MESSAGE: &str =
    "The error message included a sensitive value, so it will not be displayed.";

/// How one rule came out.
enum Outcome {
    Holds,
    /// Not known until apply.
    Deferred,
    /// False: the (evaluated) error message.
    Fails(String),
    /// The condition cannot be evaluated, or is not a bool.
    Invalid(String),
}

impl Walk<'_> {
    /// Checks `rule`'s blocks of `node` in module instance `mid` (of its
    /// resource instance `instance`, with `this` as `self`: a
    /// postcondition's planned value). A failure is an error of the walk;
    /// a failed `check` assertion is a warning.
    pub(super) fn check_rules(
        &mut self,
        rule: Rule,
        node: &Node,
        mid: u32,
        rep: &Repetition,
        instance: Option<(&InstanceAddr, Value)>,
    ) {
        if !self.is_target {
            return;
        }
        let blocks = rule.blocks(node);
        if blocks.is_empty() {
            return;
        }
        let mut found = Vec::new();
        {
            let mut scope = self.scope(mid, rep.clone());
            scope.this = instance.as_ref().map(|(_, v)| v.clone());
            scope.secrets = Some(node);
            for (i, block) in blocks.iter().enumerate() {
                let outcome = self.rule_outcome(block, &scope);
                let place = rule_place(rule, node, i, blocks.len());
                match outcome {
                    Outcome::Holds | Outcome::Deferred => {}
                    Outcome::Fails(msg) => {
                        found.push(format!("{}: {msg} ({place})", rule.summary()))
                    }
                    Outcome::Invalid(why) => {
                        found.push(format!("Invalid condition result: {why} ({place})"))
                    }
                }
            }
        }
        let address = match &instance {
            Some((a, _)) => a.to_string(),
            None => self.instance_address(mid, node),
        };
        for message in found {
            if rule == Rule::Assert {
                let at = if node.loc.file.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", node.loc)
                };
                let note = format!("{address}{at}: {message}");
                if !self.warnings.contains(&note) {
                    self.warnings.push(note);
                }
            } else {
                self.error_at(address.clone(), node, message);
            }
        }
    }

    fn rule_outcome(
        &self,
        block: &rewind_model::Map<String, Lit>,
        scope: &InstanceScope,
    ) -> Outcome {
        let Some(cond) = block.get("condition") else {
            return Outcome::Invalid("the block has no condition".into());
        };
        let value = match self.eval_scoped(cond, scope) {
            Ok(v) => v,
            Err(e) => return Outcome::Invalid(e.to_string()),
        };
        let (v, _) = value.unmark();
        if !v.is_known() || v.has_opaque() {
            return Outcome::Deferred;
        }
        if v.is_null() {
            return Outcome::Invalid(
                "Condition expression must return either true or false, not null.".into(),
            );
        }
        match convert(v, &Type::Bool).map(|b| b.as_bool()) {
            Ok(Some(true)) => Outcome::Holds,
            Ok(Some(false)) => Outcome::Fails(self.rule_message(block, scope)),
            Ok(None) => Outcome::Deferred,
            Err(e) => Outcome::Invalid(format!("Invalid condition result value: {e}.")),
        }
    }

    /// The error message of a failed rule, evaluated; a message that
    /// carries a secret, is unknown or cannot be evaluated says so instead.
    fn rule_message(
        &self,
        block: &rewind_model::Map<String, Lit>,
        scope: &InstanceScope,
    ) -> String {
        let Some(m) = block.get("error_message") else {
            return "(the rule has no error_message)".into();
        };
        match self.eval_scoped(m, scope) {
            Ok(v) if v.has_marks() => SECRET_MESSAGE.into(),
            Ok(v) => match convert(&v, &Type::String) {
                Ok(s) => match s.as_str() {
                    Some(text) => text.trim_end().to_string(),
                    None => "(the error message is known only after apply)".into(),
                },
                Err(e) => format!("(the error message is not a string: {e})"),
            },
            Err(e) => format!("(the error message cannot be evaluated: {e})"),
        }
    }
}

/// Which rule it is, as a failure names it: `the validation rule`, `the
/// second precondition` (of several).
fn rule_place(rule: Rule, node: &Node, i: usize, of: usize) -> String {
    let what = match (rule, node.kind) {
        (Rule::Validation, _) => "validation rule",
        (_, NodeKind::Check) => "assertion",
        _ => rule.block(),
    };
    if of > 1 {
        format!("the {} {what}", ordinal(i + 1))
    } else {
        format!("the {what}")
    }
}

fn ordinal(n: usize) -> String {
    match n {
        1 => "first".into(),
        2 => "second".into(),
        3 => "third".into(),
        n => format!("{n}th"),
    }
}

impl InstanceScope<'_> {
    /// Whether a reference (`root` and its steps) reads something rewind
    /// holds secret, so that a rule's message quoting it is not shown:
    /// a variable, local, output or resource with a secret path, `self` or
    /// `each.value` of such a node, or a module output so named.
    pub(super) fn reads_secret(&self, node: &Node, root: &str, ops: &[TravOp]) -> bool {
        let secret = |i: usize| !self.walk.cfg.node(i).sensitive.is_empty();
        let name = |i: usize| match ops.get(i) {
            Some(TravOp::Attr(a)) => Some(a.as_str()),
            _ => None,
        };
        match root {
            "var" => name(0)
                .and_then(|n| self.index.vars.get(n))
                .is_some_and(|&i| secret(i)),
            "local" => name(0)
                .and_then(|n| self.index.locals.get(n))
                .is_some_and(|&i| secret(i)),
            "self" => !node.sensitive.is_empty(),
            "each" => {
                name(0) == Some("value")
                    && node
                        .body
                        .get("for_each")
                        .is_some_and(|fe| self.lit_reads_secret(node, fe))
            }
            "module" => {
                let Some(call) = name(0).and_then(|n| self.index.calls.get(n)) else {
                    return false;
                };
                let callee = self.walk.cfg.module(&self.walk.cfg.node(*call).address);
                match name(1) {
                    Some(out) => callee.outputs.get(out).is_some_and(|&i| secret(i)),
                    None => callee.outputs.values().any(|&i| secret(i)),
                }
            }
            "count" | "path" | "terraform" => false,
            "data" => name(0)
                .zip(name(1))
                .and_then(|(t, n)| self.index.data.get(t)?.get(n))
                .is_some_and(|&i| secret(i)),
            "resource" => name(0)
                .zip(name(1))
                .and_then(|(t, n)| self.index.managed.get(t)?.get(n))
                .is_some_and(|&i| secret(i)),
            type_ => name(0)
                .and_then(|n| self.index.managed.get(type_)?.get(n))
                .is_some_and(|&i| secret(i)),
        }
    }

    /// Whether any reference in a configuration value reads a secret.
    fn lit_reads_secret(&self, node: &Node, v: &Lit) -> bool {
        match v {
            Lit::Expr(e) => {
                let mut found = false;
                each_reference(e, &mut |root, ops| {
                    found = found || self.reads_secret(node, root, ops);
                });
                found
            }
            Lit::List(items) => items.iter().any(|i| self.lit_reads_secret(node, i)),
            Lit::Map(m) => m.values().any(|i| self.lit_reads_secret(node, i)),
            _ => false,
        }
    }
}
