//! String functions.

use unicode_segmentation::UnicodeSegmentation;

use super::*;

pub(super) const NAMES: &[&str] = &[
    "chomp",
    "endswith",
    "format",
    "formatlist",
    "indent",
    "join",
    "lower",
    "regex",
    "regexall",
    "replace",
    "split",
    "startswith",
    "strcontains",
    "strrev",
    "substr",
    "title",
    "trim",
    "trimprefix",
    "trimspace",
    "trimsuffix",
    "upper",
];

const STR: Param = p!("str", P::String);

pub(super) fn lookup(name: &str) -> Option<Spec> {
    let s = |params: &'static [Param], ret: fn(&[Value]) -> Type, imp: Impl| Spec {
        params,
        var_param: None,
        ret,
        partial: false,
        imp,
    };
    Some(match name {
        "chomp" => s(&[STR], ret_string, |_, a| {
            // every trailing newline: \r\n, \r or \n
            Ok(Value::string(arg_str(a, 0).trim_end_matches(['\r', '\n'])))
        }),
        "endswith" => s(&[STR, p!("suffix", P::String)], ret_bool, |_, a| {
            Ok(Value::Bool(arg_str(a, 0).ends_with(arg_str(a, 1))))
        }),
        "startswith" => s(&[STR, p!("prefix", P::String)], ret_bool, |_, a| {
            Ok(Value::Bool(arg_str(a, 0).starts_with(arg_str(a, 1))))
        }),
        "strcontains" => s(&[STR, p!("substr", P::String)], ret_bool, |_, a| {
            Ok(Value::Bool(arg_str(a, 0).contains(arg_str(a, 1))))
        }),
        "lower" => s(&[STR], ret_string, |_, a| {
            Ok(Value::string(simple_case(arg_str(a, 0), false)))
        }),
        "upper" => s(&[STR], ret_string, |_, a| {
            Ok(Value::string(simple_case(arg_str(a, 0), true)))
        }),
        "title" => s(&[STR], ret_string, |_, a| {
            Ok(Value::string(title(arg_str(a, 0))))
        }),
        "strrev" => s(&[STR], ret_string, |_, a| {
            let g: Vec<&str> = arg_str(a, 0).graphemes(true).rev().collect();
            Ok(Value::string(g.concat()))
        }),
        "trimspace" => s(&[STR], ret_string, |_, a| {
            Ok(Value::string(arg_str(a, 0).trim_matches(is_go_space)))
        }),
        "trim" => s(&[STR, p!("cutset", P::String)], ret_string, |_, a| {
            let cut: Vec<char> = arg_str(a, 1).chars().collect();
            Ok(Value::string(
                arg_str(a, 0).trim_matches(|c| cut.contains(&c)),
            ))
        }),
        "trimprefix" => s(&[STR, p!("prefix", P::String)], ret_string, |_, a| {
            let t = arg_str(a, 0);
            Ok(Value::string(t.strip_prefix(arg_str(a, 1)).unwrap_or(t)))
        }),
        "trimsuffix" => s(&[STR, p!("suffix", P::String)], ret_string, |_, a| {
            let t = arg_str(a, 0);
            Ok(Value::string(t.strip_suffix(arg_str(a, 1)).unwrap_or(t)))
        }),
        "indent" => s(&[p!("spaces", P::Number), STR], ret_string, |_, a| {
            let n = arg_int(a, 0, "spaces")?.max(0) as usize;
            let pad = " ".repeat(n);
            let t = arg_str(a, 1);
            Ok(Value::string(t.replace('\n', &format!("\n{pad}"))))
        }),
        "join" => Spec {
            params: &[p!("separator", P::String)],
            var_param: Some(p!("lists", P::ListOf(&P::String))),
            ret: ret_string,
            partial: false,
            imp: |_, a| {
                if a.len() < 2 {
                    return Err(fail("at least one list is required"));
                }
                let mut parts = Vec::new();
                for list in &a[1..] {
                    for v in list.as_seq().unwrap_or_default() {
                        if v.is_null() {
                            return Err(fail("element is null: cannot concatenate null values"));
                        }
                        parts.push(v.as_str().unwrap_or_default().to_string());
                    }
                }
                Ok(Value::string(parts.join(arg_str(a, 0))))
            },
        },
        "split" => s(
            &[p!("separator", P::String), STR],
            ret_list_string,
            |_, a| {
                let sep = arg_str(a, 0);
                let t = arg_str(a, 1);
                let parts: Vec<Value> = if sep.is_empty() {
                    t.chars().map(|c| Value::string(c.to_string())).collect()
                } else {
                    t.split(sep).map(Value::string).collect()
                };
                Ok(Value::list_of(Type::String, parts))
            },
        ),
        "substr" => s(
            &[STR, p!("offset", P::Number), p!("length", P::Number)],
            ret_string,
            |_, a| {
                let g: Vec<&str> = arg_str(a, 0).graphemes(true).collect();
                let mut offset = arg_int(a, 1, "offset")?;
                let length = arg_int(a, 2, "length")?;
                let n = g.len() as i64;
                if offset < 0 {
                    offset += n;
                    if offset < 0 {
                        return Err(fail("offset out of range"));
                    }
                }
                if offset > n {
                    return Ok(Value::string(""));
                }
                let end = if length < 0 {
                    n
                } else {
                    (offset + length).min(n)
                };
                Ok(Value::string(g[offset as usize..end as usize].concat()))
            },
        ),
        "replace" => s(
            &[STR, p!("substr", P::String), p!("replace", P::String)],
            ret_string,
            |_, a| {
                let (t, from, to) = (arg_str(a, 0), arg_str(a, 1), arg_str(a, 2));
                if from.len() > 1 && from.starts_with('/') && from.ends_with('/') {
                    let re = compile(&from[1..from.len() - 1])?;
                    let to = go_template_to_rust(to);
                    return Ok(Value::string(re.replace_all(t, to.as_str())));
                }
                Ok(Value::string(t.replace(from, to)))
            },
        ),
        "regex" => s(&[p!("pattern", P::String), STR], ret_dynamic, |_, a| {
            let re = compile(arg_str(a, 0))?;
            let caps = re
                .captures(arg_str(a, 1))
                .ok_or_else(|| fail("pattern did not match any part of the given string"))?;
            Ok(captures_value(&re, &caps))
        }),
        "regexall" => s(&[p!("pattern", P::String), STR], ret_dynamic, |_, a| {
            let re = compile(arg_str(a, 0))?;
            let all: Vec<Value> = re
                .captures_iter(arg_str(a, 1))
                .map(|c| captures_value(&re, &c))
                .collect();
            let ty = all.first().map(Value::ty).unwrap_or_else(|| {
                if re.captures_len() <= 1 {
                    Type::String
                } else if re.capture_names().flatten().next().is_some() {
                    Type::Dynamic
                } else {
                    Type::tuple(vec![Type::String; re.captures_len() - 1])
                }
            });
            Ok(Value::list_of(ty, all))
        }),
        "format" => Spec {
            params: &[p!("format", P::String)],
            var_param: Some(pf!("args", P::Any, NULL_OK | UNKNOWN_OK)),
            ret: ret_string,
            partial: true,
            imp: |_, a| {
                if a[1..].iter().any(|v| !v.is_wholly_known()) {
                    return Ok(Value::Unknown(Type::String));
                }
                crate::format::format(arg_str(a, 0), &a[1..]).map(Value::string)
            },
        },
        "formatlist" => Spec {
            params: &[p!("format", P::String)],
            var_param: Some(pf!("args", P::Any, NULL_OK | UNKNOWN_OK)),
            ret: ret_list_string,
            partial: true,
            imp: formatlist,
        },
        _ => return None,
    })
}

/// Go's `unicode.IsSpace`.
fn is_go_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}

/// Number of grapheme clusters (what `length` counts in a string).
pub(crate) fn grapheme_count(s: &str) -> usize {
    s.graphemes(true).count()
}

/// Go's `strings.ToUpper`/`ToLower`: one character for one character.
fn simple_case(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| {
            let mut it: Box<dyn Iterator<Item = char>> = if upper {
                Box::new(c.to_uppercase())
            } else {
                Box::new(c.to_lowercase())
            };
            match (it.next(), it.next()) {
                (Some(x), None) => x,
                _ => c,
            }
        })
        .collect()
}

/// Go's deprecated `strings.Title`: the first letter of each word in
/// upper case.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev = ' ';
    for c in s.chars() {
        let sep = !(prev.is_alphanumeric() || prev == '_' || prev == '\'');
        if sep {
            out.push_str(&simple_case(&c.to_string(), true));
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

fn compile(pattern: &str) -> Result<regex::Regex> {
    regex::Regex::new(pattern).map_err(|e| fail(format!("invalid regular expression pattern: {e}")))
}

/// Go's `$1`/`${name}` replacement syntax as the regex crate's.
fn go_template_to_rust(t: &str) -> String {
    // both use $name and ${name}; Go treats `$1x` as the group named "1x"
    // as the regex crate does, so the syntax carries over
    t.to_string()
}

/// `regex` results: the match, a tuple of the groups, or an object of the
/// named groups.
fn captures_value(re: &regex::Regex, caps: &regex::Captures) -> Value {
    let names: Vec<Option<&str>> = re.capture_names().collect();
    if names.len() <= 1 {
        return Value::string(caps.get(0).map(|m| m.as_str()).unwrap_or_default());
    }
    if names.iter().skip(1).any(Option::is_some) {
        let mut m = std::collections::BTreeMap::new();
        for (i, n) in names.iter().enumerate().skip(1) {
            if let Some(n) = n {
                let v = match caps.get(i) {
                    Some(x) => Value::string(x.as_str()),
                    None => Value::Null(Type::String),
                };
                m.insert(n.to_string(), v);
            }
        }
        return Value::object(m);
    }
    Value::tuple(
        (1..names.len())
            .map(|i| match caps.get(i) {
                Some(x) => Value::string(x.as_str()),
                None => Value::Null(Type::String),
            })
            .collect(),
    )
}

fn formatlist(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let fmt = arg_str(a, 0);
    let args = &a[1..];
    if args.is_empty() {
        return Ok(Value::list_of(
            Type::String,
            vec![Value::string(crate::format::format(fmt, &[])?)],
        ));
    }
    let mut len: Option<usize> = None;
    for v in args {
        if !v.is_known() {
            return Ok(Value::Unknown(Type::list(Type::String)));
        }
        if let Some(items) = v
            .as_seq()
            .filter(|_| matches!(v.ty(), Type::List(_) | Type::Tuple(_) | Type::Set(_)))
        {
            match len {
                None => len = Some(items.len()),
                Some(n) if n != items.len() => {
                    return Err(fail(format!(
                        "argument has length {} but an earlier argument has length {n}; all list arguments must have the same length",
                        items.len()
                    )))
                }
                _ => {}
            }
        }
    }
    let n = len.unwrap_or(1);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let row: Vec<Value> = args
            .iter()
            .map(|v| match v.as_seq() {
                Some(items) if v.is_collection() && v.as_mapping().is_none() => items[i].clone(),
                _ => v.clone(),
            })
            .collect();
        if row.iter().any(|v| !v.is_wholly_known()) {
            out.push(Value::Unknown(Type::String));
        } else {
            out.push(Value::string(crate::format::format(fmt, &row)?));
        }
    }
    Ok(Value::list_of(Type::String, out))
}
