//! Configurations whose analysis once ran away (minutes, or forever): each
//! must plan, or fail with an error naming the expression.

use std::path::PathBuf;

use rewind_model::Model;
use rewind_plan::{plan, Action, Options, PlanError};

/// A scratch directory holding `files`, removed on drop.
pub(crate) struct Dir(PathBuf);

impl Dir {
    pub(crate) fn new(name: &str, files: &[(&str, String)]) -> Dir {
        let dir = std::env::temp_dir().join(format!("rewind-plan-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        Dir(dir)
    }

    pub(crate) fn model(&self, sub: &str) -> Model {
        rewind_parse::load(&self.0.join(sub), &rewind_parse::Options::default())
            .unwrap_or_else(|e| panic!("{sub}: {e}"))
            .model
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Each local joins the one before twice: the names of the values rewind
/// cannot see (here the id of a resource without state) doubled at every
/// step, 2^40 bytes at the end. The plan ran until killed.
#[test]
fn doubling_locals_over_a_deployed_value_plan() {
    let mut tf = String::from(
        "resource \"terraform_data\" \"a\" {\n  input = \"x\"\n}\nlocals {\n  l0 = terraform_data.a.id\n",
    );
    for i in 1..=40 {
        tf.push_str(&format!(
            "  l{i} = \"${{local.l{}}}-${{local.l{}}}\"\n",
            i - 1,
            i - 1
        ));
    }
    tf.push_str("}\nresource \"terraform_data\" \"b\" {\n  input = local.l40\n}\n");
    let changed = tf.replace(
        "l0 = terraform_data.a.id",
        "l0 = \"${terraform_data.a.id}!\"",
    );
    let dir = Dir::new(
        "doubling",
        &[("same/main.tf", tf.clone()), ("changed/main.tf", changed)],
    );
    let current = dir.model("same");
    // the same configuration: nothing to do
    let p = plan(&current, &dir.model("same"), &Options::default()).unwrap();
    assert!(
        p.changes.iter().all(|c| c.actions == [Action::NoOp]),
        "{:?}",
        p.changes
    );
    // a change at the bottom of the chain still shows at its top, though
    // the names of the values involved were shortened
    let p = plan(&current, &dir.model("changed"), &Options::default()).unwrap();
    let b: Vec<_> = p
        .changes
        .iter()
        .filter(|c| c.address.to_string() == "terraform_data.b")
        .collect();
    assert_eq!(b.len(), 1, "{:?}", p.changes);
    assert_ne!(b[0].actions, [Action::NoOp]);
}

/// A chain of resources through nested local modules, planned without a
/// state file: what each instance recorded (its transitive dependencies)
/// was copied name by name for every resource, quadratic in the chain.
/// Deleting everything must delete each link before what it depends on.
#[test]
fn deep_chain_without_state_deletes_in_reverse_order() {
    const DEPTH: usize = 60;
    let mut files = vec![(
        "current/main.tf",
        "module \"m0\" {\n  source = \"./m0\"\n  input = \"root\"\n}\n".to_string(),
    )];
    let mut paths = Vec::new();
    for i in 0..DEPTH {
        paths.push(format!("current/m{i}/main.tf"));
    }
    for (i, path) in paths.iter().enumerate() {
        let child = if i + 1 < DEPTH {
            format!(
                "module \"m{n}\" {{\n  source = \"../m{n}\"\n  input = terraform_data.r.output\n}}\n",
                n = i + 1
            )
        } else {
            String::new()
        };
        files.push((
            path.as_str(),
            format!(
                "variable \"input\" {{}}\nresource \"terraform_data\" \"r\" {{\n  input = var.input\n}}\n{child}"
            ),
        ));
    }
    files.push(("target/main.tf", "# everything removed\n".to_string()));
    let dir = Dir::new("chain", &files);
    let p = plan(
        &dir.model("current"),
        &dir.model("target"),
        &Options::default(),
    )
    .unwrap();
    let deletes: Vec<String> = p
        .steps
        .iter()
        .filter(|s| s.operation == Action::Delete)
        .map(|s| s.address.to_string())
        .collect();
    assert_eq!(deletes.len(), DEPTH, "{deletes:?}");
    // module.m0.terraform_data.r is deleted last, the deepest first
    let depth_of = |a: &str| a.matches("module.").count();
    let depths: Vec<usize> = deletes.iter().map(|a| depth_of(a)).collect();
    let mut want = depths.clone();
    want.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(depths, want, "{deletes:?}");
}

/// An expression that would build a hundred million elements is refused
/// by the evaluator's limit, and the error names the expression.
#[test]
fn runaway_expression_is_an_error_naming_it() {
    let tf = "locals {\n  big = length(setproduct(range(1000), range(1000), range(100)))\n}\nresource \"terraform_data\" \"a\" {\n  input = local.big\n}\n";
    let dir = Dir::new("runaway", &[("c/main.tf", tf.to_string())]);
    let m = dir.model("c");
    let err = plan(&m, &dir.model("c"), &Options::default()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, PlanError::Current(_)), "{text}");
    assert!(text.contains("local.big"), "{text}");
    assert!(text.contains("rather than run away"), "{text}");
    assert!(
        text.contains("evaluating length(setproduct(range(1000), range(1000), range(100)))"),
        "{text}"
    );
}

/// A configuration planned without a state file whose resources have more
/// dependencies, direct and indirect, than rewind simulates (a chain of
/// 3,200: 5.1 million) is refused with an error that says what to do,
/// before the closures take gigabytes.
#[test]
fn too_many_indirect_dependencies_without_state_are_refused() {
    let mut tf = String::from("resource \"terraform_data\" \"r0\" {\n  input = \"root\"\n}\n");
    for i in 1..3200 {
        tf.push_str(&format!(
            "resource \"terraform_data\" \"r{i}\" {{\n  input = terraform_data.r{}.output\n}}\n",
            i - 1
        ));
    }
    let dir = Dir::new(
        "indirect",
        &[
            ("current/main.tf", tf),
            ("target/main.tf", "# empty\n".into()),
        ],
    );
    let err = plan(
        &dir.model("current"),
        &dir.model("target"),
        &Options::default(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, PlanError::TooLarge(_)), "{text}");
    assert!(text.contains("more than 5000000 dependencies"), "{text}");
    assert!(
        text.contains("plan from a snapshot with a state file"),
        "{text}"
    );
}

/// Locals `l0..l{steps}`, each built from the one before by `step` (its
/// `{prev}` replaced by the local before), and a resource reading the
/// last: the doubling the adversarial review used to take every byte of
/// memory (26 GB, killed).
fn doubling(first: &str, step: &str, steps: usize) -> String {
    let mut tf = format!("locals {{\n  l0 = {first}\n");
    for i in 1..=steps {
        let prev = format!("local.l{}", i - 1);
        tf.push_str(&format!("  l{i} = {}\n", step.replace("{prev}", &prev)));
    }
    tf.push_str(&format!(
        "}}\nresource \"terraform_data\" \"a\" {{\n  input = length(local.l{steps})\n}}\n"
    ));
    tf
}

/// The error of planning `tf` (as the target, from nothing).
fn target_error(name: &str, tf: String) -> String {
    let dir = Dir::new(
        name,
        &[
            ("empty/main.tf", "terraform {}\n".to_string()),
            ("c/main.tf", tf),
        ],
    );
    let err = plan(&dir.model("empty"), &dir.model("c"), &Options::default()).unwrap_err();
    assert!(matches!(err, PlanError::Invalid(_)), "{err}");
    err.to_string()
}

/// Values doubled from local to local, by any means that copies them,
/// stop at the evaluator's limit, naming the local and its expression.
#[test]
fn values_doubled_from_local_to_local_stop_at_the_limit() {
    for (name, first, step) in [
        ("concat", "range(1000)", "concat({prev}, {prev})"),
        ("flatten", "range(1000)", "flatten([{prev}, {prev}])"),
        ("template", "\"0123456789abcdef\"", "\"${{prev}}${{prev}}\""),
        (
            "join",
            "\"0123456789abcdef\"",
            "join(\"\", [{prev}, {prev}])",
        ),
        (
            "replace",
            "\"0123456789abcdef\"",
            "replace({prev}, \"0\", {prev})",
        ),
        (
            "jsonencode",
            "\"0123456789abcdef\"",
            "jsonencode([{prev}, {prev}])",
        ),
    ] {
        let text = target_error(name, doubling(first, step, 40));
        assert!(text.contains("rather than run away"), "{name}: {text}");
        assert!(text.contains("  local.l"), "{name}: {text}");
        // the evaluator's limit names the expression; jsonencode's
        // refusal of a text too long is a function's error
        if name != "jsonencode" {
            assert!(text.contains("Evaluation limit"), "{name}: {text}");
            assert!(text.contains("(evaluating "), "{name}: {text}");
        }
    }
}

/// A list of the same list twice is held once, but whatever compares,
/// converts, encodes or writes it visits it whole: locals that nest it
/// thirty deep (2^30 lists of ten in thirty lines) stop where it grows past the
/// evaluator's limit, naming that local, whatever reads the last one
/// (each of these ran without end, or took every byte of memory).
#[test]
fn shared_values_nested_deep_stop_at_the_limit() {
    for read in [
        "length(local.l30)",
        "length(flatten(local.l30))",
        "local.l30 == local.l29",
        "length(tolist(local.l30))",
        "length(jsonencode(local.l30))",
        "length([for x in local.l30 : x])",
        "length(true ? local.l30 : [])",
        "local.l30",
    ] {
        let mut tf = doubling("range(10)", "[{prev}, {prev}]", 30);
        tf = tf.replace("length(local.l30)", read);
        let text = target_error("shared", tf);
        // l18 holds 3.1 million elements written out, l19 6.3 million
        assert!(
            text.contains("  local.l19 (main.tf:21:3)"),
            "{read}: {text}"
        );
        assert!(
            text.contains(
                "into more than 5000000 elements beyond those it holds, written out in full"
            ),
            "{read}: {text}"
        );
        // the first problem is the local (what reads it may fail after)
        let first = text.lines().nth(1).unwrap_or_default();
        assert!(first.starts_with("  local.l19 "), "{read}: {text}");
    }
    // the same through functions and objects
    for step in [
        "concat([{prev}], [{prev}])",
        "{ a = {prev}, b = {prev} }",
        "[for i in range(2) : {prev}]",
    ] {
        let text = target_error("shared-fn", doubling("range(10)", step, 30));
        assert!(
            text.contains("a value repeats collections inside it into more than"),
            "{step}: {text}"
        );
        assert!(
            text.contains("  local.l19 ") || text.contains("  local.l18 "),
            "{step}: {text}"
        );
    }
}

/// What the limit counts is repetition, not size: a million numbers
/// held once and read five times (five million written out, one held)
/// are fine, the walk's other limits bounding what is held; a thousand
/// numbers repeated ten thousand times (ten million written out) stop.
#[test]
fn repetition_of_a_large_list_stops_but_its_size_alone_does_not() {
    let tf = "locals {\n  big = [for i in range(1000) : range(1000)]\n  five = { a = local.big, b = local.big, c = local.big, d = local.big, e = local.big }\n}\n\
        resource \"terraform_data\" \"a\" {\n  input = length(local.five)\n}\n";
    let dir = Dir::new(
        "repeated-large",
        &[
            ("empty/main.tf", "terraform {}\n".to_string()),
            ("c/main.tf", tf.to_string()),
        ],
    );
    let p = plan(&dir.model("empty"), &dir.model("c"), &Options::default());
    assert!(
        p.is_ok(),
        "{}",
        p.err().map(|e| e.to_string()).unwrap_or_default()
    );
    let tf = "locals {\n  m = range(1000)\n  many = [for i in range(1000) : [for j in range(10) : local.m]]\n}\n\
        resource \"terraform_data\" \"a\" {\n  input = length(local.many)\n}\n";
    let text = target_error("repeated-flat", tf.to_string());
    assert!(text.contains("  local.many (main.tf:3:3)"), "{text}");
    assert!(text.contains("beyond those it holds"), "{text}");
}

/// A module call or a resource read whole holds each instance's values:
/// a hundred module instances whose output is a shared value of 3.1
/// million elements are 310 million written out, which comparing
/// `module.m` with itself visited (109 s, 4.9 GB); read whole, they stop
/// at the evaluator's limit, naming what reads them. One output of one
/// instance is read as before.
#[test]
fn module_and_resource_instances_read_whole_stop_at_the_limit() {
    let module = doubling("range(10)", "[{prev}, {prev}]", 18).replace(
        "resource \"terraform_data\" \"a\" {\n  input = length(local.l18)\n}\n",
        "output \"o\" {\n  value = local.l18\n}\n",
    );
    assert!(module.contains("output \"o\""), "{module}");
    let root = "module \"m\" {\n  source = \"./m\"\n  count  = 100\n}\n\
        resource \"terraform_data\" \"a\" {\n  count = 2\n  input = module.m[0].o\n}\n\
        output \"one\" {\n  value = length(module.m[99].o)\n}\n\
        output \"modules\" {\n  value = module.m == module.m\n}\n\
        output \"resources\" {\n  value = terraform_data.a == terraform_data.a\n}\n\
        output \"splat\" {\n  value = length(terraform_data.a[*].input)\n}\n";
    let dir = Dir::new(
        "whole",
        &[
            ("empty/main.tf", "terraform {}\n".to_string()),
            ("c/main.tf", root.to_string()),
            ("c/m/main.tf", module),
        ],
    );
    let err = plan(&dir.model("empty"), &dir.model("c"), &Options::default()).unwrap_err();
    let text = err.to_string();
    let limit = "into more than 5000000 elements beyond those it holds, written out in full";
    for reader in ["output.modules", "output.resources", "output.splat"] {
        let line = text.lines().find(|l| l.trim_start().starts_with(reader));
        assert!(line.is_some_and(|l| l.contains(limit)), "{reader}: {text}");
    }
    // within the limits: one instance's output, each instance's input
    assert!(!text.contains("output.one"), "{text}");
    assert!(!text.contains("terraform_data.a"), "{text}");
}

/// Values each within the evaluator's limit, written out by many resource
/// instances (every instance's configuration is in the plan whole), stop
/// the walk at the instance that passes the limit of what a walk writes.
#[test]
fn shared_values_written_by_many_instances_stop_at_the_walk_limit() {
    let mut tf = doubling("range(10)", "[{prev}, {prev}]", 18);
    tf = tf.replace(
        "  input = length(local.l18)",
        "  count = 40\n  input = local.l18",
    );
    let text = target_error("written", tf);
    // 3.1 million elements each: the 17th instance passes 50 million
    assert!(text.contains("terraform_data.a[16]"), "{text}");
    assert!(
        text.contains("the values written out expand to more than 50000000 elements"),
        "{text}"
    );
    assert!(text.contains("(writing terraform_data.a[16])"), "{text}");
}

/// Many locals, each within the evaluator's limit, together hold more
/// than a walk keeps: the local that passes it is named.
#[test]
fn values_kept_together_stop_at_the_walk_limit() {
    let mut tf = String::from("locals {\n");
    for i in 0..60 {
        // a thousand strings of 8000 bytes each: 8 MB a local
        tf.push_str(&format!(
            "  big{i} = [for a in range(1000) : format(\"%08000d\", a + {i})]\n"
        ));
    }
    tf.push_str("}\nresource \"terraform_data\" \"a\" {\n  input = length(local.big59)\n}\n");
    let text = target_error("held", tf);
    assert!(text.contains("hold more than"), "{text}");
    assert!(text.contains("rather than run out of memory"), "{text}");
    assert!(text.contains("(keeping local.big"), "{text}");
}

/// An infinite number in a resource's configuration fails its plan as it
/// fails Terraform's ("cannot serialize infinity as JSON"), naming the
/// argument; one in a local that no resource keeps is fine.
#[test]
fn infinite_numbers_fail_the_plan_where_terraform_cannot_write_them() {
    let tf = "locals {\n  inf = 1 / 0\n}\nresource \"terraform_data\" \"a\" {\n  input = pow(10, 400)\n}\nresource \"terraform_data\" \"b\" {\n  input = local.inf > 5\n}\noutput \"o\" {\n  value = [1, -1 / 0]\n}\n";
    let text = target_error("infinity", tf.to_string());
    assert!(
        text.contains("terraform_data.a (main.tf:4:1, argument input)"),
        "{text}"
    );
    assert!(text.contains("cannot serialize infinity as JSON"), "{text}");
    assert!(!text.contains("terraform_data.b"), "{text}");
    assert!(text.contains("output value \"o\""), "{text}");
}
