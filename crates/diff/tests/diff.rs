//! The semantic diff on the bundled application history, against the
//! changes listed in fixtures/apps/shop/CHANGES.md.

use std::path::{Path, PathBuf};

use rewind_diff::{diff, AttrOp, ChangeKind, Diff, Options};
use rewind_model::Model;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn model(rel: &str) -> Model {
    rewind_parse::load(&fixtures().join(rel), &rewind_parse::Options::default())
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .model
}

fn shop_diff(a: u32, b: u32) -> Diff {
    diff(
        &model(&format!("apps/shop/v{a}")),
        &model(&format!("apps/shop/v{b}")),
        &Options::default(),
    )
}

/// (change, address) pairs of the configuration changes.
fn summary(d: &Diff) -> Vec<(String, String)> {
    d.config
        .iter()
        .map(|c| {
            let w = match &c.change {
                ChangeKind::Moved { from } => format!("moved from {from}"),
                ChangeKind::Changed if c.is_replacement() => "replaced".into(),
                other => other.as_str().to_string(),
            };
            (w, c.address.clone())
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort_by(|a, b| a.1.cmp(&b.1));
    v
}

fn attr_paths(d: &Diff, address: &str) -> Vec<(String, AttrOp)> {
    d.config
        .iter()
        .find(|c| c.address == address)
        .unwrap_or_else(|| panic!("{address} not changed"))
        .attrs
        .iter()
        .map(|a| (a.path.to_string(), a.op))
        .collect()
}

#[test]
fn v1_to_v2() {
    let d = shop_diff(1, 2);
    assert_eq!(
        summary(&d),
        pairs(&[
            ("added", "aws_cloudwatch_metric_alarm.cpu_high"),
            ("changed", "module.database"),
            ("added", "module.database.aws_db_instance.replica"),
            ("added", "module.database.output.replica_endpoint"),
            ("added", "module.database.var.create_replica"),
            ("added", "module.database.var.replica_availability_zone"),
            ("changed", "module.network.aws_security_group.app"),
            ("changed", "module.storage.aws_efs_file_system.shared"),
            ("changed", "tfvars[\"prod.auto.tfvars\"]"),
            ("changed", "tfvars[\"shop.auto.tfvars.json\"]"),
        ])
    );
    // The ingress block inserted at position 1 is one insertion.
    assert_eq!(
        attr_paths(&d, "module.network.aws_security_group.app"),
        vec![("ingress[1]".to_string(), AttrOp::Add)]
    );
    assert_eq!(
        attr_paths(&d, "module.database"),
        vec![
            ("create_replica".to_string(), AttrOp::Add),
            ("replica_availability_zone".to_string(), AttrOp::Add)
        ]
    );
    assert_eq!(
        attr_paths(&d, "tfvars[\"shop.auto.tfvars.json\"]"),
        vec![("extra_tags.CostCenter".to_string(), AttrOp::Modify)]
    );
    assert!(d.state_compared);
    assert!(d.instances.iter().any(
        |c| c.address == "module.database.aws_db_instance.replica[0]"
            && c.change == ChangeKind::Added
    ));
}

#[test]
fn v2_to_v3_moves_and_cosmetics() {
    let d = shop_diff(2, 3);
    assert_eq!(
        summary(&d),
        pairs(&[
            (
                "moved from aws_cloudwatch_metric_alarm.cpu_high",
                "aws_cloudwatch_metric_alarm.asg_cpu_high"
            ),
            ("changed", "module.cdn"),
            ("changed", "module.cdn.var.http_version"),
            ("replaced", "module.compute.aws_lb_target_group.app"),
            ("changed", "module.compute.local.nginx_conf"),
            ("changed", "module.database"),
            ("added", "moved[\"aws_cloudwatch_metric_alarm.cpu_high\"]"),
        ])
    );
    let tg = d
        .config
        .iter()
        .find(|c| c.address == "module.compute.aws_lb_target_group.app")
        .unwrap();
    assert_eq!(tg.forces_replacement, vec!["port"]);
    let moved = d
        .config
        .iter()
        .find(|c| c.address == "aws_cloudwatch_metric_alarm.asg_cpu_high")
        .unwrap();
    assert!(
        moved.attrs.is_empty(),
        "the body did not change: {:?}",
        moved.attrs
    );
    // the move, state side: renamed in the state too
    assert!(d.instances.iter().any(|c| matches!(&c.change, ChangeKind::Moved { from } if from == "aws_cloudwatch_metric_alarm.cpu_high")));
}

#[test]
fn going_back_reverses_the_move() {
    let d = shop_diff(3, 2);
    assert!(summary(&d).contains(&(
        "moved from aws_cloudwatch_metric_alarm.asg_cpu_high".to_string(),
        "aws_cloudwatch_metric_alarm.cpu_high".to_string()
    )));
    assert!(summary(&d).contains(&(
        "removed".to_string(),
        "moved[\"aws_cloudwatch_metric_alarm.cpu_high\"]".to_string()
    )));
}

#[test]
fn v1_to_v3_is_not_a_move() {
    let d = shop_diff(1, 3);
    let s = summary(&d);
    assert!(
        s.contains(&(
            "added".to_string(),
            "aws_cloudwatch_metric_alarm.asg_cpu_high".to_string()
        )),
        "{s:?}"
    );
    assert!(!s.iter().any(|(w, _)| w.starts_with("moved")), "{s:?}");
}

#[test]
fn v3_to_v4_removals_and_a_secret() {
    let d = shop_diff(3, 4);
    assert_eq!(
        summary(&d),
        pairs(&[
            ("changed", "module.storage"),
            ("removed", "module.storage.aws_efs_file_system.shared"),
            ("removed", "module.storage.aws_efs_mount_target.shared"),
            ("removed", "module.storage.aws_security_group.efs"),
            ("removed", "module.storage.output.efs_dns_name"),
            ("removed", "module.storage.output.efs_id"),
            (
                "added",
                "module.storage.removed[\"aws_efs_file_system.shared\"]"
            ),
            ("removed", "module.storage.var.allowed_security_group_ids"),
            ("removed", "module.storage.var.subnet_ids"),
            ("removed", "module.storage.var.vpc_id"),
            ("removed", "output.efs_dns_name"),
            ("changed", "var.db_password"),
        ])
    );
    let pw = d
        .config
        .iter()
        .find(|c| c.address == "var.db_password")
        .unwrap();
    assert_eq!(pw.attrs.len(), 1);
    assert!(pw.attrs[0].sensitive && pw.attrs[0].before.is_none() && pw.attrs[0].after.is_none());
    let db = d
        .instances
        .iter()
        .find(|c| c.address == "module.database.aws_db_instance.this")
        .unwrap();
    let p = db
        .attrs
        .iter()
        .find(|a| a.path.to_string() == "password")
        .expect("password changed in state");
    assert!(p.sensitive && p.before.is_none() && p.after.is_none());
    // with --show-sensitive the values are there
    let shown = diff(
        &model("apps/shop/v3"),
        &model("apps/shop/v4"),
        &Options {
            show_sensitive: true,
        },
    );
    let pw = shown
        .config
        .iter()
        .find(|c| c.address == "var.db_password")
        .unwrap();
    assert!(pw.attrs[0].after.is_some());
}

#[test]
fn cosmetic_releases_are_empty() {
    // v5 only reformats, renames and moves blocks between files and between
    // JSON and native syntax.
    let d = shop_diff(4, 5);
    assert!(d.is_empty(), "{:?}", summary(&d));
    let d = diff(
        &model("hcl/format-a"),
        &model("hcl/format-b"),
        &Options::default(),
    );
    assert!(d.is_empty(), "{:?}", summary(&d));
}
