//! A module cache that no longer matches the configuration, and state
//! shapes Terraform refuses or reads its own way: refused by `snapshot`
//! and `plan` where Terraform 1.11 refuses them (exit 1, the file and
//! the place), planned as Terraform plans the others, never stored to
//! make every later plan fail.

use crate::common::{Run, Scratch};

fn write(t: &Scratch, path: &str, text: &str) {
    let p = t.path(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// `terraform plan` on this root: "Error: Module version requirements
/// have changed ... on main.tf line 2, in module "net"", until
/// `terraform init` records the version the constraint accepts.
#[test]
fn a_stale_module_cache_is_refused_until_init_records_the_calls() {
    let t = Scratch::new("stale-cache");
    write(
        &t,
        "infra/main.tf",
        "module \"net\" {\n  source  = \"hashicorp/consul/aws\"\n  version = \"~> 0.2\"\n}\n",
    );
    write(
        &t,
        "infra/.terraform/modules/net/main.tf",
        "resource \"terraform_data\" \"vpc\" {}\n",
    );
    let manifest = |version: &str| {
        format!(
            r#"{{"Modules":[{{"Key":"","Source":"","Dir":"."}},{{"Key":"net","Source":"registry.terraform.io/hashicorp/consul/aws","Version":"{version}","Dir":".terraform/modules/net"}}]}}"#
        )
    };
    write(
        &t,
        "infra/.terraform/modules/modules.json",
        &manifest("0.1.0"),
    );
    t.run(&["init"]).ok();
    let refused = |r: Run| {
        assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains(
                "infra/main.tf:2:3: module.net: Module version requirements have changed"
            ),
            "{}",
            r.stderr
        );
        assert!(
            r.stderr
                .contains("installed version (0.1.0, in .terraform/modules/modules.json)"),
            "{}",
            r.stderr
        );
    };
    refused(t.run(&["snapshot", "infra", "--tag", "v1"]));
    refused(t.run(&["plan", "--from", "infra", "--to", "infra"]));
    // what `terraform init` records once the module is downloaded again
    write(
        &t,
        "infra/.terraform/modules/modules.json",
        &manifest("0.2.3"),
    );
    t.run(&["snapshot", "infra", "--tag", "v1"]).ok();
    let g = t.run(&["--format", "json", "graph", "infra"]).ok();
    assert!(
        g.stdout.contains("module.net.terraform_data.vpc"),
        "{}",
        g.stdout
    );
}

/// The state of `terraform_data.x` (count 2 in the configuration) with
/// `resource` as its one resource's JSON fields.
fn state_dir(t: &Scratch, dir: &str, resource: &str) {
    write(
        t,
        &format!("{dir}/main.tf"),
        "resource \"terraform_data\" \"x\" {\n  count = 2\n  input = \"a\"\n}\n",
    );
    write(
        t,
        &format!("{dir}/terraform.tfstate"),
        &format!(
            "{{\"version\": 4, \"terraform_version\": \"1.11.4\", \"serial\": 1, \"lineage\": \"l\", \"outputs\": {{}},\n \"resources\": [\n  {{{resource}, \"type\": \"terraform_data\", \"name\": \"x\", \"provider\": \"provider[\\\"terraform.io/builtin/terraform\\\"]\", \"instances\": [{{\"index_key\": 1.5, \"schema_version\": 0, \"attributes\": {{\"id\": \"abc\", \"input\": {{\"value\": \"a\", \"type\": \"string\"}}, \"output\": {{\"value\": \"a\", \"type\": \"string\"}}, \"triggers_replace\": null}}, \"sensitive_attributes\": []}}]}}\n]}}\n"
        ),
    );
}

/// Terraform 1.11 reads `"index_key": 1.5` as `x[1]` (`terraform plan`:
/// "terraform_data.x[1]: Refreshing state...", then only x[0] to
/// create): the snapshot stores that, and plans from it work.
#[test]
fn a_fractional_index_key_is_read_as_terraform_reads_it() {
    let t = Scratch::new("index-key");
    state_dir(&t, "infra", "\"mode\": \"managed\"");
    t.run(&["init"]).ok();
    t.run(&["snapshot", "infra", "--tag", "v1"]).ok();
    let plan = t
        .run(&["--format", "json", "plan", "--from", "v1", "--to", "infra"])
        .ok();
    let changes = plan.json()["changes"].to_string();
    assert!(changes.contains("terraform_data.x[0]"), "{}", plan.stdout);
    assert!(!changes.contains("terraform_data.x[1]"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("1.5"), "{}", plan.stdout);
}

/// Terraform 1.11 refuses the state ("Invalid resource mode in state:
/// State contains a resource with mode "weird" ("terraform_data" "x")
/// which is not supported", "Index value required..."): so do
/// `snapshot` and `plan`, at the resource, and nothing is stored.
#[test]
fn a_state_terraform_refuses_is_refused_at_the_resource() {
    let t = Scratch::new("state-shapes");
    t.run(&["init"]).ok();
    for (resource, why) in [
        ("\"mode\": \"weird\"", "Invalid resource mode in state"),
        (
            "\"mode\": \"managed\", \"module\": \"module.a[\"",
            "invalid module address",
        ),
        (
            "\"mode\": \"managed\", \"module\": \"module.\"",
            "invalid module address",
        ),
    ] {
        state_dir(&t, "infra", resource);
        for r in [
            t.run(&["snapshot", "infra", "--tag", "v1"]),
            t.run(&["plan", "--from", "infra", "--to", "infra"]),
        ] {
            assert_eq!(r.code, 1, "{resource}\n{}\n{}", r.stdout, r.stderr);
            assert!(
                r.stderr
                    .contains("infra/terraform.tfstate:3:3: terraform_data.x: "),
                "{}",
                r.stderr
            );
            assert!(r.stderr.contains(why), "{}", r.stderr);
        }
    }
    let log = t.run(&["log"]);
    assert!(!log.stdout.contains("v1"), "{}", log.stdout);
}
