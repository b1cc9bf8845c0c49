//! The store commands, crash safety and concurrent writers.

use std::time::Duration;

use crate::common::*;

#[test]
fn snapshot_log_show_tag_mark_good_checkout() {
    let t = Scratch::new("flow");
    t.run(&["init"]).ok();
    // as git init: running it again is not an error and changes nothing
    let again = t.run(&["init"]).ok();
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    for v in 1..=3 {
        let msg = format!("release {v}");
        let tag = format!("v{v}");
        let label = format!("release=4{v}");
        let r = t
            .run(&[
                "snapshot",
                s(&shop(v)),
                "--env",
                "prod",
                "--tag",
                &tag,
                "-m",
                &msg,
                "--label",
                &label,
                "--format",
                "json",
            ])
            .ok();
        let j = r.json();
        assert_eq!(j["env"], "prod");
        assert_eq!(j["tags"][0], tag);
        assert_eq!(j["labels"]["release"], format!("4{v}"));
    }
    let log = t
        .run(&["log", "--env", "prod", "--format", "json"])
        .ok()
        .json();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0]["message"], "release 3");
    assert_eq!(log[2]["message"], "release 1");
    assert_eq!(log[0]["parent"], log[1]["id"]);
    let text = t.run(&["log"]).ok().stdout;
    assert!(
        text.contains("release 2") && text.contains("prod@latest"),
        "{text}"
    );

    let show = t.run(&["show", "prod~1", "--format", "json"]).ok().json();
    assert_eq!(show["message"], "release 2");
    assert_eq!(show["tags"][0], "v2");
    assert!(show["nodes"]["resource"].as_u64().unwrap() > 20);
    assert!(show["instances"].as_u64().unwrap() > 20);
    let text = t.run(&["show", "v1"]).ok().stdout;
    assert!(
        text.contains("environment: prod") && text.contains("label:       release=41"),
        "{text}"
    );

    // tags never move
    let r = t.run(&["tag", "v1", "v2"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("already names"), "{}", r.stderr);
    t.run(&["tag", "stable", "v2"]).ok();
    t.run(&["tag", "stable", "v3", "--force"]).ok();

    // known-good marks and their history
    t.run(&["mark-good", "v2", "--env", "prod"]).ok();
    let good = t
        .run(&["show", "prod@good", "--format", "json"])
        .ok()
        .json();
    assert_eq!(good["message"], "release 2");
    let refs = t.run(&["log", "--refs", "--format", "json"]).ok().json();
    let refs = refs.as_array().unwrap();
    assert_eq!(refs[0]["ref"], "envs/prod/good");
    assert_eq!(refs[0]["reason"], "mark-good");
    assert!(refs
        .iter()
        .any(|e| e["ref"] == "tags/stable" && e["reason"] == "tag (forced)"));
    let r = t.run(&["mark-good", "v2", "--env", "staging"]);
    assert_eq!(
        r.code, 1,
        "a prod snapshot is not good for staging without --force"
    );

    // checkout
    let out = t.path("restored");
    t.run(&["checkout", "v1", s(&out)]).ok();
    let main = std::fs::read(out.join("main.tf")).unwrap();
    assert_eq!(main, std::fs::read(shop(1).join("main.tf")).unwrap());
    let r = t.run(&["checkout", "v2", s(&out)]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not empty"), "{}", r.stderr);
    t.run(&["checkout", "v2", s(&out), "--force"]).ok();

    // unknown references
    let r = t.run(&["show", "nope"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("unknown reference \"nope\""),
        "{}",
        r.stderr
    );
    t.run(&["verify"]).ok();
}

#[test]
fn bad_input_writes_nothing() {
    let t = Scratch::new("badinput");
    t.run(&["init"]).ok();
    t.run(&["snapshot", s(&shop(1)), "--env", "prod"]).ok();
    let broken = t.path("broken");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("main.tf"), "resource \"a\" \"b\" {\n").unwrap();
    let before: Vec<_> = std::fs::read_dir(t.path(".rewind/packs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let refs_before = std::fs::read(t.path(".rewind/refs")).unwrap();
    let r = t.run(&["snapshot", s(&broken), "--env", "prod"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("main.tf:1:18") && r.stderr.contains("nothing was stored"),
        "{}",
        r.stderr
    );
    let after: Vec<_> = std::fs::read_dir(t.path(".rewind/packs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after);
    assert_eq!(refs_before, std::fs::read(t.path(".rewind/refs")).unwrap());
}

/// A tiny deterministic generator for kill delays.
fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 33
}

#[test]
fn killing_snapshots_at_random_moments_leaves_a_verifiable_store() {
    let t = Scratch::new("crash");
    t.run(&["init"]).ok();
    t.run(&["snapshot", s(&shop(1)), "--env", "prod"]).ok();
    // How long a snapshot takes here, to spread the kills over it.
    let start = std::time::Instant::now();
    t.run(&["snapshot", s(&shop(2)), "--env", "prod"]).ok();
    let full = start.elapsed().as_micros() as u64 + 1;
    let mut seed = 42;
    let mut killed = 0;
    for i in 0..40 {
        // fresh content each time, so every run has real work to do
        let dir = t.path(&format!("src{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut tf = String::new();
        for r in 0..400 {
            tf.push_str(&format!(
                "resource \"terraform_data\" \"r{r}\" {{\n  input = \"run {i} resource {r}\"\n  triggers_replace = [terraform_data.r{}.id]\n}}\n",
                r / 2
            ));
        }
        std::fs::write(
            dir.join("main.tf"),
            tf.replace("terraform_data.r0.id]", "\"root\"]"),
        )
        .unwrap();
        let mut child = t
            .cmd(&["snapshot", s(&dir), "--env", "prod", "-q"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(lcg(&mut seed) % full));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        let v = t.run(&["verify"]);
        assert_eq!(v.code, 0, "after kill {i}:\n{}{}", v.stdout, v.stderr);
    }
    assert!(killed >= 10, "only {killed} of 40 runs were killed mid-way");
    // the store still works, and gc clears what the kills left
    t.run(&["snapshot", s(&shop(3)), "--env", "prod"]).ok();
    t.run(&["gc", "--grace", "0s"]).ok();
    let v = t.run(&["verify"]).ok();
    assert!(!v.stderr.contains("note:"), "{}", v.stderr);
    t.run(&["show", "prod"]).ok();
}

#[test]
fn two_processes_snapshotting_one_environment_both_land() {
    let t = Scratch::new("concurrent");
    t.run(&["init"]).ok();
    for round in 0..3 {
        let a = t
            .cmd(&[
                "snapshot",
                s(&shop(1 + round)),
                "--env",
                "prod",
                "-m",
                &format!("a{round}"),
            ])
            .spawn()
            .unwrap();
        let b = t
            .cmd(&[
                "snapshot",
                s(&shop(2 + round)),
                "--env",
                "prod",
                "-m",
                &format!("b{round}"),
            ])
            .spawn()
            .unwrap();
        assert!(a.wait_with_output().unwrap().status.success());
        assert!(b.wait_with_output().unwrap().status.success());
    }
    let log = t
        .run(&["log", "--env", "prod", "--format", "json"])
        .ok()
        .json();
    let msgs: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(msgs.len(), 6, "{msgs:?}");
    for round in 0..3 {
        assert!(
            msgs.contains(&format!("a{round}").as_str())
                && msgs.contains(&format!("b{round}").as_str()),
            "{msgs:?}"
        );
    }
    t.run(&["verify"]).ok();
}

/// Runs git in `dir` with a fixed identity (no user configuration needed).
fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=ci", "-c", "user.email=ci@example.com"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .expect("git is needed by this test (it checks what rewind records of git)");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn snapshots_record_the_git_commit_and_whether_the_tree_is_dirty() {
    let t = Scratch::new("git");
    t.run(&["init"]).ok();
    // outside any repository (the scratch directory is under the system's
    // temporary directory): no git facts
    let plain = t.path("plain");
    copy_tree(&shop(1), &plain);
    t.run(&["snapshot", s(&plain), "--env", "plain"]).ok();
    let show = t.run(&["show", "plain", "--format", "json"]).ok().json();
    assert!(show["git"].is_null(), "{show}");

    // a repository with a commit: the commit, clean
    let repo = t.path("repo");
    let infra = repo.join("infra");
    copy_tree(&shop(1), &infra);
    std::fs::write(repo.join("README"), "the platform team's repository\n").unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "release 1"]);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    t.run(&["snapshot", s(&infra), "--env", "prod"]).ok();
    let show = t.run(&["show", "prod", "--format", "json"]).ok().json();
    assert_eq!(show["git"]["commit"], head.as_str(), "{show}");
    assert_eq!(show["git"]["dirty"], false, "{show}");

    // a change elsewhere in the repository does not make this tree dirty
    std::fs::write(repo.join("README"), "edited\n").unwrap();
    t.run(&["snapshot", s(&infra), "--env", "prod"]).ok();
    let show = t.run(&["show", "prod", "--format", "json"]).ok().json();
    assert_eq!(show["git"]["dirty"], false, "{show}");

    // an edited file and an untracked file in the tree: dirty
    let main = infra.join("main.tf");
    let mut text = std::fs::read_to_string(&main).unwrap();
    text.push_str("\n# edited during the incident\n");
    std::fs::write(&main, text).unwrap();
    t.run(&["snapshot", s(&infra), "--env", "prod"]).ok();
    let show = t.run(&["show", "prod", "--format", "json"]).ok().json();
    assert_eq!(show["git"]["commit"], head.as_str(), "{show}");
    assert_eq!(show["git"]["dirty"], true, "{show}");
    git(&repo, &["checkout", "-q", "--", "."]);
    std::fs::write(infra.join("notes.txt"), "untracked\n").unwrap();
    t.run(&["snapshot", s(&infra), "--env", "prod"]).ok();
    let show = t.run(&["show", "prod", "--format", "json"]).ok().json();
    assert_eq!(show["git"]["dirty"], true, "{show}");

    // files the repository ignores inside the tree are not changes
    std::fs::remove_file(infra.join("notes.txt")).unwrap();
    std::fs::write(repo.join(".gitignore"), "*.tfstate\n*.tfplan\nbuild/\n").unwrap();
    git(&repo, &["add", ".gitignore"]);
    git(&repo, &["rm", "-q", "--cached", "infra/terraform.tfstate"]);
    git(&repo, &["commit", "-q", "-m", "state files stay local"]);
    let head = git(&repo, &["rev-parse", "HEAD"]);
    std::fs::write(infra.join("revert.tfplan"), "a saved plan").unwrap();
    t.run(&["snapshot", s(&infra), "--env", "prod"]).ok();
    let show = t.run(&["show", "prod", "--format", "json"]).ok().json();
    assert_eq!(show["git"]["commit"], head.as_str(), "{show}");
    assert_eq!(show["git"]["dirty"], false, "{show}");

    // a tree inside a folder the repository ignores is not versioned there:
    // HEAD's commit would say nothing about it
    let built = repo.join("build/infra");
    copy_tree(&shop(1), &built);
    t.run(&["snapshot", s(&built), "--env", "built"]).ok();
    let show = t.run(&["show", "built", "--format", "json"]).ok().json();
    assert!(show["git"].is_null(), "{show}");

    // a repository without any commit yet: no commit to record
    let fresh = t.path("fresh");
    copy_tree(&shop(1), &fresh);
    git(&fresh, &["init", "-q"]);
    t.run(&["snapshot", s(&fresh), "--env", "fresh"]).ok();
    let show = t.run(&["show", "fresh", "--format", "json"]).ok().json();
    assert!(show["git"].is_null(), "{show}");
}

/// The ref log answers who moved a mark, when and why: the user and host,
/// the CI job from the usual CI variables, and `mark-good -m`.
#[test]
fn ref_log_records_who_when_and_why() {
    let t = Scratch::new("audit");
    t.run(&["init"]).ok();
    let ci = |args: &[&str]| {
        let mut c = t.cmd(args);
        c.env("USER", "deploybot")
            .env("GITLAB_CI", "true")
            .env("GITLAB_USER_LOGIN", "alice")
            .env("CI_PROJECT_PATH", "acme/infra")
            .env("CI_PIPELINE_ID", "8812")
            .env("CI_JOB_URL", "https://gitlab.example/acme/infra/-/jobs/77")
            .env_remove("GITHUB_ACTIONS")
            .env_remove("JENKINS_URL")
            .env_remove("CIRCLECI")
            .env_remove("BUILDKITE")
            .env_remove("TF_BUILD");
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    ci(&["snapshot", s(&shop(1)), "--env", "prod", "--tag", "v1"]);
    ci(&["snapshot", s(&shop(2)), "--env", "prod", "--tag", "v2"]);
    // the environment comes from the snapshot
    let local = t
        .cmd(&["mark-good", "v1", "-m", "health checks green for 30 min"])
        .env("USER", "carol")
        .env_remove("GITLAB_CI")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("CI")
        .output()
        .unwrap();
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
    ci(&["mark-good", "v2"]);
    let refs = t.run(&["log", "--refs", "--format", "json"]).ok().json();
    let refs = refs.as_array().unwrap();
    let good: Vec<&serde_json::Value> = refs
        .iter()
        .filter(|e| e["ref"] == "envs/prod/good")
        .collect();
    assert_eq!(good.len(), 2, "{refs:?}");
    // newest first: the CI job marked v2
    assert_eq!(good[0]["who"]["user"], "deploybot");
    assert_eq!(good[0]["who"]["ci"]["system"], "gitlab");
    assert_eq!(good[0]["who"]["ci"]["actor"], "alice");
    assert_eq!(good[0]["who"]["ci"]["run"], "acme/infra#8812");
    assert!(!good[0]["who"]["host"].as_str().unwrap().is_empty());
    assert_eq!(good[1]["who"]["user"], "carol");
    assert!(good[1]["who"]["ci"].is_null());
    assert_eq!(
        good[1]["reason"],
        "mark-good: health checks green for 30 min"
    );
    assert!(good[0]["time"].as_str().unwrap().ends_with('Z'));
    let snap = refs.iter().find(|e| e["ref"] == "tags/v1").unwrap();
    assert_eq!(snap["who"]["ci"]["actor"], "alice");
    // and the text log says it
    let text = t.run(&["log", "--refs"]).ok().stdout;
    let line = text.lines().find(|l| l.contains("envs/prod/good")).unwrap();
    assert!(
        line.contains("by deploybot@") && line.contains("(gitlab: alice, acme/infra#8812)"),
        "{line}"
    );
}

/// Help that a Terraform user can act on, completions, a man page, and
/// listings without arguments; a pipeline number is a fine tag.
#[test]
fn help_completions_man_page_and_listings() {
    let t = Scratch::new("help");
    let help = t.run(&["--help"]).ok().stdout;
    for s in [
        "REF (a snapshot):",
        "prod@good",
        "Exit codes:",
        "--detailed-exitcode",
        "Examples:",
    ] {
        assert!(help.contains(s), "--help lacks {s}:\n{help}");
    }
    let diff = t.run(&["diff", "--help"]).ok().stdout;
    assert!(
        diff.contains("[--format text|json|markdown|html]"),
        "{diff}"
    );
    assert!(
        diff.contains("--budget") && diff.contains("--stat"),
        "{diff}"
    );
    for shell in ["bash", "zsh", "fish"] {
        let c = t.run(&["completions", shell]).ok().stdout;
        assert!(c.contains("mark-good") && c.len() > 1000, "{shell}");
    }
    let man = t.run(&["man"]).ok().stdout;
    assert!(
        man.contains(".TH rewind") && man.contains("mark\\-good"),
        "{}",
        &man[..200.min(man.len())]
    );

    t.run(&["init"]).ok();
    assert!(t.run(&["envs"]).ok().stderr.contains("no environments yet"));
    t.run(&["snapshot", s(&shop(1)), "--env", "prod", "--tag", "8812"])
        .ok();
    t.run(&["snapshot", s(&shop(2)), "--env", "staging", "--tag", "v2"])
        .ok();
    let tags = t.run(&["tag"]).ok().stdout;
    assert!(tags.contains("8812") && tags.contains("v2"), "{tags}");
    let envs = t.run(&["envs", "--format", "json"]).ok().json();
    assert!(envs["prod"]["latest"].is_string() && envs["staging"]["good"].is_null());
    let shown = t.run(&["show", "8812", "--format", "json"]).ok().json();
    assert_eq!(shown["env"], "prod");
    // only hex letters and digits would read as an id: still refused
    assert_eq!(t.run(&["tag", "deadbeef", "8812"]).code, 1);
}

/// "When did the database change, and who marked that release good?"
#[test]
fn history_of_an_address_says_when_it_changed_and_who_marked_it_good() {
    let t = Scratch::new("history");
    t.run(&["init"]).ok();
    for v in 1..=4 {
        t.run(&[
            "snapshot",
            s(&shop(v)),
            "--env",
            "prod",
            "--tag",
            &format!("v{v}"),
            "-m",
            &format!("release {v}"),
        ])
        .ok();
    }
    t.cmd(&["mark-good", "v2", "-m", "db replica healthy"])
        .env("USER", "dana")
        .output()
        .unwrap();
    let h = t
        .run(&[
            "history",
            "module.database",
            "--env",
            "prod",
            "--format",
            "json",
        ])
        .ok()
        .json();
    assert_eq!(h["snapshots"], 4);
    let events = h["changes"].as_array().unwrap();
    let tags: Vec<&str> = events
        .iter()
        .map(|e| e["tags"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        ["v4", "v3", "v2"],
        "newest first; v1 is where the history starts"
    );
    let v2 = &events[2];
    assert_eq!(
        v2["marked_good"][0]["reason"],
        "mark-good: db replica healthy"
    );
    assert_eq!(v2["marked_good"][0]["who"]["user"], "dana");
    // the replica was added in release 2
    assert!(v2["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(
            |c| c["address"] == "module.database.aws_db_instance.replica" && c["change"] == "added"
        ));
    // every change is inside the module
    for e in events {
        for c in e["changes"]
            .as_array()
            .unwrap()
            .iter()
            .chain(e["instances"].as_array().unwrap())
        {
            assert!(
                c["address"]
                    .as_str()
                    .unwrap()
                    .starts_with("module.database"),
                "{c}"
            );
        }
    }
    let text = t.run(&["history", "module.database"]).ok().stdout;
    assert!(
        text.contains("marked good") && text.contains("by dana@"),
        "{text}"
    );
    // an address that never changed
    let none = t
        .run(&["history", "module.network.aws_vpc.nope", "--format", "json"])
        .ok()
        .json();
    assert_eq!(none["changes"].as_array().unwrap().len(), 0);
}

/// A pipeline number used as a tag (`881234`) can also be the start of
/// another snapshot's id: the tag wins, as a ref does in git, with a note
/// that says so and how to name the id (`id:881234`).
#[test]
fn a_tag_of_digits_shadowing_an_id_prefix_wins_with_a_note() {
    let t = Scratch::new("shadow");
    t.run(&["init"]).ok();
    std::fs::create_dir_all(t.path("app")).unwrap();
    std::fs::write(
        t.path("app/main.tf"),
        "resource \"terraform_data\" \"a\" {\n  input = \"x\"\n}\n",
    )
    .unwrap();
    // snapshots until one's id (after the first) starts with six decimal
    // digits (one id in 17 does; 400 tries all failing has a chance below
    // 1e-10)
    let mut shadowed = None;
    for i in 0..400 {
        let id = t
            .run(&[
                "snapshot",
                "app",
                "--env",
                "prod",
                "-m",
                &format!("deploy {i}"),
                "--format",
                "json",
            ])
            .ok()
            .json()["id"]
            .as_str()
            .unwrap()
            .to_string();
        // not the first: the tag below names the first snapshot
        if i > 0 && id[..6].chars().all(|c| c.is_ascii_digit()) {
            shadowed = Some(id);
            break;
        }
    }
    let shadowed = shadowed.expect("an id starting with six digits");
    let prefix = &shadowed[..6];
    // the tag names another snapshot: the environment's first
    let log = t.run(&["log", "--format", "json"]).ok().json();
    let first = log.as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(first, shadowed);
    t.run(&["tag", prefix, &first]).ok();

    let shown = t.run(&["show", prefix, "--format", "json"]).ok();
    assert_eq!(shown.json()["id"], first, "the tag wins");
    assert!(
        shown.stderr.contains("is a tag")
            && shown.stderr.contains(&shadowed[..12])
            && shown.stderr.contains(&format!("id:{prefix}")),
        "{}",
        shown.stderr
    );
    let by_id = t
        .run(&["show", &format!("id:{prefix}"), "--format", "json"])
        .ok();
    assert_eq!(by_id.json()["id"], shadowed, "id: names the snapshot");
    assert!(!by_id.stderr.contains("is a tag"), "{}", by_id.stderr);
    // diff and plan sides say so too; -q keeps only results and errors
    let d = t.run(&["diff", prefix, "prod"]).ok();
    assert!(d.stderr.contains(&format!("id:{prefix}")), "{}", d.stderr);
    let q = t.run(&["-q", "show", prefix]).ok();
    assert!(!q.stderr.contains("is a tag"), "{}", q.stderr);
    // a tag that shadows nothing says nothing
    t.run(&["tag", "v1", &first]).ok();
    assert!(!t.run(&["show", "v1"]).ok().stderr.contains("is a tag"));
}

/// The combined pack index of the local cache (docs/store-format.md
/// §18.1): gc writes it; a damaged one is a note of `verify` naming it,
/// readers ignore it (the same diff as before), and the next gc writes a
/// sound one.
#[test]
fn gc_writes_the_combined_pack_index_and_verify_checks_it() {
    let t = Scratch::new("midx");
    t.run(&["init"]).ok();
    t.snapshot_releases(5);
    t.run(&["gc", "--grace", "0s"]).ok();
    let midx = t.path(".rewind/cache/packs.midx");
    let sound = std::fs::read(&midx).expect("gc wrote the combined index");
    assert_eq!(&sound[..8], b"RWMIDX01");
    let clean = t.run(&["verify"]).ok();
    assert!(!clean.stdout.contains("packs.midx"), "{}", clean.stdout);
    let diff = t.run(&["diff", "v1", "v5", "--format", "json"]).ok().stdout;

    std::fs::write(&midx, &sound[..sound.len() - 1]).unwrap();
    let v = t.run(&["verify"]).ok();
    let said = format!("{}{}", v.stdout, v.stderr);
    assert!(
        said.contains("cache/packs.midx is corrupt") && said.contains("readers ignore it"),
        "{said}"
    );
    assert_eq!(
        t.run(&["diff", "v1", "v5", "--format", "json"]).ok().stdout,
        diff
    );
    t.run(&["gc", "--grace", "0s"]).ok();
    assert_eq!(std::fs::read(&midx).unwrap(), sound);
    let again = t.run(&["verify"]).ok();
    assert!(!again.stdout.contains("packs.midx"), "{}", again.stdout);
}
