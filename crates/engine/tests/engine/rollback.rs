//! The parts of a rollback that need no Terraform: the gate on recorded
//! `terraform show -json` output, the risk policy, the data at risk, the
//! lock, and the refusals that come before Terraform runs.

use std::path::PathBuf;

use rewind_engine::{
    data_at_risk, gate, parse_show_json, plan, policy_violations, rollback, snapshot, PlanOptions,
    RiskPolicy, RollbackOptions, SnapshotOptions, Status, Version,
};
use rewind_odb::Store;

use crate::common::{fixtures, shop, store_with_releases, TempDir};

fn rollback_fixture(name: &str) -> PathBuf {
    fixtures().join("rollback").join(name)
}

fn show(name: &str) -> Vec<rewind_engine::TerraformChange> {
    let bytes = std::fs::read(rollback_fixture(name)).unwrap();
    parse_show_json(&bytes).unwrap()
}

/// rewind's preview of going back from release 2 (with its state) to 1.
fn preview() -> rewind_plan::Plan {
    let (v1, v2) = (
        Version::Dir(rollback_fixture("v1")),
        Version::Dir(rollback_fixture("v2")),
    );
    plan(&v2, &v1, &PlanOptions::default()).unwrap().plan
}

#[test]
fn the_gate_passes_when_terraform_plans_what_the_preview_showed() {
    let tf = show("show-v2-to-v1.json");
    let actions: Vec<(&str, Vec<&str>)> = tf
        .iter()
        .map(|c| {
            (
                c.address.as_str(),
                c.actions.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("terraform_data.cache", vec!["delete"]),
            ("terraform_data.database", vec!["no-op"]),
            ("terraform_data.network", vec!["no-op"]),
            ("terraform_data.web", vec!["delete", "create"]),
        ]
    );
    let v = gate(&preview(), &tf);
    assert!(v.passed(), "{v:?}");
    assert!(v.refusals.is_empty() && v.notes.is_empty(), "{v:?}");
}

#[test]
fn the_gate_refuses_a_create_the_preview_did_not_show_address_by_address() {
    // terraform state rm terraform_data.network: drift rewind cannot see
    let v = gate(&preview(), &show("show-drift.json"));
    assert!(!v.passed());
    assert_eq!(v.refusals.len(), 1, "{v:?}");
    let r = &v.refusals[0];
    assert_eq!(r.address, "terraform_data.network");
    assert_eq!(r.terraform, vec!["create"]);
    assert!(r.preview.is_empty());
    assert_eq!(
        r.message,
        "Terraform would create; the preview did not show it"
    );
    // an update the preview did not show is reported, not refused
    assert_eq!(v.notes.len(), 1, "{v:?}");
    assert_eq!(v.notes[0].address, "terraform_data.database");
}

#[test]
fn the_gate_refuses_a_replace_the_preview_showed_as_an_update_and_notes_missing_destroys() {
    let mut tf = show("show-v2-to-v1.json");
    let mut p = preview();
    // the preview shows web updated in place; Terraform replaces it
    let web = p
        .changes
        .iter_mut()
        .find(|c| c.address.to_string() == "terraform_data.web")
        .unwrap();
    web.actions = vec![rewind_plan::Action::Update];
    // Terraform does not delete the cache the preview deletes
    tf.retain(|c| c.address != "terraform_data.cache");
    let v = gate(&p, &tf);
    assert_eq!(v.refusals.len(), 1, "{v:?}");
    assert_eq!(
        v.refusals[0].message,
        "Terraform would replace; the preview showed update in place"
    );
    assert_eq!(v.notes.len(), 1);
    assert_eq!(
        v.notes[0].message,
        "the preview showed destroy; Terraform's plan does not change it"
    );
}

#[test]
fn show_json_that_is_not_terraforms_is_an_error_with_its_position() {
    let err = parse_show_json(b"{\n  \"resource_changes\": [}").unwrap_err();
    assert!(err.contains("line 2"), "{err}");
    let err = parse_show_json(b"{\"resource_changes\": []}").unwrap_err();
    assert!(err.contains("format_version"), "{err}");
}

#[test]
fn the_policy_refuses_data_loss_and_too_many_destroys_unless_allowed() {
    let p = plan(
        &Version::Dir(shop(4)),
        &Version::Dir(shop(1)),
        &PlanOptions::default(),
    )
    .unwrap()
    .plan;
    let v = policy_violations(&p, &RiskPolicy::default());
    assert!(
        v.iter().any(|m| m
            .starts_with("module.database.aws_db_instance.replica[0]: deleting aws_db_instance")
            && m.ends_with("(allow it with --allow-data-loss)")),
        "{v:?}"
    );
    let allowed = RiskPolicy {
        allow_data_loss: true,
        ..Default::default()
    };
    assert!(policy_violations(&p, &allowed).is_empty());
    let destroys = p.changes.iter().filter(|c| c.destroys()).count();
    assert!(destroys >= 2);
    let strict = RiskPolicy {
        allow_data_loss: true,
        max_destroy: Some(destroys - 1),
    };
    assert_eq!(
        policy_violations(&p, &strict),
        vec![format!(
            "the plan destroys {destroys} objects and --max-destroy is {}",
            destroys - 1
        )]
    );
}

#[test]
fn data_at_risk_says_what_restoring_takes_from_the_state() {
    let outcome = plan(
        &Version::Dir(shop(4)),
        &Version::Dir(shop(1)),
        &PlanOptions::default(),
    )
    .unwrap();
    // the model of the current side, with its state
    let loaded = rewind_parse::load(&shop(4), &Default::default()).unwrap();
    let risk = data_at_risk(&outcome.plan, &loaded.model);
    let replica = risk
        .iter()
        .find(|d| d.address == "module.database.aws_db_instance.replica[0]")
        .unwrap_or_else(|| panic!("{risk:#?}"));
    assert_eq!(replica.type_, "aws_db_instance");
    assert_eq!(replica.severity, "high");
    for setting in [
        "deletion_protection = ",
        "skip_final_snapshot = ",
        "backup_retention_period = ",
    ] {
        assert!(
            replica.settings.iter().any(|s| s.starts_with(setting)),
            "{setting} missing: {:#?}",
            replica.settings
        );
    }
    // the state says: no final snapshot, retention 0
    assert_eq!(
        replica.recovery,
        "no final snapshot is taken (skip_final_snapshot = true): the data is gone with the object; no backups are kept (backup_retention_period = 0)"
    );
    assert!(replica
        .settings
        .contains(&"deletion_protection = false (guard)".to_string()));
}

#[test]
fn a_rollback_needs_the_lock_before_it_runs_terraform() {
    let t = TempDir::new("rollback-lock");
    let store = store_with_releases(&t);
    let deployment = t.0.join("app");
    std::fs::create_dir_all(&deployment).unwrap();
    let opts = RollbackOptions {
        env: "prod".into(),
        dir: Some(deployment),
        apply: true,
        executor: "/nonexistent/terraform".into(),
        ..Default::default()
    };
    let held = store
        .lock_rollback("prod", "rollback by another pipeline")
        .unwrap();
    let err = rollback(&store, &opts, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("another rollback of \"prod\" is running"),
        "{err}"
    );
    assert!(err.contains("rollback by another pipeline"), "{err}");
    drop(held);
    let err = rollback(&store, &opts, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"/nonexistent/terraform\" is not on the PATH"),
        "{err}"
    );
    // the failed rollback released its lock, and recorded what happened
    assert!(store.rollback_lock_holder("prod").unwrap().is_none());
    let incidents = store.list_incidents().unwrap();
    assert_eq!(incidents.len(), 1);
    let rec = store.incident(&incidents[0]).unwrap();
    assert_eq!(rec.outcome, "failed");
    assert!(rec.error.unwrap().contains("not on the PATH"));
    assert_eq!(rec.previewed.len(), 2);
}

/// A deploy that lands while a rollback is starting (after rewind's
/// preview, before the lock) is not rolled back under the name of the
/// release before it: under the lock, the run finds the environment's
/// latest snapshot changed and stops before anything is materialised.
#[test]
fn a_deploy_landing_while_a_rollback_starts_stops_it_under_the_lock() {
    let t = TempDir::new("rollback-moved-on");
    let store = store_with_releases(&t);
    let deployment = t.0.join("app");
    std::fs::create_dir_all(&deployment).unwrap();
    let opts = RollbackOptions {
        env: "prod".into(),
        dir: Some(deployment.clone()),
        apply: true,
        executor: "/nonexistent/terraform".into(),
        ..Default::default()
    };
    let mut v3 = None;
    let err = rollback(&store, &opts, &mut |e| {
        if let rewind_engine::Event::Step(s) = e {
            if s.starts_with("preview:") && v3.is_none() {
                // release 3 is deployed and snapshotted meanwhile
                let o = snapshot(
                    &store,
                    &shop(3),
                    &SnapshotOptions {
                        env: "prod".into(),
                        tags: vec!["v3".into()],
                        ..Default::default()
                    },
                )
                .unwrap();
                v3 = Some(o.id);
            }
        }
    })
    .unwrap_err()
    .to_string();
    let v3 = v3.expect("the preview was announced");
    assert!(
        err.contains("latest snapshot changed while the rollback was starting"),
        "{err}"
    );
    assert!(err.contains(&v3.short(12)), "{err}");
    // nothing was materialised beside the deployment, the lock is free
    let beside: Vec<_> = std::fs::read_dir(&t.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("rewind-rollback"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
    assert!(store.rollback_lock_holder("prod").unwrap().is_none());
}

/// A directory of the deployment that is a symbolic link (to modules
/// shared with other deployments) is never written through: the rollback
/// is refused before Terraform runs, and what the link points to is as it
/// was.
#[test]
fn a_rollback_never_writes_through_a_linked_directory() {
    let t = TempDir::new("rollback-dir-link");
    let shared = t.0.join("shared");
    let app = t.0.join("app");
    std::fs::create_dir_all(shared.join("web")).unwrap();
    std::fs::create_dir_all(&app).unwrap();
    std::os::unix::fs::symlink("../shared", app.join("modules")).unwrap();
    let store = Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    for v in ["1.4", "1.5"] {
        std::fs::write(
            shared.join("web/vars.tf"),
            format!("variable \"image\" {{\n  default = \"{v}\"\n}}\n"),
        )
        .unwrap();
        std::fs::write(
            app.join("main.tf"),
            "module \"web\" {\n  source = \"./modules/web\"\n}\n",
        )
        .unwrap();
        let o = snapshot(
            &store,
            &app,
            &SnapshotOptions {
                env: "prod".into(),
                ..Default::default()
            },
        )
        .unwrap();
        if v == "1.4" {
            store.mark_good("prod", o.id, false).unwrap();
        }
    }
    let opts = RollbackOptions {
        env: "prod".into(),
        apply: true,
        executor: "/nonexistent/terraform".into(),
        ..Default::default()
    };
    let err = rollback(&store, &opts, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("/app/modules is a symbolic link (to ../shared)"),
        "{err}"
    );
    assert!(!err.contains("not on the PATH"), "{err}");
    let vars = std::fs::read_to_string(shared.join("web/vars.tf")).unwrap();
    assert!(vars.contains("1.5"), "{vars}");
}

#[test]
fn a_rollback_without_a_known_good_snapshot_or_to_the_same_snapshot_does_nothing() {
    let t = TempDir::new("rollback-nothing");
    let store = Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    snapshot(
        &store,
        &rollback_fixture("v1"),
        &SnapshotOptions {
            env: "prod".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let opts = RollbackOptions {
        env: "prod".into(),
        ..Default::default()
    };
    let err = rollback(&store, &opts, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(err.contains("has no known-good snapshot"), "{err}");
    let same = RollbackOptions {
        to: Some("prod".into()),
        ..opts
    };
    let o = rollback(&store, &same, &mut |_| {}).unwrap();
    assert_eq!(o.status, Status::NothingToDo);
    assert!(store.list_incidents().unwrap().is_empty());
}

#[test]
fn the_policy_stops_a_rollback_before_terraform_and_records_it() {
    let t = TempDir::new("rollback-policy");
    let store = store_with_releases(&t);
    let opts = RollbackOptions {
        env: "prod".into(),
        dir: Some(t.0.clone()),
        apply: true,
        executor: "/nonexistent/terraform".into(),
        policy: RiskPolicy {
            max_destroy: Some(0),
            ..Default::default()
        },
        ..Default::default()
    };
    let o = rollback(&store, &opts, &mut |_| {}).unwrap();
    assert_eq!(o.status, Status::PolicyRefused);
    assert_eq!(
        o.violations,
        vec!["the plan destroys 2 objects and --max-destroy is 0".to_string()]
    );
    assert!(o.gate.is_none() && o.apply.is_none());
    let rec = store.incident(&o.incident.unwrap()).unwrap();
    assert_eq!(rec.outcome, "policy-refused");
    assert_eq!(rec.changed.len(), 2, "{:?}", rec.changed);
}
