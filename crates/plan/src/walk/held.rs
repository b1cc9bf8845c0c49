//! What a walk's values hold in memory, counted as the evaluator counts
//! work (an element of a collection, [`BYTES_PER_UNIT`] bytes of text),
//! so that values kept from expression to expression (a local doubling
//! the one before, a hundred locals of a million elements each) stop the
//! walk with an error naming the expression rather than take every byte
//! the machine has. Each evaluation has its own limit
//! ([`rewind_eval::Limits`]); this one is for what they keep together.

use rewind_eval::{EvalError, Value};

/// Most units the values of one walk may hold together: the values of a
/// plan of 100,000 resources hold about 2.5 million.
pub(crate) const MAX_HELD: u64 = 50_000_000;

/// Most units the values a walk writes out (resource configurations and
/// root outputs, which the plan and a state hold whole) may expand to
/// together: a value shared (a list of the same list twice) is counted
/// each time it appears, as it is written.
pub(crate) const MAX_WRITTEN: u64 = 50_000_000;

/// Bytes of text counted as one unit, as the evaluator counts them.
const BYTES_PER_UNIT: usize = 8;

/// The units held so far, and the collections and long strings already
/// counted (by address: values share them, and a list of the same list
/// twice holds it once).
#[derive(Default)]
pub(crate) struct Held {
    units: u64,
    seen: rustc_hash::FxHashSet<usize>,
    /// Units of the values written out, expanded.
    written: u64,
}

impl Held {
    /// Counts a value the walk keeps; an error once the walk holds more
    /// than [`MAX_HELD`] units.
    pub(crate) fn keep(&mut self, v: &Value, expr: impl Fn() -> String) -> Result<(), EvalError> {
        self.visit(v);
        if self.units <= MAX_HELD {
            return Ok(());
        }
        Err(EvalError::new(
            super::LIMIT,
            format!(
                "the configuration's values hold more than {MAX_HELD} elements together; rewind stops here rather than run out of memory (keeping {})",
                super::shorten(&expr())
            ),
        ))
    }

    /// Counts a value the walk writes out (a resource instance's
    /// configuration, a root output) as written: every appearance of a
    /// shared collection in full, so that a list of the same list twice,
    /// nested forty deep (2^40 elements in a few lines), stops the walk with
    /// an error naming it instead of expanding it. The expansion is counted
    /// once per shared collection, so this takes time in the number of
    /// distinct collections, not in the expanded size.
    pub(crate) fn write(&mut self, v: &Value, expr: impl Fn() -> String) -> Result<(), EvalError> {
        let mut sizes = rustc_hash::FxHashMap::default();
        let size = expanded(v, &mut sizes);
        self.written = self.written.saturating_add(size);
        if self.written <= MAX_WRITTEN {
            return Ok(());
        }
        Err(EvalError::new(
            super::LIMIT,
            format!(
                "the values written out expand to more than {MAX_WRITTEN} elements (a collection repeated inside a collection is written each time it appears); rewind stops here rather than run out of memory (writing {})",
                super::shorten(&expr())
            ),
        ))
    }

    fn first(&mut self, addr: usize) -> bool {
        self.seen.insert(addr)
    }

    fn visit(&mut self, v: &Value) {
        match v {
            Value::String(s) => {
                if s.len() < 64 || self.first(s.as_ptr() as usize) {
                    self.units += 1 + (s.len() / BYTES_PER_UNIT) as u64;
                }
            }
            Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => {
                if self.first(std::sync::Arc::as_ptr(items) as usize) {
                    self.units += 1;
                    items.iter().for_each(|x| self.visit(x));
                }
            }
            Value::Map(_, m) | Value::Object(m) => {
                if self.first(std::sync::Arc::as_ptr(m) as usize) {
                    self.units += 1;
                    m.values().for_each(|x| self.visit(x));
                }
            }
            Value::Partial(p) => {
                if self.first(std::sync::Arc::as_ptr(&p.attrs) as usize) {
                    self.units += 1;
                    p.attrs.values().for_each(|x| self.visit(x));
                }
                self.visit(&p.rest);
            }
            Value::Sensitive(inner) => self.visit(inner),
            _ => self.units += 1,
        }
    }
}

/// The units a value takes written out in full, each shared collection's
/// size computed once (`sizes`, by address); saturating.
fn expanded(v: &Value, sizes: &mut rustc_hash::FxHashMap<usize, u64>) -> u64 {
    let text = |s: &str| 1 + (s.len() / BYTES_PER_UNIT) as u64;
    // a collection: itself, its keys' text, and its elements
    let mut shared = |addr: usize,
                      keys: &mut dyn Iterator<Item = &String>,
                      items: &mut dyn Iterator<Item = &Value>| {
        if let Some(&n) = sizes.get(&addr) {
            return n;
        }
        let mut n = keys.fold(1u64, |n, k| n.saturating_add(text(k)));
        for x in items {
            n = n.saturating_add(expanded(x, sizes));
        }
        sizes.insert(addr, n);
        n
    };
    match v {
        Value::String(s) => text(s),
        Value::List(_, items) | Value::Set(_, items) | Value::Tuple(items) => shared(
            std::sync::Arc::as_ptr(items) as usize,
            &mut std::iter::empty(),
            &mut items.iter(),
        ),
        Value::Map(_, m) | Value::Object(m) => shared(
            std::sync::Arc::as_ptr(m) as usize,
            &mut m.keys(),
            &mut m.values(),
        ),
        Value::Partial(p) => {
            let attrs = shared(
                std::sync::Arc::as_ptr(&p.attrs) as usize,
                &mut p.attrs.keys(),
                &mut p.attrs.values(),
            );
            attrs.saturating_add(expanded(&p.rest, sizes))
        }
        Value::Sensitive(inner) => expanded(inner, sizes),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: Vec<Value>) -> Value {
        Value::tuple(items)
    }

    /// A list of the same list twice, nested thirty deep, holds thirty
    /// lists of two and the ten numbers at the bottom: counted once each,
    /// in thirty steps, not 2^30.
    #[test]
    fn shared_values_count_once() {
        let mut v = list((0..10).map(Value::int).collect());
        let mut held = Held::default();
        held.keep(&v, String::new).unwrap();
        assert_eq!(held.units, 11);
        for _ in 0..30 {
            v = list(vec![v.clone(), v.clone()]);
        }
        held.keep(&v, String::new).unwrap();
        assert_eq!(held.units, 11 + 30);
    }

    /// Written out, a shared value counts each time it appears, measured
    /// in as many steps as it holds distinct lists: a list of the same
    /// list twice, nested sixty deep (2^60 lists), is refused at once.
    #[test]
    fn written_values_count_expanded() {
        let mut v = list((0..10).map(Value::int).collect());
        for _ in 0..3 {
            v = list(vec![v.clone(), v.clone()]);
        }
        let mut held = Held::default();
        held.write(&v, String::new).unwrap();
        // 8 lists of 11, 4 + 2 + 1 lists above them
        assert_eq!(held.written, 8 * 11 + 7);
        for _ in 0..57 {
            v = list(vec![v.clone(), v.clone()]);
        }
        let err = held
            .write(&v, || "terraform_data.a".to_string())
            .unwrap_err();
        assert!(err.detail.contains("expand to more than"), "{err}");
        assert!(err.detail.contains("(writing terraform_data.a)"), "{err}");
        // an object's keys are written with it
        let mut held = Held::default();
        let keys = (0..3).map(|i| (format!("key{i}"), Value::int(i)));
        held.write(&Value::object(keys.collect()), String::new)
            .unwrap();
        assert_eq!(held.written, 1 + 3 * 2);
    }

    /// Long strings count by their length, once however often kept.
    #[test]
    fn text_counts_by_its_bytes() {
        let s = Value::string("x".repeat(8000));
        let mut held = Held::default();
        held.keep(&s, String::new).unwrap();
        held.keep(&s, String::new).unwrap();
        assert_eq!(held.units, 1001);
    }

    #[test]
    fn past_the_limit_is_an_error_naming_the_expression() {
        let mut held = Held {
            units: MAX_HELD,
            ..Held::default()
        };
        let err = held
            .keep(&Value::int(1), || "local.big".to_string())
            .unwrap_err();
        assert!(err.detail.contains("keeping local.big"), "{err}");
    }
}
