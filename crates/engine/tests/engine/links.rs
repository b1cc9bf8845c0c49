//! Symbolic links inside a snapshotted directory are stored as links, as
//! git stores them (issue 13, part 5): the file a link leads to is stored
//! once at its own path, checkout makes the links again, and a directory
//! and its snapshot read as the same configuration.

use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use rewind_engine::{diff, snapshot, DiffOptions, SnapshotOptions, StoredVersion, Version};
use rewind_odb::{SnapshotId, Store};

use crate::common::TempDir;

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// An application whose network module directory, version constraints
/// and locals are links inside the tree (one a chain of two links).
fn linked_app(root: &Path) -> PathBuf {
    let app = root.join("app");
    write(
        &app,
        "main.tf",
        "module \"net\" {\n  source = \"./modules/net\"\n  cidr   = \"10.0.0.0/16\"\n}\n\nresource \"terraform_data\" \"app\" {\n  input = module.net.id\n}\n",
    );
    write(
        &app,
        "shared/net/main.tf",
        "variable \"cidr\" {\n  type = string\n}\n\nresource \"terraform_data\" \"vpc\" {\n  input = var.cidr\n}\n\nresource \"terraform_data\" \"policy\" {\n  input = file(\"${path.module}/policy.json\")\n}\n\noutput \"id\" {\n  value = terraform_data.vpc.id\n}\n",
    );
    write(&app, "shared/net/policy.json", "{\"allow\": [\"443\"]}\n");
    write(
        &app,
        "shared/versions.hcl",
        "terraform {\n  required_version = \">= 1.5\"\n}\n",
    );
    write(
        &app,
        "shared/l2.tfx",
        "locals {\n  region = \"eu-west-1\"\n}\n",
    );
    std::fs::create_dir_all(app.join("modules")).unwrap();
    symlink("../shared/net", app.join("modules/net")).unwrap();
    symlink("shared/versions.hcl", app.join("versions.tf")).unwrap();
    symlink("shared/l1.tf", app.join("locals.tf")).unwrap();
    symlink("l2.tfx", app.join("shared/l1.tf")).unwrap();
    app
}

fn opts() -> SnapshotOptions {
    SnapshotOptions {
        env: "prod".into(),
        ..Default::default()
    }
}

fn stored<'s>(store: &'s Store, id: SnapshotId) -> Version<'s> {
    Version::Snapshot(StoredVersion {
        store,
        id,
        name: None,
        tags: Vec::new(),
    })
}

/// The tree of a snapshot: path → ("link" | "file", target or content).
fn tree(store: &Store, id: &SnapshotId) -> BTreeMap<String, (&'static str, String)> {
    let rec = store.record(id).unwrap();
    let files = store.tree_files(&rec.tree).unwrap();
    let ids: Vec<_> = files.iter().map(|f| f.id).collect();
    let contents = store.get_many(&ids).unwrap();
    files
        .iter()
        .zip(contents)
        .map(|(f, c)| {
            let kind = if f.link { "link" } else { "file" };
            (f.path.clone(), (kind, String::from_utf8(c).unwrap()))
        })
        .collect()
}

fn files_diff(from: &Version, to: &Version) -> rewind_engine::DiffOutcome {
    diff(
        from,
        to,
        &DiffOptions {
            files: true,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn links_inside_the_tree_are_stored_as_links_and_their_targets_once() {
    let t = TempDir::new("links-stored");
    let app = linked_app(&t.0);
    let store = Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    let o = snapshot(&store, &app, &opts()).unwrap();
    let tree = tree(&store, &o.id);
    let link = |t: &str| ("link", t.to_string());
    assert_eq!(tree["modules/net"], link("../shared/net"));
    assert_eq!(tree["versions.tf"], link("shared/versions.hcl"));
    assert_eq!(tree["locals.tf"], link("shared/l1.tf"));
    assert_eq!(tree["shared/l1.tf"], link("l2.tfx"));
    assert_eq!(tree["shared/l2.tfx"].0, "file");
    assert_eq!(tree["shared/versions.hcl"].0, "file");
    assert_eq!(tree["shared/net/policy.json"].0, "file");
    assert!(
        !tree.keys().any(|k| k.starts_with("modules/net/")),
        "nothing is stored under a link: {tree:?}"
    );
    assert_eq!(o.record.files, tree.len() as u64);
    // the configuration is the one read through the links
    let dir_side = Version::Dir(app.clone());
    let snap = stored(&store, o.id);
    let d = files_diff(&dir_side, &snap);
    assert!(d.is_empty(), "{:?} {:?}", d.diff, d.files);
    let model = store
        .load_model(&o.record.model, rewind_odb::Load::Full)
        .unwrap()
        .0;
    for address in [
        "module.net.terraform_data.vpc",
        "module.net.terraform_data.policy",
        "local.region",
    ] {
        assert!(model.node(address).is_some(), "{address} is missing");
    }
    // the store says it may hold links: an older rewind refuses it whole
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(t.0.join("store/config")).unwrap()).unwrap();
    assert_eq!(config["version"], rewind_odb::STORE_VERSION);
    let v = store.verify().unwrap();
    assert!(v.problems.is_empty(), "{:?}", v.problems);
}

#[test]
fn a_checkout_makes_the_links_again_and_reads_as_its_snapshot() {
    let t = TempDir::new("links-checkout");
    let app = linked_app(&t.0);
    let store = Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    let o = snapshot(&store, &app, &opts()).unwrap();
    let out = t.0.join("out");
    rewind_engine::checkout(&store, &o.id, &out, false).unwrap();
    for (link, target) in [
        ("modules/net", "../shared/net"),
        ("versions.tf", "shared/versions.hcl"),
        ("locals.tf", "shared/l1.tf"),
        ("shared/l1.tf", "l2.tfx"),
    ] {
        assert_eq!(
            std::fs::read_link(out.join(link)).unwrap(),
            Path::new(target),
            "{link}"
        );
    }
    let d = files_diff(&Version::Dir(out.clone()), &stored(&store, o.id));
    assert!(d.is_empty(), "{:?} {:?}", d.diff, d.files);
    // a snapshot of the checkout is the same tree, and the same nodes
    // (the model's "no state" warning names the directory)
    let again = snapshot(&store, &out, &opts()).unwrap();
    assert_eq!(again.record.tree, o.record.tree);
    let nodes = |id| {
        store
            .load_model(id, rewind_odb::Load::Full)
            .unwrap()
            .0
            .nodes
    };
    assert_eq!(nodes(&again.record.model), nodes(&o.record.model));
}

#[test]
fn a_retargeted_link_is_a_change_of_the_link_and_of_the_configuration() {
    let t = TempDir::new("links-retarget");
    let app = linked_app(&t.0);
    let store = Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    let o = snapshot(&store, &app, &opts()).unwrap();
    write(
        &app,
        "shared/l3.tfx",
        "locals {\n  region = \"us-east-1\"\n}\n",
    );
    std::fs::remove_file(app.join("shared/l1.tf")).unwrap();
    symlink("l3.tfx", app.join("shared/l1.tf")).unwrap();
    let d = files_diff(&stored(&store, o.id), &Version::Dir(app.clone()));
    assert!(
        d.diff.config.iter().any(|c| c.address == "local.region"),
        "{:?}",
        d.diff
    );
    let files = d.files.unwrap();
    let link = files.iter().find(|f| f.path == "shared/l1.tf").unwrap();
    let text = link.diff.as_deref().unwrap();
    assert!(
        text.contains("-symbolic link to l2.tfx") && text.contains("+symbolic link to l3.tfx"),
        "{text}"
    );
}

/// The stat cache recognizes an unchanged directory without reading it;
/// a link replaced by one with another spelling of the same target keeps
/// every file's stat (and, put back, every directory's time): only the
/// link's own stat (`lstat`) shows it.
#[test]
fn a_replaced_link_is_seen_by_the_stat_cache() {
    let t = TempDir::new("links-stat");
    let app = linked_app(&t.0);
    let store = Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    // directory times older than the cache's racy window (2 s)
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    for d in ["", "shared", "shared/net", "modules"] {
        std::fs::File::open(app.join(d))
            .unwrap()
            .set_modified(past)
            .unwrap();
    }
    let first = snapshot(&store, &app, &opts()).unwrap();
    let same = snapshot(&store, &app, &opts()).unwrap();
    assert!(same.unchanged, "an untouched directory is recognized");
    let mtime = std::fs::metadata(&app).unwrap().modified().unwrap();
    std::fs::remove_file(app.join("versions.tf")).unwrap();
    symlink("./shared/versions.hcl", app.join("versions.tf")).unwrap();
    std::fs::File::open(&app)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let after = snapshot(&store, &app, &opts()).unwrap();
    assert!(!after.unchanged, "the replaced link was not seen");
    assert_ne!(after.record.tree, first.record.tree);
    assert_eq!(
        tree(&store, &after.id)["versions.tf"],
        ("link", "./shared/versions.hcl".to_string())
    );
}

#[test]
fn loops_of_links_end_with_an_error_naming_the_file_not_a_hang() {
    let t = TempDir::new("links-loop");
    let app = t.0.join("app");
    write(&app, "main.tf", "locals {\n  a = 1\n}\n");
    symlink("b.tf", app.join("a.tf")).unwrap();
    symlink("a.tf", app.join("b.tf")).unwrap();
    let store = Store::init(t.0.join("store").to_str().unwrap()).unwrap();
    let err = format!("{:?}", snapshot(&store, &app, &opts()).unwrap_err());
    assert!(
        err.contains("a.tf") && err.contains("symbolic links"),
        "{err}"
    );
    // a module directory that is a link to its own parent: bounded
    let app2 = t.0.join("app2");
    write(
        &app2,
        "main.tf",
        "module \"self\" {\n  source = \"./modules/self\"\n}\n",
    );
    std::fs::create_dir_all(app2.join("modules")).unwrap();
    symlink("..", app2.join("modules/self")).unwrap();
    assert!(snapshot(&store, &app2, &opts()).is_err());
}

/// A store of format 3 (before links) is read as it is, and raised to 4
/// when it first stores a link; a store of a newer format is refused with
/// a clear error, as an older rewind refuses a store of format 4.
#[test]
fn an_older_store_is_read_and_raised_and_a_newer_one_refused() {
    let t = TempDir::new("links-version");
    let root = t.0.join("store");
    let loc = root.to_str().unwrap();
    Store::init(loc).unwrap();
    let set_version = |v: u32| {
        let path = root.join("config");
        let mut c: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        c["version"] = v.into();
        std::fs::write(&path, serde_json::to_vec_pretty(&c).unwrap()).unwrap();
    };
    let version = || -> u64 {
        let c: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join("config")).unwrap()).unwrap();
        c["version"].as_u64().unwrap()
    };
    set_version(3);
    let plain = t.0.join("plain");
    write(&plain, "main.tf", "locals {\n  a = 1\n}\n");
    let store = Store::open(loc).unwrap();
    assert_eq!(store.format_version(), 3);
    let o = snapshot(&store, &plain, &opts()).unwrap();
    assert_eq!(version(), 3, "a store without links stays at 3");
    let app = linked_app(&t.0);
    let linked = snapshot(&store, &app, &opts()).unwrap();
    assert_eq!(version(), 4, "the first link raises the store");
    let reopened = Store::open(loc).unwrap();
    assert_eq!(reopened.format_version(), 4);
    assert_eq!(reopened.record(&o.id).unwrap().tree, o.record.tree);
    assert!(tree(&reopened, &linked.id)["modules/net"].0 == "link");
    set_version(rewind_odb::STORE_VERSION + 1);
    let err = Store::open(loc).err().unwrap().to_string();
    assert!(
        err.contains(&format!(
            "store format version {} is not supported by this rewind",
            rewind_odb::STORE_VERSION + 1
        )),
        "{err}"
    );
}
