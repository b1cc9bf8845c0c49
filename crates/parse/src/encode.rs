//! A compact binary encoding of parse results, so a store can cache them
//! by content hash and skip re-parsing unchanged files.

use rewind_model::codec::{Dec, DecodeError, Enc};
use rewind_model::{EdgeKind, Node, NodeKind, StateInfo};

use crate::config::{FileConfig, RawNode, RawRef};
use crate::load::Parsed;

/// Bumped whenever what the parser produces changes meaning, so caches
/// written by an older rewind are ignored.
pub const PARSE_CACHE_VERSION: u32 = 10;

fn kind_code(k: NodeKind) -> u8 {
    NodeKind::ALL.iter().position(|x| *x == k).unwrap_or(0) as u8
}

fn edge_code(k: EdgeKind) -> u8 {
    EdgeKind::ALL.iter().position(|x| *x == k).unwrap_or(0) as u8
}

fn enc_ref(e: &mut Enc, r: &RawRef) {
    e.str(r.root());
    e.uvar(r.steps().count() as u64);
    for s in r.steps() {
        e.str(s);
    }
    e.u8(edge_code(r.kind));
    e.uvar(u64::from(r.line));
    e.uvar(u64::from(r.col));
}

fn dec_ref(d: &mut Dec) -> Result<RawRef, DecodeError> {
    let root = d.string()?;
    let n = d.len()?;
    let mut steps = Vec::with_capacity(n);
    for _ in 0..n {
        steps.push(d.string()?);
    }
    if std::iter::once(&root)
        .chain(&steps)
        .any(|s| s.contains('\0'))
    {
        return Err(d.error("a reference name holds a NUL"));
    }
    let kind = *EdgeKind::ALL
        .get(d.u8()? as usize)
        .ok_or_else(|| d.error("bad edge kind"))?;
    let line = d.uvar()? as u32;
    let col = d.uvar()? as u32;
    Ok(RawRef::new(&root, &steps, kind, line, col))
}

fn enc_refs(e: &mut Enc, refs: &[RawRef]) {
    e.uvar(refs.len() as u64);
    for r in refs {
        enc_ref(e, r);
    }
}

fn dec_refs(d: &mut Dec) -> Result<Vec<RawRef>, DecodeError> {
    let n = d.len()?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(dec_ref(d)?);
    }
    Ok(v)
}

fn enc_pair(e: &mut Enc, (a, b): &(String, String)) {
    e.str(a);
    e.str(b);
}

fn enc_raw(e: &mut Enc, n: &RawNode) {
    e.u8(kind_code(n.kind));
    e.str(&n.local);
    e.str(&n.type_);
    e.str(&n.name);
    e.value(&n.body);
    let facts = n.facts.to_map();
    e.uvar(facts.len() as u64);
    for (k, v) in &facts {
        e.str(k);
        e.value(v);
    }
    e.u8(u8::from(n.sensitive));
    e.uvar(n.secrets.len() as u64);
    for p in &n.secrets {
        e.path(p);
    }
    enc_refs(e, &n.refs);
    e.uvar(n.args.len() as u64);
    for (name, refs) in &n.args {
        e.str(name);
        enc_refs(e, refs);
    }
    match &n.provider {
        Some(p) => {
            e.u8(1);
            enc_pair(e, p);
        }
        None => e.u8(0),
    }
    e.uvar(n.providers.len() as u64);
    for p in &n.providers {
        enc_pair(e, p);
    }
    e.uvar(u64::from(n.line));
    e.uvar(u64::from(n.col));
}

fn dec_raw(d: &mut Dec) -> Result<RawNode, DecodeError> {
    let kind = *NodeKind::ALL
        .get(d.u8()? as usize)
        .ok_or_else(|| d.error("bad node kind"))?;
    let local = d.string()?;
    let type_ = d.string()?;
    let name = d.string()?;
    let body = std::sync::Arc::new(d.value()?);
    let n = d.len()?;
    let mut facts = rewind_model::Facts::default();
    for _ in 0..n {
        let k = d.string()?;
        facts.insert(k, d.value()?);
    }
    let sensitive = d.u8()? != 0;
    let n = d.len()?;
    let mut secrets = Vec::with_capacity(n);
    for _ in 0..n {
        secrets.push(d.path()?);
    }
    let refs = dec_refs(d)?;
    let n = d.len()?;
    let mut args = Vec::with_capacity(n);
    for _ in 0..n {
        let name = d.string()?;
        args.push((name, dec_refs(d)?));
    }
    let provider = match d.u8()? {
        0 => None,
        _ => Some((d.string()?, d.string()?)),
    };
    let n = d.len()?;
    let mut providers = Vec::with_capacity(n);
    for _ in 0..n {
        providers.push((d.string()?, d.string()?));
    }
    Ok(RawNode {
        kind,
        local,
        type_,
        name,
        body,
        facts: facts.into(),
        sensitive,
        secrets,
        refs,
        args,
        provider,
        providers,
        line: d.uvar()? as u32,
        col: d.uvar()? as u32,
    })
}

impl Parsed {
    /// The cacheable encoding of a parse result.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc::with_capacity(1024);
        match self {
            Parsed::Raw => e.u8(0),
            Parsed::Config(cfg) => {
                e.u8(1);
                e.uvar(cfg.nodes.len() as u64);
                for n in &cfg.nodes {
                    enc_raw(&mut e, n);
                }
                e.uvar(cfg.warnings.len() as u64);
                for (l, c, m) in &cfg.warnings {
                    e.uvar(u64::from(*l));
                    e.uvar(u64::from(*c));
                    e.str(m);
                }
            }
            Parsed::Tfvars(v) => {
                e.u8(2);
                e.value(v);
            }
            Parsed::State(info, nodes) => {
                e.u8(3);
                e.str(&info.path);
                e.str(&info.lineage);
                e.uvar(info.serial);
                e.str(&info.terraform_version);
                e.uvar(nodes.len() as u64);
                for n in nodes {
                    e.bytes(&n.encode());
                }
            }
        }
        e.into_bytes()
    }

    pub fn decode(bytes: &[u8]) -> Result<Parsed, DecodeError> {
        let mut d = Dec::new(bytes);
        let p = match d.u8()? {
            0 => Parsed::Raw,
            1 => {
                let n = d.len()?;
                let mut nodes = Vec::with_capacity(n);
                for _ in 0..n {
                    nodes.push(dec_raw(&mut d)?);
                }
                let n = d.len()?;
                let mut warnings = Vec::with_capacity(n);
                for _ in 0..n {
                    let l = d.uvar()? as u32;
                    let c = d.uvar()? as u32;
                    warnings.push((l, c, d.string()?));
                }
                Parsed::Config(FileConfig {
                    nodes,
                    warnings,
                    errors: Vec::new(),
                })
            }
            2 => Parsed::Tfvars(d.value()?),
            3 => {
                let info = StateInfo {
                    path: d.string()?,
                    lineage: d.string()?,
                    serial: d.uvar()?,
                    terraform_version: d.string()?,
                };
                let n = d.len()?;
                let mut nodes = Vec::with_capacity(n);
                for _ in 0..n {
                    let mut node = Node::decode(d.bytes()?)?;
                    node.loc.file = info.path.clone();
                    nodes.push(node);
                }
                Parsed::State(info, nodes)
            }
            t => return Err(d.error(format!("unknown parse result tag {t}"))),
        };
        d.finish()?;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips() {
        let src = "resource \"aws_instance\" \"web\" {\n  ami = var.ami\n  provider = aws.west\n  depends_on = [aws_vpc.main]\n}\nmodule \"net\" {\n  source = \"./net\"\n  cidr = var.cidr\n  providers = { aws = aws.west }\n}\nvariable \"p\" {\n  sensitive = true\n}\n";
        let body = crate::hcl::parse_body(src).unwrap();
        let p = Parsed::Config(crate::config::file_config(&body, src));
        let back = Parsed::decode(&p.encode()).unwrap();
        assert_eq!(back, p);
        let mut bad = p.encode();
        bad.truncate(bad.len() / 2);
        assert!(Parsed::decode(&bad).is_err());
    }

    #[test]
    fn references_keep_their_root_and_steps() {
        let src = "locals {\n  a = module.net[\"k.1\"].out\n  b = aws_instance.web[*].id\n  c = var.x\n  d = data.t.n[0].attrs[\"a\\u0000b\"]\n}\n";
        let body = crate::hcl::parse_body(src).unwrap();
        let file = crate::config::file_config(&body, src);
        let refs: Vec<(String, Vec<String>)> = file
            .nodes
            .iter()
            .flat_map(|n| &n.refs)
            .map(|r| {
                (
                    r.root().to_string(),
                    r.steps().map(str::to_string).collect(),
                )
            })
            .collect();
        let want = |root: &str, steps: &[&str]| {
            (
                root.to_string(),
                steps.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            refs,
            [
                want("module", &["net", "[\"k.1\"]", "out"]),
                want("aws_instance", &["web", "[*]", "id"]),
                want("var", &["x"]),
                want("data", &["t", "n", "[0]", "attrs", "[\"a\\u0000b\"]"]),
            ]
        );
        let p = Parsed::Config(file);
        assert_eq!(Parsed::decode(&p.encode()).unwrap(), p);
    }
}
