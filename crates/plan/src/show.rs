//! How a changed argument reads in a plan: the difference, not two walls of
//! text.
//!
//! `terraform plan` shows a changed map as the keys that changed and a count
//! of the ones that did not; rewind's reasons are one line per argument, so
//! the same idea is written inline: `{ ~ CostCenter = "cc-5310" -> "cc-4127",
//! 4 unchanged }`. A long string is elided around its first difference, so
//! the two sides never look the same after the cut.

use rewind_eval::{inline, Value};
use rewind_model::value::{is_identifier, quote};

/// Longest rendering of a whole value before it is cut.
const WHOLE: usize = 200;
/// Longest `before -> after` shown whole.
const PAIR: usize = 160;
/// Changed members listed before the rest are counted.
const LISTED: usize = 5;
/// Longest rendering of an element added to or removed from a list.
const BRIEF: usize = 120;
/// Characters of context kept on each side of a string's difference.
const CONTEXT: usize = 24;
/// Longest differing middle of a string shown before it is cut.
const MIDDLE: usize = 60;

/// A value rendered whole, cut at [`WHOLE`] characters.
pub(crate) fn shown(v: &Value) -> String {
    cut(&inline(v))
}

/// `before -> after` for one changed argument (an absent side is `null`),
/// focused on what differs.
pub(crate) fn difference(before: Option<&Value>, after: Option<&Value>) -> String {
    let null = Value::null();
    diff(before.unwrap_or(&null), after.unwrap_or(&null), 0, false)
}

/// `block`: `a` is a nested block of the configuration, whose unset (absent
/// or null) arguments keep the prior value, as the planner compares them.
fn diff(b: &Value, a: &Value, depth: usize, block: bool) -> String {
    let (bs, as_) = (inline(b), inline(a));
    if bs.chars().count() + as_.chars().count() <= PAIR || depth > 8 {
        return format!("{} -> {}", cut(&bs), cut(&as_));
    }
    match (b, a) {
        (Value::Object(bm) | Value::Map(_, bm), Value::Object(am) | Value::Map(_, am)) => {
            let mut keys: Vec<&String> = bm.keys().chain(am.keys()).collect();
            keys.sort();
            keys.dedup();
            let mut parts = Vec::new();
            let mut unchanged = 0;
            for k in keys {
                let name = if is_identifier(k) {
                    k.clone()
                } else {
                    quote(k)
                };
                match (bm.get(k), am.get(k)) {
                    (Some(x), Some(y)) if x == y => unchanged += 1,
                    (_, None) if block => unchanged += 1,
                    (_, Some(y)) if block && y.is_null() => unchanged += 1,
                    (Some(x), Some(y)) => {
                        parts.push(format!("~ {name} = {}", diff(x, y, depth + 1, false)))
                    }
                    (Some(x), None) => parts.push(format!("- {name} = {}", shown(x))),
                    (None, Some(y)) => parts.push(format!("+ {name} = {}", shown(y))),
                    (None, None) => {}
                }
            }
            format!("{{ {} }}", members(parts, unchanged))
        }
        (
            Value::List(_, bl) | Value::Tuple(bl) | Value::Set(_, bl),
            Value::List(_, al) | Value::Tuple(al) | Value::Set(_, al),
        ) => {
            let is_set = matches!(b, Value::Set(..)) || matches!(a, Value::Set(..));
            format!("[ {} ]", sequence(bl, al, is_set, depth))
        }
        (Value::String(x), Value::String(y)) => {
            let (x, y) = around_difference(x, y);
            format!("{x} -> {y}")
        }
        _ => format!("{} -> {}", cut(&bs), cut(&as_)),
    }
}

/// The changed members of a sequence: element by element when the lengths
/// agree, else the common ends counted and the middle shown as removed and
/// added elements (for a set: the elements only one side has).
fn sequence(b: &[Value], a: &[Value], is_set: bool, depth: usize) -> String {
    let mut parts = Vec::new();
    let mut unchanged = 0;
    if !a.is_empty() && a.iter().all(|y| y.as_mapping().is_some()) {
        // nested blocks: matched in any order on the arguments the
        // configuration sets, as the planner compares them; the rest
        // paired in order when both sides have as many
        let mut used = vec![false; b.len()];
        let mut unmatched = Vec::new();
        for (j, y) in a.iter().enumerate() {
            match (0..b.len()).find(|&i| !used[i] && crate::resource::block_eq(y, &b[i])) {
                Some(i) => {
                    used[i] = true;
                    unchanged += 1;
                }
                None => unmatched.push(j),
            }
        }
        let left: Vec<usize> = (0..b.len()).filter(|&i| !used[i]).collect();
        if left.len() == unmatched.len() {
            for (&i, &j) in left.iter().zip(&unmatched) {
                parts.push(format!("~ [{j}] = {}", diff(&b[i], &a[j], depth + 1, true)));
            }
        } else {
            parts.extend(left.iter().map(|&i| format!("- {}", brief(&b[i]))));
            parts.extend(unmatched.iter().map(|&j| format!("+ {}", brief(&a[j]))));
        }
    } else if is_set {
        for x in b {
            if a.contains(x) {
                unchanged += 1;
            } else {
                parts.push(format!("- {}", shown(x)));
            }
        }
        parts.extend(
            a.iter()
                .filter(|y| !b.contains(y))
                .map(|y| format!("+ {}", shown(y))),
        );
    } else if b.len() == a.len() {
        for (i, (x, y)) in b.iter().zip(a).enumerate() {
            if x == y {
                unchanged += 1;
            } else {
                let block = y.as_mapping().is_some();
                parts.push(format!("~ [{i}] = {}", diff(x, y, depth + 1, block)));
            }
        }
    } else {
        let head = b.iter().zip(a).take_while(|(x, y)| x == y).count();
        let tail = b[head..]
            .iter()
            .rev()
            .zip(a[head..].iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        unchanged = head + tail;
        parts.extend(
            b[head..b.len() - tail]
                .iter()
                .map(|x| format!("- {}", shown(x))),
        );
        parts.extend(
            a[head..a.len() - tail]
                .iter()
                .map(|y| format!("+ {}", shown(y))),
        );
    }
    members(parts, unchanged)
}

/// An element added or removed, shorter than a whole value: its
/// non-empty members only.
fn brief(v: &Value) -> String {
    let s = match v.as_mapping() {
        Some(m) => {
            let kept: rewind_eval::Map<String, Value> = m
                .iter()
                .filter(|(_, x)| !x.is_null() && x.len().is_none_or(|n| n > 0))
                .map(|(k, x)| (k.clone(), x.clone()))
                .collect();
            inline(&Value::object(kept))
        }
        None => inline(v),
    };
    if s.chars().count() > BRIEF {
        let c: String = s.chars().take(BRIEF - 3).collect();
        format!("{c}...")
    } else {
        s
    }
}

/// Changed members, then how many more changed and how many did not.
fn members(mut parts: Vec<String>, unchanged: usize) -> String {
    let more = parts.len().saturating_sub(LISTED);
    parts.truncate(LISTED);
    if more > 0 {
        parts.push(format!("{more} more changed"));
    }
    if unchanged > 0 {
        parts.push(format!("{unchanged} unchanged"));
    }
    parts.join(", ")
}

/// Two strings quoted, each cut to its difference with some context:
/// `"…VERSION=2024.04.2\nAPP…"` and `"…VERSION=2024.03.1\nAPP…"`.
fn around_difference(x: &str, y: &str) -> (String, String) {
    let xc: Vec<char> = x.chars().collect();
    let yc: Vec<char> = y.chars().collect();
    let prefix = xc.iter().zip(&yc).take_while(|(p, q)| p == q).count();
    let max_suffix = xc.len().min(yc.len()) - prefix;
    let suffix = xc
        .iter()
        .rev()
        .zip(yc.iter().rev())
        .take(max_suffix)
        .take_while(|(p, q)| p == q)
        .count();
    let side = |c: &[char]| {
        let start = prefix.saturating_sub(CONTEXT);
        let middle_end = c.len() - suffix;
        let middle: String = c[prefix..middle_end].iter().collect();
        let (middle, middle_cut) = if middle_end - prefix > MIDDLE {
            (c[prefix..prefix + MIDDLE].iter().collect(), true)
        } else {
            (middle, false)
        };
        let after_end = (middle_end + CONTEXT).min(c.len());
        let before: String = c[start..prefix].iter().collect();
        let after: String = if middle_cut {
            String::new()
        } else {
            c[middle_end..after_end].iter().collect()
        };
        let text = quote(&format!("{before}{middle}{after}"));
        let inner = &text[1..text.len() - 1];
        let open = if start > 0 { "\"…" } else { "\"" };
        let close = if middle_cut || after_end < c.len() {
            "…\""
        } else {
            "\""
        };
        format!("{open}{inner}{close}")
    };
    (side(&xc), side(&yc))
}

fn cut(s: &str) -> String {
    if s.chars().count() > WHOLE {
        let c: String = s.chars().take(WHOLE - 3).collect();
        format!("{c}...")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_eval::Map;
    use std::sync::Arc;

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::Object(Arc::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<Map<_, _>>(),
        ))
    }

    fn tags(cost: &str) -> Value {
        obj(&[
            ("CostCenter", Value::string(cost)),
            ("Environment", Value::string("production-eu-west-1")),
            ("ManagedBy", Value::string("terraform")),
            ("Owner", Value::string("team-checkout-payments")),
            ("Project", Value::string("shop")),
        ])
    }

    #[test]
    fn short_values_are_shown_whole() {
        assert_eq!(
            difference(Some(&Value::string("a")), Some(&Value::string("b"))),
            r#""a" -> "b""#
        );
        assert_eq!(difference(None, Some(&Value::int(3))), "null -> 3");
    }

    #[test]
    fn a_map_shows_the_keys_that_changed() {
        let d = difference(Some(&tags("cc-5310")), Some(&tags("cc-4127")));
        assert_eq!(
            d,
            r#"{ ~ CostCenter = "cc-5310" -> "cc-4127", 4 unchanged }"#
        );
    }

    #[test]
    fn a_list_of_objects_shows_the_element_and_key_that_changed() {
        let tag = |v: &str| {
            obj(&[
                ("key", Value::string("CostCenter")),
                ("propagate_at_launch", Value::Bool(true)),
                ("value", Value::string(v)),
            ])
        };
        let other = obj(&[
            ("key", Value::string("Environment")),
            ("propagate_at_launch", Value::Bool(true)),
            ("value", Value::string("production-eu-west-1")),
        ]);
        let b = Value::tuple(vec![tag("cc-5310"), other.clone(), other.clone()]);
        let a = Value::tuple(vec![tag("cc-4127"), other.clone(), other]);
        let d = difference(Some(&b), Some(&a));
        assert!(d.starts_with("[ ~ [0] = "), "{d}");
        // the element is short enough to show whole on both sides
        assert!(d.contains(r#"value = "cc-5310" } -> {"#), "{d}");
        assert!(d.contains(r#"value = "cc-4127" }, "#), "{d}");
        assert!(d.ends_with("2 unchanged ]"), "{d}");
    }

    #[test]
    fn a_long_string_is_elided_around_its_difference() {
        let head = "x".repeat(300);
        let tail = "y".repeat(300);
        let b = Value::string(format!("{head}APP_VERSION=2024.04.2\n{tail}"));
        let a = Value::string(format!("{head}APP_VERSION=2024.03.1\n{tail}"));
        let d = difference(Some(&b), Some(&a));
        let (l, r) = d.split_once(" -> ").unwrap();
        assert_ne!(l, r, "both sides must differ after the cut");
        assert!(l.contains("2024.04.2\\n"), "{d}");
        assert!(r.contains("2024.03.1\\n"), "{d}");
        assert!(l.starts_with("\"…") && l.ends_with("…\""), "{d}");
        assert!(d.len() < 200, "{d}");
    }

    #[test]
    fn an_insertion_and_a_long_middle_still_differ() {
        let base = "z".repeat(400);
        let b = Value::string(&base);
        let a = Value::string(format!(
            "{}{}{}",
            &base[..200],
            "n".repeat(500),
            &base[200..]
        ));
        let d = difference(Some(&b), Some(&a));
        let (l, r) = d.split_once(" -> ").unwrap();
        assert_ne!(l, r, "{d}");
        assert!(r.contains(&"n".repeat(60)), "{d}");
        assert!(!r.contains(&"n".repeat(61)), "{d}");
    }

    #[test]
    fn sets_and_lists_of_other_lengths_show_what_was_added_and_removed() {
        let items = |xs: &[&str]| {
            Value::tuple(
                xs.iter()
                    .map(|s| Value::string(format!("arn:aws:iam::123456789012:policy/{s}")))
                    .collect(),
            )
        };
        let b = items(&["read-only", "billing", "audit", "support"]);
        let a = items(&["read-only", "billing", "deploy", "audit", "support"]);
        let d = difference(Some(&b), Some(&a));
        assert_eq!(
            d,
            r#"[ + "arn:aws:iam::123456789012:policy/deploy", 4 unchanged ]"#
        );
    }

    #[test]
    fn nested_blocks_match_in_any_order_on_what_the_configuration_sets() {
        let rule = |port: i64, desc: &str, deployed: bool| {
            let mut m = vec![
                ("description", Value::string(desc)),
                ("from_port", Value::int(port)),
                ("protocol", Value::string("tcp")),
                ("to_port", Value::int(port)),
            ];
            if deployed {
                m.push(("ipv6_cidr_blocks", Value::tuple(vec![])));
                m.push(("self", Value::Bool(false)));
            }
            obj(&m)
        };
        let b = Value::tuple(vec![
            rule(22, "SSH from the bastion host of the operations VPC", true),
            rule(
                80,
                "HTTP from the load balancer in the public subnets",
                true,
            ),
            rule(8080, "Application port from the load balancer", true),
        ]);
        // the configuration: one rule gone, the others in another order
        let a = Value::tuple(vec![
            rule(8080, "Application port from the load balancer", false),
            rule(
                80,
                "HTTP from the load balancer in the public subnets",
                false,
            ),
        ]);
        let d = difference(Some(&b), Some(&a));
        assert!(d.starts_with("[ - { description = \"SSH from"), "{d}");
        assert!(
            !d.contains("ipv6_cidr_blocks"),
            "empty members are left out: {d}"
        );
        assert!(d.ends_with(", 2 unchanged ]"), "{d}");
    }

    #[test]
    fn many_changed_members_are_counted() {
        let m = |v: &str| {
            obj(&(0..9)
                .map(|i| {
                    (
                        ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"][i],
                        Value::string(format!("{v}-{i}-long-enough-value")),
                    )
                })
                .collect::<Vec<_>>())
        };
        let d = difference(Some(&m("a")), Some(&m("b")));
        assert!(d.contains("~ k4 = "), "{d}");
        assert!(!d.contains("~ k5 = "), "{d}");
        assert!(d.ends_with("4 more changed }"), "{d}");
    }
}
