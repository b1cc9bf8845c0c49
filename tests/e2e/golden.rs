//! Golden files of the text and Markdown reports of diff and plan on the
//! bundled application (`fixtures/apps/shop`), between directories and
//! between snapshots. Snapshot ids and the fixtures' location are replaced
//! by names, so the files do not depend on the machine or the commit.
//!
//! After an intended change of a report: `INSTA_UPDATE=always cargo test
//! -p rewind-cli --test e2e golden` and review the diff of
//! `tests/e2e/snapshots/`.

use crate::common::*;

/// A store holding releases 1 to 5 of the shop as env `prod`, tagged
/// v1..v5, and how to name their ids.
struct Shop {
    t: Scratch,
    names: Vec<(String, String)>,
}

impl Shop {
    fn new() -> Shop {
        let t = Scratch::new("golden");
        t.run(&["init"]).ok();
        for v in 1..=5 {
            let tag = format!("v{v}");
            t.run(&["snapshot", s(&shop(v)), "--env", "prod", "--tag", &tag])
                .ok();
        }
        let log = t.run(&["log", "--format", "json"]).ok().json();
        let names = log
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let tag = r["tags"][0].as_str().unwrap();
                (r["id"].as_str().unwrap().to_string(), format!("<{tag}>"))
            })
            .collect();
        Shop { t, names }
    }

    /// The output of a command, ids and paths normalized.
    fn report(&self, args: &[&str]) -> String {
        let r = self.t.run(args);
        assert!(r.code == 0 || r.code == 2, "{args:?}: {}", r.stderr);
        let mut out = r.stdout;
        for (id, name) in &self.names {
            out = out.replace(id.as_str(), name).replace(&id[..12], name);
        }
        let root = fixtures().join("apps/shop");
        let root = root.to_str().unwrap();
        out.replace(root, "<shop>")
    }
}

#[test]
fn diff_and_plan_reports() {
    let shop_ = Shop::new();
    let dir = |v| s(&shop(v)).to_string();
    let cases: [(&str, Vec<String>); 4] = [
        ("diff_dirs_v1_v2", vec!["diff".into(), dir(1), dir(2)]),
        (
            "diff_snapshots_v2_v3",
            vec!["diff".into(), "v2".into(), "v3".into()],
        ),
        (
            "plan_snapshots_prod_latest_to_v1",
            vec!["plan".into(), "--to".into(), "v1".into()],
        ),
        (
            "plan_dirs_v3_to_v2",
            vec![
                "plan".into(),
                "--from".into(),
                dir(3),
                "--to".into(),
                dir(2),
            ],
        ),
    ];
    for (name, args) in cases {
        for format in ["text", "markdown"] {
            let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
            a.extend(["--format", format]);
            insta::assert_snapshot!(format!("{name}_{format}"), shop_.report(&a));
        }
    }
}
