//! Input variables: `-var`, `-var-file`, `TF_VAR_` and `.tfvars` files,
//! and the sensitivity a module call's arguments carry into its variables.

use super::*;

impl Builder {
    /// A `.tfvars` file of the root module as a node.
    pub(super) fn add_tfvars_node(&mut self, fi: usize, v: &Value) {
        let abs = &self.files[fi].abs;
        let name = abs
            .strip_prefix(&self.root_abs)
            .map(rel_str)
            .unwrap_or_else(|_| abs.display().to_string());
        let mut node = Node::new(
            NodeKind::Tfvars,
            format!("tfvars[{}]", rewind_model::value::quote(&name)),
        );
        node.type_ = name;
        node.body = v.clone().into();
        node.loc = Loc {
            file: abs.display().to_string(),
            line: 1,
            col: 1,
        };
        self.add_node(node);
    }

    /// Values assigned to sensitive variables are secret wherever they are
    /// written: in variable files and in module call arguments.
    pub(super) fn sensitive_assignments(&mut self) {
        let secret_vars: HashSet<String> = self
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Variable && !n.sensitive.is_empty())
            .map(|n| n.address.clone())
            .collect();
        for n in &mut self.nodes {
            let keys: Vec<String> = match n.kind {
                NodeKind::Tfvars => n
                    .body
                    .as_map()
                    .map(|m| {
                        m.keys()
                            .filter(|k| secret_vars.contains(&format!("var.{k}")))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default(),
                NodeKind::Module => n
                    .body
                    .as_map()
                    .map(|m| {
                        m.keys()
                            .filter(|k| secret_vars.contains(&format!("{}.var.{k}", n.address)))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default(),
                _ => continue,
            };
            for k in keys {
                let p = rewind_model::Path::root().key(&k);
                if !n.sensitive.contains(&p) {
                    n.sensitive.push(p);
                }
            }
            n.sensitive.sort();
        }
    }

    /// Root variables depend on the variable files Terraform loads
    /// automatically (`terraform.tfvars`, `*.auto.tfvars`, and their JSON forms).
    /// Adds the variable values given beside the directory as the
    /// `tfvars` nodes of [`crate::inputs`]; problems go to `self.errors`
    /// (a `-var` for an undeclared variable is Terraform's error too; in a
    /// `-var-file` it is its warning; `TF_VAR_` of undeclared variables
    /// are ignored, as Terraform ignores them).
    pub(super) fn add_inputs(&mut self, opts: &Options) {
        use crate::inputs::{input_node, InputSource, CLI_INPUT, ENV_INPUT};
        let mut env = Given::default();
        let mut cli = Given::default();
        for source in &opts.inputs {
            match source {
                InputSource::Env(name, raw) => self.env_input(name, raw, &mut env),
                InputSource::Var(name, raw) => self.var_input(name, raw, &mut cli),
                InputSource::File(path) => self.file_input(path, &mut cli),
            }
        }
        for (address, kind, (values, sources)) in [
            (ENV_INPUT, InputKind::Env, env),
            (CLI_INPUT, InputKind::Cli, cli),
        ] {
            if opts.inputs.iter().any(|s| match s {
                InputSource::Env(..) => kind == InputKind::Env,
                _ => kind == InputKind::Cli,
            }) {
                let node = input_node(address, kind, values, sources);
                self.add_node(node);
            }
        }
    }

    /// The node of root variable `name`, when the root module declares it.
    pub(super) fn declared_variable(&self, name: &str) -> Option<usize> {
        self.index
            .get(&format!("var.{name}"))
            .copied()
            .filter(|&i| self.nodes[i].kind == NodeKind::Variable)
    }

    /// Adds `TF_VAR_name=raw` to `env`; ignored when the variable is not
    /// declared, an error when its value does not parse.
    pub(super) fn env_input(&mut self, name: &str, raw: &str, env: &mut Given) {
        let Some(vi) = self.declared_variable(name) else {
            return;
        };
        match self.raw_value(name, raw, vi) {
            Ok(v) => {
                env.0.insert(name.to_string(), v);
                env.1
                    .insert(name.to_string(), Value::str(format!("TF_VAR_{name}")));
            }
            Err(m) => self.errors.push(error_at(
                &format!("TF_VAR_{name}"),
                0,
                0,
                format!("invalid value for variable {name:?} in the environment: {m}"),
                None,
            )),
        }
    }

    /// Adds `--var name=raw` to `cli`; an error when the variable is not
    /// declared or its value does not parse.
    pub(super) fn var_input(&mut self, name: &str, raw: &str, cli: &mut Given) {
        let Some(vi) = self.declared_variable(name) else {
            self.errors.push(error_at(
                &format!("--var {name}"),
                0,
                0,
                format!("value for undeclared variable: the root module declares no variable {name:?} (Terraform refuses it too)"),
                None,
            ));
            return;
        };
        match self.raw_value(name, raw, vi) {
            Ok(v) => {
                cli.0.insert(name.to_string(), v);
                cli.1.insert(name.to_string(), Value::str("--var"));
            }
            Err(m) => self.errors.push(error_at(
                &format!("--var {name}"),
                0,
                0,
                format!("invalid value for variable {name:?}: {m}"),
                None,
            )),
        }
    }

    /// Adds the values of the variable file `path` (`--var-file`) to
    /// `cli`, each with the file as its source, named from the root module
    /// when it is inside it (the same file of two checkouts is the same
    /// source). An unreadable or invalid file is an error; a value for an
    /// undeclared variable a warning.
    pub(super) fn file_input(&mut self, path: &Path, cli: &mut Given) {
        let abs = normalize(&std::env::current_dir().unwrap_or_default().join(path));
        let given = path.display().to_string();
        let shown = match abs.strip_prefix(&self.root_abs) {
            Ok(rel) => rel_str(rel),
            Err(_) => given.clone(),
        };
        let bytes = match read_bounded(path, MAX_VAR_FILE) {
            Ok(b) => b,
            Err(e) => {
                self.errors.push(error_at(
                    &given,
                    0,
                    0,
                    format!("cannot read the variable file: {e}"),
                    None,
                ));
                return;
            }
        };
        let kind = if given.ends_with(".json") {
            FileKind::TfvarsJson
        } else {
            FileKind::Tfvars
        };
        let values = match parse_bytes(&bytes, kind, &given) {
            Ok(Parsed::Tfvars(Value::Map(m))) => m,
            Ok(_) => return,
            Err(d) => {
                self.errors.push(d);
                return;
            }
        };
        for (k, v) in values {
            if self.declared_variable(&k).is_none() {
                self.diags.push(warning(
                    Loc {
                        file: given.clone(),
                        line: 1,
                        col: 1,
                    },
                    format!("value for undeclared variable {k:?}: the root module declares no such variable, so Terraform ignores it"),
                ));
            }
            cli.1.insert(k.clone(), Value::str(shown.clone()));
            cli.0.insert(k, v);
        }
    }

    /// A raw value of the command line or environment for variable `vi`:
    /// a string when its type is a primitive (refused when it does not
    /// convert to `number` or `bool`), or else a constant HCL expression
    /// (as Terraform reads it).
    pub(super) fn raw_value(&self, name: &str, raw: &str, vi: usize) -> Result<Value, String> {
        if crate::inputs::is_literal_mode(Some(&self.nodes[vi])) {
            if let Some(why) = crate::inputs::unsuitable_literal(&self.nodes[vi], raw) {
                // (the value itself is not repeated: it may be a secret)
                return Err(format!("the value given is unsuitable: {why}"));
            }
            Ok(Value::String(raw.to_string()))
        } else {
            crate::inputs::parse_hcl_value(name, raw)
        }
    }

    pub(super) fn tfvars_edges(&mut self) {
        let auto: Vec<(String, Vec<String>)> = self
            .nodes
            .iter()
            .filter(|n| n.kind == NodeKind::Tfvars)
            .filter(|n| {
                let t = n.type_.as_str();
                n.facts.more.input.is_some()
                    || !t.contains('/')
                        && (t == "terraform.tfvars"
                            || t == "terraform.tfvars.json"
                            || t.ends_with(".auto.tfvars")
                            || t.ends_with(".auto.tfvars.json"))
            })
            .map(|n| {
                let keys = n
                    .body
                    .as_map()
                    .map(|m| m.keys().cloned().collect())
                    .unwrap_or_default();
                (n.address.clone(), keys)
            })
            .collect();
        for (addr, keys) in auto {
            for k in keys {
                if let Some(&vi) = self.index.get(&format!("var.{k}")) {
                    self.nodes[vi].add_edge(addr.clone(), EdgeKind::Reference);
                }
            }
        }
    }
}
