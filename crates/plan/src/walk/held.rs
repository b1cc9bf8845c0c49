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

/// Bytes of text counted as one unit, as the evaluator counts them.
const BYTES_PER_UNIT: usize = 8;

/// The units held so far, and the collections and long strings already
/// counted (by address: values share them, and a list of the same list
/// twice holds it once).
#[derive(Default)]
pub(crate) struct Held {
    units: u64,
    seen: rustc_hash::FxHashSet<usize>,
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
