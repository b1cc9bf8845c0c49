//! Terraform addresses, parsed once: module instances
//! (`module.net["a"].module.sub[0]`), resources (`module.net.aws_subnet.a`,
//! `data.aws_ami.x`) and resource instances (`aws_instance.web[2]`).

use std::fmt;

use crate::value::quote;

/// The key of one instance of a resource or module with `count` or
/// `for_each`; `None` without either.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum InstanceKey {
    #[default]
    None,
    Int(i64),
    Str(String),
}

impl InstanceKey {
    pub fn is_none(&self) -> bool {
        matches!(self, InstanceKey::None)
    }
}

impl fmt::Display for InstanceKey {
    /// `[0]`, `["k"]`, or nothing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::None => Ok(()),
            InstanceKey::Int(i) => write!(f, "[{i}]"),
            InstanceKey::Str(s) => write!(f, "[{}]", quote_key(s)),
        }
    }
}

/// A string instance key quoted as Terraform writes it in an address: an
/// HCL string literal, its template sequences escaped (`"$${x}"` for the
/// key `${x}`, `"%%{y}"` for `%{y}`), so the address reads back as HCL.
pub fn quote_key(s: &str) -> String {
    quote(s).replace("${", "$${").replace("%{", "%%{")
}

/// One `module.NAME[KEY]` step of a module instance path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleStep {
    pub name: String,
    pub key: InstanceKey,
}

/// A module instance: the root (no steps) or a path of module calls with
/// their instance keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ModuleInstance(pub Vec<ModuleStep>);

impl ModuleInstance {
    pub fn root() -> ModuleInstance {
        ModuleInstance(Vec::new())
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The child instance `module.name[key]`.
    pub fn child(&self, name: &str, key: InstanceKey) -> ModuleInstance {
        let mut steps = self.0.clone();
        steps.push(ModuleStep {
            name: name.to_string(),
            key,
        });
        ModuleInstance(steps)
    }

    /// The parent instance (the root's parent is the root).
    pub fn parent(&self) -> ModuleInstance {
        let mut steps = self.0.clone();
        steps.pop();
        ModuleInstance(steps)
    }

    /// The module path without instance keys (`module.a.module.b`), as
    /// configuration nodes name their module.
    pub fn config_path(&self) -> String {
        let mut out = String::new();
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            out.push_str("module.");
            out.push_str(&s.name);
        }
        out
    }

    /// Parses `module.a[0].module.b["x"]` (the empty string is the root).
    pub fn parse(s: &str) -> Result<ModuleInstance, AddressError> {
        let mut p = Cursor::new(s);
        let m = p.module_path()?;
        p.end()?;
        Ok(m)
    }
}

impl fmt::Display for ModuleInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "module.{}{}", s.name, s.key)?;
        }
        Ok(())
    }
}

/// Managed resources and data sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Managed,
    Data,
}

/// A resource in a module instance (`module.a[0].aws_instance.web`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceAddr {
    pub module: ModuleInstance,
    pub mode: Mode,
    pub type_: String,
    pub name: String,
}

impl ResourceAddr {
    pub fn instance(&self, key: InstanceKey) -> InstanceAddr {
        InstanceAddr {
            resource: self.clone(),
            key,
        }
    }

    /// The address inside its module (`aws_instance.web`, `data.x.y`).
    pub fn local(&self) -> String {
        match self.mode {
            Mode::Managed => format!("{}.{}", self.type_, self.name),
            Mode::Data => format!("data.{}.{}", self.type_, self.name),
        }
    }

    /// The configuration address (module path without keys).
    pub fn config_address(&self) -> String {
        let m = self.module.config_path();
        if m.is_empty() {
            self.local()
        } else {
            format!("{m}.{}", self.local())
        }
    }
}

impl fmt::Display for ResourceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.module.is_root() {
            write!(f, "{}.", self.module)?;
        }
        f.write_str(&self.local())
    }
}

/// One instance of a resource (`module.a[0].aws_instance.web["k"]`).
/// Ordered by its parts (module instance, mode, type, name, key), which
/// is not the order of the printed addresses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceAddr {
    pub resource: ResourceAddr,
    pub key: InstanceKey,
}

impl InstanceAddr {
    /// Parses a resource instance address.
    pub fn parse(s: &str) -> Result<InstanceAddr, AddressError> {
        let mut p = Cursor::new(s);
        let module = p.module_path_prefix()?;
        let mode = if p.eat_word("data") {
            p.expect('.')?;
            Mode::Data
        } else {
            // `resource.TYPE.NAME` is written in some references
            Mode::Managed
        };
        let type_ = p.ident()?;
        p.expect('.')?;
        let name = p.ident()?;
        let key = if p.peek() == Some('[') {
            p.key()?
        } else {
            InstanceKey::None
        };
        p.end()?;
        Ok(InstanceAddr {
            resource: ResourceAddr {
                module,
                mode,
                type_,
                name,
            },
            key,
        })
    }
}

impl fmt::Display for InstanceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.resource, self.key)
    }
}

/// The key Terraform gives a deposed object (the old object of a
/// create-before-destroy replacement that is still to be deleted): eight
/// hex digits in state, such as `"a1b2c3d4"`. Shown as it is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeposedKey(pub String);

impl fmt::Display for DeposedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Addresses and keys are written as Terraform prints them.
macro_rules! serialize_as_text {
    ($($t:ty),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    )*};
}
serialize_as_text!(InstanceAddr, ResourceAddr, ModuleInstance, DeposedKey);

/// A malformed address.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid address {text:?}: {message}")]
pub struct AddressError {
    pub text: String,
    pub message: String,
}

struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Cursor<'a> {
        Cursor { s, pos: 0 }
    }

    fn err(&self, message: impl Into<String>) -> AddressError {
        AddressError {
            text: self.s.to_string(),
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn expect(&mut self, c: char) -> Result<(), AddressError> {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err(self.err(format!("expected {c:?} at byte {}", self.pos)))
        }
    }

    fn end(&self) -> Result<(), AddressError> {
        if self.pos == self.s.len() {
            Ok(())
        } else {
            Err(self.err(format!("unexpected {:?}", &self.s[self.pos..])))
        }
    }

    fn ident(&mut self) -> Result<String, AddressError> {
        let rest = &self.s[self.pos..];
        let n = rest
            .char_indices()
            .find(|&(i, c)| !(c.is_alphanumeric() || c == '_' || (c == '-' && i > 0)))
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        if n == 0 {
            return Err(self.err(format!("expected a name at byte {}", self.pos)));
        }
        self.pos += n;
        Ok(rest[..n].to_string())
    }

    /// Consumes `word` when it is followed by a `.`.
    fn eat_word(&mut self, word: &str) -> bool {
        let rest = &self.s[self.pos..];
        if rest.starts_with(word) && rest[word.len()..].starts_with('.') {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn key(&mut self) -> Result<InstanceKey, AddressError> {
        self.expect('[')?;
        let k = if self.peek() == Some('"') {
            self.pos += 1;
            let mut out = String::new();
            loop {
                let c = self
                    .peek()
                    .ok_or_else(|| self.err("unterminated string key"))?;
                self.pos += c.len_utf8();
                match c {
                    '"' => break,
                    '\\' => {
                        let e = self.peek().ok_or_else(|| self.err("bad escape"))?;
                        self.pos += e.len_utf8();
                        match e {
                            'n' => out.push('\n'),
                            'r' => out.push('\r'),
                            't' => out.push('\t'),
                            '"' => out.push('"'),
                            '\\' => out.push('\\'),
                            'u' => {
                                let hex = self
                                    .s
                                    .get(self.pos..self.pos + 4)
                                    .ok_or_else(|| self.err("bad \\u escape"))?;
                                let cp = u32::from_str_radix(hex, 16)
                                    .map_err(|_| self.err("bad \\u escape"))?;
                                out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                                self.pos += 4;
                            }
                            other => {
                                out.push('\\');
                                out.push(other)
                            }
                        }
                    }
                    // `$${` and `%%{` stand for `${` and `%{`
                    '$' | '%'
                        if self.s[self.pos..].starts_with(c)
                            && self.s[self.pos + 1..].starts_with('{') =>
                    {
                        out.push(c);
                        self.pos += 1;
                    }
                    c => out.push(c),
                }
            }
            InstanceKey::Str(out)
        } else {
            let rest = &self.s[self.pos..];
            let n = rest
                .char_indices()
                .find(|&(i, c)| !(c.is_ascii_digit() || (c == '-' && i == 0)))
                .map(|(i, _)| i)
                .unwrap_or(rest.len());
            let v: i64 = rest[..n]
                .parse()
                .map_err(|_| self.err(format!("bad index at byte {}", self.pos)))?;
            self.pos += n;
            InstanceKey::Int(v)
        };
        self.expect(']')?;
        Ok(k)
    }

    /// `module.a[0].module.b` followed by the end.
    fn module_path(&mut self) -> Result<ModuleInstance, AddressError> {
        let mut steps = Vec::new();
        while self.pos < self.s.len() {
            if !steps.is_empty() {
                self.expect('.')?;
            }
            if !self.eat_word("module") {
                return Err(self.err("expected module.NAME"));
            }
            self.expect('.')?;
            let name = self.ident()?;
            let key = if self.peek() == Some('[') {
                self.key()?
            } else {
                InstanceKey::None
            };
            steps.push(ModuleStep { name, key });
        }
        // a first push reserves four steps, where most paths have one
        // (170 bytes more per address; a plan holds hundreds of
        // thousands)
        steps.shrink_to_fit();
        Ok(ModuleInstance(steps))
    }

    /// `module.a[0].module.b.` steps before a resource.
    fn module_path_prefix(&mut self) -> Result<ModuleInstance, AddressError> {
        let mut steps = Vec::new();
        while self.eat_word("module") {
            self.expect('.')?;
            let name = self.ident()?;
            let key = if self.peek() == Some('[') {
                self.key()?
            } else {
                InstanceKey::None
            };
            self.expect('.')?;
            steps.push(ModuleStep { name, key });
        }
        // a first push reserves four steps, where most paths have one
        // (170 bytes more per address; a plan holds hundreds of
        // thousands)
        steps.shrink_to_fit();
        Ok(ModuleInstance(steps))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_addresses_round_trip() {
        for s in [
            "aws_instance.web",
            "aws_instance.web[0]",
            "aws_instance.web[\"k\"]",
            "data.aws_ami.x",
            "module.a.aws_instance.web",
            "module.a[0].module.b[\"x y\"].terraform_data.u[2]",
            "terraform_data.x[\"a\\\"b\"]",
            "module.a.data.aws_ami.x[-1]",
        ] {
            let a = InstanceAddr::parse(s).unwrap();
            assert_eq!(a.to_string(), s);
        }
        let a = InstanceAddr::parse("module.m[\"k\"].terraform_data.u[1]").unwrap();
        assert_eq!(a.resource.config_address(), "module.m.terraform_data.u");
        assert_eq!(a.key, InstanceKey::Int(1));
        assert_eq!(a.resource.module.to_string(), "module.m[\"k\"]");
        assert!(InstanceAddr::parse("aws_instance").is_err());
        assert!(InstanceAddr::parse("aws_instance.web[").is_err());
        assert!(InstanceAddr::parse("aws_instance.web[0]x").is_err());
    }

    /// A key holding `${` or `%{` was written as it is (`["${x}"]`):
    /// Terraform escapes the template sequences (`["$${x}"]`), and so
    /// must the addresses of rewind's JSON and Terraform-JSON plans (c22
    /// of the review).
    #[test]
    fn keys_with_template_sequences_are_escaped_as_terraform_writes_them() {
        let key = |k: &str| InstanceAddr {
            resource: ResourceAddr {
                module: ModuleInstance::default(),
                mode: Mode::Managed,
                type_: "terraform_data".into(),
                name: "k".into(),
            },
            key: InstanceKey::Str(k.into()),
        };
        for (k, shown) in [
            ("${x}", r#"terraform_data.k["$${x}"]"#),
            ("%{y}", r#"terraform_data.k["%%{y}"]"#),
            ("$x%y$", r#"terraform_data.k["$x%y$"]"#),
            ("$${x}", r#"terraform_data.k["$$${x}"]"#),
        ] {
            assert_eq!(key(k).to_string(), shown);
            assert_eq!(InstanceAddr::parse(shown).unwrap(), key(k), "{shown}");
        }
    }

    #[test]
    fn module_instances_parse() {
        assert!(ModuleInstance::parse("").unwrap().is_root());
        let m = ModuleInstance::parse("module.a[0].module.b").unwrap();
        assert_eq!(m.config_path(), "module.a.module.b");
        assert_eq!(m.parent().to_string(), "module.a[0]");
        assert!(ModuleInstance::parse("module.a.").is_err());
    }
}
