//! The inputs mutations start from: every configuration, variable and state
//! file under the corpus directories, plus a few built in so the fuzzer
//! works anywhere.

use std::path::Path;

use rewind_parse::FileKind;

use crate::target::kind_of;

/// Seeds larger than this are skipped (mutations work on small inputs).
pub const MAX_SEED: usize = 256 * 1024;

const BUILT_IN: &[(&str, &str)] = &[
    (
        "main.tf",
        "resource \"aws_instance\" \"web\" {\n  count = 2\n  ami   = var.ami\n  tags  = { Name = \"web-${count.index}\" }\n  lifecycle {\n    create_before_destroy = true\n    ignore_changes        = [tags]\n  }\n  provisioner \"local-exec\" {\n    when    = destroy\n    command = <<-EOT\n      echo ${self.id}\n    EOT\n  }\n}\n",
    ),
    (
        "locals.tf",
        "locals {\n  a = [for k, v in var.m : \"${k}=${v}\" if v != null]\n  b = { for s in var.subnets : s.name => s... }\n  c = try(var.cfg.x[0].y, null)\n  d = var.n > 3 ? -1 : !true ? 2 : 3\n  e = <<EOT\n%{ for x in var.l ~}\n${x}\n%{ endfor ~}\nEOT\n}\n",
    ),
    (
        "main.tf.json",
        "{\"resource\": {\"aws_vpc\": {\"main\": {\"cidr_block\": \"${var.cidr}\", \"depends_on\": [\"aws_s3_bucket.b\"], \"lifecycle\": {\"ignore_changes\": [\"tags\"]}}}}, \"locals\": {\"x\": 1}}",
    ),
    (
        "terraform.tfvars",
        "region = \"eu-west-1\"\nazs    = [\"a\", \"b\"]\ntags   = { Team = \"x\" }\n",
    ),
    ("terraform.tfvars.json", "{\"region\": \"eu-west-1\", \"n\": 3}"),
    (
        "terraform.tfstate",
        "{\"version\": 4, \"terraform_version\": \"1.11.4\", \"serial\": 3, \"lineage\": \"l\", \"outputs\": {}, \"resources\": [{\"mode\": \"managed\", \"type\": \"terraform_data\", \"name\": \"a\", \"provider\": \"provider[\\\"terraform.io/builtin/terraform\\\"]\", \"instances\": [{\"schema_version\": 0, \"attributes\": {\"id\": \"x\", \"input\": \"v\"}, \"sensitive_attributes\": [], \"dependencies\": [\"terraform_data.b\"]}]}]}",
    ),
];

/// One starting input.
pub struct Seed {
    pub kind: FileKind,
    pub bytes: Vec<u8>,
}

/// The built-in seeds and every fuzzable file under `dirs`, in a stable
/// order (so a seed and an iteration number name one input).
pub fn load(dirs: &[&Path]) -> Vec<Seed> {
    let mut out: Vec<Seed> = BUILT_IN
        .iter()
        .filter_map(|(name, text)| {
            Some(Seed {
                kind: kind_of(name)?,
                bytes: text.as_bytes().to_vec(),
            })
        })
        .collect();
    for dir in dirs {
        let mut files = Vec::new();
        walk(dir, &mut files);
        files.sort();
        for path in files {
            let Some(kind) = path.file_name().and_then(|n| n.to_str()).and_then(kind_of) else {
                continue;
            };
            match std::fs::read(&path) {
                Ok(bytes) if bytes.len() <= MAX_SEED => out.push(Seed { kind, bytes }),
                _ => {}
            }
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            walk(&e.path(), out);
        } else if t.is_file() {
            out.push(e.path());
        }
    }
}
