//! The evaluator against Terraform: every expression of
//! `fixtures/eval/*.cases` must print what `terraform console` printed
//! (recorded in the `.expected` files by scripts/record-eval-oracle.py),
//! or fail where Terraform failed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rewind_eval::{console, EvalError, Evaluator, Files, Scope, Value};
use rewind_model::expr::{Expr, TravOp};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/eval")
}

/// The console's context: the locals of fixtures/eval/context/main.tf and
/// its files.
struct Context {
    dir: PathBuf,
    locals: BTreeMap<String, Expr>,
}

impl Context {
    fn load() -> Context {
        let dir = fixtures().join("context");
        let src = std::fs::read_to_string(dir.join("main.tf")).unwrap();
        let body = rewind_parse::hcl::parse_body(&src).unwrap();
        let mut locals = BTreeMap::new();
        for b in body.blocks().filter(|b| b.ty == "locals") {
            for a in b.body.attributes() {
                locals.insert(a.name.clone(), a.expr.canonical());
            }
        }
        Context { dir, locals }
    }
}

impl Scope for Context {
    fn resolve(
        &self,
        root: &str,
        ops: &[TravOp],
        _ev: &mut Evaluator,
    ) -> Result<(Value, usize), EvalError> {
        let name = match ops.first() {
            Some(TravOp::Attr(n)) => n.as_str(),
            _ => "",
        };
        match root {
            "local" => {
                let e = self.locals.get(name).ok_or_else(|| {
                    EvalError::new("Reference to undeclared local value", name.to_string())
                })?;
                Ok((Evaluator::new(self).eval(e)?, 1))
            }
            "path" if name == "module" || name == "root" || name == "cwd" => {
                Ok((Value::string("."), 1))
            }
            _ => Err(EvalError::new("Unknown variable", root.to_string())),
        }
    }

    fn files(&self) -> Option<&dyn Files> {
        Some(self)
    }
}

impl Files for Context {
    fn read(&self, path: &str) -> Result<Vec<u8>, String> {
        std::fs::read(self.dir.join(path)).map_err(|e| e.to_string())
    }
    fn exists(&self, path: &str) -> Result<bool, String> {
        let p = self.dir.join(path);
        match std::fs::metadata(&p) {
            Ok(m) if m.is_file() => Ok(true),
            Ok(m) if m.is_dir() => Err(format!("{path} is a directory, not a file")),
            Ok(_) => Err(format!("{path} is not a regular file")),
            Err(_) => Ok(false),
        }
    }
    fn glob(&self, base: &str, pattern: &str) -> Result<Vec<String>, String> {
        let root = self.dir.join(base);
        let mut found = Vec::new();
        let mut stack = vec![(root.clone(), String::new())];
        while let Some((dir, rel)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let e = e.map_err(|e| e.to_string())?;
                let name = e.file_name().to_string_lossy().into_owned();
                let r = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                let meta = std::fs::metadata(e.path()).map_err(|e| e.to_string())?;
                if meta.is_dir() {
                    stack.push((e.path(), r));
                } else if meta.is_file() && rewind_eval::functions::glob_match(pattern, &r)? {
                    found.push(r);
                }
            }
        }
        found.sort();
        Ok(found)
    }
}

/// (expression, expected output) pairs of one `.expected` file.
fn cases(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for block in text.split("\n>>> ").map(|b| b.trim_start_matches(">>> ")) {
        let mut lines = block.lines();
        let mut expr = lines.next().unwrap_or_default().to_string();
        let mut rest: Vec<&str> = Vec::new();
        for l in lines {
            if let Some(cont) = l.strip_prefix("... ") {
                expr.push('\n');
                expr.push_str(cont);
            } else {
                rest.push(l);
            }
        }
        out.push((expr, rest.join("\n").trim_end().to_string()));
    }
    out
}

#[test]
fn expressions_evaluate_as_terraform_console_prints_them() {
    let ctx = Context::load();
    let mut failures = Vec::new();
    let mut count = 0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "expected"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        for (src, want) in cases(&file) {
            count += 1;
            let expr = match rewind_parse::hcl::parse_expression(&src) {
                Ok(e) => e.canonical(),
                Err(e) => {
                    failures.push(format!("{src}\n  parse error: {e:?}"));
                    continue;
                }
            };
            let got = Evaluator::new(&ctx).eval(&expr);
            match (got, want.strip_prefix("!error: ")) {
                (Ok(v), None) => {
                    let text = console(&v);
                    if text != want {
                        failures.push(format!("{src}\n  want: {want}\n  got:  {text}"));
                    }
                }
                (Err(e), Some(err)) => {
                    // the summary Terraform gave (what follows it on the
                    // console's line is cut by the recorder)
                    if e.summary != err {
                        failures.push(format!(
                            "{src}\n  want the error: {err}\n  got the error:  {e}"
                        ));
                    }
                }
                (Ok(v), Some(err)) => failures.push(format!(
                    "{src}\n  want an error ({err})\n  got:  {}",
                    console(&v)
                )),
                (Err(e), None) => failures.push(format!("{src}\n  want: {want}\n  error: {e}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} expressions differ from terraform console:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[path = "eval/refinements.rs"]
mod refinements;

#[path = "eval/partial.rs"]
mod partial;

#[path = "eval/constraints.rs"]
mod constraints;
