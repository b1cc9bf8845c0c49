//! A deterministic generator of realistic Terraform trees.
//!
//! `generate` writes N resources spread over module folders (about ten
//! resources per file, ten files per module), with nested blocks, lists and
//! maps, `"${...}"` templates, references across resources and modules,
//! `depends_on`, `count`, `for_each`, `lifecycle`, variables, locals,
//! outputs, local module calls and a state file. `mutate` makes "version 2"
//! of a tree by changing about 1% of its resources: attribute edits, a few
//! added, a few removed and one renamed with a `moved` block.

use std::fmt::Write as _;
use std::path::Path;

/// A file of a generated tree that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", .path.display())]
pub struct WriteError {
    /// The file or directory.
    pub path: std::path::PathBuf,
    /// What the system said.
    #[source]
    pub source: std::io::Error,
}

fn write(path: impl AsRef<Path>, bytes: impl AsRef<[u8]>) -> Result<(), WriteError> {
    let path = path.as_ref();
    std::fs::write(path, bytes).map_err(|source| WriteError {
        path: path.to_path_buf(),
        source,
    })
}

fn mkdir(path: &Path) -> Result<(), WriteError> {
    std::fs::create_dir_all(path).map_err(|source| WriteError {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes a file, creating its directory.
pub(crate) fn write_file(
    path: impl AsRef<Path>,
    bytes: impl AsRef<[u8]>,
) -> Result<(), WriteError> {
    let path = path.as_ref();
    if let Some(dir) = path.parent() {
        mkdir(dir)?;
    }
    write(path, bytes)
}

/// splitmix64: small, fast, and the same everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_add(0x9E37_79B9_7F4A_7C15))
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// One generated resource.
#[derive(Clone, Debug)]
pub struct Res {
    pub ty: &'static str,
    pub name: String,
    /// Index of the module it lives in.
    pub module: usize,
    pub file: usize,
    pub count: Option<u64>,
    pub for_each: Option<Vec<String>>,
    pub body: String,
    /// (state attributes JSON) per instance key
    pub deps: Vec<String>,
    pub cbd: bool,
}

pub struct Options {
    pub resources: usize,
    pub seed: u64,
    pub terraform_data: bool,
}

const PER_FILE: usize = 10;
const FILES_PER_MODULE: usize = 10;

const TYPES: &[&str] = &[
    "aws_instance",
    "aws_security_group",
    "aws_s3_bucket",
    "aws_iam_role",
    "aws_subnet",
    "aws_route53_record",
    "aws_cloudwatch_metric_alarm",
    "aws_lb_target_group",
    "aws_sqs_queue",
    "aws_db_instance",
];

/// A resource's body (its attributes, two-space indented) and the
/// resources it refers to, drawn from `prev` (the module's latest ones).
fn body(
    rng: &mut Rng,
    ty: &str,
    module: usize,
    idx: usize,
    prev: &[String],
    td: bool,
) -> (String, Vec<String>) {
    if td {
        return terraform_data_body(rng, module, idx, prev);
    }
    let mut b = String::new();
    let mut deps = Vec::new();
    let _ = writeln!(b, "  name = \"${{var.prefix}}-m{module}-{ty}-{idx}\"");
    type_attributes(&mut b, rng, ty, module, idx);
    let _ = writeln!(b, "  tags = merge(local.tags, {{\n    Name  = \"m{module}-{idx}\"\n    Owner = \"team-{}\"\n  }})", rng.below(20));
    if let Some(p) = pick(rng, prev) {
        let attr = if p.starts_with("aws_security_group") {
            "id"
        } else {
            "arn"
        };
        let _ = writeln!(b, "  description = \"depends on ${{{p}.{attr}}}\"");
        deps.push(p);
    }
    if rng.chance(8) {
        if let Some(p) = pick(rng, prev) {
            let _ = writeln!(b, "  depends_on = [{p}]");
            deps.push(p);
        }
    }
    (b, deps)
}

/// One of `prev` at random, or none when it is empty.
fn pick(rng: &mut Rng, prev: &[String]) -> Option<String> {
    if prev.is_empty() {
        None
    } else {
        Some(prev[rng.below(prev.len() as u64) as usize].clone())
    }
}

/// The body of a `terraform_data` resource: an `input` object (with a
/// reference to an earlier one) and, at times, `triggers_replace`.
fn terraform_data_body(
    rng: &mut Rng,
    module: usize,
    idx: usize,
    prev: &[String],
) -> (String, Vec<String>) {
    let mut b = String::new();
    let mut deps = Vec::new();
    let _ = writeln!(b, "  input = {{");
    let _ = writeln!(b, "    name    = \"${{var.prefix}}-m{module}-r{idx}\"");
    let _ = writeln!(b, "    size    = {}", 1 + rng.below(64));
    let _ = writeln!(
        b,
        "    tags    = merge(local.tags, {{ Index = \"{idx}\" }})"
    );
    if let Some(p) = pick(rng, prev) {
        let _ = writeln!(b, "    parent  = {p}.id");
        deps.push(p);
    }
    let _ = writeln!(
        b,
        "    ports   = [{}, {}, {}]",
        80 + rng.below(10),
        443,
        8000 + rng.below(100)
    );
    let _ = writeln!(b, "  }}");
    if rng.chance(20) {
        if let Some(p) = pick(rng, prev) {
            let _ = writeln!(b, "  triggers_replace = [{p}.output]");
            deps.push(p);
        }
    }
    (b, deps)
}

/// The attributes particular to a resource type (the AWS types of
/// `TYPES`).
fn type_attributes(b: &mut String, rng: &mut Rng, ty: &str, module: usize, idx: usize) {
    match ty {
        "aws_instance" => {
            let _ = writeln!(b, "  ami           = var.ami_id");
            let _ = writeln!(
                b,
                "  instance_type = \"{}\"",
                ["t3.small", "t3.medium", "m6i.large"][rng.below(3) as usize]
            );
            let _ = writeln!(b, "  user_data     = <<-EOT\n    #!/bin/bash\n    echo \"module {module} instance {idx}\" > /etc/motd\n    systemctl enable app-${{var.prefix}}\n  EOT");
            let _ = writeln!(
                b,
                "  root_block_device {{\n    volume_size = {}\n    encrypted   = true\n  }}",
                20 + rng.below(100)
            );
        }
        "aws_security_group" => {
            for i in 0..(1 + rng.below(3)) {
                let _ = writeln!(
                    b,
                    "  ingress {{\n    description = \"rule {i}\"\n    from_port   = {p}\n    to_port     = {p}\n    protocol    = \"tcp\"\n    cidr_blocks = [\"10.{m}.{i}.0/24\", \"10.{m}.{j}.0/24\"]\n  }}",
                    p = 1000 + rng.below(9000),
                    m = module % 250,
                    j = i + 10
                );
            }
        }
        "aws_s3_bucket" => {
            let _ = writeln!(b, "  force_destroy = {}", rng.chance(50));
            let _ = writeln!(
                b,
                "  lifecycle {{\n    prevent_destroy = {}\n  }}",
                rng.chance(10)
            );
        }
        "aws_iam_role" => {
            let _ = writeln!(b, "  assume_role_policy = jsonencode({{\n    Version = \"2012-10-17\"\n    Statement = [{{ Action = \"sts:AssumeRole\", Effect = \"Allow\", Principal = {{ Service = \"ec2.amazonaws.com\" }} }}]\n  }})");
        }
        "aws_subnet" => {
            let _ = writeln!(b, "  vpc_id            = var.vpc_id\n  cidr_block        = cidrsubnet(var.cidr, 8, {})\n  availability_zone = var.azs[{}]", rng.below(200), rng.below(3));
        }
        "aws_route53_record" => {
            let _ = writeln!(b, "  zone_id = var.zone_id\n  type    = \"CNAME\"\n  ttl     = {}\n  records = [\"app-{idx}.${{var.domain}}\"]", 60 * (1 + rng.below(10)));
        }
        "aws_cloudwatch_metric_alarm" => {
            let _ = writeln!(b, "  comparison_operator = \"GreaterThanThreshold\"\n  evaluation_periods  = {}\n  threshold           = {}\n  alarm_actions       = [var.topic_arn]", 1 + rng.below(5), 50 + rng.below(50));
        }
        "aws_lb_target_group" => {
            let _ = writeln!(b, "  port     = {}\n  protocol = \"HTTP\"\n  vpc_id   = var.vpc_id\n  health_check {{\n    path    = \"/healthz\"\n    matcher = \"200-399\"\n  }}", 8000 + rng.below(1000));
        }
        "aws_sqs_queue" => {
            let _ = writeln!(
                b,
                "  visibility_timeout_seconds = {}\n  message_retention_seconds  = {}",
                30 + rng.below(300),
                86400 * (1 + rng.below(14))
            );
        }
        _ => {
            let _ = writeln!(b, "  engine         = \"postgres\"\n  engine_version = \"16.{}\"\n  instance_class = \"db.t4g.medium\"\n  password       = var.db_password", rng.below(4));
        }
    }
}

/// Generates the resources of a tree (in memory).
pub fn resources(o: &Options) -> Vec<Res> {
    let mut rng = Rng::new(o.seed);
    let mut out = Vec::with_capacity(o.resources);
    let per_module = PER_FILE * FILES_PER_MODULE;
    let mut prev: Vec<String> = Vec::new();
    for i in 0..o.resources {
        let module = i / per_module;
        let file = (i % per_module) / PER_FILE;
        if i % per_module == 0 {
            prev.clear();
        }
        let ty = if o.terraform_data {
            "terraform_data"
        } else {
            TYPES[rng.below(TYPES.len() as u64) as usize]
        };
        let name = format!("r{i}");
        let (count, for_each) = match rng.below(20) {
            0 => (Some(1 + rng.below(3)), None),
            1 => (
                None,
                Some((0..1 + rng.below(3)).map(|k| format!("k{k}")).collect()),
            ),
            _ => (None, None),
        };
        let (body, deps) = body(&mut rng, ty, module, i, &prev, o.terraform_data);
        let cbd = rng.chance(5);
        // later resources may reference this one (not counted ones, to keep references simple)
        if count.is_none() && for_each.is_none() {
            prev.push(format!("{ty}.{name}"));
            if prev.len() > 8 {
                prev.remove(0);
            }
        }
        out.push(Res {
            ty,
            name,
            module,
            file,
            count,
            for_each,
            body,
            deps,
            cbd,
        });
    }
    out
}

fn resource_block(r: &Res) -> String {
    let mut s = format!("resource \"{}\" \"{}\" {{\n", r.ty, r.name);
    if let Some(c) = r.count {
        let _ = writeln!(s, "  count = {c}\n");
    }
    if let Some(keys) = &r.for_each {
        let list: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
        let _ = writeln!(s, "  for_each = toset([{}])\n", list.join(", "));
    }
    s.push_str(&r.body);
    if r.cbd {
        s.push_str("\n  lifecycle {\n    create_before_destroy = true\n  }\n");
    }
    s.push_str("}\n\n");
    s
}

fn instance_keys(r: &Res) -> Vec<serde_json::Value> {
    match (&r.count, &r.for_each) {
        (Some(c), _) => (0..*c).map(|i| serde_json::json!(i)).collect(),
        (_, Some(keys)) => keys.iter().map(|k| serde_json::json!(k)).collect(),
        _ => vec![serde_json::Value::Null],
    }
}

/// Writes a whole tree for `resources` into `out`: the root module,
/// a folder per module and the state (with `serial`).
pub fn write_tree(
    out: &Path,
    res: &[Res],
    o: &Options,
    serial: u64,
    moved: &[(String, String, usize)],
) -> Result<(), WriteError> {
    mkdir(out)?;
    let modules = one_past_max(res.iter().map(|r| r.module));
    write(out.join("main.tf"), root_module(modules, o))?;
    for m in 0..modules {
        write_module(out, m, res, o, moved)?;
    }
    write(
        out.join("terraform.tfstate"),
        serde_json::to_vec_pretty(&state(res, o, serial)).expect("a JSON value always serializes"),
    )?;
    Ok(())
}

/// How many of something numbered from 0 there are, from their numbers.
fn one_past_max(numbers: impl Iterator<Item = usize>) -> usize {
    numbers.max().map(|n| n + 1).unwrap_or(0)
}

/// The root module: variables, the provider and a call of each of the
/// `modules` modules (each after the one before), an output.
fn root_module(modules: usize, o: &Options) -> String {
    let mut root = String::new();
    let _ = writeln!(root, "terraform {{\n  required_version = \">= 1.5\"\n}}\n");
    let _ = writeln!(
        root,
        "variable \"prefix\" {{\n  type    = string\n  default = \"bench\"\n}}\n"
    );
    if !o.terraform_data {
        let _ = writeln!(root, "provider \"aws\" {{\n  region = \"eu-west-1\"\n}}\n");
        let _ = writeln!(root, "variable \"db_password\" {{\n  type      = string\n  sensitive = true\n  default   = \"bench-secret-value\"\n}}\n");
    }
    for m in 0..modules {
        let _ = writeln!(
            root,
            "module \"m{m}\" {{\n  source = \"./modules/m{m}\"\n  prefix = \"${{var.prefix}}-{m}\""
        );
        if !o.terraform_data {
            let _ = writeln!(root, "  db_password = var.db_password");
        }
        if m > 0 {
            let _ = writeln!(root, "  upstream = module.m{}.first_id", m - 1);
        }
        let _ = writeln!(root, "}}\n");
    }
    let _ = writeln!(
        root,
        "output \"last_id\" {{\n  value = module.m{}.first_id\n}}",
        modules.saturating_sub(1)
    );
    root
}

/// Module `m`'s folder, `modules/mM`: variables, locals, an output, its
/// `moved` blocks and its resources (`PER_FILE` a file).
fn write_module(
    out: &Path,
    m: usize,
    res: &[Res],
    o: &Options,
    moved: &[(String, String, usize)],
) -> Result<(), WriteError> {
    let dir = out.join(format!("modules/m{m}"));
    mkdir(&dir)?;
    let mut vars = String::from("variable \"prefix\" {\n  type = string\n}\n\nvariable \"upstream\" {\n  type    = string\n  default = \"\"\n}\n\n");
    if !o.terraform_data {
        vars.push_str("variable \"db_password\" {\n  type      = string\n  sensitive = true\n}\n\nvariable \"ami_id\" {\n  type    = string\n  default = \"ami-0123456789abcdef0\"\n}\n\nvariable \"vpc_id\" {\n  type    = string\n  default = \"vpc-0abc\"\n}\n\nvariable \"cidr\" {\n  type    = string\n  default = \"10.0.0.0/8\"\n}\n\nvariable \"azs\" {\n  type    = list(string)\n  default = [\"eu-west-1a\", \"eu-west-1b\", \"eu-west-1c\"]\n}\n\nvariable \"zone_id\" {\n  type    = string\n  default = \"Z0123456789\"\n}\n\nvariable \"domain\" {\n  type    = string\n  default = \"example.com\"\n}\n\nvariable \"topic_arn\" {\n  type    = string\n  default = \"arn:aws:sns:eu-west-1:123456789012:alerts\"\n}\n");
    }
    write(dir.join("variables.tf"), vars)?;
    write(dir.join("locals.tf"), format!("locals {{\n  tags = {{\n    Module    = \"m{m}\"\n    Upstream  = var.upstream\n    ManagedBy = \"terraform\"\n  }}\n}}\n"))?;
    let mine: Vec<&Res> = res.iter().filter(|r| r.module == m).collect();
    let first = mine
        .iter()
        .find(|r| r.count.is_none() && r.for_each.is_none());
    let out_val = match first {
        Some(r) => format!("{}.{}.id", r.ty, r.name),
        None => "\"none\"".to_string(),
    };
    write(
        dir.join("outputs.tf"),
        format!("output \"first_id\" {{\n  value = {out_val}\n}}\n"),
    )?;
    let mut moved_text = String::new();
    for (from, to, mm) in moved {
        if *mm == m {
            let _ = writeln!(moved_text, "moved {{\n  from = {from}\n  to   = {to}\n}}\n");
        }
    }
    if !moved_text.is_empty() {
        write(dir.join("moved.tf"), moved_text)?;
    }
    let files = one_past_max(mine.iter().map(|r| r.file));
    for f in 0..files {
        let mut text = String::new();
        for r in mine.iter().filter(|r| r.file == f) {
            text.push_str(&resource_block(r));
        }
        write(dir.join(format!("r{f:02}.tf")), text)?;
    }
    Ok(())
}

/// The state file of the tree: every instance of every resource, with
/// its dependencies.
fn state(res: &[Res], o: &Options, serial: u64) -> serde_json::Value {
    let mut resources = Vec::new();
    for r in res {
        let instances: Vec<serde_json::Value> = instance_keys(r)
            .into_iter()
            .map(|k| state_instance(r, k))
            .collect();
        resources.push(serde_json::json!({
            "module": format!("module.m{}", r.module),
            "mode": "managed",
            "type": r.ty,
            "name": r.name,
            "provider": if o.terraform_data { "provider[\"terraform.io/builtin/terraform\"]" } else { "provider[\"registry.terraform.io/hashicorp/aws\"]" },
            "instances": instances,
        }));
    }
    serde_json::json!({
        "version": 4,
        "terraform_version": "1.11.4",
        "serial": serial,
        "lineage": "5f1c3b1e-0000-4000-8000-000000000000",
        "outputs": {},
        "resources": resources,
        "check_results": null,
    })
}

/// The state of the instance of `r` with key `k` (null: not counted).
fn state_instance(r: &Res, k: serde_json::Value) -> serde_json::Value {
    let id = format!(
        "{}-{}-{}",
        r.ty,
        r.name,
        k.as_u64()
            .map(|n| n.to_string())
            .or(k.as_str().map(str::to_string))
            .unwrap_or_default()
    );
    let mut attrs = serde_json::json!({
        "id": id,
        "arn": format!("arn:aws:bench:eu-west-1:123456789012:{id}"),
        "tags": {"Module": format!("m{}", r.module), "ManagedBy": "terraform"},
    });
    if r.ty == "aws_db_instance" {
        attrs["password"] = serde_json::json!("bench-secret-value");
    }
    let mut inst = serde_json::json!({
        "schema_version": 0,
        "attributes": attrs,
        "sensitive_attributes": if r.ty == "aws_db_instance" { serde_json::json!([[{"type": "get_attr", "value": "password"}]]) } else { serde_json::json!([]) },
        "dependencies": r.deps.iter().map(|d| format!("module.m{}.{d}", r.module)).collect::<Vec<_>>(),
    });
    if !k.is_null() {
        inst["index_key"] = k;
    }
    if r.cbd {
        inst["create_before_destroy"] = serde_json::json!(true);
    }
    inst
}

/// Version 2: about `percent`% of the resources change.
pub fn mutate(res: &[Res], seed: u64, percent: u64) -> (Vec<Res>, Vec<(String, String, usize)>) {
    let mut rng = Rng::new(seed ^ 0xDEAD_BEEF);
    let mut out: Vec<Res> = Vec::with_capacity(res.len());
    let n = res.len().max(1);
    let changes = ((n as u64 * percent) / 100).max(3) as usize;
    let mut edit = std::collections::BTreeSet::new();
    while edit.len() < changes.min(n) {
        edit.insert(rng.below(n as u64) as usize);
    }
    let removes: std::collections::BTreeSet<usize> =
        edit.iter().copied().filter(|i| i % 10 == 3).collect();
    for (i, r) in res.iter().enumerate() {
        let referenced = res.iter().any(|o| {
            o.module == r.module && o.deps.iter().any(|d| *d == format!("{}.{}", r.ty, r.name))
        });
        if removes.contains(&i) && !referenced {
            continue;
        }
        let mut r = r.clone();
        if edit.contains(&i) {
            // an attribute edit: change the first number in the body
            if let Some(pos) = r.body.find(|c: char| c.is_ascii_digit()) {
                r.body.insert(pos, '9');
            }
        }
        out.push(r);
    }
    // a few additions
    for k in 0..(changes / 10).max(1) {
        let module = rng.below(res.iter().map(|r| r.module).max().unwrap_or(0) as u64 + 1) as usize;
        let ty = res[0].ty;
        let body = if ty == "terraform_data" {
            format!("  input = {{\n    name = \"added-{k}\"\n  }}\n")
        } else {
            format!("  name = \"added-{k}\"\n  tags = local.tags\n")
        };
        out.push(Res {
            ty,
            name: format!("added{k}"),
            module,
            file: 0,
            count: None,
            for_each: None,
            body,
            deps: Vec::new(),
            cbd: false,
        });
    }
    // one rename with a moved block
    let mut moved = Vec::new();
    if let Some(r) = out
        .iter_mut()
        .find(|r| r.count.is_none() && r.for_each.is_none() && r.name.starts_with('r'))
    {
        let referenced = res
            .iter()
            .any(|o| o.deps.iter().any(|d| d.ends_with(&format!(".{}", r.name))));
        if !referenced {
            let from = format!("{}.{}", r.ty, r.name);
            r.name = format!("{}_renamed", r.name);
            moved.push((from, format!("{}.{}", r.ty, r.name), r.module));
        }
    }
    (out, moved)
}
