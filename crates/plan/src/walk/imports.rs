//! The target's `import` blocks, evaluated as Terraform 1.11 evaluates
//! them: `for_each` (a map or a set of strings), the address in `to` with
//! its instance keys (`terraform_data.table[each.key]`), and `id` (from
//! variables, locals, `each`). Each import is handed to the [`Planner`]
//! before the resource it imports into is planned (the configuration's
//! order puts a resource after the import blocks that name it).
//!
//! An `id` that is secret (marked, or read from what rewind holds secret
//! by its name) is recorded as `(sensitive value)`: the plan shows the
//! import, never the id (Terraform 1.11 prints it).

use rewind_eval::{convert, Evaluator, Type};
use rewind_model::expr::{Expr, TravOp};
use rewind_model::Value as Lit;
use rewind_model::{
    InstanceAddr, InstanceKey, Mode, ModuleInstance, ModuleStep, Node, ResourceAddr,
};

use super::{Expansion, InstanceScope, Planner, Repetition, Walk};

/// What a secret import id is recorded as.
pub(crate) const SECRET_ID: &str = "(sensitive value)";

impl Walk<'_> {
    /// Evaluates one `import` block of the root module (the target's walk
    /// only) and hands each of its imports to `planner`.
    pub(super) fn import_block(&mut self, node: &Node, planner: &mut dyn Planner) {
        if !self.is_target || !node.module.is_empty() {
            return;
        }
        let reps = match self.import_repetitions(node) {
            Ok(r) => r,
            Err(message) => {
                self.error(0, node, message);
                return;
            }
        };
        let mut found = Vec::with_capacity(reps.len());
        let mut errors = Vec::new();
        for rep in reps {
            let mut scope = self.scope(0, rep);
            scope.secrets = Some(node);
            match self.one_import(node, &scope) {
                Ok(i) => found.push(i),
                Err(e) => errors.push(e),
            }
        }
        for e in errors {
            self.error(0, node, e);
        }
        for (addr, id) in found {
            planner.import(addr, id);
        }
    }

    /// One repetition per import: `each` of every `for_each` key, or one.
    fn import_repetitions(&self, node: &Node) -> Result<Vec<Repetition>, String> {
        if node.body.get("for_each").is_none() {
            return Ok(vec![Repetition::default()]);
        }
        match self.expansion(node, 0, &Repetition::default())? {
            (Expansion::ForEach(keys), values) => Ok(keys
                .into_iter()
                .zip(values)
                .map(|(k, v)| Repetition {
                    count: None,
                    each: Some((k, v)),
                })
                .collect()),
            (Expansion::Unknown(why), _) => Err(format!(
                "Invalid for_each argument: {why}; Terraform cannot plan the imports of this block"
            )),
            (other, _) => Err(format!("Invalid import block: for_each gave {other:?}")),
        }
    }

    /// The address and id of one import.
    fn one_import(
        &self,
        node: &Node,
        scope: &InstanceScope,
    ) -> Result<(InstanceAddr, String), String> {
        let to = match node.body.get("to") {
            Some(Lit::Expr(e)) => self.import_address(e, scope)?,
            _ => {
                return Err("Invalid import address: to must be a resource instance address".into())
            }
        };
        let id = match node.body.get("id") {
            Some(v) => self.eval_scoped(v, scope).map_err(|e| format!("id: {e}"))?,
            None => return Err("Missing required argument: an import block needs id".into()),
        };
        let (plain, marked) = id.unmark();
        if plain.has_opaque() && plain.is_wholly_known() {
            // deployed, but not visible without a state: Terraform knows
            // it; the id is shown as what it is made of
            let shown = if marked {
                SECRET_ID.to_string()
            } else {
                rewind_eval::inline(plain)
            };
            return Ok((to, shown));
        }
        if !plain.is_wholly_known() {
            return Err(format!(
                "Invalid import id argument: the id of the import into {to} is known only after apply, so Terraform cannot plan to import it"
            ));
        }
        let text = convert(plain, &Type::String)
            .ok()
            .and_then(|s| s.as_str().map(str::to_string))
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("Invalid import id argument: the id of the import into {to} must be a non-empty string"))?;
        Ok((to, if marked { SECRET_ID.to_string() } else { text }))
    }

    /// `module.a["x"].TYPE.NAME[KEY]`, its keys evaluated.
    fn import_address(&self, e: &Expr, scope: &InstanceScope) -> Result<InstanceAddr, String> {
        let bad = || format!("Invalid import address: {e} is not a resource instance address");
        let Expr::Traversal { root, ops, .. } = e else {
            return Err(bad());
        };
        let mut names: Vec<(String, InstanceKey)> = vec![(root.clone(), InstanceKey::None)];
        for op in ops {
            let key = match op {
                TravOp::Attr(a) => {
                    names.push((a.clone(), InstanceKey::None));
                    continue;
                }
                TravOp::Index(k) => self.import_key(k, scope, e)?,
                TravOp::LegacyIndex(n) => InstanceKey::Int(*n as i64),
                TravOp::AttrSplat | TravOp::FullSplat => return Err(bad()),
            };
            match names.last_mut() {
                Some(last) if last.1 == InstanceKey::None => last.1 = key,
                _ => return Err(bad()),
            }
        }
        let mut steps = Vec::new();
        let mut rest = names.as_slice();
        while let [(m, InstanceKey::None), (name, key), tail @ ..] = rest {
            if m != "module" || tail.is_empty() {
                break;
            }
            steps.push(ModuleStep {
                name: name.clone(),
                key: key.clone(),
            });
            rest = tail;
        }
        if let [(r, InstanceKey::None), more @ ..] = rest {
            if r == "resource" && more.len() == 2 {
                rest = more;
            }
        }
        let [(type_, InstanceKey::None), (name, key)] = rest else {
            return Err(bad());
        };
        Ok(InstanceAddr {
            resource: ResourceAddr {
                module: ModuleInstance(steps),
                mode: Mode::Managed,
                type_: type_.clone(),
                name: name.clone(),
            },
            key: key.clone(),
        })
    }

    fn import_key(&self, k: &Expr, scope: &InstanceScope, e: &Expr) -> Result<InstanceKey, String> {
        let v = {
            let mut ev = Evaluator::new(scope);
            ev.eval(k)
                .map_err(|err| format!("Invalid import address {e}: {err}"))?
        };
        let (v, _) = v.unmark();
        if let Some(s) = v.as_str() {
            return Ok(InstanceKey::Str(s.to_string()));
        }
        if let Some(n) = v.as_number().and_then(|n| n.to_i64()) {
            return Ok(InstanceKey::Int(n));
        }
        Err(format!(
            "Invalid import address {e}: an instance key must be a known string or whole number"
        ))
    }
}
