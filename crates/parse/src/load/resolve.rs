//! Reference resolution: the edges each node's references make, in
//! parallel runs, and the providers of resources.

use super::*;

pub(super) enum Resolved {
    Node(usize),
    Nodes(Vec<usize>),
    Ignore,
    Missing(String),
}

impl Builder {
    /// The edges and warnings of a run of pending references (resolving
    /// only reads the index, so runs resolve on every core at once).
    pub(super) fn resolve_pending(&self, pending: &[Pending]) -> Resolution {
        // about one edge a reference: made at their number, not grown
        // (by doubling, leaving the smaller blocks behind)
        let refs = pending.iter().map(|p| p.refs.get().len()).sum();
        let mut edges = Vec::with_capacity(refs);
        let mut warnings = Vec::new();
        // the scope's prefix and the address looked up, one allocation each
        let mut scope = String::new();
        let mut buf = String::new();
        for p in pending {
            let at = &self.nodes[p.at as usize];
            scope.clear();
            if !at.module.is_empty() {
                scope.push_str(&at.module);
                scope.push('.');
            }
            for r in p.refs.get() {
                let mut edge = |t: usize| {
                    let t = node_number(t);
                    if t != p.node {
                        edges.push((p.node, t, r.kind));
                    }
                };
                match self.resolve_ref(&scope, r, &mut buf) {
                    Resolved::Node(t) => edge(t),
                    Resolved::Nodes(targets) => targets.into_iter().for_each(edge),
                    Resolved::Ignore => {}
                    Resolved::Missing(what) => warnings.push(warning(
                        Loc {
                            file: at.loc.file.clone(),
                            line: r.line,
                            col: r.col,
                        },
                        format!("reference to undeclared {what}"),
                    )),
                }
            }
        }
        (edges, warnings)
    }

    pub(super) fn resolve(&mut self, threads: usize) {
        let pending = std::mem::take(&mut self.pending);
        let runs = self.resolve_runs(&pending, threads);
        // The references are resolved: the parse results they were read
        // from (when the load frees them, these are their last holders)
        // are freed on another core while the edges are applied, which
        // left it idle (0.06 s of the one-core path at 100k resources).
        std::thread::scope(|s| {
            if threads > 1 {
                s.spawn(move || drop(pending));
            } else {
                drop(pending);
            }
            self.apply_edges(runs);
            self.provider_edges();
        });
    }

    /// The edges and warnings of the references of `pending`, resolved
    /// on `threads` threads, in runs in the order of `pending`.
    pub(super) fn resolve_runs(&self, pending: &[Pending], threads: usize) -> Vec<Resolution> {
        if threads <= 1 || pending.len() < 4096 {
            return vec![self.resolve_pending(pending)];
        }
        let size = pending.len().div_ceil(threads);
        let mut chunks = pending.chunks(size);
        let first = chunks.next().unwrap_or_default();
        std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .map(|run| s.spawn(move || self.resolve_pending(run)))
                .collect();
            // the first run on this thread (one thread fewer started)
            let mut runs = vec![self.resolve_pending(first)];
            runs.extend(
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))),
            );
            runs
        })
    }

    /// Adds the resolved references' edges `runs` to their nodes.
    pub(super) fn apply_edges(&mut self, runs: Vec<Resolution>) {
        // each node's edges in one block of their number (pushed one by
        // one they grew by doubling, and the load's end moved them to
        // blocks of the right size): the references' and the provider's
        let mut more = vec![0u32; self.nodes.len()];
        for (edges, _) in &runs {
            for &(node, _, _) in edges {
                more[node as usize] += 1;
            }
        }
        for (n, more) in self.nodes.iter_mut().zip(more) {
            let provider = u32::from(n.facts.provider_key.is_some());
            n.edges.reserve_exact((more + provider) as usize);
        }
        // applied in the order of the pending list: the same model and the
        // same warnings whatever the number of threads
        for (edges, warnings) in runs {
            for (node, to, kind) in edges {
                let to = self.nodes[to as usize].address.clone();
                self.nodes[node as usize].add_edge(to, kind);
            }
            self.diags.extend(warnings);
        }
    }

    /// Adds each node's edge to the provider configuration it uses, and
    /// each module call's to those it passes.
    pub(super) fn provider_edges(&mut self) {
        for i in 0..self.nodes.len() {
            if let Some(key) = self.take_provider_key(i) {
                let prefix = if self.nodes[i].module.is_empty() {
                    String::new()
                } else {
                    crate::concat(&[&self.nodes[i].module, "."])
                };
                let target = self.resolve_provider(&prefix, &key, 0);
                self.nodes[i].add_edge(target, EdgeKind::Provider);
            }
        }
        let call_addrs: Vec<String> = self.calls.keys().cloned().collect();
        for call in call_addrs {
            let (prefix, providers) = self.calls[&call].clone();
            for (_, parent) in providers {
                let target = self.resolve_provider(&prefix, &parent, 0);
                if let Some(&ci) = self.index.get(&call) {
                    self.nodes[ci].add_edge(target, EdgeKind::Provider);
                }
            }
        }
        // Provider configurations inside a module depend on the call too
        // (their references were resolved with the rest).
    }

    /// The provider configuration `key` (`aws` or `aws.west`) means in the
    /// module at `prefix`.
    pub(super) fn resolve_provider(&mut self, prefix: &str, key: &str, depth: usize) -> String {
        let here = crate::concat(&[prefix, "provider.", key]);
        if self.index.contains_key(&here) || depth > 64 {
            return here;
        }
        if !prefix.is_empty() {
            let call = prefix.trim_end_matches('.').to_string();
            if let Some((parent_prefix, providers)) = self.calls.get(&call).cloned() {
                if let Some((_, parent_key)) = providers.iter().find(|(c, _)| c == key) {
                    return self.resolve_provider(&parent_prefix, parent_key, depth + 1);
                }
                if !key.contains('.') && providers.is_empty() {
                    return self.resolve_provider(&parent_prefix, key, depth + 1);
                }
                if !key.contains('.') {
                    // An explicit providers map without this default provider:
                    // Terraform still passes the default implicitly.
                    return self.resolve_provider(&parent_prefix, key, depth + 1);
                }
            }
        }
        // Not configured anywhere: Terraform uses an empty configuration of
        // the provider in the root module.
        let root = format!("provider.{key}");
        if !self.index.contains_key(&root) {
            let mut n = Node::new(NodeKind::Provider, root.clone());
            let mut parts = key.splitn(2, '.');
            n.type_ = parts.next().unwrap_or_default().to_string();
            n.name = parts.next().unwrap_or_default().to_string();
            n.facts.more.implicit = true;
            let i = self.nodes.len();
            self.index.insert(root.clone(), i);
            self.nodes.push(n);
        }
        root
    }

    /// What reference `r`, written in module `scope`, depends on: the
    /// nodes it names, or what it names that does not exist; references
    /// to `count`, `each`, `self`, `path` and `terraform` (and incomplete
    /// ones) depend on nothing. `buf` holds the address looked up.
    pub(super) fn resolve_ref(&self, scope: &str, r: &RawRef, buf: &mut String) -> Resolved {
        let s = |i: usize| r.step(i).filter(|x| !x.starts_with('['));
        let root = r.root();
        // the node at `scope` + `parts`, or what is missing
        let mut find = |parts: &[&str], missing: &dyn Fn() -> String| {
            buf.clear();
            buf.push_str(scope);
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    buf.push('.');
                }
                buf.push_str(part);
            }
            match self.index.get(buf.as_str()) {
                Some(&i) => Resolved::Node(i),
                None => Resolved::Missing(missing()),
            }
        };
        match root {
            "count" | "each" | "self" | "path" | "terraform" => Resolved::Ignore,
            "var" | "local" => {
                let Some(name) = s(0) else {
                    return Resolved::Ignore;
                };
                find(&[root, name], &|| {
                    format!(
                        "{} {root}.{name}",
                        if root == "var" {
                            "input variable"
                        } else {
                            "local value"
                        },
                    )
                })
            }
            "module" => match s(0) {
                Some(name) => self.resolve_module_ref(scope, r, name, buf),
                None => Resolved::Ignore,
            },
            "data" | "ephemeral" => {
                let (Some(t), Some(n)) = (s(0), s(1)) else {
                    return Resolved::Ignore;
                };
                find(&[root, t, n], &|| format!("{root} source {root}.{t}.{n}"))
            }
            "action" => {
                let (Some(t), Some(n)) = (s(0), s(1)) else {
                    return Resolved::Ignore;
                };
                find(&["action", t, n], &|| format!("action action {t}.{n}"))
            }
            "resource" => {
                // `resource.TYPE.NAME`: the explicit form Terraform
                // accepts for a managed resource
                let (Some(t), Some(n)) = (s(0), s(1)) else {
                    return Resolved::Ignore;
                };
                find(&[t, n], &|| format!("resource {t}.{n}"))
            }
            ty => {
                let Some(name) = s(0) else {
                    return Resolved::Missing(format!("name {ty:?}"));
                };
                find(&[ty, name], &|| format!("resource {ty}.{name}"))
            }
        }
    }

    /// What a reference `r` to `module.NAME` in module `scope` depends
    /// on: the one output it reads, or (a whole-module reference) all the
    /// module's outputs and the call; only the call for a remote module
    /// that was not downloaded, and for `depends_on`. `buf` holds the
    /// address looked up.
    pub(super) fn resolve_module_ref(
        &self,
        scope: &str,
        r: &RawRef,
        name: &str,
        buf: &mut String,
    ) -> Resolved {
        buf.clear();
        buf.push_str(scope);
        buf.push_str("module.");
        buf.push_str(name);
        let Some(&ci) = self.index.get(buf.as_str()) else {
            return Resolved::Missing(format!("module call module.{name}"));
        };
        let opaque = self.nodes[ci].facts.more.resolved == Some(ModuleSource::Remote);
        // depends_on = [module.x] waits for everything inside it.
        if opaque || r.kind == EdgeKind::DependsOn {
            return Resolved::Node(ci);
        }
        // skip an instance key: module.x[0].out (a splat or a
        // computed key ends Terraform's traversal: `module.x[*].out`
        // refers to the whole module)
        let out_step = match r.step(1) {
            Some("[*]") => usize::MAX,
            Some(x) if x.starts_with('[') => 2,
            _ => 1,
        };
        buf.push_str(".output.");
        match r.step(out_step).filter(|x| !x.starts_with('[')) {
            Some(out) => {
                buf.push_str(out);
                match self.index.get(buf.as_str()) {
                    Some(&i) => Resolved::Node(i),
                    None => Resolved::Missing(format!("output {out:?} of module.{name}")),
                }
            }
            None => {
                let prefix = buf.as_str();
                let mut outs: Vec<usize> = self
                    .index
                    .iter()
                    .filter(|(k, _)| k.starts_with(prefix) && !k[prefix.len()..].contains('.'))
                    .map(|(_, &i)| i)
                    .collect();
                // the whole module: its outputs, and the call (all
                // of the module, as Terraform's `module.x (close)`)
                outs.push(ci);
                Resolved::Nodes(outs)
            }
        }
    }
}
