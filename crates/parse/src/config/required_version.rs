//! `terraform { required_version = "..." }`: Terraform's version
//! constraint syntax (hashicorp/go-version, which Terraform reads it
//! with), and whether Terraform 1.11 satisfies it.
//!
//! A constraint is a comma-separated list, all of which must hold; each is
//! an operator (`=` or none, `!=`, `>`, `>=`, `<`, `<=`, `~>`) and a
//! version (`v` allowed before it, any number of numeric segments, a
//! prerelease and build metadata after them). Versions compare by their
//! segments, zero-padded; `~> X.Y` allows X.Y and later versions of the
//! same X (the segments before the last written one are fixed). Terraform
//! refuses a prerelease in a core version constraint.

/// The first minor version of Terraform whose behaviour rewind follows.
const MAJOR_MINOR: [u64; 2] = [1, 11];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Pessimistic,
}

/// One constraint: its operator and version, as numeric segments (the
/// ones written: go-version's `si`).
#[derive(Debug)]
struct Constraint {
    op: Op,
    segments: Vec<u64>,
}

const INVALID: &str =
    "Invalid version constraint: This string does not use correct version constraint syntax.";

/// Whether some Terraform 1.11 release satisfies `text`; an error when
/// Terraform refuses the constraint itself (its messages, terraform
/// 1.11.4: "Invalid version constraint", "Invalid required_version
/// constraint" for a prerelease).
pub(crate) fn allows_1_11(text: &str) -> Result<bool, String> {
    let mut all = Vec::new();
    for single in text.split(',') {
        let (c, prerelease) = parse_single(single).ok_or_else(|| INVALID.to_string())?;
        if prerelease {
            return Err(format!(
                "Invalid required_version constraint: Prerelease version constraints are not supported: {}. Remove the prerelease information from the constraint. Prerelease versions of terraform will match constraints using their version core only.",
                single.trim()
            ));
        }
        all.push(c);
    }
    // the patch versions where the constraints can change their answer
    let mut patches = vec![0];
    for c in &all {
        if c.segments.len() >= 2 && c.segments[..2] == MAJOR_MINOR {
            let p = c.segments.get(2).copied().unwrap_or(0);
            patches.extend([p, p.saturating_add(1)]);
        }
    }
    Ok(patches.iter().any(|&p| {
        let v = [MAJOR_MINOR[0], MAJOR_MINOR[1], p];
        all.iter().all(|c| c.allows(&v))
    }))
}

impl Constraint {
    /// Whether version `v` (three segments, no prerelease) satisfies it.
    fn allows(&self, v: &[u64; 3]) -> bool {
        let ord = compare(v, &self.segments);
        match self.op {
            Op::Eq => ord.is_eq(),
            Op::Ne => !ord.is_eq(),
            Op::Gt => ord.is_gt(),
            Op::Ge => ord.is_ge(),
            Op::Lt => ord.is_lt(),
            Op::Le => ord.is_le(),
            Op::Pessimistic => self.pessimistic(v),
        }
    }

    /// go-version's `constraintPessimistic`: not below the constraint,
    /// no more segments written than the version has (go-version pads
    /// both to three), and the same segments before the last written.
    fn pessimistic(&self, v: &[u64; 3]) -> bool {
        if compare(v, &self.segments).is_lt() || self.segments.len() > v.len() {
            return false;
        }
        let fixed = self.segments.len().saturating_sub(1);
        v[..fixed] == self.segments[..fixed]
    }
}

/// Versions compared by their segments, the shorter padded with zeros.
fn compare(a: &[u64], b: &[u64]) -> std::cmp::Ordering {
    let n = a.len().max(b.len());
    let at = |s: &[u64], i: usize| s.get(i).copied().unwrap_or(0);
    (0..n)
        .map(|i| at(a, i).cmp(&at(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// Go's `\s`.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')
}

/// One constraint of the list, and whether its version has a
/// prerelease; `None` when go-version's pattern does not match it.
fn parse_single(s: &str) -> Option<(Constraint, bool)> {
    let s = s.trim_matches(is_space);
    let ops = [
        ("!=", Op::Ne),
        (">=", Op::Ge),
        ("<=", Op::Le),
        ("~>", Op::Pessimistic),
        ("=", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
    ];
    let (op, rest) = ops
        .iter()
        .find_map(|(p, op)| s.strip_prefix(p).map(|r| (*op, r)))
        .unwrap_or((Op::Eq, s));
    let rest = rest.trim_start_matches(is_space);
    let rest = rest.strip_prefix('v').unwrap_or(rest);
    // the numeric segments
    let end = rest
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(rest.len());
    let (numbers, tail) = rest.split_at(end);
    // a trailing dot is no segment (`1.` does not match)
    let mut segments = Vec::new();
    for part in numbers.split('.') {
        if part.is_empty() {
            return None;
        }
        // go-version parses segments as int64
        segments.push(part.parse::<i64>().ok()? as u64);
    }
    let (prerelease, metadata) = match tail.split_once('+') {
        Some((p, m)) => (p, Some(m)),
        None => (tail, None),
    };
    if !prerelease.is_empty() && !is_prerelease(prerelease) {
        return None;
    }
    if metadata.is_some_and(|m| !dotted_ids(m)) {
        return None;
    }
    Some((Constraint { op, segments }, !prerelease.is_empty()))
}

/// A character of a prerelease or metadata identifier.
fn is_id(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '~'
}

/// Identifiers of [`is_id`] characters, one or more, separated by dots.
fn dotted_ids(s: &str) -> bool {
    s.split('.')
        .all(|id| !id.is_empty() && id.chars().all(is_id))
}

/// go-version's prerelease: `-` then identifiers (the first may be
/// empty: `1.0-` has the prerelease `-`), or a first identifier that
/// starts with a letter, `-` or `~` (`1.0beta1`).
fn is_prerelease(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '-' || first == '~') {
        return false;
    }
    let (head, rest) = s.split_once('.').unwrap_or((s, ""));
    head.chars().all(is_id) && (rest.is_empty() && !s.ends_with('.') || dotted_ids(rest))
}

#[cfg(test)]
mod tests {
    use super::allows_1_11;

    /// Each answer as terraform 1.11.4 gave it (`terraform plan` on a
    /// terraform block with the constraint): allowed, or refused as
    /// unsupported, or the constraint refused; 1.11.x beside 1.11.4 by
    /// go-version's rules.
    #[test]
    fn constraints_as_terraform_reads_them() {
        for ok in [
            ">= 1.2, < 2.0",
            "~> 1.5",
            "v1.11.4",
            ">=1.0,<=2",
            "1.11.4+foo",
            "~> 1",
            "~>1.11.4",
            "  >=  1.0  ",
            "1.11.4.0",
            "= 1.11.0",
            "1.11",
            "~> 1.11.5",
            "!= 1.11.4",
            "> 1.11.0.5",
            "< 1.11.0.5",
        ] {
            assert_eq!(allows_1_11(ok), Ok(true), "{ok}");
        }
        for excluded in [
            "~> 1.5.0",
            "~> 0.12",
            ">= 1.12",
            "~> 1.11.4.0",
            "< 1.11",
            "~> 1.10.0",
            ">= 1.2, < 1.11",
        ] {
            assert_eq!(allows_1_11(excluded), Ok(false), "{excluded}");
        }
        for invalid in [
            "",
            "abc",
            ", >= 1.0",
            "=> 1.0",
            ">= 1.0 <2",
            "V1.0",
            "true",
            "> 1.10.99999999999999999999",
            "1.",
            "1..2",
            "1.0+",
        ] {
            let e = allows_1_11(invalid).expect_err(invalid);
            assert!(
                e.starts_with("Invalid version constraint:"),
                "{invalid}: {e}"
            );
        }
        for prerelease in [
            ">= 1.12.0-beta1",
            "1.0beta1",
            "1.11.4-",
            "~> 1.11.0-rc1+abc",
        ] {
            let e = allows_1_11(prerelease).expect_err(prerelease);
            assert!(
                e.starts_with("Invalid required_version constraint: Prerelease version constraints are not supported: "),
                "{prerelease}: {e}"
            );
        }
    }
}
