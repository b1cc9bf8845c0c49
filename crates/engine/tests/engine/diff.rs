//! Diffs, plans and graphs give the same answers whether a version is a
//! directory or a snapshot of it.

use rewind_engine::{
    diff, graph, plan, snapshot, DiffOptions, Error, GraphOptions, LazyStore, Only, PlanOptions,
    SnapshotOptions, StoredVersion, Version,
};
use rewind_odb::Store;

use crate::common::{fixtures, shop, TempDir};

/// A store with releases 1 to 4 of the shop, tagged v1..v4 in env prod.
fn shop_store(t: &TempDir) -> String {
    let loc = t.0.join("store").display().to_string();
    let store = Store::init(&loc).unwrap();
    for v in 1..=4 {
        let opts = SnapshotOptions {
            env: "prod".into(),
            tags: vec![format!("v{v}")],
            ..Default::default()
        };
        snapshot(&store, &shop(v), &opts).unwrap();
    }
    loc
}

fn addresses(d: &rewind_engine::DiffOutcome) -> Vec<(String, &'static str)> {
    d.diff
        .config
        .iter()
        .chain(&d.diff.instances)
        .map(|c| (c.address.clone(), c.change.as_str()))
        .collect()
}

#[test]
fn snapshots_and_directories_diff_and_plan_alike() {
    let t = TempDir::new("alike");
    let stores = LazyStore::new(Some(shop_store(&t)));
    let snap = |r: &str| Version::parse(r, &stores).unwrap();
    let dir = |v: u32| Version::Dir(shop(v));

    let opts = DiffOptions::default();
    let from_snapshots = diff(&snap("v1"), &snap("v4"), &opts).unwrap();
    let from_dirs = diff(&dir(1), &dir(4), &opts).unwrap();
    assert!(!from_dirs.diff.is_empty());
    assert_eq!(addresses(&from_snapshots), addresses(&from_dirs));
    assert_eq!(from_snapshots.from.tags, vec!["v1".to_string()]);
    assert!(
        from_snapshots.to.label.starts_with("v4 ("),
        "{}",
        from_snapshots.to.label
    );
    assert_eq!(from_dirs.from.label, shop(1).display().to_string());

    let mixed = diff(&dir(1), &snap("prod"), &opts).unwrap();
    assert_eq!(addresses(&mixed), addresses(&from_dirs));

    let steps = |p: &rewind_engine::PlanOutcome| -> Vec<(String, String)> {
        p.plan
            .steps
            .iter()
            .map(|s| (s.address.to_string(), s.operation.as_str().to_string()))
            .collect()
    };
    let popts = PlanOptions::default();
    let planned = plan(&snap("v4"), &snap("v1"), &popts).unwrap();
    assert!(!planned.plan.steps.is_empty());
    assert_eq!(
        steps(&planned),
        steps(&plan(&dir(4), &dir(1), &popts).unwrap())
    );
    assert_eq!(
        steps(&planned),
        steps(&plan(&dir(4), &snap("v1"), &popts).unwrap())
    );
    // without --from: the latest snapshot of the target's environment
    let current = Version::current_for(&snap("v1"), None, &stores).unwrap();
    assert_eq!(
        steps(&planned),
        steps(&plan(&current, &snap("v1"), &popts).unwrap())
    );

    // the target's lock file chooses the provider tables, read from the
    // directory or from the snapshot's tree alike
    let locked = |p: &rewind_engine::PlanOutcome| {
        p.plan
            .notes
            .iter()
            .any(|n| n.message.contains("aws 5.0.0 (lock file)"))
    };
    assert!(locked(&planned), "{:?}", planned.plan.notes);
    assert!(locked(&plan(&dir(4), &dir(1), &popts).unwrap()));

    let gs = graph(&snap("v2"), &GraphOptions::default()).unwrap();
    let gd = graph(&dir(2), &GraphOptions::default()).unwrap();
    let nodes = |m: &rewind_model::Model| -> Vec<String> {
        m.nodes.iter().map(|n| n.address.clone()).collect()
    };
    assert_eq!(nodes(&gs.model), nodes(&gd.model));
    assert!(gs.model.instances.is_empty() && gd.model.instances.is_empty());
}

#[test]
fn diff_filters_keep_only_what_was_asked() {
    let all = diff(
        &Version::Dir(shop(1)),
        &Version::Dir(shop(4)),
        &DiffOptions::default(),
    )
    .unwrap();
    let added = diff(
        &Version::Dir(shop(1)),
        &Version::Dir(shop(4)),
        &DiffOptions {
            only: Some(Only::Creates),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(!added.diff.config.is_empty());
    assert!(added.diff.config.len() < all.diff.config.len());
    assert!(added
        .diff
        .config
        .iter()
        .all(|c| c.change.as_str() == "added"));
    let none = diff(
        &Version::Dir(shop(1)),
        &Version::Dir(shop(4)),
        &DiffOptions {
            addresses: vec!["no.such.*".into()],
            ..Default::default()
        },
    )
    .unwrap();
    assert!(none.diff.is_empty() && none.is_empty());
}

#[test]
fn a_broken_directory_fails_with_every_problem_and_the_warnings_before() {
    let broken = fixtures().join("broken/two-broken-files");
    let err = diff(
        &Version::Dir(shop(1)),
        &Version::Dir(broken.clone()),
        &DiffOptions::default(),
    )
    .err()
    .unwrap();
    let Error::Load(f) = err else {
        panic!("expected a load failure, got {err}");
    };
    assert_eq!(f.what, broken.display().to_string());
    assert!(f.diagnostics.len() >= 2, "{:?}", f.diagnostics);
    assert!(f
        .to_string()
        .ends_with(&format!("problems in {}", broken.display())));
}

#[test]
fn a_version_that_is_neither_a_directory_nor_in_a_store_says_so() {
    let t = TempDir::new("nostore");
    let stores = LazyStore::new(Some(t.0.join("nowhere").display().to_string()));
    let err = Version::parse("v1", &stores).err().unwrap();
    assert!(matches!(err, Error::NotAVersion { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "\"v1\" is not a directory, so it must be a snapshot reference"
    );
    let target = Version::Dir(shop(1));
    assert!(matches!(
        Version::current_for(&target, None, &stores),
        Err(Error::NoCurrentVersion)
    ));
}

/// Regression: a resource and its single state instance share an address;
/// the part-by-part diff of two snapshots took one for the other and
/// reported unchanged resources as removed when only one side had state.
#[test]
fn snapshots_with_and_without_state_diff_like_their_directories() {
    let t = TempDir::new("diff-state-one-side");
    let store = Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    let dirs = [
        fixtures().join("rollback/v1"),
        fixtures().join("rollback/v2"),
    ];
    let ids: Vec<_> = dirs
        .iter()
        .map(|d| snapshot(&store, d, &SnapshotOptions::default()).unwrap().id)
        .collect();
    let stored = diff(
        &Version::Snapshot(StoredVersion::new(&store, ids[0]).unwrap()),
        &Version::Snapshot(StoredVersion::new(&store, ids[1]).unwrap()),
        &DiffOptions::default(),
    )
    .unwrap();
    let parsed = diff(
        &Version::Dir(dirs[0].clone()),
        &Version::Dir(dirs[1].clone()),
        &DiffOptions::default(),
    )
    .unwrap();
    let addresses = |d: &rewind_engine::DiffOutcome| -> Vec<String> {
        d.diff
            .config
            .iter()
            .map(|c| format!("{} {}", c.change.as_str(), c.address))
            .collect()
    };
    assert_eq!(
        addresses(&stored),
        vec!["added terraform_data.cache", "changed terraform_data.web"]
    );
    assert_eq!(addresses(&stored), addresses(&parsed));
}

/// A plan between two directories parses a file the two share once; what
/// the current side takes of the target's parse is still its own file:
/// its warnings name its own path, and the plan is the one of two
/// separate parses (a renamed file with the same content changes nothing).
#[test]
fn a_file_both_directories_share_is_still_each_sides_own() {
    let t = TempDir::new("shared-parse");
    let (target, current) = (t.0.join("target"), t.0.join("current"));
    let text = "stray = 1\n\nresource \"terraform_data\" \"app\" {\n  input = \"v1\"\n}\n";
    std::fs::create_dir_all(&target).unwrap();
    std::fs::create_dir_all(&current).unwrap();
    std::fs::write(target.join("a.tf"), text).unwrap();
    std::fs::write(current.join("b.tf"), text).unwrap();
    std::fs::write(
        current.join("extra.tf"),
        "resource \"terraform_data\" \"extra\" {\n  input = \"x\"\n}\n",
    )
    .unwrap();
    let out = plan(
        &Version::Dir(current.clone()),
        &Version::Dir(target.clone()),
        &PlanOptions::default(),
    )
    .unwrap();
    let mut warned: Vec<(String, u32)> = out
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("unexpected top-level attribute"))
        .map(|d| (d.loc.file.clone(), d.loc.line))
        .collect();
    warned.sort();
    assert_eq!(warned, [("a.tf".to_string(), 1), ("b.tf".to_string(), 1)]);
    // only the resource the target does not have goes
    let changes = changes_of(&out);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].0, "terraform_data.extra");
    assert!(changes[0].1.contains("Delete"), "{changes:?}");
}

/// A plan between two directories loads the target and the current side
/// partly at the same time; a failure is still the failing side's, and
/// with both failing the target's comes first (as when one loaded after
/// the other), with the warnings found before it.
#[test]
fn a_plan_between_directories_reports_the_side_that_failed() {
    let t = TempDir::new("plan-fails");
    let good = t.0.join("good");
    let empty = t.0.join("empty");
    let broken = t.0.join("broken");
    for d in [&good, &empty, &broken] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(
        good.join("main.tf"),
        "stray = 1\n\nresource \"terraform_data\" \"app\" {\n  input = \"v1\"\n}\n",
    )
    .unwrap();
    std::fs::write(empty.join("README.md"), "no configuration\n").unwrap();
    std::fs::write(
        broken.join("main.tf"),
        "resource \"terraform_data\" \"app\" {\n  input = \n",
    )
    .unwrap();
    let failure = |from: &std::path::Path, to: &std::path::Path| match plan(
        &Version::Dir(from.to_path_buf()),
        &Version::Dir(to.to_path_buf()),
        &PlanOptions::default(),
    ) {
        Err(Error::Load(f)) => f,
        Err(e) => panic!("not a load failure: {e}"),
        Ok(_) => panic!("planned {} -> {}", from.display(), to.display()),
    };
    // the current side fails to parse: its failure, after the target's
    // warnings
    let f = failure(&broken, &good);
    assert_eq!(f.what, broken.display().to_string());
    assert!(
        f.diagnostics
            .iter()
            .any(|d| d.loc.file.ends_with("main.tf") && d.loc.line == 2),
        "{:?}",
        f.diagnostics
    );
    assert!(
        f.earlier
            .iter()
            .any(|d| d.message.contains("unexpected top-level attribute")),
        "{:?}",
        f.earlier
    );
    // the target has no configuration: its failure, nothing earlier
    let f = failure(&good, &empty);
    assert_eq!(f.what, empty.display().to_string());
    assert!(
        f.diagnostics[0]
            .message
            .contains("no Terraform configuration here"),
        "{:?}",
        f.diagnostics
    );
    assert!(f.earlier.is_empty());
    // both fail: the target's
    let f = failure(&broken, &empty);
    assert_eq!(f.what, empty.display().to_string());
    let f = failure(&empty, &broken);
    assert_eq!(f.what, broken.display().to_string());
    assert!(
        f.diagnostics.iter().any(|d| d.loc.line == 2),
        "{:?}",
        f.diagnostics
    );
}

/// A content several files share (the same module file copied into many
/// modules) is handed to the current side once per copy the target has;
/// a copy more than the target has is parsed on its own. Every copy is
/// its module's: the plan deletes only the module the target lacks.
#[test]
fn a_content_many_files_share_is_each_copys_own() {
    let t = TempDir::new("shared-copies");
    let (target, current) = (t.0.join("target"), t.0.join("current"));
    let module = "variable \"name\" {\n  type = string\n}\n\nresource \"terraform_data\" \"r\" {\n  input = var.name\n}\n";
    let root = |n: usize| {
        (0..n)
            .map(|i| {
                format!(
                    "module \"m{i}\" {{\n  source = \"./modules/m{i}\"\n  name   = \"n{i}\"\n}}\n"
                )
            })
            .collect::<String>()
    };
    for (dir, n) in [(&target, 3), (&current, 4)] {
        for i in 0..n {
            let m = dir.join(format!("modules/m{i}"));
            std::fs::create_dir_all(&m).unwrap();
            std::fs::write(m.join("main.tf"), module).unwrap();
        }
        std::fs::write(dir.join("main.tf"), root(n)).unwrap();
    }
    let out = plan(
        &Version::Dir(current.clone()),
        &Version::Dir(target.clone()),
        &PlanOptions::default(),
    )
    .unwrap();
    let changes = changes_of(&out);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].0, "module.m3.terraform_data.r");
    assert!(changes[0].1.contains("Delete"), "{changes:?}");
    // each copy's resource is planned in its own module
    let mut kept: Vec<String> = out
        .plan
        .unchanged
        .iter()
        .map(|u| u.address.to_string())
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        [
            "module.m0.terraform_data.r",
            "module.m1.terraform_data.r",
            "module.m2.terraform_data.r"
        ]
    );
}

/// A plan's changes: each address with its actions, as debug text.
fn changes_of(out: &rewind_engine::PlanOutcome) -> Vec<(String, String)> {
    out.plan
        .changes
        .iter()
        .map(|c| (c.address.to_string(), format!("{:?}", c.actions)))
        .collect()
}

#[test]
fn a_graph_of_labels_only_has_the_same_nodes_and_edges_without_spread_secrets() {
    let t = TempDir::new("graph-labels");
    std::fs::write(
        t.0.join("main.tf"),
        r#"
variable "pw" {
  type      = string
  sensitive = true
  default   = "hunter2"
}
locals {
  conn = "app:${var.pw}@db"
}
resource "terraform_data" "a" {
  input = local.conn
}
resource "terraform_data" "db" {
  input = { master_password = "s3cret", name = "db" }
}
output "conn" {
  value     = terraform_data.a.output
  sensitive = true
}
resource "terraform_data" "b" {
  input            = terraform_data.a.output
  triggers_replace = [terraform_data.db.id]
  dynamic "rule" {
    for_each = [local.conn]
    content {
      v = rule.value
    }
  }
}
"#,
    )
    .unwrap();
    // an override replaces an argument and a dynamic block, and so the
    // edges they held: it reads the bodies' names either way
    std::fs::write(
        t.0.join("b_override.tf"),
        r#"
resource "terraform_data" "b" {
  input = var.pw
  rule {
    v = 1
  }
}
"#,
    )
    .unwrap();
    let full = graph(&Version::Dir(t.0.clone()), &GraphOptions::default()).unwrap();
    let labels = graph(
        &Version::Dir(t.0.clone()),
        &GraphOptions {
            labels_only: true,
            ..GraphOptions::default()
        },
    )
    .unwrap();
    let shape = |m: &rewind_model::Model| -> Vec<(String, Vec<String>)> {
        m.nodes
            .iter()
            .map(|n| {
                let edges = n.edges.iter().map(|e| e.to.clone()).collect();
                (n.address.clone(), edges)
            })
            .collect()
    };
    assert_eq!(shape(&full.model), shape(&labels.model));
    let secret = |m: &rewind_model::Model, a: &str| {
        let n = m.nodes.iter().find(|n| n.address == a).unwrap();
        !n.sensitive.is_empty()
    };
    // the spreading marks what reads the variable; drawn labels need none
    assert!(secret(&full.model, "local.conn") && secret(&full.model, "terraform_data.a"));
    assert!(!secret(&labels.model, "local.conn") && !secret(&labels.model, "terraform_data.a"));
    // nor are names like secrets looked for; `sensitive = true` still marks
    assert!(secret(&full.model, "terraform_data.db"));
    assert!(!secret(&labels.model, "terraform_data.db"));
    for a in ["var.pw", "output.conn"] {
        assert!(secret(&full.model, a) && secret(&labels.model, a), "{a}");
    }
    let edges = |m: &rewind_model::Model, a: &str| -> Vec<String> {
        let n = m.nodes.iter().find(|n| n.address == a).unwrap();
        n.edges.iter().map(|e| e.to.clone()).collect()
    };
    assert_eq!(
        edges(&full.model, "terraform_data.b"),
        ["provider.terraform", "terraform_data.db", "var.pw"],
        "the override's edges replace those of what it replaced"
    );
    // a resource's body is not built for labels; others' are
    let body = |m: &rewind_model::Model, a: &str| {
        let n = m.nodes.iter().find(|n| n.address == a).unwrap();
        n.body.to_json()
    };
    for a in ["terraform_data.db", "terraform_data.b"] {
        assert_eq!(body(&labels.model, a), serde_json::json!({}), "{a}");
    }
    assert_eq!(
        body(&full.model, "terraform_data.b"),
        serde_json::json!({
            "input": { "$expr": "var.pw" },
            "rule": [{ "v": 1 }],
            "triggers_replace": [{ "$expr": "terraform_data.db.id" }]
        })
    );
    assert_eq!(
        body(&full.model, "terraform_data.db"),
        serde_json::json!({ "input": { "master_password": "s3cret", "name": "db" } })
    );
    for a in ["var.pw", "local.conn", "output.conn"] {
        assert_eq!(body(&full.model, a), body(&labels.model, a), "{a}");
    }
}

/// Every directory of the fixtures (roots, modules, broken ones) drawn
/// with labels only has the nodes, edges and problems of its whole load.
#[test]
fn every_fixture_drawn_with_labels_only_has_the_whole_loads_graph() {
    let mut dirs: Vec<std::path::PathBuf> = walkdir::WalkDir::new(fixtures())
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy();
            e.file_type().is_file() && (name.ends_with(".tf") || name.ends_with(".tf.json"))
        })
        .filter_map(|e| e.path().parent().map(std::path::Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    assert!(dirs.len() > 100, "{} directories", dirs.len());
    type Shape = Vec<(String, Vec<(String, String)>)>;
    let shape = |dir: &std::path::Path, labels_only: bool| -> Result<Shape, String> {
        let opts = GraphOptions {
            labels_only,
            ..GraphOptions::default()
        };
        let out = graph(&Version::Dir(dir.to_path_buf()), &opts).map_err(|e| e.to_string())?;
        let mut nodes: Shape = out
            .model
            .nodes
            .iter()
            .map(|n| {
                let edges = n
                    .edges
                    .iter()
                    .map(|e| (e.to.clone(), format!("{:?}", e.kind)))
                    .collect();
                (n.address.clone(), edges)
            })
            .collect();
        nodes.push((format!("{:?}", out.diagnostics), Vec::new()));
        Ok(nodes)
    };
    let mut loaded = 0;
    for dir in &dirs {
        let whole = shape(dir, false);
        loaded += usize::from(whole.is_ok());
        assert_eq!(whole, shape(dir, true), "{}", dir.display());
    }
    assert!(
        loaded > 100,
        "{loaded} of {} directories loaded",
        dirs.len()
    );
}
