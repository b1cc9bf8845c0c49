//! Differential test against hcl-edit (through hcl-rs), the reference HCL
//! parser in Rust: on every `.tf` file of the fixtures (and of the corpus
//! that `REWIND_CORPUS` names, when set), where both parse, the attribute
//! and block structure and the literal values agree; where only one
//! parses, the file is a known disagreement below, decided by Terraform.

use std::path::{Path, PathBuf};

use rewind_model::Value;
use rewind_parse::hcl::{parse_body_bytes, to_value, Body, Item};

/// Files on which the two parsers disagree, and why Terraform sides with
/// rewind (each checked with terraform 1.11.4; hcl-edit 0.10 bugs).
const KNOWN: &[(&str, &str)] = &[
    (
        "hcl/bom.tf",
        "hcl-edit rejects a leading UTF-8 byte order mark; Terraform skips it (hclsyntax's stripUTF8BOM)",
    ),
    (
        "hcl/deep-nesting.tf",
        "hcl-edit refuses nesting deeper than 64 levels; Terraform has no such limit",
    ),
    (
        "hcl/duplicate-keys.tf",
        "hcl-edit rejects a key repeated in an object constructor; Terraform keeps the last value",
    ),
    (
        "hcl/heredoc-flush.tf",
        "hcl-edit does not close the empty `<<-EOT` heredoc of local.hd_empty at its indented marker and reads on into the next heredoc (4 items instead of 5); Terraform: hd_empty = \"\"",
    ),
    (
        "hcl/heredoc-markers.tf",
        "hcl-edit closes a heredoc at a line that only starts with the marker (`EOT is not alone on this line`); Terraform closes it only at a line that is the marker, trimmed of white space",
    ),
    (
        "tfjson/09-numbers/target/main.tf",
        "hcl-edit reads numbers as 64-bit floats and refuses 1e309; Terraform's numbers are exact decimals and it plans 1e309 (recorded in plan.json)",
    ),
];

fn tf_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            tf_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "tf") {
            out.push(p);
        }
    }
}

/// A value without expressions in it: a literal rewind can compare.
fn is_literal(v: &Value) -> bool {
    match v {
        Value::Expr(_) => false,
        Value::List(l) => l.iter().all(is_literal),
        Value::Map(m) => m.values().all(is_literal),
        _ => true,
    }
}

/// Equal values, numbers compared as 64-bit floats: hcl-rs reads numbers
/// as floats, where Terraform keeps 512 bits (terraform console gives
/// 123456789012345678901234567890 + 1 exactly; rewind keeps the literal).
fn same(ours: &Value, theirs: &Value) -> bool {
    match (ours, theirs) {
        (Value::Number(a), Value::Number(b)) => {
            a == b
                || a.parse::<f64>()
                    .ok()
                    .is_some_and(|x| b.parse::<f64>().ok() == Some(x))
        }
        (Value::List(a), Value::List(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Map(a), Value::Map(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
        }
        _ => ours == theirs,
    }
}

/// What hcl-rs makes of an expression with no variables or functions.
fn their_literal(e: &hcl::Expression) -> Option<Value> {
    use hcl::eval::Evaluate;
    let v = e.evaluate(&hcl::eval::Context::new()).ok()?;
    Some(Value::from_json(&serde_json::to_value(v).ok()?))
}

/// What a comparison saw.
#[derive(Default)]
struct Tally {
    /// Literal values compared.
    literals: usize,
    differences: Vec<String>,
}

/// Differences between the two bodies, with a path for each.
fn compare(path: &str, ours: &Body, theirs: &hcl::Body, tally: &mut Tally) {
    let theirs: Vec<&hcl::Structure> = theirs.iter().collect();
    if ours.items.len() != theirs.len() {
        tally.differences.push(format!(
            "{path}: {} items here, {} in hcl-edit",
            ours.items.len(),
            theirs.len()
        ));
        return;
    }
    for (i, (a, b)) in ours.items.iter().zip(theirs).enumerate() {
        match (a, b) {
            (Item::Attribute(a), hcl::Structure::Attribute(b)) => {
                let at = format!("{path}.{}", a.name);
                if a.name != b.key.as_str() {
                    tally
                        .differences
                        .push(format!("{path}[{i}]: attribute {} vs {}", a.name, b.key));
                    continue;
                }
                let ours = to_value(&a.expr);
                if !is_literal(&ours) {
                    continue;
                }
                tally.literals += 1;
                match their_literal(&b.expr) {
                    Some(theirs) if same(&ours, &theirs) => {}
                    Some(theirs) => tally.differences.push(format!(
                        "{at}: {} vs {} in hcl-edit",
                        ours.render(),
                        theirs.render()
                    )),
                    None => tally.differences.push(format!(
                        "{at}: the literal {} is no literal to hcl-edit",
                        ours.render()
                    )),
                }
            }
            (Item::Block(a), hcl::Structure::Block(b)) => {
                let labels: Vec<&str> = b.labels.iter().map(|l| l.as_str()).collect();
                if a.ty != b.identifier.as_str() || a.labels != labels {
                    tally.differences.push(format!(
                        "{path}[{i}]: block {} {:?} vs {} {:?}",
                        a.ty, a.labels, b.identifier, labels
                    ));
                    continue;
                }
                let at = format!(
                    "{path}.{}{}",
                    a.ty,
                    a.labels
                        .iter()
                        .map(|l| format!("[{l:?}]"))
                        .collect::<String>()
                );
                compare(&at, &a.body, &b.body, tally);
            }
            _ => tally
                .differences
                .push(format!("{path}[{i}]: an attribute here, a block there")),
        }
    }
}

/// Compares every `.tf` file under `root`; returns how many files and
/// literal values were compared.
fn check_dir(root: &Path, failures: &mut Vec<String>) -> (usize, usize) {
    let mut literals = 0;
    let mut files = Vec::new();
    tf_files(root, &mut files);
    files.sort();
    for f in &files {
        let shown = f.strip_prefix(root).unwrap_or(f).display().to_string();
        let bytes = std::fs::read(f).unwrap();
        let (_, ours) = parse_body_bytes(&bytes);
        let theirs = std::str::from_utf8(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|s| hcl::parse(s).map_err(|e| e.to_string()));
        let known = KNOWN.iter().find(|(k, _)| shown.ends_with(k));
        let problem = match (&ours, &theirs) {
            (Ok(a), Ok(b)) => {
                let mut tally = Tally::default();
                compare("", a, b, &mut tally);
                literals += tally.literals;
                (!tally.differences.is_empty()).then(|| tally.differences.join("\n    "))
            }
            (Err(_), Err(_)) => None,
            (Ok(_), Err(e)) => Some(format!("only rewind parses it; hcl-edit: {e}")),
            (Err(e), Ok(_)) => Some(format!("only hcl-edit parses it; rewind: {}", e.message)),
        };
        match (problem, known) {
            (Some(_), Some(_)) => {}
            (Some(p), None) => failures.push(format!("{shown}:\n    {p}")),
            (None, Some((k, _))) => failures.push(format!(
                "{k}: listed as a known disagreement, but the parsers agree"
            )),
            (None, None) => {}
        }
    }
    (files.len(), literals)
}

#[test]
fn hcl_edit_agrees_on_structure_and_literals() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut failures = Vec::new();
    let (files, literals) = check_dir(&fixtures, &mut failures);
    assert!(
        files > 100 && literals > 1000,
        "only {files} .tf files and {literals} literal values compared in the fixtures"
    );
    if let Ok(corpus) = std::env::var("REWIND_CORPUS") {
        let corpus = PathBuf::from(corpus);
        assert!(
            corpus.is_dir(),
            "REWIND_CORPUS={} is not a directory",
            corpus.display()
        );
        let (files, _) = check_dir(&corpus, &mut failures);
        assert!(files > 0, "no .tf file under {}", corpus.display());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
