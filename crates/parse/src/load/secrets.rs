//! Values secret by their names (`password`, `token`...) and the
//! secret paths they add to a node.

use super::*;

/// Attribute names that hold secrets in every provider Terraform users
/// meet (the providers' schemas mark them sensitive; rewind has no schemas).
/// A word counts as a whole name or as one of its parts, parts being
/// separated by `_`, `-`, `.` or a change from a small letter to a capital
/// (`db_password`, `db-password`, `dbPassword`, `secretKey`,
/// `spring.datasource.password`), digits after it allowed (`token2`);
/// `password`, `passwd`, `passphrase`, `secret` and `token` also end a
/// part written without a separator (`PGPASSWORD`, `dbpassword`).
/// A plural (`tokens`, `passwords_policy`) is not one.
pub(crate) fn is_secret_name(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "secret",
        "token",
        "private_key",
        "api_key",
        "apikey",
        "access_key",
        "client_secret",
        "connection_string",
        "credentials",
        "master_password",
        "auth_key",
        "sas",
    ];
    const SUFFIXES: &[&str] = &["password", "passwd", "passphrase", "secret", "token"];
    const NOT: &[&str] = &["_arn", "_id", "_name", "_version"];
    if name.len() > 64 || !name.bytes().all(|b| b.is_ascii()) {
        return false;
    }
    // lower case, one `_` between parts (a name of 64 bytes has at most
    // 32 small-to-capital changes)
    let mut buf = [0u8; 96];
    let mut len = 0;
    let mut prev_small = false;
    for &b in name.as_bytes() {
        if b.is_ascii_uppercase() && prev_small {
            buf[len] = b'_';
            len += 1;
        }
        prev_small = b.is_ascii_lowercase() || b.is_ascii_digit();
        buf[len] = if b == b'-' || b == b'.' {
            b'_'
        } else {
            b.to_ascii_lowercase()
        };
        len += 1;
    }
    let n: &[u8] = &buf[..len];
    if NOT.iter().any(|s| n.ends_with(s.as_bytes())) {
        return false;
    }
    // the word is the whole name, or an underscore-separated part of it:
    // it starts where a part starts and ends where a part ends (this runs
    // on every key of every resource, so no substring searcher is built)
    let mut rest = n;
    loop {
        // every word starts with one of these letters: most parts of most
        // names are told apart by their first letter alone
        // (a word may end in digits: `token2`, `password_1`)
        let ends_part = |at: usize| {
            let tail = &rest[at..];
            let digits = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            tail.len() == digits || tail[digits] == b'_'
        };
        let hit = matches!(rest.first(), Some(b'p' | b's' | b't' | b'a' | b'c' | b'm'))
            && WORDS.iter().any(|w| {
                let w = w.as_bytes();
                rest.starts_with(w) && ends_part(w.len())
            });
        let part = &rest[..rest.iter().position(|&b| b == b'_').unwrap_or(rest.len())];
        // a part that ends in one of the unambiguous words, written without
        // a separator (`PGPASSWORD`, `dbpassword`, `clientsecret`)
        let glued = SUFFIXES
            .iter()
            .any(|w| part.len() > w.len() && part.ends_with(w.as_bytes()));
        if hit || glued {
            return true;
        }
        match rest.iter().position(|&b| b == b'_') {
            Some(j) => rest = &rest[j + 1..],
            None => return false,
        }
    }
}

/// Marks attributes with secret-looking names as sensitive (config nodes
/// and state instances alike).
pub fn mark_secret_names(node: &mut Node) {
    let found = secret_names(node.kind, &node.type_, &node.name, &node.body);
    add_secret_paths(node, &found);
}

/// Arguments the providers' schemas mark sensitive under names the
/// naming rule does not catch (rewind has no schemas: the common ones,
/// by resource type). A state written before Terraform 0.15 records no
/// `sensitive_attributes`, so this is all that marks them there.
fn schema_sensitive(type_: &str) -> &'static [&'static str] {
    match type_ {
        "aws_ssm_parameter" => &["value"],
        "aws_iam_user_login_profile" => &["encrypted_password"],
        "kubernetes_secret" | "kubernetes_secret_v1" => &["data", "binary_data"],
        "github_actions_secret"
        | "github_actions_environment_secret"
        | "github_actions_organization_secret"
        | "github_dependabot_secret"
        | "github_codespaces_secret" => &["plaintext_value", "encrypted_value"],
        "azurerm_key_vault_secret" => &["value"],
        "tfe_variable" => &["value"],
        "vault_generic_secret" | "vault_kv_secret" | "vault_kv_secret_v2" => &["data_json", "data"],
        "random_password" => &["result", "bcrypt_hash"],
        "google_service_account_key" => &["private_key"],
        "heroku_config" | "heroku_app_config_association" => &["sensitive_vars"],
        _ => &[],
    }
}

/// Adds `found` (paths none of which is a prefix of another) to the
/// node's sensitive paths, but those under one it has.
pub(crate) fn add_secret_paths(node: &mut Node, found: &[rewind_model::Path]) {
    if found.is_empty() {
        return;
    }
    for p in found {
        if !node.sensitive.iter().any(|s| s.is_prefix_of(p)) {
            node.sensitive.push(p.clone());
        }
    }
    node.sensitive.sort();
}

/// The paths of a node's body that hold secrets by their names or by how
/// they are written, in the order they are written; none is under
/// another:
///
/// * in the arguments of resources, data sources, providers, module
///   calls, state instances, the `terraform` block (a backend's
///   `access_key`), variable files, and `import`, `check` and `removed`
///   blocks: an attribute or object key named like a secret
///   ([`is_secret_name`]), at any depth;
/// * a local, an output or a variable named like a secret: its value
///   (its default, and so the variable files and module arguments that
///   set it);
/// * anywhere: a value whose expression marks it (`sensitive("...")`) or
///   builds an object with a key named like a secret
///   (`templatefile("init.tpl", { password = "..." })`), as a whole.
pub(crate) fn secret_names(
    kind: NodeKind,
    type_: &str,
    name: &str,
    body: &Value,
) -> Vec<rewind_model::Path> {
    // the key a named value sits at, and whether its name makes it secret
    let value_key = match kind {
        NodeKind::Local | NodeKind::Output => "value",
        NodeKind::Variable => "default",
        NodeKind::Resource
        | NodeKind::Data
        | NodeKind::Provider
        | NodeKind::Module
        | NodeKind::Instance
        | NodeKind::Action
        | NodeKind::Terraform
        | NodeKind::Tfvars
        // an import's `id = sensitive("...")`, a check's nested data
        // source, a removed block's provisioner connection
        | NodeKind::Import
        | NodeKind::Check
        | NodeKind::Removed => {
            let mut found = Vec::new();
            walk_secrets(body, &mut Vec::new(), &mut found, 0);
            if matches!(kind, NodeKind::Resource | NodeKind::Data | NodeKind::Instance) {
                let m = body.as_map();
                for arg in schema_sensitive(type_) {
                    let p = rewind_model::Path::root().key(arg);
                    let held = m.is_some_and(|m| m.get(*arg).is_some_and(|v| !matches!(v, Value::Null)));
                    if held && !found.iter().any(|f| f.is_prefix_of(&p)) {
                        found.retain(|f| !p.is_prefix_of(f));
                        found.push(p);
                    }
                }
            }
            return found;
        }
        _ => return Vec::new(),
    };
    let value = body.as_map().and_then(|m| m.get(value_key));
    let root = rewind_model::Path::root().key(value_key);
    let trivial = matches!(value, Some(Value::Null | Value::Bool(_)));
    // a variable named like a secret is secret without a default: what
    // sets it is
    let named = is_secret_name(name) && !trivial && (value.is_some() || kind == NodeKind::Variable);
    if named || value.is_some_and(marked_secret) {
        return vec![root];
    }
    let mut found = Vec::new();
    if let Some(v) = value {
        walk_secrets(v, &mut vec![SecretStep::Key(value_key)], &mut found, 0);
    }
    found
}

/// A value written so that it is secret as a whole: an expression that
/// marks it or builds an object with a key named like a secret.
pub(super) fn marked_secret(v: &Value) -> bool {
    matches!(v, Value::Expr(e) if crate::sensitive::builds_secret(e))
}

/// A step of the path [`walk_secrets`] is at, borrowed: it only becomes a
/// `Path` when a secret is found (most keys are not secrets).
pub(super) enum SecretStep<'a> {
    Key(&'a str),
    Index(usize),
}

/// The secrets under `v` (at the path `stack`) by name or by how they are
/// written, into `found`.
pub(super) fn walk_secrets<'a>(
    v: &'a Value,
    stack: &mut Vec<SecretStep<'a>>,
    found: &mut Vec<rewind_model::Path>,
    depth: usize,
) {
    if depth > 8 {
        return;
    }
    let mut visit = |step: SecretStep<'a>, child: &'a Value, named: bool| {
        let secret =
            (named && !matches!(child, Value::Null | Value::Bool(_))) || marked_secret(child);
        if secret {
            let mut p = rewind_model::Path::root();
            for s in stack.iter().chain([&step]) {
                p = match s {
                    SecretStep::Key(k) => p.key(k),
                    SecretStep::Index(i) => p.index(*i),
                };
            }
            found.push(p);
        } else if matches!(child, Value::Map(_) | Value::List(_)) {
            stack.push(step);
            walk_secrets(child, stack, found, depth + 1);
            stack.pop();
        }
    };
    match v {
        Value::Map(m) => {
            for (k, child) in m {
                visit(SecretStep::Key(k), child, is_secret_name(k));
            }
        }
        Value::List(l) => {
            for (i, child) in l.iter().enumerate() {
                visit(SecretStep::Index(i), child, false);
            }
        }
        _ => {}
    }
}
