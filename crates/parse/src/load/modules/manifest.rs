//! The module manifest `terraform init` writes
//! (`.terraform/modules/modules.json`), and what Terraform 1.11 checks of
//! it before it plans: one record per module key, and for each module
//! call a source address unchanged since the module was installed and a
//! recorded version its `version` constraint still accepts.
//!
//! Source addresses are compared as Terraform compares them, normalized
//! on both sides (`hashicorp/consul/aws` is
//! `registry.terraform.io/hashicorp/consul/aws`, `github.com/org/repo`
//! is `git::https://github.com/org/repo.git`, `./a/../b` is `./b`);
//! versions and constraints follow hashicorp/go-version, which Terraform
//! uses for module versions.

pub(in crate::load) use crate::goversion::{Constraints, Version};

/// The largest module manifest read: the limit of every file rewind
/// parses ([`super::MAX_PARSED_FILE`], 64 MiB). A real one is a few KB:
/// one record of some 150 bytes per module call.
pub(in crate::load) const MAX_MANIFEST: u64 = super::MAX_PARSED_FILE;

/// One record of the manifest.
#[derive(Debug, Default, PartialEq, serde::Deserialize)]
pub(in crate::load) struct Record {
    /// The module's key: the names of the calls that lead to it, joined
    /// by dots (`net`, `net.subnets`; `""` for the root).
    #[serde(rename = "Key", default)]
    pub key: Option<String>,
    /// The source address the module was installed from.
    #[serde(rename = "Source", default)]
    pub source: Option<String>,
    /// The version installed (registry modules).
    #[serde(rename = "Version", default)]
    pub version: Option<String>,
    /// Where it was installed, relative to the root module.
    #[serde(rename = "Dir", default)]
    pub dir: Option<String>,
}

/// A manifest Terraform refuses: line, column (1-based) and why.
pub(in crate::load) type ManifestError = (u32, u32, String);

#[derive(serde::Deserialize)]
struct ManifestDoc<'a> {
    #[serde(rename = "Modules", default, borrow)]
    modules: Option<Vec<&'a serde_json::value::RawValue>>,
}

/// The records of manifest `bytes`, refused as Terraform refuses them:
/// JSON that does not hold records, a version that is not one, two
/// records for one key. An empty file is an empty manifest, as for
/// Terraform.
pub(in crate::load) fn parse_manifest(bytes: &[u8]) -> Result<Vec<Record>, ManifestError> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let json_error = |e: serde_json::Error| {
        (
            e.line() as u32,
            e.column().max(1) as u32,
            format!("failed to read the module manifest: {e}"),
        )
    };
    let doc: ManifestDoc = serde_json::from_slice(bytes).map_err(json_error)?;
    let raws = doc.modules.unwrap_or_default();
    let mut records = Vec::with_capacity(raws.len());
    let mut seen = std::collections::HashSet::new();
    for raw in raws {
        let start = (raw.get().as_ptr() as usize).saturating_sub(bytes.as_ptr() as usize);
        let at = |offset: usize, message: String| {
            let (line, col) = crate::state::offset_position(bytes, offset);
            (line, col, message)
        };
        let r: Record = serde_json::from_str(raw.get()).map_err(|e| {
            // serde_json's place is inside the record: said once, in the file
            let text = crate::state::without_position(&e);
            let inside = crate::state::json_offset(raw.get().as_bytes(), e.line(), e.column());
            at(
                start + inside,
                format!("failed to read the module manifest: {text}"),
            )
        })?;
        let key = r.key.clone().unwrap_or_default();
        if let Some(v) = r.version.as_deref().filter(|v| !v.is_empty()) {
            if Version::parse(v).is_none() {
                return Err(at(start, format!(
                    "failed to read the module manifest: invalid version {v:?} for {key}: Malformed version: {v} (run \"terraform init\" to write it again)"
                )));
            }
        }
        if !seen.insert(key.clone()) {
            return Err(at(start, format!(
                "failed to read the module manifest: snapshot file contains two records for path {key} (Terraform refuses it; run \"terraform init\" to write it again)"
            )));
        }
        records.push(r);
    }
    Ok(records)
}

/// Does the call's source `config` name the module recorded as installed
/// from `recorded`? Both are normalized as Terraform normalizes them (a
/// recorded source that does not parse is compared as written, as
/// Terraform does); a configured source that does not parse is not
/// compared (Terraform reports it elsewhere).
pub(in crate::load) fn same_source(config: &str, recorded: &str) -> bool {
    if config == recorded {
        return true;
    }
    let Some(config) = normalize_source(config) else {
        return true;
    };
    let recorded = normalize_source(recorded).unwrap_or_else(|| recorded.to_string());
    config == recorded
}

/// A module source address as Terraform prints it once parsed (its
/// `ModuleSource.String()`): a local path cleaned and starting with `./`
/// or `../`, a registry address with its host, or a remote address with
/// go-getter's shorthands expanded and the subdirectory after the
/// package. `None`: not an address Terraform reads.
pub(in crate::load) fn normalize_source(raw: &str) -> Option<String> {
    if ["./", "../", ".\\", "..\\"]
        .iter()
        .any(|p| raw.starts_with(p))
    {
        let clean = clean_path(&raw.replace('\\', "/"));
        return Some(if clean.starts_with("../") {
            clean
        } else {
            format!("./{clean}")
        });
    }
    registry_source(raw).or_else(|| remote_source(raw))
}

/// A module registry address, `[host/]namespace/name/system[//subdir]`.
pub(in crate::load) fn registry_source(raw: &str) -> Option<String> {
    let (package, subdir) = split_subdir(raw);
    if subdir.starts_with("../") {
        return None;
    }
    let parts: Vec<&str> = package.split('/').collect();
    let (host, rest) = match parts.len() {
        3 => ("registry.terraform.io".to_string(), &parts[..]),
        4 => (registry_host(parts[0])?, &parts[1..]),
        _ => return None,
    };
    if host == "github.com" || host == "bitbucket.org" {
        return None;
    }
    let name_ok = |s: &str| {
        let b = s.as_bytes();
        let inner = |c: &u8| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_';
        !b.is_empty()
            && b.len() <= 64
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(inner)
    };
    let system_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
    };
    if !(name_ok(rest[0]) && name_ok(rest[1]) && system_ok(rest[2])) {
        return None;
    }
    Some(with_subdir(
        &format!("{host}/{}/{}/{}", rest[0], rest[1], rest[2]),
        &subdir,
    ))
}

/// A registry hostname as Terraform compares it: lower case, without
/// the default port, with at least one dot.
fn registry_host(given: &str) -> Option<String> {
    let (name, port) = match given.rsplit_once(':') {
        Some((n, p)) if !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) => (n, Some(p)),
        Some(_) => return None,
        None => (given, None),
    };
    let ok = |c: char| c.is_alphanumeric() || c == '-' || c == '.';
    if name.is_empty() || !name.contains('.') || !name.chars().all(ok) {
        return None;
    }
    let name = name.to_lowercase();
    Some(match port {
        None | Some("443") => name,
        Some(p) => format!("{name}:{p}"),
    })
}

/// A remote (go-getter) address: the package with its shorthand
/// expanded, then `//subdir`.
fn remote_source(raw: &str) -> Option<String> {
    let (package, subdir) = split_subdir(raw);
    if subdir.starts_with("../") {
        return None;
    }
    let detected = detect_remote(&package)?;
    let (package, more) = split_subdir(&detected);
    let subdir = match (more.is_empty(), subdir.is_empty()) {
        (true, _) => subdir,
        (false, true) => more,
        (false, false) => clean_path(&format!("{more}/{subdir}")),
    };
    if subdir.starts_with("../") {
        return None;
    }
    Some(with_subdir(&package, &subdir))
}

/// go-getter's detection of a package address: forced getters
/// (`git::...`) and URLs with a scheme as written, else the shorthands
/// for GitHub, git over SSH, Bitbucket, GCS, S3 and absolute paths.
fn detect_remote(src: &str) -> Option<String> {
    let (force, get_src) = forced_getter(src);
    let (get_src, subdir) = split_subdir(get_src);
    if has_scheme(&get_src) {
        return Some(src.to_string());
    }
    let detectors: [fn(&str) -> Detected; 6] = [
        detect_github,
        detect_git_ssh,
        detect_bitbucket,
        detect_gcs,
        detect_s3,
        detect_abs_path,
    ];
    for d in detectors {
        let result = match d(&get_src) {
            Detected::No => continue,
            Detected::Invalid => return None,
            Detected::Yes(r) => r,
        };
        let (detected_force, result) = forced_getter(&result);
        let (result, detected_subdir) = split_subdir(result);
        let subdir = match (detected_subdir.is_empty(), subdir.is_empty()) {
            (true, _) => subdir,
            (false, true) => detected_subdir,
            (false, false) => clean_path(&format!("{detected_subdir}/{subdir}")),
        };
        let result = with_subdir(&result, &subdir);
        return Some(match (force, detected_force) {
            (Some(f), _) | (None, Some(f)) => format!("{f}::{result}"),
            (None, None) => result,
        });
    }
    None
}

/// What a go-getter detector makes of an address.
enum Detected {
    /// Not its kind.
    No,
    /// Its kind, but not valid: the address is refused.
    Invalid,
    /// The full address.
    Yes(String),
}

/// `getter::address` (`git::https://...`): the getter and the address.
fn forced_getter(src: &str) -> (Option<&str>, &str) {
    match src.split_once("::") {
        Some((f, rest))
            if !f.is_empty()
                && f.bytes().all(|c| c.is_ascii_alphanumeric())
                && !rest.is_empty() =>
        {
            (Some(f), rest)
        }
        _ => (None, src),
    }
}

/// Does Go's `url.Parse` find a scheme (`https:`, `s3:`...)?
fn has_scheme(s: &str) -> bool {
    for (i, c) in s.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' => return i > 0,
            _ => return false,
        }
    }
    false
}

fn detect_github(src: &str) -> Detected {
    if !src.starts_with("github.com/") {
        return Detected::No;
    }
    let (path, query) = src.split_once('?').unwrap_or((src, ""));
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() < 3 {
        return Detected::Invalid;
    }
    let mut url = format!("https://{}", parts[..3].join("/"));
    if !url.ends_with(".git") {
        url.push_str(".git");
    }
    if parts.len() > 3 {
        url.push_str("//");
        url.push_str(&parts[3..].join("/"));
    }
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    Detected::Yes(format!("git::{url}"))
}

/// `git@host:path`, go-getter's scp-like form of git over SSH (for the
/// user `git` only), as `ssh://` with the query in Go's encoding.
fn detect_git_ssh(src: &str) -> Detected {
    let (user, rest) = match src.split_once('@') {
        Some((u, r)) if !u.is_empty() => (u, r),
        _ => return Detected::No,
    };
    let Some((host, path)) = rest.split_once(':') else {
        return Detected::No;
    };
    let path = path
        .strip_prefix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    if host.is_empty() || path.is_empty() || user != "git" || src.contains('\n') {
        return Detected::No;
    }
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => match encode_query(q) {
            Some(q) => (p, q),
            None => return Detected::Invalid,
        },
        None => (path, String::new()),
    };
    let slash = if path.starts_with('/') { "" } else { "/" };
    let mut url = format!("git::ssh://git@{host}{slash}{path}");
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query);
    }
    Detected::Yes(url)
}

/// A query string as Go's `url.ParseQuery` then `Encode` give it back:
/// pairs sorted by key (stable), each part escaped. `None`: Go refuses it
/// (a `;`, a bad escape).
fn encode_query(q: &str) -> Option<String> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for part in q.split('&').filter(|p| !p.is_empty()) {
        if part.contains(';') {
            return None;
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        pairs.push((unescape_query(k)?, unescape_query(v)?));
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let out: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", escape_query(k), escape_query(v)))
        .collect();
    Some(out.join("&"))
}

fn unescape_query(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn escape_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(c as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{c:02X}")),
        }
    }
    out
}

fn detect_bitbucket(src: &str) -> Detected {
    if !src.starts_with("bitbucket.org/") {
        return Detected::No;
    }
    let (path, query) = src.split_once('?').unwrap_or((src, ""));
    let mut url = format!("https://{path}");
    if !url.ends_with(".git") {
        url.push_str(".git");
    }
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    Detected::Yes(format!("git::{url}"))
}

fn detect_gcs(src: &str) -> Detected {
    if !src.contains("googleapis.com/") {
        return Detected::No;
    }
    let parts: Vec<&str> = src.split('/').collect();
    if parts.len() < 5 {
        return Detected::Invalid;
    }
    Detected::Yes(format!(
        "gcs::https://www.googleapis.com/storage/{}/{}/{}",
        parts[2],
        parts[3],
        parts[4..].join("/")
    ))
}

fn detect_s3(src: &str) -> Detected {
    if !src.contains(".amazonaws.com/") {
        return Detected::No;
    }
    let parts: Vec<&str> = src.split('/').collect();
    let rest = parts[1..].join("/");
    let host: Vec<&str> = parts[0].split('.').collect();
    Detected::Yes(match host.len() {
        3 => format!("s3::https://{}.amazonaws.com/{rest}", host[0]),
        4 => format!("s3::https://{}.amazonaws.com/{}/{rest}", host[1], host[0]),
        5 if host[1] == "s3" => {
            format!(
                "s3::https://s3.{}.amazonaws.com/{}/{rest}",
                host[2], host[0]
            )
        }
        _ => return Detected::Invalid,
    })
}

fn detect_abs_path(src: &str) -> Detected {
    match src.strip_prefix('/') {
        Some(rest) => Detected::Yes(format!("file:///{rest}")),
        // "Terraform cannot detect a supported external module source type"
        None => Detected::Invalid,
    }
}

/// An address and its `//subdir` (cleaned), as go-getter splits them: the
/// first `//` after the scheme's and before the query, whose query stays
/// with the address.
fn split_subdir(src: &str) -> (String, String) {
    let stop = src.find('?').unwrap_or(src.len());
    let offset = src[..stop].find("://").map_or(0, |i| i + 3);
    let Some(i) = src[offset..stop].find("//") else {
        return (src.to_string(), String::new());
    };
    let at = offset + i;
    let mut subdir = &src[at + 2..];
    let mut package = src[..at].to_string();
    if let Some(q) = subdir.find('?') {
        package.push_str(&subdir[q..]);
        subdir = &subdir[..q];
    }
    let subdir = if subdir.is_empty() {
        String::new()
    } else {
        clean_path(subdir)
    };
    (package, subdir)
}

/// `package` with `//subdir` before its query, as Terraform prints a
/// remote source.
fn with_subdir(package: &str, subdir: &str) -> String {
    if subdir.is_empty() {
        return package.to_string();
    }
    match package.split_once('?') {
        Some((p, q)) => format!("{p}//{subdir}?{q}"),
        None => format!("{package}//{subdir}"),
    }
}

/// Go's `path.Clean`: no `.` element, no `x/..`, no repeated or final
/// slash; `.` for an empty result.
fn clean_path(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => match out.last() {
                Some(&last) if last != ".." => {
                    out.pop();
                }
                _ if rooted => {}
                _ => out.push(".."),
            },
            _ => out.push(part),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Terraform 1.11 prints for each source once parsed (checked
    /// with manifests that record the normalized form).
    #[test]
    fn sources_normalize_as_terraform_prints_them() {
        let cases = [
            ("./mods/../mods/loc", "./mods/loc"),
            ("./", "./."),
            ("../x/", "../x"),
            (".\\a\\b", "./a/b"),
            (
                "hashicorp/consul/aws",
                "registry.terraform.io/hashicorp/consul/aws",
            ),
            (
                "Registry.Terraform.IO/hashicorp/consul/aws",
                "registry.terraform.io/hashicorp/consul/aws",
            ),
            (
                "hashicorp/consul/aws//modules/./x/",
                "registry.terraform.io/hashicorp/consul/aws//modules/x",
            ),
            (
                "app.terraform.io:443/acme/net/aws",
                "app.terraform.io/acme/net/aws",
            ),
            (
                "github.com/hashicorp/example",
                "git::https://github.com/hashicorp/example.git",
            ),
            (
                "github.com/org/repo//modules/x?ref=v1",
                "git::https://github.com/org/repo.git//modules/x?ref=v1",
            ),
            (
                "git@github.com:org/repo.git?ref=v1",
                "git::ssh://git@github.com/org/repo.git?ref=v1",
            ),
            (
                "git@github.com:org/repo.git?sshkey=k&ref=v1",
                "git::ssh://git@github.com/org/repo.git?ref=v1&sshkey=k",
            ),
            (
                "bitbucket.org/org/repo",
                "git::https://bitbucket.org/org/repo.git",
            ),
            (
                "bucket.s3-eu-west-1.amazonaws.com/net.zip",
                "s3::https://s3-eu-west-1.amazonaws.com/bucket/net.zip",
            ),
            (
                "www.googleapis.com/storage/v1/bucket/net.zip",
                "gcs::https://www.googleapis.com/storage/v1/bucket/net.zip",
            ),
            (
                "git::https://example.com/net.git//sub/?ref=v2",
                "git::https://example.com/net.git//sub?ref=v2",
            ),
            ("https://example.com/net.zip", "https://example.com/net.zip"),
            ("/abs/net", "file:///abs/net"),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_source(raw).as_deref(), Some(want), "{raw}");
        }
        // neither a local path, a registry address nor a remote one
        assert_eq!(normalize_source("example.com/org/repo"), None);
        assert_eq!(normalize_source("hashicorp/consul/aws//../x"), None);
    }

    /// The cases run against Terraform 1.11 (`terraform plan` with a
    /// hand-written manifest): which recorded sources it takes for the
    /// configured one.
    #[test]
    fn sources_compare_normalized_on_both_sides() {
        let same = [
            (
                "github.com/hashicorp/example",
                "github.com/hashicorp/example",
            ),
            (
                "github.com/hashicorp/example",
                "git::https://github.com/hashicorp/example.git",
            ),
            (
                "github.com/org/repo//modules/x?ref=v1",
                "git::https://github.com/org/repo.git//modules/x?ref=v1",
            ),
            (
                "git@github.com:org/repo.git?ref=v1",
                "git::ssh://git@github.com/org/repo.git?ref=v1",
            ),
            (
                "registry.terraform.io/hashicorp/consul/aws",
                "Registry.Terraform.IO/hashicorp/consul/aws",
            ),
            ("./mods/../mods/loc", "./mods/loc"),
        ];
        for (config, recorded) in same {
            assert!(same_source(config, recorded), "{config} is {recorded}");
        }
        let changed = [
            (
                "hashicorp/vault/aws",
                "registry.terraform.io/hashicorp/consul/aws",
            ),
            (
                "git::https://github.com/hashicorp/example.git?ref=v2",
                "git::https://github.com/hashicorp/example.git?ref=v1",
            ),
            (
                "git@github.com:org/repo.git?ref=v2",
                "git::ssh://git@github.com/org/repo.git?ref=v1",
            ),
            (
                "github.com/org/repo//modules/y?ref=v1",
                "git::https://github.com/org/repo.git//modules/x?ref=v1",
            ),
            ("./mods/other", "./mods/loc"),
            // a record without a source (Terraform: "Module source has
            // changed")
            ("hashicorp/consul/aws", ""),
        ];
        for (config, recorded) in changed {
            assert!(!same_source(config, recorded), "{config} is not {recorded}");
        }
    }

    #[test]
    fn versions_and_constraints_follow_go_version() {
        let check = |c: &str, v: &str| {
            Constraints::parse(c)
                .unwrap_or_else(|| panic!("{c}"))
                .check(&Version::parse(v).unwrap_or_else(|| panic!("{v}")))
        };
        let yes = [
            ("0.1.0", "0.1.0"),
            ("= 1.0", "1.0.0"),
            ("~> 0.3.0, != 0.3.2", "0.3.1"),
            ("~> 1.2", "1.9.0"),
            ("~> 1.2.3", "1.2.9"),
            (">= 1.0, < 2.0", "1.5.0"),
            (" >=1.0 ", "v1.0.0"),
            (">= 1.0.0-beta", "1.0.0-rc"),
            ("!= 1.0.0", "1.0.1"),
            ("1.0.0", "1.0.0+build.5"),
        ];
        for (c, v) in yes {
            assert!(check(c, v), "{v} meets {c}");
        }
        let no = [
            ("~> 0.2", "0.1.0"),
            ("~> 1.2", "2.0.0"),
            ("~> 1.2.3", "1.3.0"),
            // a pre-release meets only constraints with one (Terraform:
            // "the installed version (1.1.0-beta) is no longer acceptable")
            (">= 1.0", "1.1.0-beta"),
            ("> 1.0", "1.0.0"),
            ("< 1.0", "1.0.0"),
            ("!= 1.0", "1.0.0"),
            (">= 1.0.0-beta", "1.1.0-rc"),
        ];
        for (c, v) in no {
            assert!(!check(c, v), "{v} does not meet {c}");
        }
        for bad in ["~~> 1", "one", "1.0 || 2.0", ">= ", "=> 1.0", ""] {
            assert_eq!(Constraints::parse(bad), None, "{bad}");
        }
        for bad in ["one", "1..2", "1.0.0+", ".1", "1.0 "] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
        assert!(Version::parse("1.0beta").is_some());
    }

    #[test]
    fn manifests_terraform_refuses_are_refused_where_they_go_wrong() {
        let ok = br#"{"Modules":[{"Key":"","Source":"","Dir":"."},{"Key":"net","Source":"registry.terraform.io/a/b/c","Version":"1.2.0","Dir":".terraform/modules/net"}]}"#;
        let records = parse_manifest(ok).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].version.as_deref(), Some("1.2.0"));
        assert_eq!(parse_manifest(b"").unwrap(), Vec::new());
        let twice =
            "{\"Modules\": [\n  {\"Key\": \"net\", \"Dir\": \"a\"},\n  {\"Key\": \"net\", \"Dir\": \"b\"}\n]}";
        let (line, col, m) = parse_manifest(twice.as_bytes()).unwrap_err();
        assert_eq!((line, col), (3, 3), "{m}");
        assert!(
            m.contains("snapshot file contains two records for path net"),
            "{m}"
        );
        let version = "{\"Modules\": [{\"Key\": \"net\", \"Version\": \"one\"}]}";
        let (_, col, m) = parse_manifest(version.as_bytes()).unwrap_err();
        assert_eq!(col, 14, "{m}");
        assert!(m.contains("invalid version \"one\" for net"), "{m}");
        let (line, col, m) = parse_manifest(br#"{"Modules":[{"Key":5}]}"#).unwrap_err();
        assert_eq!((line, col), (1, 20), "{m}");
        assert!(
            m.ends_with(
                "failed to read the module manifest: invalid type: integer `5`, expected a string"
            ),
            "{m}"
        );
        let (line, _, m) = parse_manifest(b"{\"Modules\":[\n").unwrap_err();
        assert_eq!(line, 2, "{m}");
    }
}
