//! Where secrets are: sensitivity from every source, spread the way
//! Terraform's marks spread.

use std::path::Path;

use rewind_model::{Model, Path as VPath};

fn load_files(name: &str, files: &[(&str, &str)]) -> Model {
    let dir = std::env::temp_dir().join(format!("rewind-parse-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (p, text) in files {
        let p = dir.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let loaded = rewind_parse::load(Path::new(&dir), &rewind_parse::Options::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
    loaded.model
}

fn secret(m: &Model, addr: &str, path: &str) -> bool {
    let n = m.node(addr).unwrap_or_else(|| panic!("no node {addr}"));
    n.is_sensitive_path(&VPath::parse(path))
}

const MAIN: &str = r#"
variable "db_password" {
  type      = string
  sensitive = true
}
variable "region" {
  type    = string
  default = "eu-west-1"
}
locals {
  url   = "postgres://admin:${var.db_password}@db"
  chain = upper(local.url)
  plain = "x-${var.region}"
}
resource "aws_ssm_parameter" "url" {
  name  = "/app/url"
  value = local.chain
}
resource "aws_ssm_parameter" "other" {
  name  = "/app/other"
  value = "not obviously secret"
}
resource "aws_instance" "web" {
  ami       = "ami-1"
  user_data = templatefile("init.tpl", { password = "literal-in-call", region = var.region })
  tags      = { Name = local.plain }
}
module "db" {
  source = "./db"
  conn   = local.url
  region = var.region
}
output "region" {
  value = local.plain
}
"#;

const DB: &str = r#"
variable "conn" {
  type = string
}
variable "region" {
  type = string
}
resource "terraform_data" "db" {
  input = var.conn
  triggers_replace = var.region
}
output "conn" {
  value     = terraform_data.db.input
  sensitive = true
}
"#;

const STATE: &str = r#"{
  "version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": "l",
  "resources": [{
    "mode": "managed", "type": "aws_ssm_parameter", "name": "other",
    "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
    "instances": [{"attributes": {"name": "/app/other", "value": "v"},
                   "sensitive_attributes": [[{"type": "get_attr", "value": "value"}]]}]
  }, {
    "mode": "managed", "type": "aws_instance", "name": "web",
    "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
    "instances": [{"attributes": {"ami": "ami-1", "user_data": "echo"}, "sensitive_attributes": []}]
  }]
}"#;

#[test]
fn sensitivity_spreads_through_expressions() {
    let m = load_files(
        "spread",
        &[
            ("main.tf", MAIN),
            ("db/main.tf", DB),
            ("init.tpl", "${password}"),
            ("terraform.tfstate", STATE),
        ],
    );
    // derived from a sensitive variable, through locals of locals
    assert!(secret(&m, "local.url", "value"));
    assert!(secret(&m, "local.chain", "value"));
    assert!(secret(&m, "aws_ssm_parameter.url", "value"));
    assert!(!secret(&m, "aws_ssm_parameter.url", "name"));
    // not derived: not sensitive
    assert!(!secret(&m, "local.plain", "value"));
    assert!(!secret(&m, "output.region", "value"));
    assert!(!secret(&m, "aws_instance.web", "tags"));
    // a module argument carries its mark into the module's variable
    assert!(secret(&m, "module.db", "conn"));
    assert!(!secret(&m, "module.db", "region"));
    assert!(secret(&m, "module.db.var.conn", "default"));
    assert!(secret(&m, "module.db.terraform_data.db", "input"));
    assert!(!secret(
        &m,
        "module.db.terraform_data.db",
        "triggers_replace"
    ));
    // a secret-named key of an object built in a call
    assert!(secret(&m, "aws_instance.web", "user_data"));
    assert!(!secret(&m, "aws_instance.web", "ami"));
    // the state's sensitive_attributes for the type hold in the configuration
    assert!(secret(&m, "aws_ssm_parameter.other", "value"));
    // and the configuration's secrets hold in the state
    let web = m
        .instances
        .iter()
        .find(|i| i.address == "aws_instance.web")
        .unwrap();
    assert!(web.is_sensitive_path(&VPath::parse("user_data")));
    assert!(!web.is_sensitive_path(&VPath::parse("ami")));
}

/// A chain of locals written against the order the pass meets them (each
/// reads the one after it), longer than any bound on rounds: the secret at
/// its end reaches its start and the resource reading it, and a chain of the
/// same shape over a plain value stays plain.
#[test]
fn sensitivity_spreads_through_a_long_chain_written_backwards() {
    const N: usize = 400;
    let mut text = String::from(
        "variable \"token\" {\n  type      = string\n  sensitive = true\n}\nvariable \"name\" {\n  default = \"shop\"\n}\nlocals {\n",
    );
    for i in 0..N {
        let (s_next, p_next) = if i + 1 == N {
            ("var.token".to_string(), "var.name".to_string())
        } else {
            (format!("local.s{}", i + 1), format!("local.p{}", i + 1))
        };
        text.push_str(&format!(
            "  s{i} = \"x-${{{s_next}}}\"\n  p{i} = \"x-${{{p_next}}}\"\n"
        ));
    }
    // (a type whose schema marks nothing: `aws_ssm_parameter`'s `value`
    // is secret by its schema alone)
    text.push_str(
        "}\nresource \"aws_s3_object\" \"s\" {\n  key     = \"/s\"\n  content = local.s0\n}\n",
    );
    text.push_str(
        "resource \"aws_s3_object\" \"p\" {\n  key     = \"/p\"\n  content = local.p0\n}\n",
    );
    let m = load_files("long-chain", &[("main.tf", &text)]);
    for i in [0, 1, N / 2, N - 1] {
        assert!(secret(&m, &format!("local.s{i}"), "value"), "local.s{i}");
        assert!(!secret(&m, &format!("local.p{i}"), "value"), "local.p{i}");
    }
    assert!(secret(&m, "aws_s3_object.s", "content"));
    assert!(!secret(&m, "aws_s3_object.p", "content"));
}

/// The configuration's secrets hold in every instance of the resource:
/// one without a key, ones with a number, a string key (one with a space
/// in it) and a deposed object; a resource whose configuration holds no
/// secret keeps its instances plain, whatever their keys.
#[test]
fn configuration_secrets_hold_in_keyed_and_deposed_instances() {
    let main = r#"
variable "token" {
  type      = string
  sensitive = true
}
resource "aws_instance" "one" {
  ami       = "ami-1"
  user_data = var.token
}
resource "aws_instance" "many" {
  count     = 2
  ami       = "ami-1"
  user_data = var.token
}
resource "aws_instance" "named" {
  for_each  = toset(["a b", "c"])
  ami       = "ami-1"
  user_data = var.token
}
resource "aws_instance" "plain" {
  for_each  = toset(["a b"])
  ami       = "ami-1"
  user_data = "echo"
}
"#;
    let inst = |name: &str, key: &str, deposed: &str| {
        format!(
            r#"{{"mode": "managed", "type": "aws_instance", "name": "{name}",
  "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
  "instances": [{{{key}{deposed}"attributes": {{"ami": "ami-1", "user_data": "x"}}, "sensitive_attributes": []}}]}}"#
        )
    };
    let resources = [
        inst("one", "", ""),
        inst("many", r#""index_key": 0, "#, ""),
        inst("many", r#""index_key": 1, "#, r#""deposed": "00000001", "#),
        inst("named", r#""index_key": "a b", "#, ""),
        inst(
            "named",
            r#""index_key": "c", "#,
            r#""deposed": "00000002", "#,
        ),
        inst("plain", r#""index_key": "a b", "#, ""),
    ];
    let state = format!(
        r#"{{"version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": "l", "resources": [{}]}}"#,
        resources.join(",\n")
    );
    let m = load_files("keyed", &[("main.tf", main), ("terraform.tfstate", &state)]);
    let secret_in = |prefix: &str| -> Vec<(String, bool)> {
        m.instances
            .iter()
            .filter(|i| i.address.starts_with(prefix))
            .map(|i| {
                (
                    i.address.clone(),
                    i.is_sensitive_path(&VPath::parse("user_data")),
                )
            })
            .collect()
    };
    let one = secret_in("aws_instance.one");
    assert_eq!(one, vec![("aws_instance.one".to_string(), true)]);
    let many = secret_in("aws_instance.many");
    assert_eq!(many.len(), 2, "{many:?}");
    assert!(many.iter().all(|(_, s)| *s), "{many:?}");
    assert!(many.iter().any(|(a, _)| a.contains("deposed")), "{many:?}");
    let named = secret_in("aws_instance.named");
    assert_eq!(named.len(), 2, "{named:?}");
    assert!(named.iter().all(|(_, s)| *s), "{named:?}");
    assert!(
        named.iter().any(|(a, _)| a.contains("\"a b\"")),
        "{named:?}"
    );
    let plain = secret_in("aws_instance.plain");
    assert_eq!(plain.len(), 1, "{plain:?}");
    assert!(!plain[0].1, "{plain:?}");
}

/// What a reference reads, step by step: an attribute under a key written
/// as an index (`["token"]`), a block of a list by its index (`[0]`, and
/// legacy `.0`), an instance key skipped (`[0]` after the name), a data
/// source, a module output through an instance key, the whole module
/// object, and what does not count (a precondition, `depends_on`,
/// `lifecycle`).
#[test]
fn reads_follow_indexes_keys_and_module_outputs() {
    const MAIN: &str = r#"
variable "secret" {
  type      = string
  sensitive = true
}
resource "aws_x" "y" {
  settings = { token = var.secret, plain = "p" }
}
resource "aws_x" "z" {
  rule {
    cidr = var.secret
  }
  rule {
    cidr = "open"
  }
}
resource "aws_x" "many" {
  count = 2
  value = var.secret
}
data "aws_d" "d" {
  value = var.secret
}
resource "aws_r" "reader" {
  by_key     = aws_x.y.settings["token"]
  other_key  = aws_x.y.settings["plain"]
  by_index   = aws_x.z.rule[0].cidr
  second     = aws_x.z.rule[1].cidr
  legacy     = aws_x.z.rule.0.cidr
  instance   = aws_x.many[0].value
  splat      = aws_x.many[*].value
  from_data  = data.aws_d.d.value
  module_out = module.db[0].conn
  whole      = module.db
  named      = "${var.secret}-x"
  depends_on = [aws_x.y]
  lifecycle {
    replace_triggered_by = [aws_x.many[0].value]
  }
}
output "checked" {
  value = "open"
  precondition {
    condition     = var.secret != ""
    error_message = "empty"
  }
}
module "db" {
  count  = 1
  source = "./db"
  conn   = var.secret
}
"#;
    const DB: &str = r#"
variable "conn" {
  type = string
}
output "conn" {
  value = var.conn
}
"#;
    let m = load_files("reads", &[("main.tf", MAIN), ("db/main.tf", DB)]);
    let r = "aws_r.reader";
    assert!(secret(&m, "aws_x.y", "settings.token"));
    assert!(secret(&m, r, "by_key"));
    assert!(!secret(&m, r, "other_key"));
    assert!(secret(&m, "aws_x.z", "rule[0].cidr"));
    assert!(!secret(&m, "aws_x.z", "rule[1].cidr"));
    assert!(secret(&m, r, "by_index"));
    assert!(!secret(&m, r, "second"));
    assert!(secret(&m, r, "legacy"));
    assert!(secret(&m, r, "instance"));
    assert!(secret(&m, r, "splat"));
    assert!(secret(&m, r, "from_data"));
    assert!(secret(&m, "module.db.output.conn", "value"));
    assert!(secret(&m, r, "module_out"));
    assert!(secret(&m, r, "whole"));
    assert!(secret(&m, r, "named"));
    assert!(!secret(&m, r, "depends_on"));
    assert!(!secret(&m, r, "lifecycle"));
    assert!(!secret(&m, "output.checked", "value"));
}

/// `each.value` and a `dynamic` block's iterator hold elements of what
/// their `for_each` reads: of a map holding a secret, they may be that
/// secret (a key named like one in a local), so what they make is
/// secret; what reads only `each.key`, or a `for_each` of plain values,
/// is not.
#[test]
fn iterators_over_secrets_make_secrets() {
    const MAIN: &str = r#"
locals {
  creds = { db_password = "hunter2-literal", user = "bob" }
  plain = { a = "x", b = "y" }
}
resource "terraform_data" "each" {
  for_each = local.creds
  input    = each.value
  triggers_replace = each.key
}
resource "terraform_data" "plain" {
  for_each = local.plain
  input    = each.value
}
resource "aws_security_group" "g" {
  name = "g"
  dynamic "ingress" {
    for_each = local.creds
    content {
      description = ingress.value
      protocol    = "tcp"
    }
  }
  dynamic "egress" {
    for_each = local.creds
    iterator = rule
    content {
      description = rule.value
      from_port   = rule.key
    }
  }
  dynamic "tag" {
    for_each = local.plain
    content {
      value = tag.value
    }
  }
}
module "m" {
  source   = "./m"
  for_each = local.creds
  x        = each.value
}
"#;
    let m = load_files(
        "iterators",
        &[("main.tf", MAIN), ("m/main.tf", "variable \"x\" {}\n")],
    );
    assert!(secret(&m, "terraform_data.each", "input"));
    assert!(!secret(&m, "terraform_data.each", "triggers_replace"));
    assert!(!secret(&m, "terraform_data.plain", "input"));
    let g = "aws_security_group.g";
    assert!(secret(&m, g, "dynamic.ingress[0].content[0].description"));
    assert!(!secret(&m, g, "dynamic.ingress[0].content[0].protocol"));
    assert!(secret(&m, g, "dynamic.egress[0].content[0].description"));
    assert!(!secret(&m, g, "dynamic.egress[0].content[0].from_port"));
    assert!(!secret(&m, g, "dynamic.tag[0].content[0].value"));
    assert!(secret(&m, "module.m", "x"));
}
