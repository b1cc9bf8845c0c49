//! The secrets sweep: a configuration and state generated with fresh
//! random secrets in every position a secret takes in real Terraform code
//! (heredocs, escapes, templates, `join()`, `$${`, JSON unicode escapes,
//! map keys, nested objects, module inputs, outputs, tfvars, state), run
//! through every command and format, with no secret allowed in any output
//! (raw, escaped, JSON-escaped or base64) unless `--show-sensitive` asks.
//!
//! The secrets are drawn anew on every run, so no output can be tuned to
//! them and the test cannot drift from the corpus: the corpus is generated
//! here, with the list of what it hides.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::common::{s, Run, Scratch};

/// A random token of letters and digits (from the standard library's
/// randomly keyed hasher: no dependency, different on every run).
fn token(seed: &mut u64) -> String {
    use std::hash::{BuildHasher, Hasher};
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let state = std::collections::hash_map::RandomState::new();
    let mut out = String::new();
    while out.len() < 18 {
        let mut h = state.build_hasher();
        h.write_u64(*seed);
        *seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut x = h.finish();
        for _ in 0..8 {
            out.push(ALPHABET[(x % ALPHABET.len() as u64) as usize] as char);
            x /= ALPHABET.len() as u64;
        }
    }
    out.truncate(18);
    out
}

/// The secrets of one version of the corpus, by what holds them. Each is
/// the value Terraform sees (unescaped).
pub struct Secrets {
    pub values: BTreeMap<&'static str, String>,
}

impl Secrets {
    pub fn new(seed: &mut u64) -> Secrets {
        let names = [
            "heredoc",
            "escaped_a",
            "escaped_b",
            "template",
            "join_a",
            "join_b",
            "dollar",
            "json_unicode",
            "map_key",
            "map_value",
            "nested",
            "module_input",
            "output_literal",
            "tfvars",
            "tfvars_json",
            "templatefile",
            "state_password",
            "state_ssm",
            "state_secret_data",
            "state_output",
            "private_key",
            "sensitive_literal",
            "sensitive_element",
            "local_templatefile",
            "named_local",
            "named_variable",
            "camel_key",
            "backend_key",
            "output_map_key",
            "state_data_output",
            "import_id",
            "import_named",
        ];
        let values = names.iter().map(|n| (*n, token(seed))).collect();
        Secrets { values }
    }

    pub fn get(&self, name: &str) -> &str {
        &self.values[name]
    }

    /// Every form of every secret, named `{version}.{name}`.
    pub fn forms(&self, version: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (name, value) in &self.values {
            for e in encodings(value) {
                out.push((format!("{version}.{name}"), e));
            }
        }
        out
    }
}

/// Writes one version of the corpus into `dir`. `n` is the version number
/// (a non-secret attribute changes with it too).
pub fn write_corpus(dir: &Path, s: &Secrets, n: u32) {
    let w = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\\nMIIEv{}QIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n",
        s.get("private_key")
    );
    w(
        "main.tf",
        format!(
            r#"terraform {{
  required_version = ">= 1.5"
  backend "s3" {{
    bucket     = "app-state"
    key        = "prod/terraform.tfstate"
    access_key = "{backend_key}"
  }}
}}

variable "bootstrap" {{
  type      = string
  sensitive = true
  default   = <<-EOT
    {heredoc}
    EOT
}}

variable "db_password" {{
  type      = string
  sensitive = true
}}

variable "api_credential" {{
  type      = string
  sensitive = true
}}

variable "replicas" {{
  type    = number
  default = {n}
}}

variable "service_token" {{
  type = string
}}

locals {{
  # derived from a sensitive value: sensitive too
  database_url = "postgres://admin:${{var.db_password}}@db.internal:5432/app"
  greeting     = "replicas-${{var.replicas}}"
  # marked where it is written, as a whole and inside a list
  marked   = sensitive("{sensitive_literal}")
  listed   = ["plain-{n}", sensitive("{sensitive_element}")]
  rendered = templatefile("${{path.module}}/init.tpl", {{ password = "{local_templatefile}" }})
  # named like a secret
  session_token = "{named_local}"
}}

resource "terraform_data" "marked" {{
  input = [local.marked, local.listed, local.rendered, var.service_token, "r${{var.replicas}}"]
}}

resource "terraform_data" "camel" {{
  input = {{
    dbPassword = "{camel_key}"
    replicas   = var.replicas
  }}
}}

resource "aws_db_instance" "main" {{
  identifier     = "app-db-{n}"
  instance_class = "db.t3.micro"
  username       = "admin"
  password       = "a\"{escaped_a}\u0041{escaped_b}"
}}

resource "aws_ssm_parameter" "url" {{
  name  = "/app/url"
  type  = "SecureString"
  value = join("", ["{join_a}", "{join_b}"])
}}

resource "aws_ssm_parameter" "conn" {{
  name  = "/app/conn"
  type  = "SecureString"
  value = local.database_url
}}

resource "aws_ssm_parameter" "boot" {{
  name  = "/app/boot"
  type  = "SecureString"
  value = "${{var.bootstrap}}-{template}"
}}

resource "aws_rds_cluster" "main" {{
  cluster_identifier = "app-{n}"
  master_username    = "admin"
  master_password    = "$${{keybase}}{dollar}"
}}

resource "kubernetes_secret" "app" {{
  metadata {{
    name = "app-{n}"
  }}
  data = {{
    "{map_key}" = "{map_value}"
  }}
}}

resource "terraform_data" "settings" {{
  input = {{
    replicas = var.replicas
    db = {{
      host     = "db.internal"
      password = "{nested}"
    }}
  }}
}}

resource "aws_instance" "web" {{
  ami           = "ami-0c55b159cbfafe1f0"
  instance_type = "t3.micro"
  user_data     = templatefile("${{path.module}}/init.tpl", {{ password = "{templatefile}", greeting = local.greeting }})
  tags = {{
    Name = "web-{n}"
  }}
}}

resource "tls_private_key" "deploy" {{
  algorithm = "RSA"
}}

module "db" {{
  source       = "./modules/db"
  admin_secret = "{module_input}"
  size         = {n}
}}

output "connection" {{
  value     = "{output_literal}"
  sensitive = true
}}

output "database_url" {{
  value     = local.database_url
  sensitive = true
}}
"#,
            heredoc = s.get("heredoc"),
            escaped_a = s.get("escaped_a"),
            escaped_b = s.get("escaped_b"),
            join_a = s.get("join_a"),
            join_b = s.get("join_b"),
            template = s.get("template"),
            dollar = s.get("dollar"),
            map_key = s.get("map_key"),
            map_value = s.get("map_value"),
            nested = s.get("nested"),
            templatefile = s.get("templatefile"),
            module_input = s.get("module_input"),
            output_literal = s.get("output_literal"),
            backend_key = s.get("backend_key"),
            sensitive_literal = s.get("sensitive_literal"),
            sensitive_element = s.get("sensitive_element"),
            local_templatefile = s.get("local_templatefile"),
            named_local = s.get("named_local"),
            camel_key = s.get("camel_key"),
        ),
    );
    // JSON syntax: the secret written with a unicode escape in front of it
    w(
        "api.tf.json",
        format!(
            r#"{{
  "resource": {{
    "aws_apigatewayv2_api": {{
      "main": {{
        "name": "app-api-{n}",
        "protocol_type": "HTTP",
        "api_key_value": "\u00e9{json_unicode}"
      }}
    }}
  }}
}}
"#,
            json_unicode = s.get("json_unicode")
        ),
    );
    w(
        "init.tpl",
        "#!/bin/sh\necho '${password}' > /etc/app\n".into(),
    );
    w(
        "modules/db/main.tf",
        r#"variable "admin_secret" {
  type      = string
  sensitive = true
}

variable "size" {
  type = number
}

resource "terraform_data" "db" {
  input = {
    size   = var.size
    secret = var.admin_secret
  }
}
"#
        .into(),
    );
    w(
        "terraform.tfvars",
        format!(
            "db_password = \"{}\"\nreplicas    = {n}\nservice_token = \"{}\"\n",
            s.get("tfvars"),
            s.get("named_variable")
        ),
    );
    if n == 2 {
        // the second release imports two objects with secret ids (one
        // sensitive, one named like a secret) and checks one: the import
        // and the check's warning must not show them
        w(
            "imports.tf",
            format!(
                r#"variable "import_secret" {{
  type      = string
  sensitive = true
  default   = "{}"
}}

variable "vault_token" {{
  default = "{}"
}}

resource "terraform_data" "imported" {{}}

import {{
  to = terraform_data.imported
  id = var.import_secret
}}

resource "terraform_data" "imported_named" {{}}

import {{
  to = terraform_data.imported_named
  id = var.vault_token
}}

check "token_is_short" {{
  assert {{
    condition     = length(var.vault_token) < 3
    error_message = "The token ${{var.vault_token}} is too long."
  }}
}}
"#,
                s.get("import_id"),
                s.get("import_named")
            ),
        );
    }
    w(
        "secrets.auto.tfvars.json",
        format!(
            "{{\n  \"api_credential\": \"\\u0041{}\"\n}}\n",
            s.get("tfvars_json")
        ),
    );
    let state = serde_json::json!({
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": n,
        "lineage": "5a1c0f3e-7d2b-4c8e-9f61-0b3a2d4e6c8f",
        "outputs": {
            "connection": {"value": s.get("output_literal"), "type": "string", "sensitive": true},
            "database_url": {
                "value": format!("postgres://admin:{}@db.internal:5432/app", s.get("state_output")),
                "type": "string",
                "sensitive": true
            },
            "replicas": {"value": n, "type": "number"},
            // a sensitive map: its keys are secret too
            "keys": {"value": {s.get("output_map_key"): "v"}, "type": ["map", "string"], "sensitive": true}
        },
        "resources": [
            {
                // terraform_data copies input to output, which no schema marks
                "mode": "managed", "type": "terraform_data", "name": "camel",
                "provider": "provider[\"terraform.io/builtin/terraform\"]",
                "instances": [{
                    "schema_version": 0,
                    "attributes": {
                        "id": "7d1e0c52-7c36-9d0c-62a1-1f2e3d4c5b6a",
                        "input": {
                            "value": {"dbPassword": s.get("state_data_output"), "replicas": n},
                            "type": ["object", {"dbPassword": "string", "replicas": "number"}]
                        },
                        "output": {
                            "value": {"dbPassword": s.get("state_data_output"), "replicas": n},
                            "type": ["object", {"dbPassword": "string", "replicas": "number"}]
                        },
                        "triggers_replace": null
                    },
                    "sensitive_attributes": []
                }]
            },
            {
                "mode": "managed", "type": "aws_db_instance", "name": "main",
                "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                "instances": [{
                    "schema_version": 2,
                    "attributes": {
                        "id": format!("db-{n}"),
                        "identifier": format!("app-db-{n}"),
                        "instance_class": "db.t3.micro",
                        "username": "admin",
                        "password": s.get("state_password")
                    },
                    "sensitive_attributes": [[{"type": "get_attr", "value": "password"}]]
                }]
            },
            {
                "mode": "managed", "type": "aws_ssm_parameter", "name": "url",
                "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                "instances": [{
                    "schema_version": 0,
                    "attributes": {
                        "id": "/app/url", "name": "/app/url", "type": "SecureString",
                        "value": s.get("state_ssm")
                    },
                    "sensitive_attributes": [[{"type": "get_attr", "value": "value"}]]
                }]
            },
            {
                "mode": "managed", "type": "kubernetes_secret", "name": "app",
                "provider": "provider[\"registry.terraform.io/hashicorp/kubernetes\"]",
                "instances": [{
                    "schema_version": 0,
                    "attributes": {
                        "id": format!("default/app-{n}"),
                        "metadata": [{"name": format!("app-{n}"), "namespace": "default"}],
                        "data": {"token": s.get("state_secret_data")}
                    },
                    "sensitive_attributes": [[{"type": "get_attr", "value": "data"}]]
                }]
            },
            {
                "mode": "managed", "type": "tls_private_key", "name": "deploy",
                "provider": "provider[\"registry.terraform.io/hashicorp/tls\"]",
                "instances": [{
                    "schema_version": 1,
                    "attributes": {
                        "id": "0f3c", "algorithm": "RSA", "rsa_bits": 2048,
                        "private_key_pem": pem.replace("\\n", "\n")
                    },
                    "sensitive_attributes": [[{"type": "get_attr", "value": "private_key_pem"}]]
                }]
            }
        ]
    });
    w(
        "terraform.tfstate",
        serde_json::to_string_pretty(&state).unwrap() + "\n",
    );
}

/// Every form a secret may take in output: as written, JSON-escaped,
/// base64 (standard and URL-safe, unpadded), hex.
fn encodings(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_string()];
    out.push(
        serde_json::to_string(secret)
            .unwrap()
            .trim_matches('"')
            .to_string(),
    );
    for alphabet in [
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    ] {
        // base64 of the secret at each of the three alignments inside a
        // longer value, trimmed to the characters that depend only on it
        for shift in 0..3 {
            let mut bytes = vec![0u8; shift];
            bytes.extend_from_slice(secret.as_bytes());
            let enc = base64(&bytes, alphabet);
            let skip = (shift * 4).div_ceil(3) + 1;
            let keep = enc.len().saturating_sub(skip + 4);
            out.push(enc[skip..skip + keep].to_string());
        }
    }
    let mut hex = String::new();
    for b in secret.bytes() {
        write!(hex, "{b:02x}").unwrap();
    }
    out.push(hex);
    out.retain(|e| e.len() >= 8);
    out
}

pub fn base64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Every occurrence of any form of any secret in `text`.
pub fn leaks<'a>(text: &str, secrets: &'a [(String, String)]) -> Vec<&'a str> {
    secrets
        .iter()
        .filter(|(_, enc)| text.contains(enc.as_str()))
        .map(|(name, _)| name.as_str())
        .collect()
}

#[test]
fn base64_forms_are_found_inside_longer_values() {
    let forms = encodings("Zk3pQ9rT7vW2xY5aBc");
    for prefix in ["", "a", "ab", "abc"] {
        let enc = base64(
            format!("{prefix}Zk3pQ9rT7vW2xY5aBc!").as_bytes(),
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        );
        assert!(
            forms.iter().any(|f| enc.contains(f.as_str())),
            "{prefix}: {enc} {forms:?}"
        );
    }
}

/// Runs `rewind` with `args` and keeps what it printed, with a label.
struct Sweep<'a> {
    t: &'a Scratch,
    outputs: Vec<(String, i32, String)>,
}

impl Sweep<'_> {
    fn run(&mut self, args: &[&str]) -> String {
        let r = self.t.run(args);
        let text = format!("{}\n{}", r.stdout, r.stderr);
        self.outputs.push((args.join(" "), r.code, text.clone()));
        text
    }
}

#[test]
fn no_secret_reaches_any_output() {
    let t = Scratch::new("secrets-sweep");
    let mut seed = u64::from(std::process::id());
    let v1 = Secrets::new(&mut seed);
    let v2 = Secrets::new(&mut seed);
    write_corpus(&t.path("v1"), &v1, 1);
    write_corpus(&t.path("v2"), &v2, 2);
    let mut secrets = Vec::new();
    for (version, s) in [("v1", &v1), ("v2", &v2)] {
        for (name, value) in &s.values {
            for e in encodings(value) {
                secrets.push((format!("{version}.{name}"), e));
            }
        }
    }

    let mut sw = Sweep {
        t: &t,
        outputs: Vec::new(),
    };
    sw.run(&["init"]);
    sw.run(&[
        "snapshot", "v1", "--env", "prod", "--tag", "r1", "-m", "one",
    ]);
    sw.run(&["snapshot", "v2", "--env", "prod", "--tag", "r2", "-v"]);
    sw.run(&["mark-good", "r1", "--env", "prod"]);
    for args in [
        vec!["log"],
        vec!["log", "--refs"],
        vec!["log", "--format", "json"],
        vec!["show", "r1"],
        vec!["show", "r2", "--format", "json"],
        vec!["verify"],
        vec!["verify", "-v"],
        vec!["checkout", "r1", "restored"],
    ] {
        sw.run(&args);
    }
    let sides = [
        ("r1", "r2"),
        ("r2", "r1"),
        ("v1", "v2"),
        ("v2", "v1"),
        ("r1", "v2"),
    ];
    for fmt in ["text", "json", "markdown", "html"] {
        for (a, b) in sides {
            for extra in [
                &[][..],
                &["--files"],
                &["--stat"],
                &["-v"],
                &["--files", "-v"],
            ] {
                let mut args = vec!["diff", a, b, "--format", fmt];
                args.extend_from_slice(extra);
                sw.run(&args);
            }
            sw.run(&["plan", "--from", a, "--to", b, "--format", fmt]);
            sw.run(&["plan", "--from", a, "--to", b, "--format", fmt, "-v"]);
        }
    }
    // the imports and the check of the second release were planned
    let text = sw.run(&["plan", "--from", "r1", "--to", "r2"]);
    for shown in [
        "terraform_data.imported will be imported\n        # imported from (sensitive value) (import block)",
        "terraform_data.imported_named will be imported\n        # imported from (sensitive value) (import block)",
        "warning: check.token_is_short (imports.tf:25:1): Check block assertion failed: The error message included a sensitive value",
    ] {
        assert!(text.contains(shown), "{shown:?} not in:\n{text}");
    }
    for (a, b) in sides {
        sw.run(&["plan", "--from", a, "--to", b, "--format", "dot"]);
        // Terraform's plan JSON: values and their marks, secrets null
        sw.run(&["plan", "--from", a, "--to", b, "--format", "terraform-json"]);
    }
    for fmt in ["dot", "mermaid", "json"] {
        for side in ["r1", "r2", "v1", "v2"] {
            sw.run(&["graph", side, "--format", fmt]);
        }
    }
    sw.run(&["incidents"]);
    sw.run(&["incidents", "--format", "json"]);

    // errors of evaluation: a function given a secret, a secret for_each
    for (name, resource) in [
        (
            "decode",
            "resource \"terraform_data\" \"bad\" {\n  input = base64decode(var.db_password)\n}\n",
        ),
        (
            "keys",
            "resource \"terraform_data\" \"bad\" {\n  for_each = toset([var.db_password])\n  input    = each.key\n}\n",
        ),
    ] {
        let dir = t.path(&format!("eval-{name}"));
        write_corpus(&dir, &v2, 2);
        std::fs::write(dir.join("bad.tf"), resource).unwrap();
        let d = dir.to_str().unwrap();
        for fmt in ["text", "json", "terraform-json"] {
            let out = sw.run(&["plan", "--from", "r2", "--to", d, "--format", fmt]);
            let (_, code, _) = sw.outputs.last().unwrap();
            assert_ne!(*code, 0, "{name} {fmt} should not plan:\n{out}");
            assert!(out.contains("sensitive"), "{name} {fmt}: says why:\n{out}");
        }
    }
    let evaluated = sw.outputs.len();

    // error paths: a line that assigns a secret breaks each kind of file
    let broken = [
        (
            "terraform.tfvars",
            format!("db_password = \"{}\" \"\n", v2.get("tfvars")),
        ),
        (
            "secrets.auto.tfvars.json",
            format!(
                "{{\"api_credential\": \"{}\" oops}}\n",
                v2.get("tfvars_json")
            ),
        ),
        (
            "terraform.tfstate",
            std::fs::read_to_string(t.path("v2/terraform.tfstate"))
                .unwrap()
                .replacen(
                    &format!("\"password\": \"{}\"", v2.get("state_password")),
                    &format!("\"password\": \"{}\" \"", v2.get("state_password")),
                    1,
                ),
        ),
        (
            "main.tf",
            std::fs::read_to_string(t.path("v2/main.tf"))
                .unwrap()
                .replacen(
                    "  password       = \"a\\\"",
                    "  password       = ) \"a\\\"",
                    1,
                ),
        ),
        (
            "modules/db/main.tf",
            format!(
                "variable \"admin_secret\" {{\n  sensitive = true\n  default = \"{}\" +\n}}\n",
                v2.get("module_input")
            ),
        ),
        // the secret-named key is inside an object on the line
        (
            "main.tf",
            std::fs::read_to_string(t.path("v2/main.tf"))
                .unwrap()
                .replacen(
                    &format!(
                        "  input = {{\n    dbPassword = \"{}\"\n",
                        v2.get("camel_key")
                    ),
                    &format!(
                        "  input = {{ dbPassword = \"{}\" + }}\n  x = {{\n",
                        v2.get("camel_key")
                    ),
                    1,
                ),
        ),
    ];
    for (file, text) in &broken {
        let dir = t.path(&format!("broken-{}", file.replace('/', "-")));
        write_corpus(&dir, &v2, 2);
        std::fs::write(dir.join(file), text).unwrap();
        let d = dir.to_str().unwrap();
        let mut commands = vec![
            vec!["snapshot", d, "--env", "broken"],
            vec!["diff", "r2", d],
            vec!["diff", "r2", d, "--format", "json"],
            vec!["plan", "--from", d, "--to", "r2"],
        ];
        // the graph is of the configuration: it does not read the state
        if !file.ends_with(".tfstate") {
            commands.push(vec!["graph", d]);
        }
        for args in commands {
            let out = sw.run(&args);
            let (_, code, _) = sw.outputs.last().unwrap();
            assert_eq!(*code, 1, "{args:?} should fail:\n{out}");
            assert!(
                out.contains(file.rsplit('/').next().unwrap()),
                "{args:?}: the error names the file:\n{out}"
            );
        }
    }

    // the errors quote their line, redacted
    let errors = sw.outputs[evaluated..]
        .iter()
        .filter(|(_, code, _)| *code == 1)
        .count();
    let redacted = sw.outputs[evaluated..]
        .iter()
        .filter(|(_, _, text)| text.contains("(redacted)"))
        .count();
    assert!(
        errors >= 20 && redacted == errors,
        "{redacted} of {errors} errors quote a redacted line"
    );

    let mut found = Vec::new();
    for (what, code, text) in &sw.outputs {
        assert!(*code != 101, "{what} panicked:\n{text}");
        for name in leaks(text, &secrets) {
            found.push(format!("{what}: {name}"));
        }
    }
    assert!(found.is_empty(), "secrets in output:\n{}", found.join("\n"));

    // the sweep could have found them: asked for, they are shown
    let shown = sw.run(&["diff", "r1", "r2", "--show-sensitive", "--files"]);
    assert!(
        !leaks(&shown, &secrets).is_empty(),
        "the sweep finds what --show-sensitive shows"
    );
    for name in ["state_password", "tfvars", "nested", "map_value", "join_a"] {
        assert!(
            shown.contains(v2.get(name)),
            "--show-sensitive shows {name}:\n{shown}"
        );
    }
    // and the restored files are the originals, secrets included
    let restored = std::fs::read_to_string(t.path("restored/main.tf")).unwrap();
    assert_eq!(
        restored,
        std::fs::read_to_string(t.path("v1/main.tf")).unwrap()
    );
}

/// Every file under `root`, with its bytes.
pub fn files_under(root: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(b) = std::fs::read(&p) {
                out.push((p, b));
            }
        }
    }
    out.sort();
    out
}

/// The secrets found in the files under `root`: (file, secret name).
pub fn leaks_in_files(root: &Path, secrets: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (path, bytes) in files_under(root) {
        // secrets are ASCII: a lossy view of binary bytes keeps them
        let text = String::from_utf8_lossy(&bytes);
        for name in leaks(&text, secrets) {
            found.push(format!("{}: {name}", path.display()));
        }
    }
    found
}

/// Asserts that every file of `original` a snapshot holds (all but
/// `.terraform/`) is in `restored` with exactly its bytes, and that
/// `restored` holds nothing else.
#[track_caller]
pub fn assert_same_files(original: &Path, restored: &Path) {
    let stored = |root: &Path| -> Vec<(std::path::PathBuf, Vec<u8>)> {
        files_under(root)
            .into_iter()
            .map(|(p, b)| (p.strip_prefix(root).unwrap().to_path_buf(), b))
            .filter(|(p, _)| !p.starts_with(".terraform"))
            .collect()
    };
    let (want, got) = (stored(original), stored(restored));
    assert!(!want.is_empty());
    let names = |v: &[(std::path::PathBuf, Vec<u8>)]| -> Vec<std::path::PathBuf> {
        v.iter().map(|(p, _)| p.clone()).collect()
    };
    assert_eq!(names(&got), names(&want), "the files restored");
    for ((path, a), (_, b)) in want.iter().zip(&got) {
        assert!(a == b, "{} differs after checkout", path.display());
    }
}

/// The issue's check: an encrypted store's files (packs, indexes, refs,
/// records, config, the parse and stat caches) hold no secret in any
/// form, while the same snapshots in a store without encryption do, and
/// checkout gives back the exact files.
#[test]
fn an_encrypted_store_holds_no_secret_and_round_trips() {
    let t = Scratch::new("secrets-encrypted");
    let mut seed = u64::from(std::process::id()) ^ 0x5eed;
    let v1 = Secrets::new(&mut seed);
    let v2 = Secrets::new(&mut seed);
    let extra = Secrets::new(&mut seed);
    write_corpus(&t.path("v1"), &v1, 1);
    write_corpus(&t.path("v2"), &v2, 2);
    // a value given on the command line, and one in a --var-file outside
    // the directory (both go into the model, and the record's `inputs`)
    std::fs::write(
        t.path("extra.tfvars"),
        format!("api_credential = \"{}\"\n", extra.get("tfvars")),
    )
    .unwrap();
    let mut secrets = v1.forms("v1");
    secrets.extend(v2.forms("v2"));
    secrets.extend(extra.forms("extra"));
    let key = "a passphrase nobody guesses 8c1f";
    let run = |args: &[&str]| {
        let o = t
            .cmd(args)
            .env("REWIND_KEY", key)
            .output()
            .expect("run rewind");
        Run::from(o)
    };
    let cli_var = format!("db_password={}", extra.get("map_value"));
    let mut outputs = Vec::new();
    for args in [
        vec!["init", "--encrypt"],
        vec![
            "snapshot", "v1", "--env", "prod", "--tag", "r1", "-m", "one",
        ],
        vec![
            "snapshot",
            "v2",
            "--env",
            "prod",
            "--tag",
            "r2",
            "--var-file",
            "extra.tfvars",
            "--var",
            &cli_var,
        ],
        // unchanged: the sealed stat cache is read back
        vec!["snapshot", "v1", "--env", "staging"],
        vec!["snapshot", "v1", "--env", "staging"],
        vec!["mark-good", "r1", "--env", "prod"],
        vec!["diff", "r1", "r2", "--files"],
        vec!["diff", "r1", "v1", "--files"],
        vec!["plan", "--from", "r2", "--to", "r1"],
        vec!["verify"],
        vec!["checkout", "r1", "restored1"],
        vec!["checkout", "r2", "restored2"],
    ] {
        let r = run(&args).ok();
        outputs.push((args.join(" "), format!("{}\n{}", r.stdout, r.stderr)));
    }
    let unchanged = &outputs[4].1;
    assert!(
        unchanged.contains("unchanged"),
        "the second snapshot of an unchanged directory reads the sealed cache: {unchanged}"
    );
    let diff = &outputs[7].1;
    assert!(
        !diff.contains("modified"),
        "a directory against a snapshot of the same files shows no file changed: {diff}"
    );
    for (what, text) in &outputs {
        let found = leaks(text, &secrets);
        assert!(found.is_empty(), "{what} printed secrets: {found:?}");
    }
    assert_same_files(&t.path("v1"), &t.path("restored1"));
    assert_same_files(&t.path("v2"), &t.path("restored2"));
    let caches = files_under(&t.path(".rewind/cache"));
    assert!(
        caches
            .iter()
            .any(|(p, _)| p.extension().is_some_and(|e| e == "parse"))
            && caches
                .iter()
                .any(|(p, _)| p.extension().is_some_and(|e| e == "stat")),
        "the parse and stat caches were written: {caches:?}"
    );
    // the stat file sealed whole, the parse log record by record
    assert!(
        caches.iter().all(|(p, b)| {
            let magic: &[u8] = if p.extension().is_some_and(|e| e == "parse") {
                b"RWSLOG01"
            } else {
                b"RWSEAL01"
            };
            b.starts_with(magic)
        }),
        "every cache file is sealed"
    );
    let found = leaks_in_files(&t.path(".rewind"), &secrets);
    assert!(
        found.is_empty(),
        "secrets in the encrypted store's files:\n{}",
        found.join("\n")
    );
    let record = files_under(&t.path(".rewind/snapshots"))
        .into_iter()
        .map(|(_, b)| String::from_utf8(b).unwrap())
        .find(|r| r.contains("\"inputs\""))
        .expect("the record of the snapshot given inputs");
    assert!(
        record.contains("db_password") && record.contains("extra.tfvars"),
        "the record names the inputs (never their values): {record}"
    );

    // the sweep could have found them: the same snapshots in a store
    // without encryption hold them (the state file's blob, the parse
    // cache)
    let plain = |args: &[&str]| {
        let mut a = vec!["--store", "plain"];
        a.extend_from_slice(args);
        t.run(&a).ok();
    };
    plain(&["init"]);
    plain(&["snapshot", "v1", "--env", "prod"]);
    let found = leaks_in_files(&t.path("plain"), &secrets);
    assert!(
        found.iter().any(|f| f.contains(".parse")) && found.len() > 3,
        "a store without encryption holds the secrets: {found:?}"
    );
}

/// Regression (adversarial review, session 46): an evaluation error
/// quoted a sensitive value: a `for` expression's duplicate key made of a
/// sensitive variable (Terraform quotes it; rewind does not) and a map's
/// missing key (Terraform omits a sensitive key). Neither reaches any
/// format of `plan`; a key that is not sensitive is still named.
#[test]
fn evaluation_errors_never_quote_a_sensitive_value() {
    let t = Scratch::new("secret-eval-errors");
    let cfg = t.path("cfg");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("main.tf"),
        r#"variable "db_pass" {
  type      = string
  sensitive = true
  default   = "S3CRET-01-XYZ"
}

variable "tenant_key" {
  type      = string
  sensitive = true
  default   = "S3CRET-02-XYZ"
}

variable "plain_key" {
  type    = string
  default = "medium"
}

locals {
  sizes = { small = 1, large = 3 }
}

resource "terraform_data" "users" {
  input = { for u in [var.db_pass, var.db_pass] : u => "x" }
}

resource "terraform_data" "t" {
  input = local.sizes[var.tenant_key]
}

resource "terraform_data" "p" {
  input = local.sizes[var.plain_key]
}
"#,
    )
    .unwrap();
    for format in ["text", "json", "terraform-json", "markdown", "html"] {
        let r = t.run(&[
            "plan",
            "--from",
            s(&cfg),
            "--to",
            s(&cfg),
            "--format",
            format,
        ]);
        assert_eq!(r.code, 1, "{format}: {}", r.stdout);
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(!all.contains("S3CRET"), "{format}:\n{all}");
        assert!(
            r.stderr.contains("produced the key (sensitive value)")
                && r.stderr.contains("terraform_data.t")
                && r.stderr.contains("collection value (\"medium\")"),
            "{format}:\n{}",
            r.stderr
        );
    }
}

/// Regression (adversarial review, session 46): `sensitive("...")` in an
/// `import` block's `id` was shown by `diff` in every format (the block's
/// secrets were not looked for), and inside a `check` block's data source
/// by `diff --files` (a labelled nested block that is a node of its own
/// was read with no node's secret paths).
#[test]
fn import_ids_and_check_data_sources_keep_sensitive_values_hidden() {
    let t = Scratch::new("secret-import-check");
    for v in 1..=2 {
        let dir = t.path(&format!("v{v}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("main.tf"),
            format!(
                r#"resource "terraform_data" "legacy" {{}}

import {{
  to = terraform_data.legacy
  id = sensitive("S3CRET-IMPORT-{v}")
}}

check "api" {{
  data "http" "api" {{
    url             = "https://api.example.com/health"
    request_headers = {{ Authorization = sensitive("Bearer S3CRET-CHECK-{v}") }}
  }}

  assert {{
    condition     = data.http.api.status_code == 200
    error_message = "The API is down."
  }}
}}
"#
            ),
        )
        .unwrap();
    }
    t.run(&["init"]).ok();
    t.run(&["snapshot", s(&t.path("v1")), "--tag", "r1"]).ok();
    t.run(&["snapshot", s(&t.path("v2")), "--tag", "r2"]).ok();
    let (v1, v2) = (t.path("v1"), t.path("v2"));
    let mut runs: Vec<Vec<&str>> = ["text", "json", "markdown", "html"]
        .iter()
        .flat_map(|f| {
            [
                vec!["diff", "r1", "r2", "--format", f],
                vec!["diff", "r1", "r2", "--files", "--format", f],
            ]
        })
        .collect();
    runs.push(vec!["diff", s(&v1), s(&v2), "--files"]);
    runs.push(vec!["history", "terraform_data.legacy"]);
    for args in &runs {
        let r = t.run(args);
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(r.code == 0 || r.code == 1, "{args:?}: {all}");
        assert!(!all.contains("S3CRET"), "{args:?}:\n{all}");
    }
    // the changes are still shown, as changes of a hidden value
    let r = t.run(&["diff", "r1", "r2"]);
    assert!(r.stdout.contains("sensitive"), "{}", r.stdout);
}

/// Regression (adversarial review, session 46): a key named like a
/// secret inside a state output that is not marked sensitive was shown by
/// `diff`, `history` and `plan --format terraform-json`, and names the
/// rule missed (`PGPASSWORD`, `dbpassword`, `spring.datasource.password`,
/// `token2`) were shown wherever they were.
#[test]
fn secret_names_in_state_outputs_and_glued_names_are_hidden() {
    let t = Scratch::new("secret-names-46");
    for v in 1..=2 {
        let dir = t.path(&format!("v{v}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("main.tf"),
            format!(
                r#"output "service" {{
  value = {{ host = "db.internal", api_token = "S3CRET-OUT-{v}" }}
}}

resource "terraform_data" "fn" {{
  input = {{
    PGPASSWORD                   = "S3CRET-PG-{v}"
    dbpassword                   = "S3CRET-DB-{v}"
    "spring.datasource.password" = "S3CRET-SPRING-{v}"
    token2                       = "S3CRET-TOKEN-{v}"
  }}
}}
"#
            ),
        )
        .unwrap();
        let state = serde_json::json!({
            "version": 4, "terraform_version": "1.11.4", "serial": v, "lineage": "l1",
            "outputs": {"service": {"value": {"host": "db.internal", "api_token": format!("S3CRET-STATE-{v}")},
                "type": ["object", {"host": "string", "api_token": "string"}]}},
            "resources": []
        });
        std::fs::write(dir.join("terraform.tfstate"), state.to_string()).unwrap();
    }
    t.run(&["init"]).ok();
    t.run(&["snapshot", s(&t.path("v1")), "--tag", "r1"]).ok();
    t.run(&["snapshot", s(&t.path("v2")), "--tag", "r2"]).ok();
    for args in [
        vec!["diff", "r1", "r2"],
        vec!["diff", "r1", "r2", "--format", "json"],
        vec!["history", "output.service"],
        vec![
            "plan",
            "--from",
            "r2",
            "--to",
            "r1",
            "--format",
            "terraform-json",
        ],
        vec!["plan", "--from", "r2", "--to", "r1"],
    ] {
        let r = t.run(&args);
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(r.code == 0 || r.code == 2, "{args:?}: {all}");
        assert!(!all.contains("S3CRET"), "{args:?}:\n{all}");
    }
}

/// A value secret by its key's name reached through an iterator
/// (`each.value` of a resource or module call, a `dynamic` block's
/// iterator) is hidden in every format; an argument beside it that is
/// not secret is still shown.
#[test]
fn values_through_iterators_over_secrets_are_hidden() {
    let t = Scratch::new("secret-iterators-47");
    for v in 1..=2 {
        let dir = t.path(&format!("v{v}"));
        std::fs::create_dir_all(dir.join("m")).unwrap();
        std::fs::write(
            dir.join("main.tf"),
            format!(
                r#"locals {{
  creds = {{ db_password = "S3CRET-EACH-{v}" }}
}}

resource "terraform_data" "each" {{
  for_each = local.creds
  input    = each.value
}}

resource "aws_security_group" "g" {{
  name = "sg-{v}"
  dynamic "ingress" {{
    for_each = local.creds
    iterator = rule
    content {{
      description = rule.value
      protocol    = "tcp-{v}"
    }}
  }}
}}

module "m" {{
  source   = "./m"
  for_each = local.creds
  x        = each.value
}}
"#
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("m/main.tf"),
            "variable \"x\" {}\n\nresource \"terraform_data\" \"in\" {\n  input = var.x\n}\n",
        )
        .unwrap();
    }
    for format in ["text", "markdown", "html", "json", "terraform-json"] {
        let r = t.run(&["plan", "--from", "v2", "--to", "v1", "--format", format]);
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(r.code == 0 || r.code == 2, "{format}: {all}");
        assert!(!all.contains("S3CRET"), "{format}:\n{all}");
        if format == "text" {
            assert!(all.contains("sg-2"), "{all}");
            assert!(
                all.contains("module.m[\"db_password\"].terraform_data.in"),
                "{all}"
            );
        }
    }
}
