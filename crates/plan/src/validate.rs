//! What `terraform validate` refuses in a configuration, and rewind used
//! only to warn about (or not notice): checked on the target before a
//! plan, each an error as Terraform 1.11 words it.
//!
//! * `count` and `for_each` on one resource or module call;
//! * an argument or block `terraform_data` does not have;
//! * a `depends_on` naming an undeclared resource, data source or module
//!   call, or an attribute of one;
//! * a module `source` that is not a literal string;
//! * a `moved` block whose `from` (a whole resource or module call) is
//!   still declared.

use std::collections::HashSet;

use rewind_model::expr::{Expr, TravOp};
use rewind_model::{Model, Node, NodeKind, Value as Lit};

use crate::PlanError;

/// `terraform_data`'s arguments besides the meta-arguments.
const TERRAFORM_DATA_ARGS: &[&str] = &["input", "triggers_replace"];

/// Meta-arguments and blocks every resource may have.
const RESOURCE_META: &[&str] = &[
    "count",
    "for_each",
    "provider",
    "depends_on",
    "lifecycle",
    "provisioner",
    "connection",
];

/// The target's configuration as `terraform validate` takes it: its
/// errors, sorted, as one [`PlanError::Invalid`].
pub(crate) fn check(target: &Model) -> Result<(), PlanError> {
    let mut invalid = errors(target);
    if invalid.is_empty() {
        return Ok(());
    }
    invalid.sort();
    invalid.dedup();
    Err(PlanError::Invalid(invalid))
}

/// Every error of the target's configuration, `ADDRESS (FILE:LINE):
/// SUMMARY: DETAIL` each.
pub(crate) fn errors(target: &Model) -> Vec<String> {
    let declared: HashSet<&str> = target
        .nodes
        .iter()
        .filter(|n| {
            matches!(
                n.kind,
                NodeKind::Resource | NodeKind::Data | NodeKind::Module
            )
        })
        .map(|n| n.address.as_str())
        .collect();
    let mut out = Vec::new();
    for n in &target.nodes {
        let mut say = |summary: &str, detail: String| {
            out.push(if n.loc.file.is_empty() {
                format!("{}: {summary}: {detail}", n.address)
            } else {
                format!("{} ({}): {summary}: {detail}", n.address, n.loc)
            });
        };
        match n.kind {
            NodeKind::Resource | NodeKind::Data | NodeKind::Module => {
                if n.body.get("count").is_some() && n.body.get("for_each").is_some() {
                    say(
                        "Invalid combination of \"count\" and \"for_each\"",
                        "The \"count\" and \"for_each\" meta-arguments are mutually-exclusive, only one should be used to be explicit about the number of resources to be created.".into(),
                    );
                }
                for (summary, detail) in depends_on_errors(n, &declared) {
                    say(summary, detail);
                }
            }
            NodeKind::Moved => {
                if let Some(detail) = moved_from_declared(n, &declared) {
                    say("Moved object still exists", detail);
                }
            }
            _ => {}
        }
        if n.kind == NodeKind::Resource && n.type_ == "terraform_data" {
            for (summary, detail) in terraform_data_errors(n) {
                say(summary, detail);
            }
        }
        if n.kind == NodeKind::Module && matches!(n.body.get("source"), Some(Lit::Expr(_))) {
            say(
                "Variables not allowed",
                "A module's source must be a literal string: Terraform installs modules before it evaluates anything.".into(),
            );
        }
    }
    out
}

/// The arguments and blocks of a `terraform_data` it does not have.
fn terraform_data_errors(n: &Node) -> Vec<(&'static str, String)> {
    let Some(body) = n.body.as_map() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, v) in body {
        if TERRAFORM_DATA_ARGS.contains(&k.as_str()) || RESOURCE_META.contains(&k.as_str()) {
            continue;
        }
        if k == "dynamic" {
            for name in v.as_map().into_iter().flat_map(|m| m.keys()) {
                out.push((
                    "Unsupported block type",
                    format!("Blocks of type {name:?} are not expected here."),
                ));
            }
            continue;
        }
        let block = matches!(v, Lit::List(items) if !items.is_empty() && items.iter().all(|i| matches!(i, Lit::Map(_))));
        out.push(if block {
            (
                "Unsupported block type",
                format!("Blocks of type {k:?} are not expected here."),
            )
        } else {
            (
                "Unsupported argument",
                format!("An argument named {k:?} is not expected here."),
            )
        });
    }
    out
}

/// What one `depends_on` entry names, relative to its module.
pub(crate) struct DependsOn<'a> {
    /// A module call, or a resource (`TYPE.NAME`, `data.TYPE.NAME`).
    pub module_call: bool,
    /// `module.NAME` or the resource's address.
    pub address: String,
    /// Whether steps follow the object (an attribute, an index).
    pub steps: bool,
    /// The entry as written.
    pub entry: &'a Lit,
}

/// The objects a node's `depends_on` names (variables, locals and the
/// like left out: Terraform allows them and they order nothing).
pub(crate) fn depends_on(n: &Node) -> Vec<DependsOn<'_>> {
    let Some(Lit::List(items)) = n.body.get("depends_on") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let Lit::Expr(e) = item else { continue };
        let Expr::Traversal { root, ops, .. } = e.as_ref() else {
            continue;
        };
        let attrs: Vec<&str> = ops
            .iter()
            .map(|op| match op {
                TravOp::Attr(a) => a.as_str(),
                _ => "[]",
            })
            .collect();
        let (module_call, address, rest) = match (root.as_str(), attrs.as_slice()) {
            ("var" | "local" | "each" | "count" | "path" | "terraform" | "self", _) => continue,
            ("module", [name, rest @ ..]) => (true, format!("module.{name}"), rest),
            ("data", [t, name, rest @ ..]) => (false, format!("data.{t}.{name}"), rest),
            ("resource", [t, name, rest @ ..]) => (false, format!("{t}.{name}"), rest),
            (t, [name, rest @ ..]) => (false, format!("{t}.{name}"), rest),
            _ => continue,
        };
        out.push(DependsOn {
            module_call,
            address,
            steps: rest.iter().any(|s| *s != "[]"),
            entry: item,
        });
    }
    out
}

/// A `depends_on` entry naming what is not declared, or an attribute.
fn depends_on_errors(n: &Node, declared: &HashSet<&str>) -> Vec<(&'static str, String)> {
    let prefix = if n.module.is_empty() {
        String::new()
    } else {
        format!("{}.", n.module)
    };
    let module_name = if n.module.is_empty() {
        "the root module".to_string()
    } else {
        n.module.clone()
    };
    let mut out = Vec::new();
    for d in depends_on(n) {
        if !declared.contains(format!("{prefix}{}", d.address).as_str()) {
            let summary = if d.module_call {
                "Reference to undeclared module"
            } else {
                "Reference to undeclared resource"
            };
            out.push((
                summary,
                format!(
                    "depends_on names {}, which is not declared in {module_name}.",
                    d.address
                ),
            ));
        } else if !d.module_call && d.steps {
            out.push((
                "Invalid depends_on reference",
                format!("References in depends_on must be to a whole object (resource, etc), not to an attribute of an object ({}).", d.entry.render()),
            ));
        }
    }
    out
}

/// An endpoint of a `moved` block as configuration steps (`module`,
/// `NAME`, `TYPE`, `NAME`, ...; a `resource.` prefix left out), and
/// whether it names instance keys.
fn endpoint_steps(v: Option<&Lit>) -> Option<(Vec<&str>, bool)> {
    let Some(Lit::Expr(e)) = v else {
        return None;
    };
    let Expr::Traversal { root, ops, .. } = e.as_ref() else {
        return None;
    };
    let mut parts = vec![root.as_str()];
    let mut keyed = false;
    for op in ops {
        match op {
            TravOp::Attr(a) => parts.push(a),
            _ => keyed = true,
        }
    }
    if parts.first() == Some(&"resource") {
        parts.remove(0);
    }
    Some((parts, keyed))
}

/// A `moved` block whose `from` is a whole resource or module call (no
/// instance key) that the configuration still declares, moved to another
/// object (`from = a`, `to = a["k"]` is how `for_each` is added: allowed).
fn moved_from_declared(n: &Node, declared: &HashSet<&str>) -> Option<String> {
    let (parts, keyed) = endpoint_steps(n.body.get("from"))?;
    if keyed {
        // a move between instances, allowed
        return None;
    }
    if endpoint_steps(n.body.get("to")).is_some_and(|(to, _)| to == parts) {
        return None;
    }
    let from = parts.join(".");
    let full = if n.module.is_empty() {
        from.clone()
    } else {
        format!("{}.{from}", n.module)
    };
    if !declared.contains(full.as_str()) {
        return None;
    }
    let what = if parts.len() >= 2 && parts[parts.len() - 2] == "module" {
        "module call"
    } else {
        "resource"
    };
    Some(format!(
        "This statement declares a move from {from}, but that {what} is still declared. Change your configuration so that this {} will be declared as {}.",
        if what == "module call" { "call" } else { "resource" },
        n.body.get("to").map(Lit::render).unwrap_or_default()
    ))
}
