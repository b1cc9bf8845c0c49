//! Issue 13, part 5: symbolic links inside a snapshotted directory are
//! stored as links, as git stores them. Terraform follows links, so the
//! configuration read through them is the one rewind sees, from the
//! directory, from its snapshot and from a checkout of it; a checkout makes
//! the links again and never writes through one.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::common::{s, Run, Scratch};
use crate::s3server::S3Server;

fn write(dir: &Path, path: &str, text: &str) {
    let p = dir.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A root module whose network module is a link to a shared directory,
/// whose versions file is a link to a shared file, and whose locals are
/// reached through a chain of two links.
fn linked_release(t: &Scratch, name: &str, region: &str) -> PathBuf {
    let app = t.path(name);
    write(
        &app,
        "main.tf",
        "module \"net\" {\n  source = \"./modules/net\"\n  cidr   = \"10.0.0.0/16\"\n}\n\nresource \"terraform_data\" \"app\" {\n  input = \"${module.net.id}-${local.region}\"\n}\n",
    );
    write(
        &app,
        "shared/net/main.tf",
        "variable \"cidr\" {\n  type = string\n}\n\nresource \"terraform_data\" \"vpc\" {\n  input = var.cidr\n}\n\nresource \"terraform_data\" \"policy\" {\n  input = file(\"${path.module}/policy.json\")\n}\n\noutput \"id\" {\n  value = terraform_data.vpc.output\n}\n",
    );
    write(&app, "shared/net/policy.json", "{\"allow\": [\"443\"]}\n");
    write(
        &app,
        "shared/versions.hcl",
        "terraform {\n  required_version = \">= 1.5\"\n}\n",
    );
    write(
        &app,
        "shared/regions/locals.hcl",
        &format!("locals {{\n  region = \"{region}\"\n}}\n"),
    );
    std::fs::create_dir_all(app.join("modules")).unwrap();
    symlink("../shared/net", app.join("modules/net")).unwrap();
    symlink("shared/versions.hcl", app.join("versions.tf")).unwrap();
    symlink("shared/locals.tf", app.join("locals.tf")).unwrap();
    symlink("regions/locals.hcl", app.join("shared/locals.tf")).unwrap();
    app
}

fn link(p: &Path) -> String {
    std::fs::read_link(p)
        .unwrap_or_else(|e| panic!("{} is not a link: {e}", p.display()))
        .display()
        .to_string()
}

fn assert_clean(r: &Run, what: &str) {
    assert_eq!(r.code, 0, "{what}:\n{}{}", r.stdout, r.stderr);
}

#[test]
fn links_inside_the_tree_are_stored_as_links_and_checked_out_as_links() {
    let t = Scratch::new("links-roundtrip");
    t.run(&["init"]).ok();
    let app = linked_release(&t, "app", "eu-west-1");
    t.run(&["snapshot", s(&app), "--env", "prod", "--tag", "v1"])
        .ok();
    let show = t.run(&["show", "v1", "--format", "json"]).ok().json();
    // main.tf, 4 links, shared/net/{main.tf,policy.json}, versions.hcl,
    // regions/locals.hcl
    assert_eq!(show["files"], 9, "{show}");
    // the directory and its snapshot are one configuration
    let d = t.run(&["diff", "v1", "./app", "--files", "--detailed-exitcode"]);
    assert_clean(&d, "diff snapshot directory");
    let p = t.run(&[
        "plan",
        "--from",
        "./app",
        "--to",
        "v1",
        "--detailed-exitcode",
    ]);
    assert_clean(&p, "plan directory → snapshot");
    let g = t.run(&["graph", "v1", "--format", "json"]).ok();
    assert!(
        g.stdout.contains("module.net.terraform_data.policy"),
        "{}",
        g.stdout
    );
    // checkout makes the links again
    let out = t.path("out");
    t.run(&["checkout", "v1", s(&out)]).ok();
    assert_eq!(link(&out.join("modules/net")), "../shared/net");
    assert_eq!(link(&out.join("versions.tf")), "shared/versions.hcl");
    assert_eq!(link(&out.join("locals.tf")), "shared/locals.tf");
    assert_eq!(link(&out.join("shared/locals.tf")), "regions/locals.hcl");
    assert!(out.join("shared/net/policy.json").is_file());
    let d = t.run(&["diff", "v1", "./out", "--files", "--detailed-exitcode"]);
    assert_clean(&d, "diff snapshot checkout");
    let p = t.run(&[
        "plan",
        "--from",
        "./out",
        "--to",
        "v1",
        "--detailed-exitcode",
    ]);
    assert_clean(&p, "plan checkout → snapshot");
    // verify and gc follow links to their blobs
    t.run(&["verify"]).ok();
    t.run(&["gc", "--grace", "0s"]).ok();
    t.run(&["verify"]).ok();
    let again = t.path("again");
    t.run(&["checkout", "v1", s(&again)]).ok();
    assert_eq!(link(&again.join("modules/net")), "../shared/net");
}

#[test]
fn diff_shows_a_links_target_change() {
    let t = Scratch::new("links-retarget");
    t.run(&["init"]).ok();
    let app = linked_release(&t, "app", "eu-west-1");
    write(
        &app,
        "shared/regions/us.hcl",
        "locals {\n  region = \"us-east-1\"\n}\n",
    );
    t.run(&["snapshot", s(&app), "--env", "prod", "--tag", "v1"])
        .ok();
    std::fs::remove_file(app.join("shared/locals.tf")).unwrap();
    symlink("regions/us.hcl", app.join("shared/locals.tf")).unwrap();
    t.run(&["snapshot", s(&app), "--env", "prod", "--tag", "v2"])
        .ok();
    let d = t.run(&["diff", "v1", "v2", "--files", "--detailed-exitcode"]);
    assert_eq!(d.code, 2, "{}{}", d.stdout, d.stderr);
    assert!(
        d.stdout.contains("-symbolic link to regions/locals.hcl")
            && d.stdout.contains("+symbolic link to regions/us.hcl"),
        "{}",
        d.stdout
    );
    assert!(d.stdout.contains("local.region"), "{}", d.stdout);
    let plan = t.run(&["plan", "--from", "v2", "--to", "v1"]).ok();
    assert!(
        plan.stdout.contains("terraform_data.app"),
        "{}",
        plan.stdout
    );
}

/// `checkout --force` stays exact when a release turns a link into a
/// directory or a file and back: the links themselves are replaced or
/// removed, never written through, and nothing outside is touched.
#[test]
fn checkout_force_is_exact_across_links_files_and_directories() {
    let t = Scratch::new("links-force");
    t.run(&["init"]).ok();
    let a = linked_release(&t, "a", "eu-west-1");
    // release b: the module is a real directory, versions.tf a real file,
    // locals.tf gone
    let b = t.path("b");
    write(
        &b,
        "main.tf",
        "module \"net\" {\n  source = \"./modules/net\"\n  cidr   = \"10.1.0.0/16\"\n}\n",
    );
    write(
        &b,
        "modules/net/main.tf",
        "variable \"cidr\" {\n  type = string\n}\n\nresource \"terraform_data\" \"vpc\" {\n  input = var.cidr\n}\n",
    );
    write(
        &b,
        "versions.tf",
        "terraform {\n  required_version = \">= 1.6\"\n}\n",
    );
    t.run(&["snapshot", s(&a), "--env", "prod", "--tag", "linked"])
        .ok();
    t.run(&["snapshot", s(&b), "--env", "prod", "--tag", "plain"])
        .ok();
    let victim = t.path("victim.tf");
    write(&t.dir, "victim.tf", "# precious\n");
    let out = t.path("out");
    for (from, to) in [
        ("linked", "plain"),
        ("plain", "linked"),
        ("linked", "plain"),
    ] {
        let _ = std::fs::remove_dir_all(&out);
        t.run(&["checkout", from, s(&out)]).ok();
        // a link out of the directory where a file of the release goes
        let _ = std::fs::remove_file(out.join("stray.tf"));
        symlink(&victim, out.join("stray.tf")).unwrap();
        let r = t.run(&["checkout", to, s(&out), "--force"]).ok();
        assert!(r.stderr.contains("removed stray.tf"), "{}", r.stderr);
        let d = t.run(&["diff", to, "./out", "--files", "--detailed-exitcode"]);
        assert_clean(&d, &format!("checkout --force {from} then {to}"));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "# precious\n");
    }
    assert!(!std::fs::symlink_metadata(out.join("modules/net"))
        .unwrap()
        .file_type()
        .is_symlink());
    // the links with Terraform names are gone; what they led to has names
    // Terraform never reads (`*.hcl`), and stays, as any such file does
    for gone in ["locals.tf", "shared/locals.tf"] {
        assert!(
            std::fs::symlink_metadata(out.join(gone)).is_err(),
            "{gone} is left"
        );
    }
}

/// Links go to S3 and back with `sync`, and a store written before links
/// (format 3) is read and raised to 4 (links, not encryption) when it first
/// stores one.
#[test]
fn links_survive_sync_to_s3_and_an_older_store_is_raised() {
    let server = S3Server::start("links", &["archive"]);
    let t = Scratch::new("links-sync");
    t.run(&["init"]).ok();
    let config = t.path(".rewind/config");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("\"version\": 6", "\"version\": 3")).unwrap();
    let app = linked_release(&t, "app", "eu-west-1");
    t.run(&["snapshot", s(&app), "--env", "prod", "--tag", "v1"])
        .ok();
    assert!(
        std::fs::read_to_string(&config)
            .unwrap()
            .contains("\"version\": 4"),
        "a store of format 3 is raised when it first holds a link"
    );
    let remote = "s3://archive/rewind";
    let s3 = |args: &[&str]| {
        let r = Run::from(crate::s3::s3(&t, &server, remote, args).output().unwrap());
        assert_clean(&r, &args.join(" "));
        r
    };
    s3(&["init"]);
    s3(&["sync", s(&t.path(".rewind")), remote]);
    s3(&["verify"]);
    let out = t.path("from-s3");
    s3(&["checkout", "v1", s(&out)]);
    assert_eq!(link(&out.join("modules/net")), "../shared/net");
    assert_eq!(link(&out.join("shared/locals.tf")), "regions/locals.hcl");
    let d = t.run(&["diff", "v1", "./from-s3", "--files", "--detailed-exitcode"]);
    assert_clean(&d, "diff snapshot checkout from s3");
}

/// Regression: a module directory reached through a link was read with
/// `read_dir` and every `.tf` entry in it parsed, links leaving the tree
/// included (a parse error quoted `/etc/passwd`).
#[test]
fn links_out_of_the_tree_stay_unfollowed_inside_a_linked_module() {
    let t = Scratch::new("links-module-out");
    t.run(&["init"]).ok();
    let app = linked_release(&t, "app", "eu-west-1");
    symlink("/etc/passwd", app.join("shared/net/passwd.tf")).unwrap();
    for args in [
        vec!["graph", s(&app)],
        vec!["snapshot", s(&app), "--env", "prod", "--tag", "v1"],
    ] {
        let r = t.run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("root:"), "{}", r.stderr);
        assert!(
            r.stderr.contains("passwd.tf") && r.stderr.contains("skipped"),
            "{args:?}: {}",
            r.stderr
        );
    }
    let out = t.path("out");
    t.run(&["checkout", "v1", s(&out)]).ok();
    assert!(std::fs::symlink_metadata(out.join("shared/net/passwd.tf")).is_err());
}
