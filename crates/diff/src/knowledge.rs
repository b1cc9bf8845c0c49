//! What rewind knows about provider resources without their schemas:
//! which attribute changes force a replacement, and which resource types
//! hold data that a delete or a replacement destroys.
//!
//! The tables are generated from the providers' own sources at pinned
//! versions by `scripts/provider-tables/generate.py` (`ForceNew: true` in
//! plugin-sdk schemas, `RequiresReplace` plan modifiers in plugin-framework
//! schemas, and the registry documentation where the Go source cannot be
//! evaluated). There is one table per provider version
//! (`crates/diff/data/providers/NAME-VERSION.txt`); [`Knowledge`] chooses one
//! per provider, from the versions in `.terraform.lock.hcl` when there is
//! one, and says which resource types no table covers.
//!
//! The free functions [`forcing_paths`] and [`knows`]
//! use the newest table of every provider.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::OnceLock;

use crate::attrs::AttrChange;
use rewind_model::PathStep;

/// Every generated table: (provider name, version, text).
const TABLES: &[(&str, &str, &str)] = include!("../data/providers/tables.rs");

/// One provider version's table, parsed.
pub struct Table {
    /// Provider name (`aws`), the prefix of its resource types.
    pub name: &'static str,
    /// The provider version the table was generated from (`5.46.0-dev`).
    pub version: &'static str,
    /// The provider's source address (`registry.terraform.io/hashicorp/aws`).
    pub provider: String,
    /// Where the table came from (repository, tag or commit).
    pub source: String,
    resources: HashMap<String, TypeEntry>,
}

#[derive(Default)]
struct TypeEntry {
    /// Attribute paths (no list indexes) whose change forces a new resource.
    paths: HashSet<String>,
    /// Listed paths that have listed nested paths under them (blocks).
    blocks: HashSet<String>,
    /// Paths that force a new resource only under a condition.
    conditional: HashMap<String, String>,
}

impl Table {
    /// Resource types the table covers.
    pub fn types(&self) -> impl Iterator<Item = &str> {
        self.resources.keys().map(String::as_str)
    }

    /// Does the table cover `type_`?
    pub fn covers(&self, type_: &str) -> bool {
        self.resources.contains_key(type_)
    }

    /// The paths of `type_` that force a new resource, sorted.
    pub fn force_new_paths(&self, type_: &str) -> Option<Vec<&str>> {
        let e = self.resources.get(type_)?;
        let mut v: Vec<&str> = e.paths.iter().map(String::as_str).collect();
        v.sort_unstable();
        Some(v)
    }

    fn parse(name: &'static str, version: &'static str, text: &str) -> Result<Table, String> {
        let mut t = Table {
            name,
            version,
            provider: String::new(),
            source: String::new(),
            resources: HashMap::new(),
        };
        for (n, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut cols = line.split('\t');
            let tag = cols.next().unwrap_or_default();
            match tag {
                "R" => {
                    let ty = cols
                        .next()
                        .ok_or_else(|| format!("line {}: no type", n + 1))?;
                    let mut entry = TypeEntry::default();
                    parse_paths(
                        cols.next().unwrap_or_default(),
                        &mut entry.paths,
                        &mut entry.blocks,
                    )
                    .map_err(|e| format!("line {}: {e}", n + 1))?;
                    t.resources.insert(ty.to_string(), entry);
                }
                "C" => {
                    let (Some(ty), Some(path)) = (cols.next(), cols.next()) else {
                        return Err(format!("line {}: a C line needs a type and a path", n + 1));
                    };
                    let note = cols.next().unwrap_or_default().to_string();
                    t.resources
                        .entry(ty.to_string())
                        .or_default()
                        .conditional
                        .insert(path.to_string(), note);
                }
                "provider" => t.provider = cols.next().unwrap_or_default().to_string(),
                "source" => t.source = cols.next().unwrap_or_default().to_string(),
                _ => {}
            }
        }
        Ok(t)
    }
}

/// Parse `a,b{c,d!{e}}` into paths (`a`, `b.c`, `b.d`, `b.d.e`); a name
/// with `!` is itself force-new, a name with braces is a block.
fn parse_paths(
    s: &str,
    paths: &mut HashSet<String>,
    blocks: &mut HashSet<String>,
) -> Result<(), String> {
    let b = s.as_bytes();
    let mut stack: Vec<String> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && !matches!(b[i], b',' | b'{' | b'}' | b'!') {
            i += 1;
        }
        let name = &s[start..i];
        let full = if let Some(parent) = stack.last() {
            format!("{parent}.{name}")
        } else {
            name.to_string()
        };
        let mut forced = true;
        if i < b.len() && b[i] == b'!' {
            i += 1;
        } else if i < b.len() && b[i] == b'{' {
            forced = false;
        }
        if i < b.len() && b[i] == b'{' {
            if name.is_empty() {
                return Err(format!("a block without a name at byte {i}"));
            }
            blocks.insert(full.clone());
            if forced {
                paths.insert(full.clone());
            }
            stack.push(full);
            i += 1;
            continue;
        }
        if !name.is_empty() {
            paths.insert(full);
        }
        while i < b.len() && b[i] == b'}' {
            if stack.pop().is_none() {
                return Err(format!("unbalanced '}}' at byte {i}"));
            }
            i += 1;
        }
        if i < b.len() && b[i] == b',' {
            i += 1;
        }
    }
    if !stack.is_empty() {
        return Err("unbalanced '{'".into());
    }
    Ok(())
}

fn parsed() -> &'static [OnceLock<Option<Table>>] {
    static CELLS: OnceLock<Vec<OnceLock<Option<Table>>>> = OnceLock::new();
    CELLS.get_or_init(|| TABLES.iter().map(|_| OnceLock::new()).collect())
}

/// The table at index `i` of [`TABLES`], parsed on first use (a table that
/// does not parse is reported once and treated as absent).
fn table(i: usize) -> Option<&'static Table> {
    parsed()[i]
        .get_or_init(|| {
            let (name, version, text) = TABLES[i];
            match Table::parse(name, version, text) {
                Ok(t) => Some(t),
                Err(e) => {
                    eprintln!("rewind: provider table {name} {version} is damaged: {e}");
                    None
                }
            }
        })
        .as_ref()
}

/// A provider version: numbers and an optional pre-release (`5.46.0-dev`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    nums: Vec<u64>,
    pre: Option<String>,
}

impl Version {
    pub fn parse(s: &str) -> Option<Version> {
        let s = s.trim().trim_start_matches('v');
        let (core, pre) = match s.split_once(['-', '+']) {
            Some((c, p)) => (c, Some(p.to_string())),
            None => (s, None),
        };
        let nums: Option<Vec<u64>> = core.split('.').map(|p| p.parse().ok()).collect();
        let nums = nums?;
        if nums.is_empty() {
            return None;
        }
        Some(Version { nums, pre })
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.nums.len().max(other.nums.len());
        for i in 0..n {
            let a = self.nums.get(i).copied().unwrap_or(0);
            let b = other.nums.get(i).copied().unwrap_or(0);
            match a.cmp(&b) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match (&self.pre, &other.pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A provider pinned by a dependency lock file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedProvider {
    /// Source address as written (`registry.terraform.io/hashicorp/aws`).
    pub source: String,
    /// Its type name (the last part of the address: `aws`).
    pub name: String,
    pub version: String,
}

/// The providers of a `.terraform.lock.hcl` file: its `provider "ADDR" {
/// version = "X" ... }` blocks (the rest of the file is not needed here).
pub(crate) fn parse_lock_file(text: &str) -> Result<Vec<LockedProvider>, String> {
    let mut out = Vec::new();
    let mut current: Option<(String, usize)> = None;
    let mut depth = 0usize;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') || line.starts_with("//") || line.is_empty() {
            continue;
        }
        if depth == 0 {
            if let Some(rest) = line.strip_prefix("provider") {
                let rest = rest.trim_start();
                let addr = rest
                    .strip_prefix('"')
                    .and_then(|r| r.split_once('"'))
                    .map(|(a, _)| a.to_string())
                    .ok_or_else(|| format!("line {}: a provider block needs an address", n + 1))?;
                current = Some((addr, n + 1));
            }
        }
        if depth == 1 {
            if let Some((addr, _)) = &current {
                if let Some(v) = line.strip_prefix("version") {
                    let v = v.trim_start();
                    if let Some(v) = v.strip_prefix('=') {
                        let v = v.trim().trim_matches('"').to_string();
                        let name = addr.rsplit('/').next().unwrap_or(addr).to_string();
                        out.push(LockedProvider {
                            source: addr.clone(),
                            name,
                            version: v,
                        });
                    }
                }
            }
        }
        let mut in_str = false;
        for c in line.chars() {
            match c {
                '"' => in_str = !in_str,
                '{' | '[' if !in_str => depth += 1,
                '}' | ']' if !in_str => {
                    depth = depth.checked_sub(1).ok_or_else(|| {
                        format!("line {}: a closing bracket without an opening one", n + 1)
                    })?;
                    if depth == 0 {
                        current = None;
                    }
                }
                _ => {}
            }
        }
    }
    if let Some((addr, line)) = current {
        return Err(format!(
            "line {line}: the provider block of {addr} is not closed"
        ));
    }
    Ok(out)
}

/// How a provider's table was chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChoiceReason {
    /// No lock file version: the newest table.
    Newest,
    /// The locked version has a table of its own.
    Exact,
    /// The nearest table version below the locked version.
    NearestBelow,
    /// The locked version is older than every table: the oldest table.
    OldestAbove,
    /// The provider has one table only.
    OnlyOne,
}

/// The table chosen for one provider, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableChoice {
    pub provider: &'static str,
    pub table_version: &'static str,
    pub locked_version: Option<String>,
    pub reason: ChoiceReason,
}

impl fmt::Display for TableChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.provider;
        let t = self.table_version;
        match (&self.locked_version, &self.reason) {
            (Some(l), ChoiceReason::Exact) => {
                write!(f, "{p} {l} (lock file): the table of {p} {t}")
            }
            (Some(l), ChoiceReason::NearestBelow) => write!(
                f,
                "{p} {l} (lock file): the table of {p} {t}, the nearest version below"
            ),
            (Some(l), ChoiceReason::OldestAbove) => write!(
                f,
                "{p} {l} (lock file): the table of {p} {t}, the oldest there is (every table is newer)"
            ),
            (Some(l), ChoiceReason::OnlyOne) => {
                write!(f, "{p} {l} (lock file): the table of {p} {t}, the only one")
            }
            (_, _) => write!(f, "{p}: the table of {p} {t}, the newest (no lock file version)"),
        }
    }
}

/// Whether replace-vs-update is known for a resource type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// Terraform's built-in `terraform_data`: known exactly.
    Builtin,
    /// The chosen table of the type's provider covers it.
    Covered {
        provider: &'static str,
        version: &'static str,
    },
    /// The provider has a table, but the type is not in it (newer than the
    /// table, or not evaluable from the provider's source).
    NotInTable {
        provider: &'static str,
        version: &'static str,
    },
    /// No table for the type's provider at all.
    UnknownProvider { provider: String },
}

impl Coverage {
    pub fn is_known(&self) -> bool {
        matches!(self, Coverage::Builtin | Coverage::Covered { .. })
    }
}

/// What a set of attribute changes does to a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replacement {
    /// These paths force a new resource.
    Forces(Vec<String>),
    /// Every change updates in place.
    Update,
    /// The type is not covered: the planner plans an update, and says so
    /// with [`Replacement::note`].
    NotKnown(Coverage),
}

impl Replacement {
    /// "replace-vs-update for TYPE is not known: planned as an update (...)"
    /// for a type no table covers; None otherwise.
    pub fn note(&self, type_: &str) -> Option<String> {
        let Replacement::NotKnown(c) = self else {
            return None;
        };
        let why = match c {
            Coverage::NotInTable { provider, version } => {
                format!("{type_} is not in the table of {provider} {version}")
            }
            Coverage::UnknownProvider { provider } => {
                format!("rewind has no table for provider {provider}")
            }
            _ => return None,
        };
        Some(format!(
            "replace-vs-update for {type_} is not known: planned as an update ({why})"
        ))
    }
}

/// The provider name of a resource type: the part before the first `_`
/// (Terraform's implied provider).
pub fn provider_of(type_: &str) -> &str {
    type_.split('_').next().unwrap_or(type_)
}

/// Names of the providers that have tables, and their versions (oldest
/// first).
pub fn available() -> BTreeMap<&'static str, Vec<&'static str>> {
    let mut out: BTreeMap<&'static str, Vec<&'static str>> = BTreeMap::new();
    for (name, version, _) in TABLES {
        out.entry(name).or_default().push(version);
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| cmp_versions(a, b));
    }
    out
}

fn cmp_versions(a: &str, b: &str) -> Ordering {
    match (Version::parse(a), Version::parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// The provider tables chosen for one configuration.
#[derive(Clone, Debug)]
pub struct Knowledge {
    /// provider name -> index into TABLES, and the choice.
    chosen: HashMap<&'static str, (usize, TableChoice)>,
}

impl Default for Knowledge {
    fn default() -> Self {
        Knowledge::newest()
    }
}

impl Knowledge {
    /// The newest table of every provider.
    pub fn newest() -> Knowledge {
        Knowledge::choose(&[])
    }

    /// Tables chosen by a `.terraform.lock.hcl` file's provider versions
    /// (providers it does not name get their newest table).
    pub fn from_lock_file(text: &str) -> Result<Knowledge, String> {
        let locked = parse_lock_file(text)?;
        Ok(Knowledge::choose(&locked))
    }

    /// Tables chosen by pinned provider versions: for each provider, the
    /// table of that version, else the nearest version below, else the
    /// oldest one; the newest table where no version is given.
    pub fn choose(locked: &[LockedProvider]) -> Knowledge {
        let mut by_name: HashMap<&'static str, Vec<usize>> = HashMap::new();
        for (i, (name, _, _)) in TABLES.iter().enumerate() {
            by_name.entry(name).or_default().push(i);
        }
        let mut chosen = HashMap::new();
        for (name, mut idx) in by_name {
            idx.sort_by(|a, b| cmp_versions(TABLES[*a].1, TABLES[*b].1));
            // only the hashicorp providers' tables stand for a locked address
            let lock = locked.iter().find(|l| {
                l.name == name
                    && l.source
                        .rsplit('/')
                        .nth(1)
                        .is_none_or(|ns| ns.eq_ignore_ascii_case("hashicorp"))
            });
            let Some(&newest) = idx.last() else { continue };
            let choice = match lock.and_then(|l| Version::parse(&l.version).map(|v| (l, v))) {
                None => (
                    newest,
                    TableChoice {
                        provider: name,
                        table_version: TABLES[newest].1,
                        locked_version: lock.map(|l| l.version.clone()),
                        reason: ChoiceReason::Newest,
                    },
                ),
                Some((l, want)) => {
                    let below = idx
                        .iter()
                        .rev()
                        .find(|&&i| Version::parse(TABLES[i].1).is_some_and(|v| v <= want))
                        .copied();
                    let (i, reason) = match below {
                        Some(i) if idx.len() == 1 => (i, ChoiceReason::OnlyOne),
                        Some(i) if Version::parse(TABLES[i].1).is_some_and(|v| v == want) => {
                            (i, ChoiceReason::Exact)
                        }
                        Some(i) => (i, ChoiceReason::NearestBelow),
                        None if idx.len() == 1 => (idx[0], ChoiceReason::OnlyOne),
                        None => (idx[0], ChoiceReason::OldestAbove),
                    };
                    (
                        i,
                        TableChoice {
                            provider: name,
                            table_version: TABLES[i].1,
                            locked_version: Some(l.version.clone()),
                            reason,
                        },
                    )
                }
            };
            chosen.insert(name, choice);
        }
        Knowledge { chosen }
    }

    /// The choice made for every provider, sorted by provider name.
    pub fn choices(&self) -> Vec<&TableChoice> {
        let mut v: Vec<&TableChoice> = self.chosen.values().map(|(_, c)| c).collect();
        v.sort_by_key(|c| c.provider);
        v
    }

    /// The table used for `provider`.
    pub fn table(&self, provider: &str) -> Option<&'static Table> {
        self.chosen.get(provider).and_then(|(i, _)| table(*i))
    }

    /// Is replace-vs-update known for `type_`?
    pub fn coverage(&self, type_: &str) -> Coverage {
        if type_ == "terraform_data" {
            return Coverage::Builtin;
        }
        let provider = provider_of(type_);
        match self.chosen.get(provider) {
            None => Coverage::UnknownProvider {
                provider: provider.to_string(),
            },
            Some((i, c)) => {
                let covered = table(*i).is_some_and(|t| t.covers(type_));
                if covered {
                    Coverage::Covered {
                        provider: c.provider,
                        version: c.table_version,
                    }
                } else {
                    Coverage::NotInTable {
                        provider: c.provider,
                        version: c.table_version,
                    }
                }
            }
        }
    }

    /// Which of `changes` force a replacement of a resource of `type_`.
    pub fn forcing_paths(&self, type_: &str, changes: &[AttrChange]) -> Vec<String> {
        if type_ == "terraform_data" {
            return terraform_data_forcing(changes);
        }
        let Some(entry) = self
            .table(provider_of(type_))
            .and_then(|t| t.resources.get(type_))
        else {
            return Vec::new();
        };
        forcing(entry, changes)
    }

    /// Replace, update, or not known (for the plan's reasons).
    pub fn replacement(&self, type_: &str, changes: &[AttrChange]) -> Replacement {
        let cov = self.coverage(type_);
        if !cov.is_known() {
            return Replacement::NotKnown(cov);
        }
        let f = self.forcing_paths(type_, changes);
        if f.is_empty() {
            Replacement::Update
        } else {
            Replacement::Forces(f)
        }
    }
}

fn newest() -> &'static Knowledge {
    static K: OnceLock<Knowledge> = OnceLock::new();
    K.get_or_init(Knowledge::newest)
}

/// Is `type_` covered (by the newest table of its provider, or built in)?
pub fn knows(type_: &str) -> bool {
    newest().coverage(type_).is_known()
}

/// Which of `changes` force a replacement of a resource of `type_`
/// (schema-style paths), by the newest table of its provider.
pub fn forcing_paths(type_: &str, changes: &[AttrChange]) -> Vec<String> {
    newest().forcing_paths(type_, changes)
}

/// A changed attribute path without list indexes (`ingress.cidr_blocks`).
fn schema_path(steps: &[PathStep]) -> String {
    let mut s = String::new();
    for st in steps {
        if let PathStep::Key(k) = st {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(k);
        }
    }
    s
}

/// Meta-arguments never force a replacement by themselves.
const META: &[&str] = &[
    "count",
    "for_each",
    "provider",
    "depends_on",
    "lifecycle",
    "provisioner",
    "connection",
];

fn terraform_data_forcing(changes: &[AttrChange]) -> Vec<String> {
    let hit = changes
        .iter()
        .any(|c| matches!(c.path.0.first(), Some(PathStep::Key(k)) if k == "triggers_replace"));
    if hit {
        vec!["triggers_replace".to_string()]
    } else {
        Vec::new()
    }
}

fn forcing(table: &TypeEntry, changes: &[AttrChange]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in changes {
        if matches!(c.path.0.first(), Some(PathStep::Key(k)) if META.contains(&k.as_str())) {
            continue;
        }
        // The exact attribute (or, for a whole block element added or
        // removed, the block) is listed; a change inside a block forces only
        // if that nested attribute is listed itself.
        let full = schema_path(&c.path.0);
        let hit = if table.paths.contains(&full) {
            Some(full)
        } else {
            // a nested value of a listed plain attribute (tags-like maps,
            // lists of strings): the attribute itself changed
            let mut found = None;
            let mut prefix = String::new();
            for st in &c.path.0 {
                if let PathStep::Key(k) = st {
                    if !prefix.is_empty() {
                        prefix.push('.');
                    }
                    prefix.push_str(k);
                    if prefix.len() < full.len()
                        && table.paths.contains(&prefix)
                        && !table.blocks.contains(&prefix)
                    {
                        found = Some(prefix.clone());
                        break;
                    }
                }
            }
            found
        };
        if let Some(h) = hit {
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }
    out
}

// ------------------------------------------------------------------ data

/// A data-bearing resource type: what it holds, how bad losing it is, and
/// the settings of its schema that guard, keep or restore the data.
#[derive(Clone, Debug)]
pub struct DataBearing {
    pub holds: String,
    pub severity: String,
    /// Provider and table version the entry was derived for.
    pub provider: String,
    pub version: String,
    /// (attribute path, role): roles are `guard`, `final_snapshot`,
    /// `backup`, `restore_from` and `force_destroy` (see
    /// `crates/diff/data/data_bearing.json`).
    pub settings: Vec<(String, String)>,
}

impl DataBearing {
    /// The settings of one role (`"guard"`, `"backup"`...).
    pub fn settings_of<'a>(&'a self, role: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.settings
            .iter()
            .filter(move |(_, r)| r == role)
            .map(|(p, _)| p.as_str())
    }
}

fn data_bearing_table() -> &'static HashMap<String, DataBearing> {
    static TABLE: OnceLock<HashMap<String, DataBearing>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let doc: serde_json::Value =
            match serde_json::from_str(include_str!("../data/data_bearing.json")) {
                Ok(d) => d,
                Err(e) => {
                    eprintln!("rewind: data_bearing.json is damaged: {e}");
                    serde_json::Value::Null
                }
            };
        let mut out = HashMap::new();
        let Some(providers) = doc.get("providers").and_then(|r| r.as_object()) else {
            return out;
        };
        for (pname, p) in providers {
            let version = p
                .get("version")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let Some(resources) = p.get("resources").and_then(|r| r.as_object()) else {
                continue;
            };
            for (ty, entry) in resources {
                let settings = entry
                    .get("settings")
                    .and_then(|s| s.as_object())
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(
                    ty.clone(),
                    DataBearing {
                        holds: entry
                            .get("holds")
                            .and_then(|h| h.as_str())
                            .unwrap_or("data")
                            .to_string(),
                        severity: entry
                            .get("severity")
                            .and_then(|h| h.as_str())
                            .unwrap_or("high")
                            .to_string(),
                        provider: pname.clone(),
                        version: version.to_string(),
                        settings,
                    },
                );
            }
        }
        out
    })
}

/// The data a resource type holds, if deleting it loses data.
pub fn data_bearing(type_: &str) -> Option<&'static DataBearing> {
    data_bearing_table().get(type_)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::AttrOp;
    use rewind_model::{Path, Value};

    fn change(path: Path, op: AttrOp) -> AttrChange {
        AttrChange {
            path,
            op,
            before: Some(Value::str("a")),
            after: Some(Value::str("b")),
            sensitive: false,
        }
    }

    #[test]
    fn nested_path_syntax() {
        let mut p = HashSet::new();
        let mut b = HashSet::new();
        parse_paths("a,b{c,d!{e}},f!{g}", &mut p, &mut b).unwrap();
        let mut v: Vec<_> = p.iter().map(String::as_str).collect();
        v.sort();
        assert_eq!(v, vec!["a", "b.c", "b.d", "b.d.e", "f", "f.g"]);
        let mut bl: Vec<_> = b.iter().map(String::as_str).collect();
        bl.sort();
        assert_eq!(bl, vec!["b", "b.d", "f"]);
        assert!(parse_paths("a{b", &mut p, &mut b).is_err());
        assert!(parse_paths("a}", &mut p, &mut b).is_err());
    }

    #[test]
    fn versions_order() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("5.46.0-dev") < v("5.46.0"));
        assert!(v("5.45.9") < v("5.46.0-dev"));
        assert!(v("5.5.0") < v("5.46.0"));
        assert!(v("v6.0") > v("5.99.1"));
        assert!(Version::parse("latest").is_none());
    }

    #[test]
    fn tables_load_and_answer() {
        assert!(knows("aws_instance"));
        assert!(knows("google_compute_instance"));
        assert!(knows("azurerm_linux_virtual_machine"));
        assert!(knows("terraform_data"));
        assert!(!knows("aws_no_such_thing"));
        assert!(!knows("acme_widget"));
        let ami = change(Path::root().key("ami"), AttrOp::Modify);
        assert_eq!(forcing_paths("aws_instance", &[ami]), vec!["ami"]);
        let it = change(Path::root().key("instance_type"), AttrOp::Modify);
        assert!(forcing_paths("aws_instance", &[it]).is_empty());
        let tags = change(Path::root().key("tags").key("Name"), AttrOp::Modify);
        assert!(forcing_paths("aws_instance", &[tags]).is_empty());
        let trig = change(
            Path::root().key("triggers_replace").index(0),
            AttrOp::Modify,
        );
        assert_eq!(
            forcing_paths("terraform_data", &[trig]),
            vec!["triggers_replace"]
        );
        let input = change(Path::root().key("input"), AttrOp::Modify);
        assert!(forcing_paths("terraform_data", &[input]).is_empty());
        // a key of a force-new map (null_resource.triggers.x) forces it
        let t = change(Path::root().key("triggers").key("v"), AttrOp::Modify);
        assert_eq!(forcing_paths("null_resource", &[t]), vec!["triggers"]);
        // a nested block attribute: ebs_block_device[0].device_name
        let d = change(
            Path::root()
                .key("ebs_block_device")
                .index(0)
                .key("device_name"),
            AttrOp::Modify,
        );
        assert_eq!(
            forcing_paths("aws_instance", &[d]),
            vec!["ebs_block_device.device_name"]
        );
        assert_eq!(
            data_bearing("aws_db_instance").map(|d| d.severity.as_str()),
            Some("high")
        );
        assert!(data_bearing("aws_instance").is_none());
    }

    #[test]
    fn coverage_and_notes() {
        let k = Knowledge::newest();
        assert_eq!(k.coverage("terraform_data"), Coverage::Builtin);
        assert!(matches!(
            k.coverage("aws_instance"),
            Coverage::Covered {
                provider: "aws",
                ..
            }
        ));
        let c = k.coverage("aws_made_up_thing");
        assert!(matches!(
            c,
            Coverage::NotInTable {
                provider: "aws",
                ..
            }
        ));
        let r = k.replacement("aws_made_up_thing", &[]);
        let note = r.note("aws_made_up_thing").unwrap();
        assert!(
            note.starts_with(
                "replace-vs-update for aws_made_up_thing is not known: planned as an update"
            ),
            "{note}"
        );
        let r = k.replacement("acme_widget", &[]);
        assert!(r
            .note("acme_widget")
            .unwrap()
            .contains("no table for provider acme"));
        let ami = change(Path::root().key("ami"), AttrOp::Modify);
        assert_eq!(
            k.replacement("aws_instance", &[ami]),
            Replacement::Forces(vec!["ami".into()])
        );
        assert_eq!(k.replacement("aws_instance", &[]), Replacement::Update);
        assert_eq!(Replacement::Update.note("aws_instance"), None);
    }

    #[test]
    fn lock_file_chooses_tables() {
        let lock = r#"
# This file is maintained automatically by "terraform init".
provider "registry.terraform.io/hashicorp/aws" {
  version     = "5.31.0"
  constraints = ">= 4.0.0"
  hashes = [
    "h1:abc=",
    "zh:def",
  ]
}

provider "registry.terraform.io/hashicorp/random" {
  version = "3.6.3"
  hashes = ["h1:x="]
}

provider "registry.terraform.io/hashicorp/google" {
  version = "1.0.0"
}

provider "registry.terraform.io/hashicorp/kubernetes" {
  version = "3.2.1"
}
"#;
        let locked = parse_lock_file(lock).unwrap();
        assert_eq!(locked.len(), 4);
        assert_eq!(locked[0].name, "aws");
        assert_eq!(locked[0].version, "5.31.0");
        let k = Knowledge::from_lock_file(lock).unwrap();
        let by: HashMap<&str, &TableChoice> =
            k.choices().into_iter().map(|c| (c.provider, c)).collect();
        let versions = available();
        // aws 5.31.0: the nearest table version at or below it
        let aws = by["aws"];
        let want = Version::parse("5.31.0").unwrap();
        let expect = versions["aws"]
            .iter()
            .rev()
            .find(|v| Version::parse(v).unwrap() <= want)
            .unwrap();
        assert_eq!(aws.table_version, *expect);
        assert_eq!(aws.reason, ChoiceReason::NearestBelow);
        assert!(
            aws.to_string().contains("the nearest version below"),
            "{aws}"
        );
        // random has one table
        assert_eq!(by["random"].reason, ChoiceReason::OnlyOne);
        assert!(by["random"].to_string().contains("the only one"));
        // older than every google table: the oldest
        assert_eq!(by["google"].reason, ChoiceReason::OldestAbove);
        assert_eq!(by["google"].table_version, versions["google"][0]);
        // an exact version
        assert_eq!(by["kubernetes"].reason, ChoiceReason::Exact);
        // not in the lock file: the newest
        assert_eq!(by["azurerm"].reason, ChoiceReason::Newest);
        assert_eq!(
            by["azurerm"].table_version,
            *versions["azurerm"].last().unwrap()
        );
        assert!(parse_lock_file("provider \"x\" {\n version = \"1\"\n").is_err());
        // a provider of another namespace is not a hashicorp table's
        let other = "provider \"registry.terraform.io/acme/aws\" {\n version = \"1.0.0\"\n}\n";
        let k = Knowledge::from_lock_file(other).unwrap();
        let aws = k
            .choices()
            .into_iter()
            .find(|c| c.provider == "aws")
            .unwrap();
        assert_eq!(aws.reason, ChoiceReason::Newest);
    }
}
