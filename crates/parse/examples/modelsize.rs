//! The heap bytes of a loaded model by component (addresses, module paths,
//! file names, bodies, facts, edges...), as a plan loads it:
//! `cargo run --release -p rewind-parse --example modelsize -- DIR [--config-only]`.
//!
//! Counts what the model's own structures hold (lengths of vectors and
//! capacities of strings), not the allocator's overhead per block; a shared
//! body (`Arc`) is counted once.
use rewind_model::expr::{Expr, Part, TravOp};
use rewind_model::{Model, Node, Value};
use std::collections::{BTreeMap, HashSet};
use std::mem::size_of;

#[derive(Default)]
struct Tally {
    bytes: BTreeMap<&'static str, usize>,
    allocs: BTreeMap<&'static str, usize>,
    seen: HashSet<usize>,
    exprs: std::collections::HashMap<String, usize>,
}

impl Tally {
    fn add(&mut self, what: &'static str, bytes: usize) {
        if bytes > 0 {
            *self.bytes.entry(what).or_default() += bytes;
            *self.allocs.entry(what).or_default() += 1;
        }
    }
    fn string(&mut self, what: &'static str, s: &String) {
        self.add(what, s.capacity());
    }
    fn value(&mut self, what: &'static str, v: &Value) {
        match v {
            Value::Number(s) | Value::String(s) => self.string(what, s),
            Value::List(l) => {
                self.add(what, l.capacity() * size_of::<Value>());
                for x in l {
                    self.value(what, x);
                }
            }
            Value::Map(m) => {
                self.add(what, m.capacity() * size_of::<(String, Value)>());
                for (k, x) in m.iter() {
                    self.string(what, k);
                    self.value(what, x);
                }
            }
            Value::Expr(e) => {
                if self.seen.insert(std::sync::Arc::as_ptr(e) as usize) {
                    self.add("bodies: expressions (Arc)", 16 + size_of::<Expr>());
                    *self.exprs.entry(e.to_string()).or_default() += 1;
                    self.expr(e);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
    }
    fn expr(&mut self, e: &Expr) {
        const W: &str = "bodies: expressions (lists, boxes)";
        const S: &str = "bodies: expressions (strings)";
        match e {
            Expr::Number(s) => self.string(S, s),
            Expr::Template(parts) => self.parts(parts),
            Expr::Tuple(xs) => {
                self.add("expr: tuples", xs.capacity() * size_of::<Expr>());
                xs.iter().for_each(|x| self.expr(x));
            }
            Expr::Object(kv) => {
                self.add("expr: objects", kv.capacity() * size_of::<(Expr, Expr)>());
                for (k, v) in kv {
                    self.expr(k);
                    self.expr(v);
                }
            }
            Expr::Traversal { root, ops, .. } => {
                self.string(S, root);
                self.ops(ops);
            }
            Expr::Postfix(x, ops) => {
                self.add(W, size_of::<Expr>());
                self.expr(x);
                self.ops(ops);
            }
            Expr::Call { name, args, .. } => {
                self.string(S, name);
                self.add("expr: call arguments", args.capacity() * size_of::<Expr>());
                args.iter().for_each(|x| self.expr(x));
            }
            Expr::Unary(_, x) => {
                self.add(W, size_of::<Expr>());
                self.expr(x);
            }
            Expr::Binary(_, a, b) => {
                self.add(W, 2 * size_of::<Expr>());
                self.expr(a);
                self.expr(b);
            }
            Expr::Cond(a, b, c) => {
                self.add(W, 3 * size_of::<Expr>());
                self.expr(a);
                self.expr(b);
                self.expr(c);
            }
            Expr::For(f) => {
                self.add(W, size_of::<rewind_model::expr::ForExpr>());
                self.expr(&f.coll);
                self.expr(&f.value);
                if let Some(k) = &f.key {
                    self.expr(k);
                }
                if let Some(c) = &f.cond {
                    self.expr(c);
                }
            }
            _ => {}
        }
    }
    fn ops(&mut self, ops: &Vec<TravOp>) {
        self.add(
            "bodies: expressions (traversal steps)",
            ops.capacity() * size_of::<TravOp>(),
        );
        for o in ops {
            match o {
                TravOp::Attr(s) => self.string("bodies: expressions (strings)", s),
                TravOp::Index(x) => {
                    self.add("bodies: expressions (traversal steps)", size_of::<Expr>());
                    self.expr(x)
                }
                _ => {}
            }
        }
    }
    fn parts(&mut self, parts: &Vec<Part>) {
        self.add("expr: template parts", parts.capacity() * size_of::<Part>());
        for p in parts {
            match p {
                Part::Lit(s) => self.string("bodies: expressions (strings)", s),
                Part::Interp(x) => self.expr(x),
                Part::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    self.add("expr: template parts", size_of::<Expr>());
                    self.expr(cond);
                    self.parts(then);
                    self.parts(otherwise);
                }
                Part::For(f) => {
                    self.add(
                        "expr: template parts",
                        size_of::<rewind_model::expr::TemplateFor>(),
                    );
                    self.expr(&f.coll);
                    self.parts(&f.body);
                }
            }
        }
    }
    fn node(&mut self, n: &Node) {
        self.string("addresses", &n.address);
        self.string("module paths", &n.module);
        self.string("types", &n.type_);
        self.string("names", &n.name);
        self.string("file names (loc)", &n.loc.file);
        if self.seen.insert(std::sync::Arc::as_ptr(&n.body) as usize) {
            self.add("bodies", 16 + size_of::<Value>());
            self.value("bodies", &n.body);
        }
        // the boxed Facts, and the heap of its fields as stored (a shared
        // provider string counted once)
        if !n.facts.is_empty() {
            self.add("facts", size_of::<rewind_model::Facts>());
        }
        if let Some(p) = &n.facts.provider {
            if self.seen.insert(p.as_ptr() as usize) {
                self.add("facts", p.len() + 16);
            }
        }
        if let Some(rewind_model::InstanceKey::Str(s)) = &n.facts.index_key {
            self.string("facts", s);
        }
        for v in [&n.facts.more.source, &n.facts.more.version]
            .into_iter()
            .flatten()
        {
            self.value("facts", v);
        }
        for m in [&n.facts.more.sources, &n.facts.more.reads]
            .into_iter()
            .flatten()
        {
            self.value("facts", &Value::Map(m.clone()));
        }
        for s in [
            &n.facts.more.deposed,
            &n.facts.more.downloaded_version,
            &n.facts.more.check,
            &n.facts.provider_key,
        ]
        .into_iter()
        .flatten()
        {
            self.string("facts", s);
        }
        self.value("facts", &Value::Map(n.facts.more.other.clone()));
        self.add(
            "sensitive paths",
            n.sensitive.capacity() * size_of::<rewind_model::Path>(),
        );
        for p in &n.sensitive {
            self.add(
                "sensitive paths",
                p.0.capacity() * size_of::<rewind_model::PathStep>(),
            );
        }
        self.add(
            "edges: lists",
            n.edges.capacity() * size_of::<rewind_model::Edge>(),
        );
        for e in &n.edges {
            self.string("edges: target addresses", &e.to);
        }
    }
}

fn report(label: &str, m: &Model) -> usize {
    let mut t = Tally::default();
    t.add(
        "node structs",
        (m.nodes.capacity() + m.instances.capacity()) * size_of::<Node>(),
    );
    for n in m.nodes.iter().chain(&m.instances) {
        t.node(n);
    }
    let total: usize = t.bytes.values().sum();
    if std::env::var_os("MODELSIZE_TOP").is_some() {
        let mut top: Vec<_> = t.exprs.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1));
        for (text, n) in top.iter().take(15) {
            println!("  {n:>7} x {text}");
        }
        let dup: usize = top.iter().map(|(_, n)| *n - 1).sum();
        println!("  {dup} expressions repeat one seen before");
    }
    let all: usize = t.exprs.values().sum();
    println!(
        "expressions: {all} (Arc), {} distinct texts; size_of Expr {}, TravOp {}, Part {}",
        t.exprs.len(),
        size_of::<Expr>(),
        size_of::<TravOp>(),
        size_of::<Part>()
    );
    println!(
        "{label}: {} nodes, {} instances, size_of::<Node>() = {} (Facts {}, Value {}), {:.1} MB",
        m.nodes.len(),
        m.instances.len(),
        size_of::<Node>(),
        size_of::<rewind_model::Facts>(),
        size_of::<Value>(),
        total as f64 / 1e6
    );
    let mut rows: Vec<_> = t.bytes.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1));
    for (k, v) in rows {
        println!(
            "  {:<26} {:>8.1} MB {:>5.1}%  {:>9} blocks",
            k,
            *v as f64 / 1e6,
            100.0 * *v as f64 / total as f64,
            t.allocs[k]
        );
    }
    total
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().expect("usage: modelsize DIR [--config-only]");
    let config_only = args.next().as_deref() == Some("--config-only");
    let opts = rewind_parse::Options {
        skip_state: config_only,
        ..Default::default()
    };
    let loaded = rewind_parse::load(std::path::Path::new(&dir), &opts).expect("load");
    report(&dir, &loaded.model);
}
