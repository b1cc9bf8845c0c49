//! Versions and version constraints as hashicorp/go-version reads them,
//! which Terraform uses for module versions (`version = "~> 1.2"`) and
//! for its own (`required_version`).

use std::cmp::Ordering;

/// A version as hashicorp/go-version reads one: `v1.2`, `1.2.3-beta.1`,
/// `1.0.0+build` (numbers padded to three).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Version {
    segments: Vec<i64>,
    /// How many numbers were written.
    written: usize,
    pre: String,
}

impl Version {
    pub(crate) fn parse(s: &str) -> Option<Version> {
        let s = s.strip_prefix('v').unwrap_or(s);
        let digits_end = |t: &str| t.bytes().take_while(u8::is_ascii_digit).count();
        let mut end = digits_end(s);
        if end == 0 {
            return None;
        }
        while s[end..].starts_with('.') && digits_end(&s[end + 1..]) > 0 {
            end += 1 + digits_end(&s[end + 1..]);
        }
        let mut segments = s[..end]
            .split('.')
            .map(|n| n.parse::<i64>().ok())
            .collect::<Option<Vec<_>>>()?;
        let written = segments.len();
        while segments.len() < 3 {
            segments.push(0);
        }
        let rest = &s[end..];
        let (pre, meta) = match rest.split_once('+') {
            Some((p, m)) => (p, Some(m)),
            None => (rest, None),
        };
        if meta.is_some_and(|m| !dotted(m)) {
            return None;
        }
        let pre = prerelease(pre)?;
        Some(Version {
            segments,
            written,
            pre: pre.to_string(),
        })
    }

    /// go-version's `Compare`: numbers (missing ones are zeros), then a
    /// version without a pre-release above one with.
    fn compare(&self, o: &Version) -> Ordering {
        if self.segments == o.segments {
            return match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_prereleases(&self.pre, &o.pre),
            };
        }
        let n = self.segments.len().max(o.segments.len());
        for i in 0..n {
            let a = self.segments.get(i).copied().unwrap_or(0);
            let b = o.segments.get(i).copied().unwrap_or(0);
            match a.cmp(&b) {
                Ordering::Equal => continue,
                other => return other,
            }
        }
        Ordering::Equal
    }
}

/// `a.b-c.d`: non-empty parts of letters, digits, `-` and `~`.
fn dotted(s: &str) -> bool {
    s.split('.').all(|p| {
        !p.is_empty()
            && p.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'~')
    })
}

/// The pre-release of what follows a version's numbers (before any
/// `+metadata`): `-1.beta` or `-beta`/`beta` (a letter first, the dash
/// optional), or nothing.
fn prerelease(rest: &str) -> Option<&str> {
    if rest.is_empty() {
        return Some("");
    }
    let starts = |t: &str, digit: bool| {
        t.bytes().next().is_some_and(|c| {
            if digit {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic() || c == b'-' || c == b'~'
            }
        })
    };
    if let Some(t) = rest.strip_prefix('-') {
        if (starts(t, true) || starts(t, false)) && dotted(t) {
            return Some(t);
        }
    }
    (starts(rest, false) && dotted(rest)).then_some(rest)
}

fn compare_prereleases(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let a: Vec<&str> = a.split('.').collect();
    let b: Vec<&str> = b.split('.').collect();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or("");
        let y = b.get(i).copied().unwrap_or("");
        match compare_part(x, y) {
            Ordering::Equal => continue,
            other => return other,
        }
    }
    Ordering::Equal
}

/// go-version's `comparePart`: numbers below words, a missing part below
/// a word and above a number.
fn compare_part(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (an, bn) = (a.parse::<i64>().ok(), b.parse::<i64>().ok());
    if a.is_empty() {
        return if bn.is_some() {
            Ordering::Less
        } else {
            Ordering::Greater
        };
    }
    if b.is_empty() {
        return if an.is_some() {
            Ordering::Greater
        } else {
            Ordering::Less
        };
    }
    match (an, bn) {
        (Some(x), Some(y)) if x > y => Ordering::Greater,
        (Some(_), _) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) if a > b => Ordering::Greater,
        (None, None) => Ordering::Less,
    }
}

/// One constraint's operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Pessimistic,
}

/// A `version` argument's constraints (`">= 1.0, < 2.0"`, `"~> 1.2"`),
/// all of which a version must meet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Constraints(Vec<(Op, Version)>);

impl Constraints {
    /// `None`: not constraint syntax (Terraform's "Invalid version
    /// constraint").
    pub(crate) fn parse(s: &str) -> Option<Constraints> {
        let ops = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("!=", Op::Ne),
            ("~>", Op::Pessimistic),
            (">", Op::Gt),
            ("<", Op::Lt),
            ("=", Op::Eq),
        ];
        let ws = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c');
        let mut out = Vec::new();
        for single in s.split(',') {
            let t = single.trim_matches(ws);
            let (op, rest) = ops
                .iter()
                .find_map(|(p, op)| t.strip_prefix(p).map(|r| (*op, r)))
                .unwrap_or((Op::Eq, t));
            out.push((op, Version::parse(rest.trim_start_matches(ws))?));
        }
        Some(Constraints(out))
    }

    /// Does version `v` meet every constraint?
    pub(crate) fn check(&self, v: &Version) -> bool {
        self.0.iter().all(|(op, c)| meets(v, *op, c))
    }
}

/// go-version's `prereleaseCheck`: a constraint without a pre-release
/// only matches versions without one; one with a pre-release only those
/// of the same numbers.
fn prerelease_ok(v: &Version, c: &Version) -> bool {
    match (v.pre.is_empty(), c.pre.is_empty()) {
        (false, false) => v.segments == c.segments,
        (false, true) => false,
        _ => true,
    }
}

fn meets(v: &Version, op: Op, c: &Version) -> bool {
    let ord = v.compare(c);
    match op {
        Op::Eq => ord == Ordering::Equal,
        Op::Ne => ord != Ordering::Equal,
        Op::Gt => prerelease_ok(v, c) && ord == Ordering::Greater,
        Op::Lt => prerelease_ok(v, c) && ord == Ordering::Less,
        Op::Ge => prerelease_ok(v, c) && ord != Ordering::Less,
        Op::Le => prerelease_ok(v, c) && ord != Ordering::Greater,
        Op::Pessimistic => pessimistic(v, c),
    }
}

/// `~> 1.2`: at least 1.2, below 2.0; `~> 1.2.3`: at least 1.2.3, below
/// 1.3.0.
fn pessimistic(v: &Version, c: &Version) -> bool {
    if !prerelease_ok(v, c) || (!c.pre.is_empty() && v.pre.is_empty()) {
        return false;
    }
    if v.compare(c) == Ordering::Less {
        return false;
    }
    let n = c.segments.len();
    if n > v.segments.len() {
        return false;
    }
    if (0..c.written.saturating_sub(1)).any(|i| v.segments[i] != c.segments[i]) {
        return false;
    }
    c.segments[n - 1] <= v.segments[n - 1]
}

impl Version {
    /// A release version, `MAJOR.MINOR.PATCH`.
    pub(crate) fn release(major: i64, minor: i64, patch: i64) -> Version {
        Version {
            segments: vec![major, minor, patch],
            written: 3,
            pre: String::new(),
        }
    }

    /// Whether it has a pre-release (`1.0.0-beta`).
    pub(crate) fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// The numbers as written (not padded).
    pub(crate) fn written(&self) -> &[i64] {
        &self.segments[..self.written]
    }
}

impl Constraints {
    /// The versions the constraints name.
    pub(crate) fn versions(&self) -> impl Iterator<Item = &Version> {
        self.0.iter().map(|(_, v)| v)
    }
}
