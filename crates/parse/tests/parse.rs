//! Integration tests of loading: Terraform's graph oracle, the bundled
//! application history, broken inputs and HCL edge cases.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[path = "parse/hcl_edit.rs"]
mod hcl_edit;
#[path = "parse/module_cache.rs"]
mod module_cache;
#[path = "parse/overrides.rs"]
mod overrides;
#[path = "parse/sensitive.rs"]
mod sensitive;

use rewind_model::graph::{resource_dependencies, transitive_reduction};
use rewind_model::{Model, Severity};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn load(dir: &Path) -> rewind_parse::Loaded {
    rewind_parse::load(dir, &rewind_parse::Options::default())
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// Edges `"a" -> "b"` of a DOT file.
fn dot_edges(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let Some((a, b)) = line.split_once("\" -> \"") else {
            continue;
        };
        let a = a.trim_start_matches('"');
        let b = b.split('"').next().unwrap_or_default();
        out.push((a.to_string(), b.to_string()));
    }
    out
}

/// Resource → resource edges of our model, transitively reduced.
fn our_resource_edges(model: &Model) -> BTreeSet<(String, String)> {
    let deps = resource_dependencies(model);
    let ids: Vec<usize> = deps.iter().map(|(i, _)| *i).collect();
    let pos: BTreeMap<usize, usize> = ids.iter().enumerate().map(|(k, i)| (*i, k)).collect();
    let mut edges = Vec::new();
    for (i, ds) in &deps {
        for d in ds {
            edges.push((pos[i], pos[d]));
        }
    }
    transitive_reduction(ids.len(), &edges)
        .into_iter()
        .map(|(a, b)| {
            (
                model.nodes[ids[a]].address.clone(),
                model.nodes[ids[b]].address.clone(),
            )
        })
        .collect()
}

fn reduce_named(edges: &[(String, String)]) -> BTreeSet<(String, String)> {
    let mut names: Vec<String> = edges
        .iter()
        .flat_map(|(a, b)| [a.clone(), b.clone()])
        .collect();
    names.sort();
    names.dedup();
    let idx = |s: &str| names.binary_search_by(|n| n.as_str().cmp(s)).unwrap_or(0);
    let e: Vec<(usize, usize)> = edges.iter().map(|(a, b)| (idx(a), idx(b))).collect();
    transitive_reduction(names.len(), &e)
        .into_iter()
        .map(|(a, b)| (names[a].clone(), names[b].clone()))
        .collect()
}

#[test]
fn resource_edges_match_terraform_graph() {
    let root = fixtures().join("oracle/graph");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("oracle fixtures")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("graph.dot").exists())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 10,
        "expected at least 10 oracle cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let loaded = load(&case.join("config"));
        let ours = our_resource_edges(&loaded.model);
        let theirs_raw = dot_edges(&std::fs::read_to_string(case.join("graph.dot")).unwrap());
        let theirs = reduce_named(&theirs_raw);
        // Terraform's simplified graph lists every resource as a node.
        if ours != theirs {
            let only_ours: Vec<_> = ours.difference(&theirs).collect();
            let only_theirs: Vec<_> = theirs.difference(&ours).collect();
            failures.push(format!(
                "{}:\n  only ours: {only_ours:?}\n  only terraform: {only_theirs:?}",
                case.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The canonical value of `local.NAME` in a loaded model.
fn local_value(model: &Model, name: &str) -> rewind_model::Value {
    let n = model
        .node(&format!("local.{name}"))
        .unwrap_or_else(|| panic!("local.{name} missing"));
    n.body.get("value").cloned().unwrap()
}

/// The canonical text of each local in fixtures/hcl, against the values
/// `terraform console` gave (recorded in each file's header comment):
/// templates stay templates, so the expected evaluated strings appear here
/// with their interpolations in place.
#[test]
fn hcl_edge_cases_mean_what_terraform_says() {
    let loaded = load(&fixtures().join("hcl"));
    assert!(
        loaded.model.diagnostics.is_empty(),
        "{:?}",
        loaded.model.diagnostics
    );
    let cases = [
        // heredoc-flush.tf
        ("hd_flush_mixed", r#""    ${var.hd_name}\nab\n""#),
        ("hd_flush_all", r#""${var.hd_name}\n  ab\n""#),
        ("hd_plain", r#""    ${var.hd_name}\nab\n""#),
        ("hd_empty", r#""""#),
        ("hd_blank_line", r#""a\n\nb\n""#),
        // heredoc-templates.tf: strip markers apply before <<- trimming
        (
            "ht_for",
            r#""%{for p in var.ht_ports}listen ${p};\n%{endfor}""#,
        ),
        (
            "ht_for_flush",
            r#""%{for p in var.ht_ports}\n    listen ${p};\n%{endfor}\n""#,
        ),
        (
            "ht_if",
            r#""%{if var.ht_tls}    ssl on;\ncertificate /etc/ssl/shop.pem;\n%{else}    ssl off;\n%{endif}""#,
        ),
        ("ht_strip", r#""a%{if true}b%{endif}c""#),
        // duplicate-keys.tf: the last one wins
        ("dup_simple", "{ a = 2 }"),
        ("dup_mixed", r#"{ a = "z", b = 2 }"#),
        ("dup_nested", r#"{ tags = { Name = "second" } }"#),
        // numbers.tf
        ("num_float", "1"),
        ("num_exp_plus", "1000"),
        ("num_neg_exp", "0.015"),
        ("num_negative", "-42"),
        ("num_big", "12345678901234567890"),
        ("num_string", r#""1.50""#),
        // operators.tf: precedence and associativity survive normalization
        ("op_arith", "1 + 2 * 3"),
        ("op_left", "10 - 5 - 3"),
        ("op_cond_in", r#"(var.op_n > 3 ? 10 : 20) + 6"#),
        ("op_neg_paren", "-(var.op_n + 1)"),
        // splats.tf: `.*` equals `[*]` only when attributes alone follow
        ("sp_names_legacy", "var.sp_servers[*].name"),
        ("sp_first_ip_legacy", "var.sp_servers.*.ips[0]"),
        ("sp_first_ip_full", "var.sp_servers[*].ips[0]"),
        // strings.tf
        ("str_unwrap", "var.str_list"),
        (
            "str_escapes",
            r#""tab:\t quote:\" backslash:\\ newline:\n cr:\r""#,
        ),
        ("str_unicode", r#""é é 😀 Ω""#),
        // traversals.tf: steps across white space and newlines in brackets
        ("tr_try", "length(try(var.tr_cfg.registry.domains, []))"),
        ("tr_index", "[var.tr_cfg.registry.domains[1]]"),
        ("tr_spaced", "var.tr_cfg.registry.ca"),
        // heredoc-markers.tf: white space around the closing marker
        ("hm_spaces", r#""spaces after the marker\n""#),
        ("hm_tab", r#""a tab after the marker\n""#),
        ("hm_flush", r#""flush\n  indented\n""#),
        ("hm_nbsp", r#""no-break spaces around the marker\n""#),
        (
            "hm_not_marker",
            r#""EOT is not alone on this line\n EOTX\n${local.hm_eot}EOT\n""#,
        ),
        // bom.tf
        ("bom_region", r#""eu-west-1""#),
        // functions.tf
        ("fn_expand", "max([80, 443, 8080 - 7637]...)"),
        (
            "fn_arn",
            r#"provider::aws::arn_parse("arn:aws:rds:eu-west-1:123456789012:db:shop-prod-db")"#,
        ),
    ];
    let mut failures = Vec::new();
    for (name, want) in cases {
        let got = local_value(&loaded.model, name).render();
        if got != want {
            failures.push(format!("local.{name}: got {got}, want {want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // 80 nested lists survive
    let mut v = local_value(&loaded.model, "deep_list");
    let mut depth = 0;
    while let Some([inner]) = v.as_list() {
        v = inner.clone();
        depth += 1;
    }
    assert_eq!((depth, v), (80, rewind_model::Value::str("leaf")));
    // 0.11-era syntax resolves its references
    let legacy = loaded
        .model
        .resources()
        .find(|n| n.loc.file.ends_with("legacy-0.11.tf"))
        .expect("legacy resources");
    assert!(!legacy.edges.is_empty(), "{legacy:?}");
}

/// Keywords and type constraints are not references (no "undeclared"
/// warning, no edge), and Terraform 1.14 actions are nodes in both syntaxes.
#[test]
fn keywords_and_actions_are_not_references() {
    let loaded = load(&fixtures().join("hcl"));
    let m = &loaded.model;
    assert!(m.diagnostics.is_empty(), "{:?}", m.diagnostics);
    let node = |a: &str| m.node(a).unwrap_or_else(|| panic!("{a} missing"));
    let edges = |a: &str| {
        node(a)
            .edges
            .iter()
            .map(|e| format!("{} {}", e.to, e.kind.as_str()))
            .collect::<Vec<_>>()
    };
    // provisioners.tf
    let pv = node("terraform_data.pv_cache");
    let prov = pv.body.get("provisioner").expect("provisioner blocks");
    assert!(
        prov.render()
            .contains("on_failure = continue, when = destroy"),
        "{}",
        prov.render()
    );
    assert_eq!(
        edges("terraform_data.pv_cache"),
        ["provider.terraform provider"]
    );
    // outputs-typed.tf: the type is kept as written, and is no reference
    assert_eq!(
        node("output.ot_settings")
            .body
            .get("type")
            .map(|v| v.render()),
        Some("object({ name = string, tags = optional(map(string), {}) })".to_string())
    );
    assert!(edges("output.ot_ports").is_empty());
    // actions.tf: an action node reads its config's references; the
    // resource that triggers it does not depend on it
    let ac = node("action.aws_lambda_invoke.ac_notify");
    assert_eq!(ac.kind, rewind_model::NodeKind::Action);
    assert_eq!(ac.type_, "aws_lambda_invoke");
    assert_eq!(
        edges("action.aws_lambda_invoke.ac_notify"),
        [
            "provider.aws provider",
            "terraform_data.ac_cache reference",
            "var.ac_function reference"
        ]
    );
    assert_eq!(
        edges("terraform_data.ac_cache"),
        ["provider.terraform provider", "var.ac_function reference"]
    );
    let trigger = |a: &str| {
        node(a)
            .body
            .get("lifecycle")
            .and_then(|l| l.as_list())
            .and_then(|l| l[0].get("action_trigger"))
            .map(|t| t.render())
            .unwrap_or_default()
    };
    assert_eq!(
        trigger("terraform_data.ac_cache"),
        "[{ actions = [action.aws_lambda_invoke.ac_notify[0]], condition = var.ac_function != \"\", events = [after_create, after_update] }]"
    );
    // actions.tf.json: the same meaning in JSON syntax
    assert_eq!(
        edges("action.aws_lambda_invoke.ac_json"),
        ["provider.aws.ac_west provider", "var.ac_function reference"]
    );
    assert_eq!(
        trigger("terraform_data.ac_json_cache"),
        "[{ actions = [action.aws_lambda_invoke.ac_json], events = [before_create, after_update] }]"
    );
}

#[test]
fn format_a_and_b_mean_the_same() {
    let a = load(&fixtures().join("hcl/format-a"));
    let b = load(&fixtures().join("hcl/format-b"));
    let addrs = |m: &Model| {
        m.nodes
            .iter()
            .map(|n| (n.address.clone(), n.hash()))
            .collect::<Vec<_>>()
    };
    assert_eq!(addrs(&a.model), addrs(&b.model));
}

/// Every case of fixtures/broken fails with the position its README gives.
#[test]
fn broken_inputs_fail_with_file_line_column() {
    let cases: &[(&str, &[&str])] = &[
        ("unclosed-brace", &["main.tf:1:27"]),
        ("missing-equals", &["main.tf:4:3"]),
        ("unterminated-string", &["main.tf:7:41"]),
        ("unterminated-heredoc", &["main.tf:5:15"]),
        ("invalid-character", &["main.tf:3:19"]),
        ("wrong-label-count", &["main.tf:5:23"]),
        ("malformed-json", &["main.tf.json:6:37"]),
        ("json-wrong-structure", &["main.tf.json:7:15"]),
        ("truncated-state", &["terraform.tfstate:53:32"]),
        ("state-version-3", &["terraform.tfstate:2:16"]),
        ("state-not-json", &["terraform.tfstate:1:1"]),
        (
            "two-broken-files",
            &["network.tf:5:33", "variables.tf:8:41"],
        ),
        ("bad-tfvars", &["terraform.tfvars:7:15"]),
        ("missing-module-dir", &["main.tf:1:1"]),
        ("dependency-cycle", &["main.tf:1:1"]),
    ];
    for (case, positions) in cases {
        let dir = fixtures().join("broken").join(case);
        let err = rewind_parse::load(&dir, &rewind_parse::Options::default())
            .err()
            .unwrap_or_else(|| panic!("{case}: loaded without error"));
        let text = err.to_string();
        assert_eq!(err.diagnostics.len(), positions.len(), "{case}: {text}");
        for (d, pos) in err.diagnostics.iter().zip(*positions) {
            let at = format!("{}:{}:{}", d.loc.file, d.loc.line, d.loc.col);
            assert!(
                at.ends_with(pos),
                "{case}: expected {pos}, got {at}: {}",
                d.message
            );
            assert_eq!(d.severity, Severity::Error);
        }
    }
}

/// An error in a file with bytes that are not UTF-8 quotes the line with
/// each such byte as U+FFFD, the caret under the first, not the control
/// characters the parser reads in their place.
#[test]
fn bytes_that_are_not_utf8_are_quoted_as_replacement_characters() {
    let dir = scratch("not-utf8");
    std::fs::write(
        dir.join("main.tf"),
        b"resource \"terraform_data\" \"z\" { input = \"\xc3\x28\xff\" }\n",
    )
    .unwrap();
    let Err(err) = rewind_parse::load(&dir, &rewind_parse::Options::default()) else {
        panic!("a byte that is not UTF-8 is an error");
    };
    let d = &err.diagnostics[0];
    assert_eq!((d.loc.line, d.loc.col), (1, 42));
    assert_eq!(
        d.source_line.as_deref(),
        Some("resource \"terraform_data\" \"z\" { input = \"\u{fffd}(\u{fffd}\" }")
    );
    let shown = d.to_string();
    assert!(
        shown.ends_with(&format!("\n   | {}^", " ".repeat(41))),
        "{shown}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rewind-parse-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Terraform reads the root directory and the modules it calls, nothing
/// else: a broken file elsewhere (a generator's template, an example) is
/// a warning, not an error (terraform-google-kubernetes-engine's releases
/// hold autogen/ templates that are not HCL next to a valid root module).
#[test]
fn broken_files_terraform_does_not_read_are_warnings() {
    let dir = scratch("unread");
    write(
        &dir,
        "main.tf",
        "module \"net\" {\n  source = \"./modules/net\"\n}\n",
    );
    write(
        &dir,
        "modules/net/main.tf",
        "variable \"cidr\" {\n  default = \"10.0.0.0/16\"\n}\n",
    );
    write(
        &dir,
        "autogen/main/networks.tf",
        "{% if private %}\nlocals {}\n",
    );
    write(&dir, "modules/net/examples/x.tfvars", "region = \n");
    let loaded = load(&dir);
    let warnings: Vec<String> = loaded
        .model
        .diagnostics
        .iter()
        .map(|d| format!("{}:{}:{} {}", d.loc.file, d.loc.line, d.loc.col, d.message))
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("autogen/main/networks.tf:1:1"),
        "{warnings:?}"
    );
    assert!(warnings
        .iter()
        .all(|w| w.contains("Terraform does not read this file")));
    // the same broken file in a module the root calls is an error
    write(&dir, "modules/net/bad.tf", "locals {\n  a = 1 }\n");
    let err = rewind_parse::load(&dir, &rewind_parse::Options::default())
        .expect_err("a broken file of a called module is an error");
    assert_eq!(err.diagnostics.len(), 1, "{err}");
    assert!(
        err.diagnostics[0].loc.file.ends_with("modules/net/bad.tf"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A reference resolves in the module it is written in, and an undeclared
/// one is a warning at its own file and line: a module call's arguments in
/// the calling module (also those of a remote module that was not
/// downloaded), a module's blocks in the module; a whole-module reference
/// depends on every output and the call.
#[test]
fn references_resolve_in_the_module_they_are_written_in() {
    let dir = scratch("scopes");
    write(
        &dir,
        "main.tf",
        r#"resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}

module "net" {
  source = "./modules/net"
  vpc_id = aws_vpc.main.id
  cidr   = local.missing
}

module "remote" {
  source  = "hashicorp/thing/aws"
  version = "1.0.0"
  name    = module.net.subnet_id
  zone    = var.nowhere
}

output "everything" {
  value = module.net
}
"#,
    );
    write(
        &dir,
        "modules/net/main.tf",
        r#"variable "vpc_id" {}
variable "cidr" {}
resource "aws_subnet" "a" {
  vpc_id     = var.vpc_id
  cidr_block = data.aws_x.gone.cidr
}
output "subnet_id" {
  value = aws_subnet.a.id
}
"#,
    );
    let loaded = load(&dir);
    let model = &loaded.model;
    let edges = |address: &str| -> Vec<(String, &str)> {
        let node = model
            .node(address)
            .unwrap_or_else(|| panic!("no node {address}"));
        node.edges
            .iter()
            .map(|e| (e.to.clone(), e.kind.as_str()))
            .collect()
    };
    let e = |to: &str, kind: &'static str| (to.to_string(), kind);
    // the call's argument, in the root module: the root's VPC
    assert_eq!(
        edges("module.net.var.vpc_id"),
        [e("aws_vpc.main", "reference"), e("module.net", "module")]
    );
    assert_eq!(
        edges("module.net.aws_subnet.a"),
        [
            e("module.net", "module"),
            e("module.net.var.vpc_id", "reference"),
            e("provider.aws", "provider"),
        ]
    );
    // (a module call has provider edges only for its `providers` map)
    assert_eq!(
        edges("module.remote"),
        [e("module.net.output.subnet_id", "reference")]
    );
    assert_eq!(
        edges("output.everything"),
        [
            e("module.net", "reference"),
            e("module.net.output.subnet_id", "reference"),
        ]
    );
    let mut warnings: Vec<String> = model
        .diagnostics
        .iter()
        .map(|d| format!("{}:{}:{} {}", d.loc.file, d.loc.line, d.loc.col, d.message))
        .collect();
    warnings.sort();
    assert_eq!(
        warnings,
        [
            "main.tf:15:13 reference to undeclared input variable var.nowhere",
            "main.tf:8:12 reference to undeclared local value local.missing",
            "modules/net/main.tf:5:16 reference to undeclared data source data.aws_x.gone",
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Terraform goes on without a terraform.tfvars that links to nothing,
/// and fails on a *.auto.tfvars that does (terraform 1.11.4 plan).
#[cfg(unix)]
#[test]
fn a_default_tfvars_linking_to_nothing_is_no_file() {
    let dir = scratch("tfvars-link");
    write(&dir, "main.tf", "variable \"x\" {\n  default = 1\n}\n");
    std::os::unix::fs::symlink("../../terraform.tfvars", dir.join("terraform.tfvars")).unwrap();
    let loaded = load(&dir);
    assert!(
        loaded.model.diagnostics.is_empty(),
        "{:?}",
        loaded.model.diagnostics
    );
    std::os::unix::fs::symlink("../nowhere.auto.tfvars", dir.join("x.auto.tfvars")).unwrap();
    let err = rewind_parse::load(&dir, &rewind_parse::Options::default())
        .expect_err("a missing auto.tfvars is an error");
    assert!(err.to_string().contains("x.auto.tfvars"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A `.tfvars` file Terraform does not load by itself (only with
/// -var-file) broke the whole directory when it did not parse; a broken
/// `*.auto.tfvars` still does (terraform 1.11.4 plan).
#[test]
fn a_broken_tfvars_terraform_does_not_load_is_a_warning() {
    let dir = scratch("tfvars-unloaded");
    write(&dir, "main.tf", "variable \"n\" {\n  default = 1\n}\n");
    write(&dir, "example.tfvars", "n = [1\n");
    write(&dir, "example.tfvars.json", "{\"n\": [1\n");
    let loaded = load(&dir);
    let warnings: Vec<String> = loaded
        .model
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.loc.file, d.message))
        .collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .all(|w| w.contains("only when given with -var-file")),
        "{warnings:?}"
    );
    write(&dir, "x.auto.tfvars", "n = [1\n");
    let err = rewind_parse::load(&dir, &rewind_parse::Options::default())
        .expect_err("a broken auto.tfvars is an error");
    assert!(err.to_string().contains("x.auto.tfvars"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Override files merge into the blocks they name (fixtures/override,
/// checked with terraform 1.11.4): arguments, lifecycle arguments and
/// local values replaced, the references following the arguments.
#[test]
fn override_files_merge_as_terraform_does() {
    let loaded = load(&fixtures().join("override"));
    let m = &loaded.model;
    assert!(m.diagnostics.is_empty(), "{:?}", m.diagnostics);
    let node = |a: &str| m.node(a).unwrap_or_else(|| panic!("{a} missing"));
    let b = node("terraform_data.b");
    assert_eq!(
        b.body.get("input").map(|v| v.render()),
        Some("\"b-${var.region}\"".into())
    );
    assert_eq!(
        b.body.get("lifecycle").map(|v| v.render()),
        Some("[{ create_before_destroy = true, ignore_changes = [triggers_replace] }]".into())
    );
    let edges: Vec<&str> = b.edges.iter().map(|e| e.to.as_str()).collect();
    assert_eq!(edges, ["local.name", "provider.terraform", "var.region"]);
    assert_eq!(
        node("local.name").body.get("value"),
        Some(&rewind_model::Value::str("overridden"))
    );
    let out = node("output.b");
    assert_eq!(
        out.body.get("description"),
        Some(&rewind_model::Value::str("the output as overridden"))
    );
    assert_eq!(
        out.body.get("value").map(|v| v.render()),
        Some("terraform_data.b.input".into())
    );
}

/// Nested blocks of a type the override holds replace all of that type,
/// static or dynamic; Terraform's errors: an override without a base, and
/// depends_on in an override.
#[test]
fn override_files_replace_nested_blocks_and_refuse_what_terraform_refuses() {
    let dir = scratch("override");
    write(
        &dir,
        "main.tf",
        "resource \"aws_security_group\" \"web\" {\n  name = var.name\n  ingress {\n    from_port = var.port\n  }\n  dynamic \"egress\" {\n    for_each = var.rules\n    content {\n      from_port = egress.value\n    }\n  }\n  tags = { a = 1 }\n}\nvariable \"name\" {}\nvariable \"port\" {}\nvariable \"rules\" {}\nvariable \"cidr\" {}\n",
    );
    write(
        &dir,
        "sg_override.tf",
        "resource \"aws_security_group\" \"web\" {\n  dynamic \"ingress\" {\n    for_each = [1]\n    content {\n      cidr_blocks = [var.cidr]\n    }\n  }\n  egress {\n    from_port = 443\n  }\n}\n",
    );
    let loaded = load(&dir);
    let sg = loaded.model.node("aws_security_group.web").unwrap();
    assert!(sg.body.get("ingress").is_none(), "{}", sg.body.render());
    assert!(
        sg.body.render().contains("dynamic = { ingress = [{ content = [{ cidr_blocks = [var.cidr] }], for_each = [1] }] }"),
        "{}",
        sg.body.render()
    );
    assert_eq!(
        sg.body.get("egress").map(|v| v.render()),
        Some("[{ from_port = 443 }]".into())
    );
    let edges: Vec<&str> = sg.edges.iter().map(|e| e.to.as_str()).collect();
    assert_eq!(edges, ["provider.aws", "var.cidr", "var.name"]);
    let fails = |text: &str| {
        write(&dir, "extra_override.tf", text);
        rewind_parse::load(&dir, &rewind_parse::Options::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let err =
        fails("moved {\n  from = aws_security_group.old\n  to   = aws_security_group.web\n}\n");
    assert!(err.contains("cannot override moved blocks"), "{err}");
    // a default provider configuration needs no base; an aliased one does
    assert_eq!(
        fails("provider \"aws\" {\n  region = \"eu-west-1\"\n}\n"),
        ""
    );
    let loaded = load(&dir);
    assert!(loaded
        .model
        .node("provider.aws")
        .is_some_and(|p| p.body.get("region").is_some()));
    let err = fails("resource \"aws_s3_bucket\" \"logs\" {\n  bucket = \"x\"\n}\n");
    assert!(
        err.contains("missing base resource aws_s3_bucket.logs to override"),
        "{err}"
    );
    let err = fails("resource \"aws_security_group\" \"web\" {\n  depends_on = [var.name]\n}\n");
    assert!(
        err.contains("depends_on argument may not be overridden"),
        "{err}"
    );
    let err = fails("provider \"aws\" {\n  alias = \"west\"\n}\n");
    assert!(
        err.contains("missing base provider provider.aws.west"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Terraform 1.15 takes variables and locals in a module's source; the
/// module is then known only once downloaded (opaque until then), and a
/// module without source stays an error.
#[test]
fn a_module_source_may_be_an_expression() {
    let dir = scratch("source-expr");
    write(
        &dir,
        "main.tf",
        "variable \"ref\" {\n  default = \"v1.2.0\"\n}\nmodule \"net\" {\n  source = \"git::https://example.com/net.git?ref=${var.ref}\"\n  cidr   = \"10.0.0.0/16\"\n}\n",
    );
    let loaded = load(&dir);
    let net = loaded.model.node("module.net").unwrap();
    assert_eq!(
        net.facts.more.resolved,
        Some(rewind_model::ModuleSource::Remote)
    );
    write(
        &dir,
        "main.tf",
        "module \"net\" {\n  cidr = \"10.0.0.0/16\"\n}\n",
    );
    let err = rewind_parse::load(&dir, &rewind_parse::Options::default())
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("module module.net has no source"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
#[path = "parse/inputs.rs"]
mod inputs;

/// `unread_state` (what `graph` asks for): the state file is listed but
/// neither read nor hashed, the configuration is the same as with the
/// state skipped after reading it, and a state that is not a regular
/// file is skipped with a warning as before.
#[cfg(unix)]
#[test]
fn an_unread_state_is_listed_unhashed_and_still_checked() {
    let dir = scratch("unread-state");
    write(
        &dir,
        "main.tf",
        "variable \"db_password\" {\n  sensitive = true\n}\n\nresource \"aws_db_instance\" \"db\" {\n  password = var.db_password\n  tags     = { Name = \"db\" }\n}\n",
    );
    // not even JSON: it is never parsed
    write(&dir, "terraform.tfstate", "{ \"version\": 4, broken");
    let skip = rewind_parse::Options {
        skip_state: true,
        ..Default::default()
    };
    let unread = rewind_parse::Options {
        skip_state: true,
        unread_state: true,
        ..Default::default()
    };
    let read = rewind_parse::load(&dir, &skip).unwrap_or_else(|e| panic!("{e}"));
    let not_read = rewind_parse::load(&dir, &unread).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(read.model.nodes, not_read.model.nodes);
    let state = |l: &rewind_parse::Loaded| {
        l.files
            .iter()
            .find(|f| f.path.ends_with("terraform.tfstate"))
            .map(|f| f.hash)
            .expect("the state file is listed")
    };
    assert_eq!(
        state(&read),
        rewind_model::Hash::of(b"{ \"version\": 4, broken")
    );
    assert_eq!(state(&not_read), rewind_model::Hash::default());
    // a state that is not a regular file is skipped, as before
    std::fs::remove_file(dir.join("terraform.tfstate")).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(dir.join("terraform.tfstate"))
        .status()
        .expect("mkfifo runs");
    assert!(fifo.success());
    for opts in [&skip, &unread] {
        let l = rewind_parse::load(&dir, opts).unwrap_or_else(|e| panic!("{e}"));
        assert!(!l
            .files
            .iter()
            .any(|f| f.path.ends_with("terraform.tfstate")));
        assert!(
            l.model
                .diagnostics
                .iter()
                .any(|d| d.message.contains("not a regular file")),
            "{:?}",
            l.model.diagnostics
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The parse results of a directory, by content, for another load (what
/// a plan between two directories hands the current side).
struct SharedParse {
    parsed: BTreeMap<
        (rewind_model::Hash, rewind_parse::FileKind),
        std::sync::Arc<rewind_parse::Parsed>,
    >,
    taken: std::sync::atomic::AtomicUsize,
}

impl rewind_parse::Cache for SharedParse {
    fn parsed(
        &self,
        hash: &rewind_model::Hash,
        kind: rewind_parse::FileKind,
    ) -> Option<std::sync::Arc<rewind_parse::Parsed>> {
        let p = self.parsed.get(&(*hash, kind)).cloned();
        if p.is_some() {
            self.taken
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        p
    }
}

/// `load` is `parse_dir` then `assemble`; while one directory's parse
/// waits to be assembled, another load may take its parse results of the
/// files with the same content: both models are those of plain loads.
#[test]
fn a_parse_handed_to_another_load_before_assembly_gives_the_same_models() {
    use rewind_parse::FileKind;
    let (v2, v3) = (
        fixtures().join("apps/shop/v2"),
        fixtures().join("apps/shop/v3"),
    );
    let opts = rewind_parse::Options::default();
    let parsed = rewind_parse::parse_dir(&v3, &opts).unwrap();
    assert_eq!(parsed.files().len(), parsed.parsed().len());
    let shared = SharedParse {
        parsed: parsed
            .files()
            .iter()
            .zip(parsed.parsed())
            .filter(|(f, _)| matches!(f.kind, FileKind::Tf | FileKind::TfJson | FileKind::Tfvars))
            .map(|(f, p)| ((f.hash, f.kind), std::sync::Arc::clone(p)))
            .collect(),
        taken: Default::default(),
    };
    assert!(shared.parsed.len() >= 3, "{}", shared.parsed.len());
    let with_cache = rewind_parse::Options {
        cache: Some(&shared),
        ..Default::default()
    };
    let v2_shared = rewind_parse::load(&v2, &with_cache).unwrap();
    let v3_assembled = parsed.assemble(&opts).unwrap();
    // the two versions share files, and those were not parsed again
    let taken = shared.taken.load(std::sync::atomic::Ordering::Relaxed);
    assert!(taken > 0);
    assert_eq!(v2_shared.files.iter().filter(|f| !f.fresh).count(), taken);
    for (dir, got) in [(&v2, &v2_shared), (&v3, &v3_assembled)] {
        let plain = load(dir);
        assert!(!plain.model.nodes.is_empty());
        assert_eq!(
            format!("{:?}", got.model),
            format!("{:?}", plain.model),
            "{}",
            dir.display()
        );
        let files = |l: &rewind_parse::Loaded| -> Vec<(String, rewind_model::Hash)> {
            l.files.iter().map(|f| (f.path.clone(), f.hash)).collect()
        };
        assert_eq!(files(got), files(&plain));
        assert_eq!(got.parsed.len(), got.files.len());
    }
}

/// `free_parsed` lets go of the configuration files' parse results once
/// the module tree is built: the model (nodes, edges, instances, secret
/// paths) is the one a load that keeps them builds, and the parse results
/// it returns are empty for configuration and variable files.
#[test]
fn freeing_parse_results_after_the_module_tree_changes_no_model() {
    let dir = fixtures().join("apps/shop/v4");
    let kept = load(&dir);
    let freed = rewind_parse::load(
        &dir,
        &rewind_parse::Options {
            free_parsed: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    assert!(kept.model.nodes.iter().any(|n| !n.module.is_empty()));
    assert!(!kept.model.instances.is_empty());
    assert_eq!(freed.model.nodes, kept.model.nodes);
    assert_eq!(freed.model.instances, kept.model.instances);
    assert_eq!(freed.model.state, kept.model.state);
    assert_eq!(freed.model.diagnostics, kept.model.diagnostics);
    let config = |l: &rewind_parse::Loaded| {
        l.files
            .iter()
            .zip(&l.parsed)
            .filter(|(_, p)| matches!(***p, rewind_parse::Parsed::Config(_)))
            .count()
    };
    assert!(config(&kept) > 10, "{} config parses kept", config(&kept));
    assert_eq!(config(&freed), 0);
    assert_eq!(freed.files.len(), kept.files.len());
}

/// A cache's hooks see each file's bytes as read (those hashed) and each
/// result parsed, once per file, and the model is the one a load without
/// a cache builds (with `free_parsed`, as a snapshot loads).
#[test]
fn a_cache_is_handed_every_file_read_and_every_result_parsed_once() {
    use std::sync::Mutex;
    #[derive(Default)]
    struct Seen {
        bytes: Mutex<Vec<(rewind_model::Hash, usize)>>,
        parsed: Mutex<Vec<(rewind_model::Hash, rewind_parse::FileKind)>>,
    }
    impl rewind_parse::Cache for Seen {
        fn keep_bytes(&self, file: &rewind_parse::SourceFile, bytes: &[u8]) {
            assert_eq!(rewind_model::Hash::of(bytes), file.hash);
            self.bytes.lock().unwrap().push((file.hash, bytes.len()));
        }
        fn keep_parsed(
            &self,
            hash: &rewind_model::Hash,
            kind: rewind_parse::FileKind,
            _parsed: &std::sync::Arc<rewind_parse::Parsed>,
        ) {
            self.parsed.lock().unwrap().push((*hash, kind));
        }
    }
    let dir = fixtures().join("apps/shop/v4");
    let kept = load(&dir);
    let seen = Seen::default();
    let last = rewind_parse::load(
        &dir,
        &rewind_parse::Options {
            cache: Some(&seen),
            free_parsed: true,
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    assert!(kept.model.state.is_some());
    assert!(!kept.model.instances.is_empty());
    assert_eq!(last.model.nodes, kept.model.nodes);
    assert_eq!(last.model.instances, kept.model.instances);
    assert_eq!(last.model.state, kept.model.state);
    assert_eq!(last.model.diagnostics, kept.model.diagnostics);
    let files = |l: &rewind_parse::Loaded| -> Vec<(String, rewind_model::Hash)> {
        l.files.iter().map(|f| (f.path.clone(), f.hash)).collect()
    };
    assert_eq!(files(&last), files(&kept));
    assert!(last
        .files
        .iter()
        .any(|f| f.kind == rewind_parse::FileKind::State));
    let mut bytes = seen.bytes.into_inner().unwrap();
    bytes.sort();
    let mut want: Vec<(rewind_model::Hash, usize)> = last
        .files
        .iter()
        .map(|f| (f.hash, f.size as usize))
        .collect();
    want.sort();
    assert_eq!(bytes, want, "every file's bytes, once");
    let parsed = seen.parsed.into_inner().unwrap();
    assert_eq!(parsed.len(), last.files.len(), "every file parsed, once");
}

/// Modules that each call the next twice multiply: past the model's
/// limit of blocks the load is refused with one error naming where,
/// not grown until memory runs out (22 levels, 4 million instances, did).
#[test]
fn module_calls_that_fan_out_are_refused_past_the_block_limit() {
    let dir = std::env::temp_dir().join(format!("rewind-parse-fanout-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let levels = 10;
    for i in 0..=levels {
        let m = dir.join(format!("m{i}"));
        std::fs::create_dir_all(&m).unwrap();
        let mut text = format!("resource \"terraform_data\" \"r\" {{\n  input = \"{i}\"\n}}\n");
        if i < levels {
            for call in ["x", "y"] {
                text += &format!("module \"{call}\" {{\n  source = \"../m{}\"\n}}\n", i + 1);
            }
        }
        std::fs::write(m.join("main.tf"), text).unwrap();
    }
    std::fs::write(
        dir.join("main.tf"),
        "module \"top\" {\n  source = \"./m0\"\n}\n",
    )
    .unwrap();
    // 2^11 - 1 instances of three blocks or fewer: within the default
    let loaded = load(&dir);
    let resources = loaded
        .model
        .nodes
        .iter()
        .filter(|n| n.kind == rewind_model::NodeKind::Resource)
        .count();
    assert_eq!(resources, (1 << (levels + 1)) - 1);
    let opts = rewind_parse::Options {
        max_blocks: 1000,
        ..Default::default()
    };
    let err = rewind_parse::load(&dir, &opts).expect_err("past the limit");
    let shown: Vec<String> = err.diagnostics.iter().map(|d| d.to_string()).collect();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0].contains("more blocks than rewind models (1000)")
            && shown[0].contains("at module.top.module."),
        "{shown:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
