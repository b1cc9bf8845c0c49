//! Facts about a node that are not attributes, typed.
//!
//! A node's facts are encoded as a list of named values (see
//! `docs/store-format.md`, the node encoding), so a store written by any
//! rewind reads back: each fact rewind knows becomes a typed field, and a
//! named value it does not know (a later rewind's fact, or a value of an
//! unexpected shape) is kept as it was in [`Facts::other`]. Encoding a
//! decoded node gives back the same bytes, so node ids do not change.

use std::sync::Arc;

use crate::{InstanceKey, Map, Value};

/// What kind of object a state instance (or an `ephemeral` block) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectMode {
    /// A resource Terraform manages (`mode: "managed"` in state).
    Managed,
    /// A data source's last read (`mode: "data"`).
    Data,
    /// A root module output recorded in state.
    Output,
    /// An `ephemeral` block: never stored in state.
    Ephemeral,
}

impl ObjectMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectMode::Managed => "managed",
            ObjectMode::Data => "data",
            ObjectMode::Output => "output",
            ObjectMode::Ephemeral => "ephemeral",
        }
    }

    pub fn parse(s: &str) -> Option<ObjectMode> {
        [
            ObjectMode::Managed,
            ObjectMode::Data,
            ObjectMode::Output,
            ObjectMode::Ephemeral,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// How the loader found a module call's source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModuleSource {
    /// A local path.
    Local,
    /// A registry or git module that `terraform init` downloaded.
    Downloaded,
    /// A remote module that was not downloaded: its contents are unknown.
    Remote,
}

impl ModuleSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ModuleSource::Local => "local",
            ModuleSource::Downloaded => "downloaded",
            ModuleSource::Remote => "remote",
        }
    }

    pub fn parse(s: &str) -> Option<ModuleSource> {
        [
            ModuleSource::Local,
            ModuleSource::Downloaded,
            ModuleSource::Remote,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// Where the values of a `tfvars` input node came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum InputKind {
    /// `TF_VAR_name` variables.
    Env,
    /// `--var` and `--var-file`.
    Cli,
}

impl InputKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InputKind::Env => "env",
            InputKind::Cli => "cli",
        }
    }

    pub fn parse(s: &str) -> Option<InputKind> {
        [InputKind::Env, InputKind::Cli]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// Facts about a node that are not attributes: of a state instance, its
/// mode, provider, key, status; of a configuration resource while it
/// loads, the provider configuration it asks for. The facts few nodes
/// have (a module call's source, an input node's origins, a deposed
/// key...) are in [`Facts::more`], allocated only when there is one: a
/// model of 100,000 resources holds about 210,000 `Facts` at its peak
/// (its state instances, and its resources while the module tree is
/// built), and with every fact inline they were 296 bytes each, 59 MiB
/// in all (`heaptrack` of a cold snapshot of the 100k benchmark tree).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// A state instance's mode (or `ephemeral` for an ephemeral block).
    pub mode: Option<ObjectMode>,
    /// The state marks the instance `tainted`.
    pub tainted: bool,
    /// The state records `create_before_destroy` for the instance.
    pub create_before_destroy: bool,
    /// A state instance's provider configuration
    /// (`provider["registry.terraform.io/hashicorp/aws"]`), shared by the
    /// instances of one state.
    pub provider: Option<Arc<str>>,
    /// A state instance's `index_key`.
    pub index_key: Option<InstanceKey>,
    /// A state instance's `schema_version`.
    pub schema_version: Option<u64>,
    /// The provider configuration key a resource asks for, while the
    /// loader resolves it (never in a finished model).
    pub provider_key: Option<String>,
    /// The facts few nodes have.
    pub more: Sparse<MoreFacts>,
}

/// The facts few nodes have (see [`Facts::more`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MoreFacts {
    /// The deposed key of an object left by a create-before-destroy
    /// replacement.
    pub deposed: Option<String>,
    /// A module call's `source` and `version` arguments.
    pub source: Option<Value>,
    pub version: Option<Value>,
    /// How a module call's source was found.
    pub resolved: Option<ModuleSource>,
    /// The version `terraform init` downloaded (from `modules.json`).
    pub downloaded_version: Option<String>,
    /// A provider configuration that no block declares (Terraform's
    /// implied empty `provider "x" {}`).
    pub implicit: bool,
    /// The `check` block a scoped data source belongs to.
    pub check: Option<String>,
    /// An input node's origin.
    pub input: Option<InputKind>,
    /// An input node's variables: name → where its value came from.
    pub sources: Option<Map<String, Value>>,
    /// The files attributes read through functions: attribute path →
    /// file path → content hash (see `rewind_diff::READS`).
    pub reads: Option<Map<String, Value>>,
    /// Named values this rewind has no field for, kept as they were.
    pub other: Map<String, Value>,
}

impl MoreFacts {
    /// None of these facts (what [`MoreFacts::default`] gives, usable in
    /// a `static`).
    pub const EMPTY: MoreFacts = MoreFacts {
        deposed: None,
        source: None,
        version: None,
        resolved: None,
        downloaded_version: None,
        implicit: false,
        check: None,
        input: None,
        sources: None,
        reads: None,
        other: Map::new(),
    };
}

impl Facts {
    /// No fact (what [`Facts::default`] gives, usable in a `static`).
    pub const EMPTY: Facts = Facts {
        mode: None,
        tainted: false,
        create_before_destroy: false,
        provider: None,
        index_key: None,
        schema_version: None,
        provider_key: None,
        more: Sparse(None),
    };

    /// True when there is no fact.
    pub fn is_empty(&self) -> bool {
        *self == Facts::EMPTY
    }

    /// The facts as named values, sorted by name: what a node's encoding
    /// holds, and what a diff compares.
    pub fn to_map(&self) -> Map<String, Value> {
        let more = &*self.more;
        let mut m = more.other.clone();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        if let Some(x) = self.mode {
            put("mode", Value::str(x.as_str()));
        }
        if let Some(x) = &self.provider {
            put("provider", Value::str(&**x));
        }
        match &self.index_key {
            Some(InstanceKey::Int(i)) => put("index_key", Value::Number(i.to_string())),
            Some(InstanceKey::Str(s)) => put("index_key", Value::str(s.clone())),
            Some(InstanceKey::None) | None => {}
        }
        if let Some(x) = self.schema_version {
            put("schema_version", Value::Number(x.to_string()));
        }
        if self.tainted {
            put("status", Value::str("tainted"));
        }
        if let Some(x) = &more.deposed {
            put("deposed", Value::str(x.clone()));
        }
        if self.create_before_destroy {
            put("create_before_destroy", Value::Bool(true));
        }
        if let Some(x) = &more.source {
            put("source", x.clone());
        }
        if let Some(x) = &more.version {
            put("version", x.clone());
        }
        if let Some(x) = more.resolved {
            put("resolved", Value::str(x.as_str()));
        }
        if let Some(x) = &more.downloaded_version {
            put("downloaded_version", Value::str(x.clone()));
        }
        if more.implicit {
            put("implicit", Value::Bool(true));
        }
        if let Some(x) = &more.check {
            put("check", Value::str(x.clone()));
        }
        if let Some(x) = more.input {
            put("input", Value::str(x.as_str()));
        }
        if let Some(x) = &more.sources {
            put("sources", Value::Map(x.clone()));
        }
        if let Some(x) = &more.reads {
            put("reads", Value::Map(x.clone()));
        }
        if let Some(x) = &self.provider_key {
            put("provider_key", Value::str(x.clone()));
        }
        m
    }

    /// Adds one named value (as decoded): to its typed field when it has
    /// the shape that field holds, else to [`MoreFacts::other`].
    pub fn insert(&mut self, key: String, v: Value) {
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            _ => None,
        };
        let map = |v: &Value| match v {
            Value::Map(m) => Some(m.clone()),
            _ => None,
        };
        let done = match key.as_str() {
            "mode" => set(&mut self.mode, text(&v).and_then(|s| ObjectMode::parse(&s))),
            "provider" => set(&mut self.provider, text(&v).map(Arc::from)),
            "index_key" => set(
                &mut self.index_key,
                match &v {
                    Value::String(s) => Some(InstanceKey::Str(s.clone())),
                    Value::Number(n) => n
                        .parse::<i64>()
                        .ok()
                        .filter(|i| i.to_string() == *n)
                        .map(InstanceKey::Int),
                    _ => None,
                },
            ),
            "schema_version" => set(
                &mut self.schema_version,
                match &v {
                    Value::Number(n) => n.parse::<u64>().ok().filter(|i| i.to_string() == *n),
                    _ => None,
                },
            ),
            "status" if matches!(&v, Value::String(s) if s == "tainted") => {
                self.tainted = true;
                true
            }
            "deposed" => set(&mut self.more.deposed, text(&v)),
            "create_before_destroy" if v == Value::Bool(true) => {
                self.create_before_destroy = true;
                true
            }
            "source" => set(&mut self.more.source, Some(v.clone())),
            "version" => set(&mut self.more.version, Some(v.clone())),
            "resolved" => set(
                &mut self.more.resolved,
                text(&v).and_then(|s| ModuleSource::parse(&s)),
            ),
            "downloaded_version" => set(&mut self.more.downloaded_version, text(&v)),
            "implicit" if v == Value::Bool(true) => {
                self.more.implicit = true;
                true
            }
            "check" => set(&mut self.more.check, text(&v)),
            "input" => set(
                &mut self.more.input,
                text(&v).and_then(|s| InputKind::parse(&s)),
            ),
            "sources" => set(&mut self.more.sources, map(&v)),
            "reads" => set(&mut self.more.reads, map(&v)),
            "provider_key" => set(&mut self.provider_key, text(&v)),
            _ => false,
        };
        if !done {
            self.more.other.insert(key, v);
        }
    }

    /// The number of named values [`Facts::to_map`] gives.
    pub fn len(&self) -> usize {
        self.to_map().len()
    }
}

/// Facts on the heap, allocated only when there is one: a node's
/// ([`NodeFacts`]: most configuration nodes have none) and the rarer
/// ones of those ([`Facts::more`]). Reads go through `Deref` (no fact
/// reads as the type's `EMPTY`); a write through `DerefMut` allocates.
/// Compares, prints and encodes as what it holds.
#[derive(Clone, Default)]
pub struct Sparse<T: Blank>(Option<Box<T>>);

/// A node's facts (see [`Sparse`]): `Facts` inline was 296 bytes, and in
/// every [`Node`](crate::Node) of a model of 100,000 resources 30-60 MB.
pub type NodeFacts = Sparse<Facts>;

/// A type with a value that means "nothing", for [`Sparse`].
pub trait Blank: Default + PartialEq + 'static {
    /// The value meaning "nothing".
    const BLANK: &'static Self;
}

impl Blank for Facts {
    const BLANK: &'static Facts = &Facts::EMPTY;
}

impl Blank for MoreFacts {
    const BLANK: &'static MoreFacts = &MoreFacts::EMPTY;
}

impl<T: Blank> Sparse<T> {
    /// What it holds, taken out (nothing left).
    pub fn take(&mut self) -> T {
        self.0.take().map(|b| *b).unwrap_or_default()
    }
}

impl<T: Blank> std::ops::Deref for Sparse<T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.0.as_deref().unwrap_or(T::BLANK)
    }
}

impl<T: Blank> std::ops::DerefMut for Sparse<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

impl<T: Blank> From<T> for Sparse<T> {
    fn from(f: T) -> Sparse<T> {
        if f == *T::BLANK {
            Sparse(None)
        } else {
            Sparse(Some(Box::new(f)))
        }
    }
}

impl<T: Blank> PartialEq for Sparse<T> {
    fn eq(&self, other: &Sparse<T>) -> bool {
        **self == **other
    }
}

impl<T: Blank + Eq> Eq for Sparse<T> {}

impl<T: Blank + std::fmt::Debug> std::fmt::Debug for Sparse<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

/// Sets a typed field from a decoded value of the right shape; false (the
/// value goes to `other`) when the shape is wrong.
fn set<T>(field: &mut Option<T>, v: Option<T>) -> bool {
    match v {
        Some(v) => {
            *field = Some(v);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every fact a loader writes, and values of shapes no field holds,
    /// come back as the same named values.
    #[test]
    fn facts_round_trip_through_named_values() {
        let mut m = Map::new();
        m.insert("mode".to_string(), Value::str("data"));
        m.insert(
            "provider".to_string(),
            Value::str("provider[\"registry.terraform.io/hashicorp/aws\"]"),
        );
        m.insert("index_key".to_string(), Value::Number("3".into()));
        m.insert("schema_version".to_string(), Value::Number("1".into()));
        m.insert("status".to_string(), Value::str("tainted"));
        m.insert("deposed".to_string(), Value::str("00ab12"));
        m.insert("create_before_destroy".to_string(), Value::Bool(true));
        m.insert("resolved".to_string(), Value::str("remote"));
        m.insert("input".to_string(), Value::str("cli"));
        // shapes no field holds: kept apart, never lost
        m.insert("future_fact".to_string(), Value::Bool(false));
        let mut odd = Facts::default();
        odd.insert("index_key".to_string(), Value::Number("1.5".into()));
        odd.insert("status".to_string(), Value::str("ready"));
        odd.insert("mode".to_string(), Value::str("list"));
        assert_eq!(odd.more.other.len(), 3);
        assert_eq!(odd.index_key, None);
        let mut f = Facts::default();
        for (k, v) in m.iter() {
            f.insert(k.clone(), v.clone());
        }
        assert_eq!(f.mode, Some(ObjectMode::Data));
        assert_eq!(f.index_key, Some(InstanceKey::Int(3)));
        assert!(f.tainted && f.create_before_destroy);
        assert_eq!(f.more.resolved, Some(ModuleSource::Remote));
        assert_eq!(f.more.other.len(), 1);
        assert_eq!(f.to_map(), m);
        assert_eq!(f.len(), m.len());
        let mut back = Facts::default();
        for (k, v) in odd.to_map().iter() {
            back.insert(k.clone(), v.clone());
        }
        assert_eq!(back, odd);
    }

    /// A node's facts allocate only when there is one, read as empty
    /// without, and compare by content whether allocated or not.
    #[test]
    fn node_facts_allocate_only_when_written() {
        let mut nf = NodeFacts::default();
        assert!(nf.0.is_none() && nf.is_empty() && nf.mode.is_none());
        assert_eq!(NodeFacts::from(Facts::default()).0, None);
        let mut empty_but_allocated = NodeFacts::default();
        let written: &mut Facts = &mut empty_but_allocated;
        written.tainted = false;
        assert!(empty_but_allocated.0.is_some());
        assert_eq!(empty_but_allocated, nf);
        nf.mode = Some(ObjectMode::Managed);
        nf.insert("deposed".to_string(), Value::str("00ab12"));
        assert_eq!(nf.more.deposed.as_deref(), Some("00ab12"));
        assert_ne!(nf, NodeFacts::default());
        let copy = NodeFacts::from(nf.to_map().iter().fold(Facts::default(), |mut f, (k, v)| {
            f.insert(k.clone(), v.clone());
            f
        }));
        assert_eq!(copy, nf);
        assert_eq!(format!("{copy:?}"), format!("{:?}", *nf));
        let taken = nf.take();
        assert_eq!(taken.mode, Some(ObjectMode::Managed));
        assert!(nf.0.is_none() && nf.is_empty());
        assert!(std::mem::size_of::<NodeFacts>() <= 8);
        // a state instance's facts: one allocation of at most 96 bytes,
        // and a second only for a rarer fact
        assert!(std::mem::size_of::<Facts>() <= 96);
        let mut instance = Facts {
            mode: Some(ObjectMode::Managed),
            provider: Some(Arc::from(
                "provider[\"registry.terraform.io/hashicorp/aws\"]",
            )),
            index_key: Some(InstanceKey::Int(0)),
            schema_version: Some(1),
            ..Facts::default()
        };
        assert!(instance.more.0.is_none() && !instance.is_empty());
        instance.insert("future_fact".to_string(), Value::Bool(true));
        assert!(instance.more.0.is_some());
        assert_eq!(instance.len(), 5);
    }
}
