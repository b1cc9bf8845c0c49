//! The module cache `terraform init` leaves (`.terraform/modules/` and
//! its `modules.json`, or a `--modules` directory laid out the same):
//! read as Terraform 1.11 reads it, refused where Terraform refuses it
//! (each case run with `terraform plan` on a hand-written manifest).

use std::path::{Path, PathBuf};

use super::{scratch, write};

/// A root calling registry module `net` (downloaded) and local module
/// `loc`, with the manifest `manifest`.
fn root(name: &str, main_tf: &str, manifest: &str) -> PathBuf {
    let dir = scratch(name);
    write(&dir, "main.tf", main_tf);
    write(
        &dir,
        ".terraform/modules/net/main.tf",
        "resource \"terraform_data\" \"x\" {}\n",
    );
    write(
        &dir,
        "mods/loc/main.tf",
        "resource \"terraform_data\" \"y\" {}\n",
    );
    write(
        &dir,
        "mods/other/main.tf",
        "resource \"terraform_data\" \"z\" {}\n",
    );
    write(&dir, ".terraform/modules/modules.json", manifest);
    dir
}

const NET: &str = r#"{"Key":"net","Source":"registry.terraform.io/hashicorp/consul/aws","Version":"0.1.0","Dir":".terraform/modules/net"}"#;
const LOC: &str = r#"{"Key":"loc","Source":"./mods/loc","Dir":"mods/loc"}"#;

fn manifest(records: &[&str]) -> String {
    let mut all = vec![r#"{"Key":"","Source":"","Dir":"."}"#];
    all.extend(records);
    format!("{{\"Modules\":[{}]}}", all.join(","))
}

fn calls(net_source: &str, net_version: &str, loc_source: &str) -> String {
    format!(
        "module \"net\" {{\n  source  = \"{net_source}\"\n  version = \"{net_version}\"\n}}\n\nmodule \"loc\" {{\n  source = \"{loc_source}\"\n}}\n"
    )
}

/// The errors of loading `dir`, as `file:line:col message`.
fn errors(dir: &Path, opts: &rewind_parse::Options) -> Vec<String> {
    match rewind_parse::load(dir, opts) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .diagnostics
            .iter()
            .map(|d| format!("{}:{}:{} {}", d.loc.file, d.loc.line, d.loc.col, d.message))
            .collect(),
    }
}

#[test]
fn a_cache_that_still_matches_the_calls_is_read() {
    // the forms Terraform takes for the recorded ones: the registry's
    // host written out, a local path written another way
    for (net, loc) in [
        ("hashicorp/consul/aws", "./mods/loc"),
        (
            "registry.terraform.io/hashicorp/consul/aws",
            "./mods/../mods/loc",
        ),
    ] {
        let dir = root(
            "cache-ok",
            &calls(net, "~> 0.1.0", loc),
            &manifest(&[NET, LOC]),
        );
        let loaded = rewind_parse::load(&dir, &rewind_parse::Options::default())
            .unwrap_or_else(|e| panic!("{net}: {e}"));
        assert!(loaded.model.node("module.net.terraform_data.x").is_some());
        assert!(loaded.model.node("module.loc.terraform_data.y").is_some());
        let call = loaded.model.node("module.net").unwrap();
        assert_eq!(call.facts.more.downloaded_version.as_deref(), Some("0.1.0"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Terraform: "Module source has changed" / "Module version requirements
/// have changed", at the call's `source`; rewind names the call too.
#[test]
fn a_cache_installed_for_other_calls_is_refused_at_the_call() {
    let cases = [
        // a version the constraint no longer accepts
        (
            calls("hashicorp/consul/aws", "~> 0.2", "./mods/loc"),
            manifest(&[NET, LOC]),
            "main.tf:2:3 module.net: Module version requirements have changed",
            "the installed version (0.1.0, in .terraform/modules/modules.json) is no longer acceptable",
        ),
        // a pre-release only meets constraints with one
        (
            calls("hashicorp/consul/aws", ">= 0.0.1", "./mods/loc"),
            manifest(&[&NET.replace("0.1.0", "0.1.1-beta"), LOC]),
            "main.tf:2:3 module.net: Module version requirements have changed",
            "(0.1.1-beta, in .terraform/modules/modules.json)",
        ),
        // no version recorded, one required
        (
            calls("hashicorp/consul/aws", ">= 0.1", "./mods/loc"),
            manifest(&[&NET.replace(r#","Version":"0.1.0""#, ""), LOC]),
            "main.tf:2:3 module.net: Module version requirements have changed",
            ".terraform/modules/modules.json records none",
        ),
        // another registry module
        (
            calls("hashicorp/vault/aws", "0.1.0", "./mods/loc"),
            manifest(&[NET, LOC]),
            "main.tf:2:3 module.net: Module source has changed",
            "Run \"terraform init\"",
        ),
        // another local directory (Terraform records local modules too)
        (
            calls("hashicorp/consul/aws", "0.1.0", "./mods/other"),
            manifest(&[NET, LOC]),
            "main.tf:7:3 module.loc: Module source has changed",
            "the source address was changed since this module was installed",
        ),
    ];
    for (main_tf, modules_json, at, detail) in cases {
        let dir = root("cache-stale", &main_tf, &modules_json);
        let errs = errors(&dir, &rewind_parse::Options::default());
        assert_eq!(errs.len(), 1, "{main_tf}\n{errs:?}");
        assert!(errs[0].contains(at), "{at}\n{errs:?}");
        assert!(errs[0].contains(detail), "{detail}\n{errs:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// A call of a downloaded module whose source changed, in every instance
/// of its caller: one error, at the call in the downloaded module, named
/// by its module path.
#[test]
fn a_stale_nested_call_is_refused_once() {
    let dir = root(
        "cache-nested",
        "module \"net\" {\n  count  = 3\n  source = \"hashicorp/consul/aws\"\n}\n",
        &manifest(&[
            NET,
            r#"{"Key":"net.sub","Source":"./sub","Dir":".terraform/modules/net/sub"}"#,
        ]),
    );
    write(
        &dir,
        ".terraform/modules/net/main.tf",
        "module \"sub\" {\n  source = \"./subnets\"\n}\n",
    );
    write(&dir, ".terraform/modules/net/sub/main.tf", "");
    write(&dir, ".terraform/modules/net/subnets/main.tf", "");
    let errs = errors(&dir, &rewind_parse::Options::default());
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains(
            ".terraform/modules/net/main.tf:2:3 module.net.module.sub: Module source has changed"
        ),
        "{errs:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Terraform refuses a manifest it cannot read: "failed to read module
/// manifest: snapshot file contains two records for path net", an
/// invalid version, JSON that is not a manifest.
#[test]
fn a_manifest_terraform_cannot_read_is_refused_where_it_goes_wrong() {
    let main_tf = calls("hashicorp/consul/aws", "0.1.0", "./mods/loc");
    let cases = [
        (
            format!("{{\"Modules\": [\n  {NET},\n  {LOC},\n  {NET}\n]}}"),
            ".terraform/modules/modules.json:4:3",
            "snapshot file contains two records for path net",
        ),
        (
            manifest(&[&NET.replace("0.1.0", "one"), LOC]),
            ".terraform/modules/modules.json:1:",
            "invalid version \"one\" for net",
        ),
        (
            manifest(&[NET, LOC])[..40].to_string(),
            ".terraform/modules/modules.json:1:",
            "failed to read the module manifest",
        ),
    ];
    for (modules_json, at, why) in cases {
        let dir = root("cache-manifest", &main_tf, &modules_json);
        let errs = errors(&dir, &rewind_parse::Options::default());
        assert_eq!(errs.len(), 1, "{modules_json}\n{errs:?}");
        assert!(errs[0].contains(at), "{at}\n{errs:?}");
        assert!(errs[0].contains(why), "{why}\n{errs:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// A `--modules` cache is checked the same way, and its manifest is read
/// no larger than the limit of every parsed file (64 MiB; a real one is a
/// few KB): a larger one is refused by its size, unread, as is one left
/// in the directory's own `.terraform/modules`.
#[test]
fn module_caches_are_checked_and_their_manifest_size_is_bounded() {
    let dir = scratch("cache-dir");
    write(
        &dir,
        "infra/main.tf",
        &calls("hashicorp/consul/aws", "~> 0.2", "./mods/loc"),
    );
    write(&dir, "infra/mods/loc/main.tf", "");
    write(
        &dir,
        "cache/net/main.tf",
        "resource \"terraform_data\" \"x\" {}\n",
    );
    write(&dir, "cache/modules.json", &manifest(&[NET, LOC]));
    let opts = rewind_parse::Options {
        modules_dir: Some(dir.join("cache")),
        ..Default::default()
    };
    let errs = errors(&dir.join("infra"), &opts);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains("main.tf:2:3 module.net: Module version requirements have changed"),
        "{errs:?}"
    );
    assert!(
        errs[0].contains("(0.1.0, in the --modules cache's modules.json)"),
        "{errs:?}"
    );
    // larger than the limit: refused by its size (a sparse file: never read)
    let big = std::fs::File::create(dir.join("cache/modules.json")).unwrap();
    big.set_len((64 << 20) + 1).unwrap();
    let errs = errors(&dir.join("infra"), &opts);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].contains("cache/modules.json"), "{errs:?}");
    assert!(
        errs[0].contains(
            "67108865 bytes, more than rewind reads for a file of its kind (67108864 bytes)"
        ),
        "{errs:?}"
    );
    std::fs::create_dir_all(dir.join("infra/.terraform/modules")).unwrap();
    std::fs::rename(
        dir.join("cache/modules.json"),
        dir.join("infra/.terraform/modules/modules.json"),
    )
    .unwrap();
    let errs = errors(&dir.join("infra"), &rewind_parse::Options::default());
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].contains(".terraform/modules/modules.json:0:0 the module manifest is 67108865 bytes, more than rewind reads (67108864 bytes"),
        "{errs:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A `version` applies to registry modules only: with one, a source that
/// is not a registry address is Terraform's "Invalid registry module
/// source address", with or without a cache (terraform 1.11.4, `terraform
/// plan` and `init` alike); registry sources with a version, and local
/// ones without, are read.
#[test]
fn a_version_on_a_source_that_is_not_a_registry_address_is_refused() {
    for (source, why) in [
        ("./mods/loc", "can't use local directory \"./mods/loc\""),
        (
            "git::https://example.com/m.git",
            "\"git::https://example.com/m.git\" is not a module registry address",
        ),
        (
            "github.com/org/repo",
            "\"github.com/org/repo\" is not a module registry address",
        ),
    ] {
        let dir = scratch(&format!("version-not-registry-{}", source.len()));
        write(
            &dir,
            "main.tf",
            &format!("module \"m\" {{\n  source  = \"{source}\"\n  version = \"1.0.0\"\n}}\n"),
        );
        write(
            &dir,
            "mods/loc/main.tf",
            "resource \"terraform_data\" \"y\" {}\n",
        );
        let errs = errors(&dir, &rewind_parse::Options::default());
        assert_eq!(errs.len(), 1, "{source}: {errs:?}");
        assert!(errs[0].contains(why), "{errs:?}");
        assert!(errs[0].contains("main.tf:2:3"), "{errs:?}");
        assert!(
            errs[0].contains("because you also set the argument \"version\""),
            "{errs:?}"
        );
    }
    // the same calls as Terraform reads them: a registry source with a
    // version (not downloaded), a local one without
    let dir = scratch("version-registry");
    write(
        &dir,
        "main.tf",
        "module \"r\" {\n  source  = \"terraform-aws-modules/vpc/aws//modules/vpc-endpoints\"\n  version = \"~> 5.0\"\n}\n\nmodule \"l\" {\n  source = \"./mods/loc\"\n}\n",
    );
    write(
        &dir,
        "mods/loc/main.tf",
        "resource \"terraform_data\" \"y\" {}\n",
    );
    assert_eq!(
        errors(&dir, &rewind_parse::Options::default()),
        Vec::<String>::new()
    );
}
