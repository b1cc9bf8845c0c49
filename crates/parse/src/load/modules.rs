//! The module tree: `modules.json`, each module call's directory and
//! instances, override files, and each instance's nodes.

use super::*;

mod manifest;

/// Where a module call's module is read from (see
/// [`Builder::module_target`]).
enum Target {
    /// The module's directory.
    Dir(PathBuf),
    /// A remote module that was not downloaded: an opaque node.
    Remote,
    /// Refused (the error is recorded).
    Refused,
}

/// A manifest record as the builder keeps it beside the directory (its
/// `modules_json` holds one string per record): the version installed,
/// a newline (never in a version, which is checked), the source.
fn pack_record(version: &str, source: &str) -> String {
    format!("{version}\n{source}")
}

/// The version and source of [`pack_record`].
fn unpack_record(packed: &str) -> (&str, &str) {
    packed.split_once('\n').unwrap_or((packed, ""))
}

/// Terraform's error for a module call with a `version` whose `source`
/// is not a registry address (terraform 1.11.4, at the call's source).
fn not_registry(source: &str, local: bool) -> String {
    let why = if local {
        format!("can't use local directory {source:?} as a module registry address")
    } else {
        format!("{source:?} is not a module registry address (HOST/NAMESPACE/NAME/SYSTEM)")
    };
    format!(
        "Invalid registry module source address: Failed to parse module registry address: {why}. Terraform assumed that you intended a module registry source address because you also set the argument \"version\", which applies only to registry modules."
    )
}

impl Builder {
    /// Reads the module manifest `terraform init` wrote, or else the one
    /// of the module cache `cache` (a directory laid out as
    /// `.terraform/modules`, whose `Dir` entries are read inside it). A
    /// manifest Terraform refuses (not JSON, a version that is not one,
    /// two records for a module) is refused, where it goes wrong.
    pub(super) fn read_modules_json(
        &mut self,
        _shown: &(dyn Fn(&Path) -> String + Sync),
        cache: Option<&Path>,
    ) {
        let Some((path, bytes, cache)) = self.manifest_bytes(cache) else {
            return;
        };
        let records = match manifest::parse_manifest(&bytes) {
            Ok(r) => r,
            Err((line, col, message)) => {
                let src = String::from_utf8_lossy(&bytes);
                self.errors.push(error_at(
                    &path.display().to_string(),
                    line,
                    col,
                    message,
                    Some(&src),
                ));
                return;
            }
        };
        for r in records {
            let key = r.key.unwrap_or_default();
            let dir = r.dir.unwrap_or_default();
            if key.is_empty() || dir.is_empty() {
                continue;
            }
            let abs = match (&cache, dir.strip_prefix(".terraform/modules")) {
                (Some(c), Some(rest)) => normalize(&c.join(rest.trim_start_matches('/'))),
                _ => normalize(&self.root_abs.join(&dir)),
            };
            let packed = pack_record(
                r.version.as_deref().unwrap_or_default(),
                r.source.as_deref().unwrap_or_default(),
            );
            self.modules_json.insert(key, (abs, packed));
        }
    }

    /// The module manifest's path, bytes and (for the one of `--modules`)
    /// cache directory: the root's `.terraform/modules/modules.json` as
    /// loaded, else the cache's, read no larger than
    /// [`manifest::MAX_MANIFEST`]. `None` when there is none (an error
    /// is recorded when there is one that cannot be read).
    fn manifest_bytes(
        &mut self,
        cache: Option<&Path>,
    ) -> Option<(PathBuf, Vec<u8>, Option<PathBuf>)> {
        let path = self.root_abs.join(".terraform/modules/modules.json");
        if let Some(i) = self.files.iter().position(|f| f.abs == path) {
            let bytes = match &self.files[i].bytes {
                Some(b) => b.clone(),
                None => std::fs::read(&path).ok()?,
            };
            return Some((path, bytes, None));
        }
        // there but not loaded: refused for its size, which would leave
        // every downloaded module unread
        if let Ok(md) = std::fs::metadata(&path) {
            if md.is_file() && md.len() > manifest::MAX_MANIFEST {
                self.errors.push(error_at(
                    &path.display().to_string(),
                    0,
                    0,
                    format!(
                        "the module manifest is {} bytes, more than rewind reads ({} bytes; a real one is a few KB)",
                        md.len(),
                        manifest::MAX_MANIFEST
                    ),
                    None,
                ));
                return None;
            }
        }
        let cache = cache?;
        let cache = normalize(&std::env::current_dir().unwrap_or_default().join(cache));
        let path = cache.join("modules.json");
        let read = std::fs::metadata(&path).and_then(|md| {
            if !md.is_file() {
                return Err(std::io::Error::other("not a regular file"));
            }
            read_at_most(&path, md.len(), FileKind::ModulesJson)
        });
        match read {
            Ok(b) => Some((path, b, Some(cache))),
            Err(e) => {
                self.errors.push(error_at(
                    &path.display().to_string(),
                    0,
                    0,
                    format!("cannot read the module cache's manifest (--modules names a directory laid out as .terraform/modules, with the modules.json of `terraform init`): {e}"),
                    None,
                ));
                None
            }
        }
    }

    /// Makes sure the config files of `dir` are loaded (for modules outside
    /// the walked directory).
    pub(super) fn ensure_dir(
        &mut self,
        dir: &Path,
        opts: &Options,
        shown: &(dyn Fn(&Path) -> String + Sync),
    ) -> bool {
        if self.by_dir.contains_key(dir) {
            return true;
        }
        let Ok(rd) = std::fs::read_dir(dir) else {
            return false;
        };
        // links may lead inside the loaded tree or inside the module's own
        // directory (which a link to a module directory may put elsewhere)
        let real_root = self
            .root_abs
            .canonicalize()
            .unwrap_or_else(|_| self.root_abs.clone());
        let real_dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
        let mut items: Vec<(PathBuf, FileKind)> = Vec::new();
        for e in rd.filter_map(Result::ok) {
            let Ok(ty) = e.file_type() else {
                continue;
            };
            if ty.is_dir() {
                continue;
            }
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(kind) = FileKind::of(&name) else {
                continue;
            };
            if !(kind.is_config() || kind == FileKind::Template)
                || self.files.iter().any(|f| f.abs == e.path())
            {
                continue;
            }
            let why = not_readable_as_file(&e.path(), ty, &real_root).and(not_readable_as_file(
                &e.path(),
                ty,
                &real_dir,
            ));
            if let Some(why) = why {
                self.diags.push(warning(
                    Loc {
                        file: escape_path(&e.path()),
                        line: 0,
                        col: 0,
                    },
                    format!("skipped: {why}"),
                ));
                continue;
            }
            items.push((e.path(), kind));
        }
        items.sort();
        let from = self.files.len();
        for r in read_and_parse(&items, shown, opts) {
            match r {
                Ok((f, p)) => {
                    self.files.push(f);
                    self.parsed.push(p);
                }
                Err(u) => self.errors.push(u.diag),
            }
        }
        self.index_dirs(from);
        self.by_dir.entry(dir.to_path_buf()).or_default();
        true
    }

    /// The files of the module in `dir`: as OpenTofu reads them, a
    /// `NAME.tofu` file replaces `NAME.tf` (and `NAME.tofu.json`
    /// replaces `NAME.tf.json`).
    pub(super) fn module_files(&self, dir: &Path) -> Vec<usize> {
        let ids: Vec<usize> = self.by_dir.get(dir).cloned().unwrap_or_default();
        let name = |fi: usize| {
            self.files[fi]
                .abs
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        let tofu: HashSet<String> = ids
            .iter()
            .map(|&fi| name(fi))
            .filter(|n| n.ends_with(".tofu") || n.ends_with(".tofu.json"))
            .collect();
        if tofu.is_empty() {
            return ids;
        }
        ids.into_iter()
            .filter(|&fi| {
                let n = name(fi);
                let replaced = if let Some(stem) = n.strip_suffix(".tf.json") {
                    tofu.contains(&format!("{stem}.tofu.json"))
                } else if let Some(stem) = n.strip_suffix(".tf") {
                    tofu.contains(&format!("{stem}.tofu"))
                } else {
                    false
                };
                !replaced
            })
            .collect()
    }

    pub(super) fn is_override(&self, fi: usize) -> bool {
        self.files[fi]
            .abs
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(crate::merge::is_override_file)
    }

    /// The blocks of a module's files as its override files change them,
    /// by (file, node) of the base block, and the override files' blocks
    /// that count as blocks of their own (a default provider configuration
    /// without a base, terraform blocks); errors go to `self.errors`. As
    /// Terraform, override files' removed and ephemeral blocks are
    /// ignored and their moved and import blocks are errors (their check
    /// blocks, and validation and condition blocks, are refused as they
    /// are parsed: `crate::merge::refusal`).
    pub(super) fn overrides(&mut self, file_ids: &[usize], secrets: bool) -> Overrides {
        let mut merged = HashMap::new();
        let mut own = HashSet::new();
        let (mut over_ids, base_ids): (Vec<usize>, Vec<usize>) =
            file_ids.iter().partition(|&&fi| self.is_override(fi));
        if over_ids.is_empty() {
            return (merged, own);
        }
        // in the order of their names, as Terraform applies them
        over_ids.sort_by(|a, b| {
            self.files[*a]
                .abs
                .file_name()
                .cmp(&self.files[*b].abs.file_name())
        });
        let mut by_local: HashMap<String, (usize, usize)> = HashMap::new();
        for &fi in &base_ids {
            if let Parsed::Config(cfg) = &*self.parsed[fi] {
                for (ri, raw) in cfg.nodes.iter().enumerate() {
                    by_local.entry(raw.local.clone()).or_insert((fi, ri));
                }
            }
        }
        for &fi in &over_ids {
            let parsed = Arc::clone(&self.parsed[fi]);
            let Parsed::Config(cfg) = &*parsed else {
                continue;
            };
            for (ri, over) in cfg.nodes.iter().enumerate() {
                let loc = Loc {
                    file: self.files[fi].abs.display().to_string(),
                    line: over.line,
                    col: over.col,
                };
                let ephemeral = over.facts.mode == Some(rewind_model::ObjectMode::Ephemeral);
                match over.kind {
                    NodeKind::Terraform => {
                        own.insert((fi, ri));
                        continue;
                    }
                    NodeKind::Check | NodeKind::Removed => continue,
                    NodeKind::Data if ephemeral => continue,
                    NodeKind::Moved | NodeKind::Import => {
                        self.errors.push(Diagnostic {
                            severity: Severity::Error,
                            loc,
                            message: format!(
                                "cannot override {} blocks: they may appear only in normal files, not in override files",
                                over.kind
                            ),
                            source_line: None,
                        });
                        continue;
                    }
                    _ => {}
                }
                let Some(&(bfi, bri)) = by_local.get(&over.local) else {
                    if over.kind == NodeKind::Provider && over.name.is_empty() {
                        // a default provider configuration needs no base
                        by_local.insert(over.local.clone(), (fi, ri));
                        own.insert((fi, ri));
                        continue;
                    }
                    self.errors.push(Diagnostic {
                        severity: Severity::Error,
                        loc,
                        message: format!(
                            "missing base {} {} to override: an override file changes blocks the module's other files declare",
                            over.kind, over.local
                        ),
                        source_line: None,
                    });
                    continue;
                };
                let base_starts = self.item_starts(bfi, over_base_pos(&self.parsed[bfi], bri));
                let over_starts = self.item_starts(fi, (over.line, over.col));
                let base = merged
                    .entry((bfi, bri))
                    .or_insert_with(|| match &*self.parsed[bfi] {
                        Parsed::Config(c) => c.nodes[bri].clone(),
                        _ => over.clone(),
                    });
                if let Err(message) = crate::merge::merge(base, over, &base_starts, &over_starts) {
                    self.errors.push(Diagnostic {
                        severity: Severity::Error,
                        loc,
                        message,
                        source_line: None,
                    });
                }
            }
        }
        if secrets {
            for m in merged.values_mut() {
                m.secrets = secret_names(m.kind, &m.type_, &m.name, &m.body);
            }
        }
        (merged, own)
    }

    /// The items of the block that starts at `pos` in file `fi` (the file
    /// is read and parsed again: see crate::merge).
    pub(super) fn item_starts(
        &self,
        fi: usize,
        (line, col): (u32, u32),
    ) -> Vec<(u32, u32, String)> {
        let f = &self.files[fi];
        let bytes = match &f.bytes {
            Some(b) => b.clone(),
            None => std::fs::read(&f.abs).unwrap_or_default(),
        };
        if f.kind == FileKind::TfJson {
            let Ok(src) = std::str::from_utf8(&bytes) else {
                return Vec::new();
            };
            match parse_json(src).and_then(|j| json_config(&j, src)) {
                Ok(body) => crate::merge::item_starts(src, &body, line, col),
                Err(_) => Vec::new(),
            }
        } else {
            match parse_body_bytes(&bytes) {
                (src, Ok(body)) => crate::merge::item_starts(&src, &body, line, col),
                (_, Err(_)) => Vec::new(),
            }
        }
    }

    /// An error at the module call `parent` (the root: no position).
    fn call_error(&mut self, parent: &Option<(usize, RawNode)>, message: String) {
        let loc = parent
            .as_ref()
            .map(|p| self.nodes[p.0].loc.clone())
            .unwrap_or_default();
        self.errors.push(Diagnostic {
            severity: Severity::Error,
            loc,
            message,
            source_line: None,
        });
    }

    /// Instantiates module `dir` at `prefix`: its blocks, then the
    /// modules it calls. Refused past 64 levels of nesting, and once the
    /// model holds more than [`Options::max_blocks`] blocks (each call of a module
    /// is a copy of its blocks: calls that fan out multiply).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn instantiate(
        &mut self,
        dir: &Path,
        prefix: &str,
        key: &str,
        parent: Option<(usize, RawNode)>,
        depth: usize,
        opts: &Options,
        shown: &(dyn Fn(&Path) -> String + Sync),
    ) {
        if depth > 64 {
            self.call_error(
                &parent,
                format!("modules nested more than 64 levels deep at {prefix} (a module that calls itself?)"),
            );
            return;
        }
        let max_blocks = match opts.max_blocks {
            0 => MAX_BLOCKS,
            n => n,
        };
        if self.nodes.len() > max_blocks {
            // said once: every instance after it stops here too
            if !self
                .errors
                .iter()
                .any(|e| e.message.starts_with(TOO_MANY_BLOCKS))
            {
                self.call_error(
                    &parent,
                    format!("{TOO_MANY_BLOCKS} ({max_blocks}) once its modules are instantiated, at {} ({depth} levels deep): modules that each call the next more than once multiply (2^depth instances)", prefix.trim_end_matches('.')),
                );
            }
            return;
        }
        self.loaded_dirs.insert(dir.to_path_buf());
        let file_ids = self.module_files(dir);
        let (merged, own) = self.overrides(&file_ids, opts.whole_parse());
        let mut module = ModuleNodes {
            prefix,
            call: parent.as_ref().map(|p| p.0),
            calls: Vec::new(),
            declared_vars: HashSet::new(),
        };
        for &fi in &file_ids {
            let parsed = Arc::clone(&self.parsed[fi]);
            match &*parsed {
                Parsed::Config(cfg) => {
                    let file_abs = self.files[fi].abs.display().to_string();
                    for (line, col, msg) in &cfg.warnings {
                        let loc = Loc {
                            file: file_abs.clone(),
                            line: *line,
                            col: *col,
                        };
                        self.diags.push(warning(loc, msg.clone()));
                    }
                    let override_file = self.is_override(fi);
                    for (raw_index, raw) in cfg.nodes.iter().enumerate() {
                        // an override file's blocks are merged into their
                        // base blocks (terraform blocks merge anyway)
                        if override_file && !own.contains(&(fi, raw_index)) {
                            continue;
                        }
                        let refs = match merged.get(&(fi, raw_index)) {
                            Some(m) => (m, Refs::Owned(m.refs.clone())),
                            None => (raw, Refs::Raw(Arc::clone(&parsed), raw_index)),
                        };
                        self.add_config_node(&mut module, refs.0, refs.1, &file_abs);
                    }
                }
                Parsed::Tfvars(v) if prefix.is_empty() => self.add_tfvars_node(fi, v),
                _ => {}
            }
        }
        if let Some((call_idx, call_raw)) = &parent {
            self.call_arguments(prefix, *call_idx, call_raw, &module.declared_vars);
        }
        for (idx, raw) in module.calls {
            self.expand_call(dir, prefix, key, idx, raw, depth, opts, shown);
        }
    }

    /// One node of a module instance's configuration (`raw`, after
    /// overrides are merged, with `refs` to resolve later) added to the
    /// model, with its module edge, provider key and secret names.
    pub(super) fn add_config_node(
        &mut self,
        module: &mut ModuleNodes,
        raw: &RawNode,
        refs: Refs,
        file: &str,
    ) {
        let prefix = module.prefix;
        let mut node = Node::new(raw.kind, crate::concat(&[prefix, &raw.local]));
        node.module = prefix.trim_end_matches('.').to_string();
        node.type_ = raw.type_.clone();
        node.name = raw.name.clone();
        node.body = Arc::clone(&raw.body);
        node.facts = raw.facts.clone();
        if raw.sensitive {
            // the value is secret; its description, type... are not
            let key = if raw.kind == NodeKind::Output {
                "value"
            } else {
                "default"
            };
            node.sensitive.push(rewind_model::Path::root().key(key));
        }
        add_secret_paths(&mut node, &raw.secrets);
        node.loc = Loc {
            file: file.to_string(),
            line: raw.line,
            col: raw.col,
        };
        if raw.kind == NodeKind::Variable {
            module.declared_vars.insert(raw.name.clone());
        }
        let Some(idx) = self.add_node(node) else {
            return;
        };
        if let Some(call_idx) = module.call {
            let call = self.nodes[call_idx].address.clone();
            self.nodes[idx].add_edge(call, EdgeKind::Module);
        }
        if !raw.refs.is_empty() {
            self.pending.push(Pending {
                node: node_number(idx),
                at: node_number(idx),
                refs,
            });
        }
        if raw.kind.is_resource_like() || matches!(raw.kind, NodeKind::Import | NodeKind::Action) {
            let pkey = match &raw.provider {
                Some((n, a)) if a.is_empty() => n.clone(),
                Some((n, a)) => format!("{n}.{a}"),
                None if raw.kind == NodeKind::Import => return,
                None => raw.type_.split('_').next().unwrap_or_default().to_string(),
            };
            self.nodes[idx].facts.provider_key = Some(pkey);
        }
        if raw.kind == NodeKind::Module {
            module.calls.push((idx, raw.clone()));
        }
    }

    /// The arguments of a module call become references of the child
    /// instance's variables (resolved in the calling module); an argument
    /// the module has no variable for is a warning, as Terraform ignores it.
    pub(super) fn call_arguments(
        &mut self,
        prefix: &str,
        call_idx: usize,
        call_raw: &RawNode,
        declared_vars: &HashSet<String>,
    ) {
        for (name, refs) in &call_raw.args {
            let var = format!("{prefix}var.{name}");
            if let Some(&vi) = self.index.get(&var) {
                if !refs.is_empty() {
                    // resolved in the calling module (the call's), with
                    // the call's file
                    self.pending.push(Pending {
                        node: node_number(vi),
                        at: node_number(call_idx),
                        refs: Refs::Owned(refs.clone()),
                    });
                }
            } else if !declared_vars.contains(name) {
                let loc = self.nodes[call_idx].loc.clone();
                self.diags.push(warning(
                    loc,
                    format!(
                        "module {} has no variable {name:?}; the argument is ignored by Terraform",
                        self.nodes[call_idx].address
                    ),
                ));
            }
        }
    }

    /// Expands call node `idx` (`raw`, in module `prefix` read from `dir`,
    /// `key` in modules.json): reads the module it calls, local or
    /// downloaded, as a child module; a remote module that was not
    /// downloaded stays an opaque node.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn expand_call(
        &mut self,
        dir: &Path,
        prefix: &str,
        key: &str,
        idx: usize,
        raw: RawNode,
        depth: usize,
        opts: &Options,
        shown: &(dyn Fn(&Path) -> String + Sync),
    ) {
        let source = raw
            .body
            .get("source")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let child_key = if key.is_empty() {
            raw.name.clone()
        } else {
            format!("{key}.{}", raw.name)
        };
        let child_prefix = format!("{prefix}module.{}.", raw.name);
        self.calls.insert(
            self.nodes[idx].address.clone(),
            (prefix.to_string(), raw.providers.clone()),
        );
        let target = match self.module_target(dir, &source, &child_key, idx, &raw) {
            Target::Dir(d) => d,
            Target::Remote => {
                self.opaque_call(idx, &source, &raw);
                return;
            }
            Target::Refused => return,
        };
        if !self.ensure_dir(&target, opts, shown) || !target.is_dir() {
            let loc = self.nodes[idx].loc.clone();
            self.errors.push(Diagnostic {
                severity: Severity::Error,
                loc,
                message: format!(
                    "module {}: source {source:?} is not a directory ({})",
                    self.nodes[idx].address,
                    target.display()
                ),
                source_line: None,
            });
            return;
        }
        self.instantiate(
            &target,
            &child_prefix,
            &child_key,
            Some((idx, raw)),
            depth + 1,
            opts,
            shown,
        );
    }

    /// Where the module that call node `idx` (`raw`, source `source`,
    /// `child_key` in modules.json) is read from: the directory of a local
    /// source, or the one `terraform init` downloaded it to; records which
    /// on the node. A remote module that was not downloaded is
    /// [`Target::Remote`]; a call the manifest records with another
    /// source, or with a version its constraint no longer accepts, is
    /// refused as Terraform refuses it.
    fn module_target(
        &mut self,
        dir: &Path,
        source: &str,
        child_key: &str,
        idx: usize,
        raw: &RawNode,
    ) -> Target {
        let local = source.starts_with("./")
            || source.starts_with("../")
            || source == "."
            || source == "..";
        if raw
            .body
            .get("version")
            .is_some_and(|v| !matches!(v, Value::Null))
            && manifest::registry_source(source).is_none()
        {
            self.refuse_at_source(idx, vec![not_registry(source, local)]);
            return Target::Refused;
        }
        let record = self.modules_json.get(child_key).cloned();
        if local {
            // Terraform records local modules in the manifest too, under
            // the calling module's directory.
            self.nodes[idx].facts.more.resolved = Some(ModuleSource::Local);
            if let Some((_, packed)) = &record {
                if !self.call_matches_record(idx, child_key, source, None, packed) {
                    return Target::Refused;
                }
            }
            return Target::Dir(normalize(&dir.join(source)));
        }
        let Some((d, packed)) = record else {
            return Target::Remote;
        };
        if !d.is_dir() {
            return Target::Remote;
        }
        let constraint = raw.body.get("version").and_then(Value::as_str);
        if !self.call_matches_record(idx, child_key, source, constraint, &packed) {
            return Target::Refused;
        }
        self.nodes[idx].facts.more.resolved = Some(ModuleSource::Downloaded);
        let (version, _) = unpack_record(&packed);
        if !version.is_empty() {
            self.nodes[idx].facts.more.downloaded_version = Some(version.to_string());
        }
        Target::Dir(d)
    }

    /// Does module call `idx` (key `child_key`, literal `source` and
    /// `version` constraint) still call the module the manifest records
    /// (`packed`: [`pack_record`])? If not, Terraform's error at the
    /// call's `source`: "Module source has changed", or "Module version
    /// requirements have changed" when the recorded version (or none)
    /// does not meet the constraint.
    fn call_matches_record(
        &mut self,
        idx: usize,
        child_key: &str,
        source: &str,
        constraint: Option<&str>,
        packed: &str,
    ) -> bool {
        let (version, recorded) = unpack_record(packed);
        let call = format!("module.{}", child_key.replace('.', ".module."));
        let fix = "Run \"terraform init\" to install all modules required by this configuration.";
        let own = self.root_abs.join(".terraform/modules/modules.json");
        let manifest = if self.files.iter().any(|f| f.abs == own) {
            ".terraform/modules/modules.json"
        } else {
            "the --modules cache's modules.json"
        };
        let mut problems = Vec::new();
        if !source.is_empty() && !manifest::same_source(source, recorded) {
            problems.push(format!(
                "{call}: Module source has changed: the source address was changed since this module was installed ({manifest} records another). {fix}"
            ));
        }
        let constraints = constraint.and_then(manifest::Constraints::parse);
        match (&constraints, manifest::Version::parse(version)) {
            (Some(c), Some(v)) if !c.check(&v) => problems.push(format!(
                "{call}: Module version requirements have changed: the version requirements have changed since this module was installed and the installed version ({version}, in {manifest}) is no longer acceptable. {fix}"
            )),
            (Some(_), None) => problems.push(format!(
                "{call}: Module version requirements have changed: the version requirements have changed since this module was installed and the installed version is no longer acceptable ({manifest} records none). {fix}"
            )),
            _ => {}
        }
        if problems.is_empty() {
            return true;
        }
        self.refuse_at_source(idx, problems);
        false
    }

    /// Errors of module call `idx`, at its `source` argument, each said
    /// once for the call whichever instance of its module.
    fn refuse_at_source(&mut self, idx: usize, problems: Vec<String>) {
        let (file, line, col, src) = self.argument_position(idx, "source");
        for message in problems {
            // said once for a call, whichever instance of its module
            if !self
                .errors
                .iter()
                .any(|e| e.message == message && e.loc.file == file && e.loc.line == line)
            {
                self.errors
                    .push(error_at(&file, line, col, message, src.as_deref()));
            }
        }
    }

    /// The file, line and column of argument `name` of the block of node
    /// `idx` (the block's own when the file does not tell), and the
    /// file's text to quote the line from.
    fn argument_position(&self, idx: usize, name: &str) -> (String, u32, u32, Option<String>) {
        let loc = &self.nodes[idx].loc;
        let Some(f) = self
            .files
            .iter()
            .find(|f| f.abs.as_os_str() == loc.file.as_str())
        else {
            return (loc.file.clone(), loc.line, loc.col, None);
        };
        let bytes = match &f.bytes {
            Some(b) => b.clone(),
            None => std::fs::read(&f.abs).unwrap_or_default(),
        };
        let path = [name.to_string()];
        let at = match f.kind {
            FileKind::TfJson => crate::hcl::json_value_position(&bytes, loc.line, &path),
            _ => crate::hcl::value_position(&bytes, loc.line, &path),
        };
        let (line, col) = at.unwrap_or((loc.line, loc.col));
        let src = String::from_utf8_lossy(&bytes).into_owned();
        (loc.file.clone(), line, col, Some(src))
    }

    /// A call node `idx` whose module cannot be read:
    /// an error when it has no `source` at all; otherwise a remote module
    /// that was not downloaded, an opaque node whose arguments are its own
    /// references. (`source = var.x` is Terraform 1.15's: known at init
    /// only, so the module is opaque here unless it was downloaded.)
    pub(super) fn opaque_call(&mut self, idx: usize, source: &str, raw: &RawNode) {
        if source.is_empty() && raw.body.get("source").is_none() {
            let loc = self.nodes[idx].loc.clone();
            self.errors.push(Diagnostic {
                severity: Severity::Error,
                loc,
                message: format!("module {} has no source", self.nodes[idx].address),
                source_line: None,
            });
            return;
        }
        self.nodes[idx].facts.more.resolved = Some(ModuleSource::Remote);
        let refs: Vec<RawRef> = raw
            .args
            .iter()
            .flat_map(|(_, r)| r.iter().cloned())
            .collect();
        if !refs.is_empty() {
            // resolved in the call's own module (`prefix`)
            self.pending.push(Pending {
                node: node_number(idx),
                at: node_number(idx),
                refs: Refs::Owned(refs),
            });
        }
    }
}

/// The most blocks a configuration's model holds once its modules are
/// instantiated, unless [`Options::max_blocks`] says otherwise: 10 times the largest benchmark's, far beyond a real
/// environment (Terraform's own `init` takes a minute at 16,000 module
/// instances), and refused within seconds and 2 GB of memory.
pub const MAX_BLOCKS: usize = 1_000_000;

/// How the error of [`MAX_BLOCKS`] begins.
const TOO_MANY_BLOCKS: &str = "the configuration has more blocks than rewind models";
