//! String functions.

use unicode_segmentation::UnicodeSegmentation;

use super::*;

#[cfg(test)]
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
    let s = fixed;
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
        "indent" => s(&[p!("spaces", P::Number), STR], ret_string, indent),
        "join" => variadic(
            &[p!("separator", P::String)],
            p!("lists", P::ListOf(&P::String)),
            ret_string,
            false,
            join,
        ),
        "split" => s(&[p!("separator", P::String), STR], ret_list_string, split),
        "substr" => s(
            &[STR, p!("offset", P::Number), p!("length", P::Number)],
            ret_string,
            substr,
        ),
        "replace" => s(
            &[STR, p!("substr", P::String), p!("replace", P::String)],
            ret_string,
            replace,
        ),
        "regex" => s(&[p!("pattern", P::String), STR], ret_dynamic, regex_fn),
        "regexall" => s(&[p!("pattern", P::String), STR], ret_dynamic, regexall),
        "format" => variadic(
            &[p!("format", P::String)],
            pf!("args", P::Any, NULL_OK | UNKNOWN_OK),
            ret_string,
            true,
            format_fn,
        ),
        "formatlist" => variadic(
            &[p!("format", P::String)],
            pf!("args", P::Any, NULL_OK | UNKNOWN_OK),
            ret_list_string,
            true,
            formatlist,
        ),
        _ => return None,
    })
}

/// `indent(spaces, string)`: every line but the first indented.
fn indent(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let n = arg_int(a, 0, "spaces")?;
    // Go's strings.Repeat panics on a negative count
    let n = usize::try_from(n).map_err(|_| fail("strings: negative Repeat count"))?;
    let pad = " ".repeat(n);
    let t = arg_str(a, 1);
    Ok(Value::string(t.replace('\n', &format!("\n{pad}"))))
}

/// `join(separator, lists...)`: a null element is an error naming it.
fn join(ev: &mut Evaluator, a: &[Value]) -> Result<Value> {
    if a.len() < 2 {
        return Err(fail("at least one list is required"));
    }
    // counted before it is built: the same long string many times over
    // is a short list
    let sep = arg_str(a, 0).len();
    let mut total = 0usize;
    for list in &a[1..] {
        for v in list.as_seq().unwrap_or_default() {
            total = total.saturating_add(v.as_str().map_or(0, str::len) + sep);
        }
    }
    ev.spend_bytes(total)?;
    let mut parts = Vec::new();
    let lists = a.len() - 1;
    for (ai, list) in a[1..].iter().enumerate() {
        for (ei, v) in list.as_seq().unwrap_or_default().iter().enumerate() {
            if v.is_null() {
                return Err(arg_fail(
                    "lists",
                    if lists > 1 {
                        format!(
                            "element {ei} of list {} is null; cannot concatenate null values",
                            ai + 1
                        )
                    } else {
                        format!("element {ei} is null; cannot concatenate null values")
                    },
                ));
            }
            parts.push(v.as_str().unwrap_or_default().to_string());
        }
    }
    Ok(Value::string(parts.join(arg_str(a, 0))))
}

/// `split(separator, string)`: an empty separator splits every character.
fn split(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let sep = arg_str(a, 0);
    let t = arg_str(a, 1);
    let parts: Vec<Value> = if sep.is_empty() {
        t.chars().map(|c| Value::string(c.to_string())).collect()
    } else {
        t.split(sep).map(Value::string).collect()
    };
    Ok(Value::list_of(Type::String, parts))
}

/// `substr(string, offset, length)` in grapheme clusters, as cty counts.
fn substr(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let g: Vec<&str> = arg_str(a, 0).graphemes(true).collect();
    let mut offset = arg_int(a, 1, "offset")?;
    let length = arg_int(a, 2, "length")?;
    let n = g.len() as i64;
    if offset < 0 {
        // from the end, and from the start when still negative
        offset += n;
    } else if length == 0 {
        return Ok(Value::string(""));
    }
    let start = offset.clamp(0, n) as usize;
    // cty counts `length` clusters from the start, and a zero
    // length after a negative offset takes the rest
    let end = if length <= 0 {
        g.len()
    } else {
        (start as i64 + length).min(n) as usize
    };
    Ok(Value::string(g[start..end].concat()))
}

/// `replace(string, substr, replace)`: a `/pattern/` substring is a regex.
fn replace(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let (t, from, to) = (arg_str(a, 0), arg_str(a, 1), arg_str(a, 2));
    if from.len() > 1 && from.starts_with('/') && from.ends_with('/') {
        // Terraform's replace reports a bad pattern as a failed call
        let re = regex::Regex::new(&from[1..from.len() - 1])
            .map_err(|e| fail(format!("error parsing regexp: {e}")))?;
        let to = go_template_to_rust(to);
        return Ok(Value::string(re.replace_all(t, to.as_str())));
    }
    Ok(Value::string(t.replace(from, to)))
}

/// `regex(pattern, string)`: the first match's captures.
fn regex_fn(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let re = compile(arg_str(a, 0))?;
    let caps = re
        .captures(arg_str(a, 1))
        .ok_or_else(|| fail("pattern did not match any part of the given string"))?;
    Ok(captures_value(&re, &caps))
}

/// `regexall(pattern, string)`: every match's captures; the element type
/// of an empty result follows the pattern's groups.
fn regexall(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
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
}

/// `format(spec, args...)`: unknown until every argument is known, and a
/// symbol when one is opaque.
fn format_fn(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    if a[1..].iter().any(|v| !v.is_wholly_known()) {
        return Ok(Value::Unknown(Type::String));
    }
    if a[1..].iter().any(Value::has_opaque) {
        let parts: Vec<String> = a.iter().map(crate::render::symbol).collect();
        let sym = format!("format({})", parts.join(", "));
        return Ok(crate::render::opaque(Type::String, sym));
    }
    crate::format::format(arg_str(a, 0), &a[1..]).map(Value::string)
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

/// Go's `strings.ToUpper`/`ToLower`: each character by its simple case
/// mapping (one character for one character).
fn simple_case(s: &str, upper: bool) -> String {
    s.chars()
        .map(|c| if upper { to_upper(c) } else { to_lower(c) })
        .collect()
}

/// Go's `unicode.ToLower`: Rust's mapping where it is one character; the
/// only character whose full mapping is longer is `İ`, simply `i`.
fn to_lower(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

/// Go's `unicode.ToUpper`: Rust's mapping where it is one character; of
/// the characters whose full mapping is longer, only the Greek letters
/// with a subscript iota have a simple one (their title-case form).
fn to_upper(c: char) -> char {
    if let Some(t) = greek_iota_title(c) {
        return t;
    }
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

/// The simple upper and title case of the Greek letters with a subscript
/// iota (U+1F80-1FAF, U+1FB3, U+1FC3, U+1FF3).
fn greek_iota_title(c: char) -> Option<char> {
    let u = c as u32;
    let t = match u {
        0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7 => u + 8,
        0x1F88..=0x1F8F | 0x1F98..=0x1F9F | 0x1FA8..=0x1FAF => u,
        0x1FB3 | 0x1FC3 | 0x1FF3 => u + 9,
        _ => return None,
    };
    char::from_u32(t)
}

/// Go's `unicode.ToTitle`: the upper case, except for the Latin digraphs
/// (their title-case letter) and Georgian letters (unchanged).
fn to_title(c: char) -> char {
    match c {
        '\u{1C4}'..='\u{1C6}' => '\u{1C5}',
        '\u{1C7}'..='\u{1C9}' => '\u{1C8}',
        '\u{1CA}'..='\u{1CC}' => '\u{1CB}',
        '\u{1F1}'..='\u{1F3}' => '\u{1F2}',
        '\u{10D0}'..='\u{10FA}' | '\u{10FD}'..='\u{10FF}' => c,
        _ => to_upper(c),
    }
}

/// Go's `strings.Title`: the first letter of each word in title case,
/// words separated by anything but ASCII letters, digits and `_`, and
/// (beyond ASCII) by white space only.
fn title(s: &str) -> String {
    let sep = |r: char| -> bool {
        if r.is_ascii() {
            return !(r.is_ascii_alphanumeric() || r == '_');
        }
        is_go_space(r)
    };
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if sep(prev) { to_title(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

fn compile(pattern: &str) -> Result<regex::Regex> {
    regex::Regex::new(pattern)
        .map_err(|e| arg_fail("pattern", format!("error parsing pattern: {e}")))
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
        return Value::object(m.into_iter().collect());
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
                    return Err(arg_fail(
                        "args",
                        format!(
                            "argument has length {} which is inconsistent with an earlier argument of length {n}",
                            items.len()
                        ),
                    ))
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
        } else if row.iter().any(Value::has_opaque) {
            let parts: Vec<String> = std::iter::once(&a[0])
                .chain(row.iter())
                .map(crate::render::symbol)
                .collect();
            let sym = format!("format({})", parts.join(", "));
            out.push(crate::render::opaque(Type::String, sym));
        } else {
            out.push(Value::string(crate::format::format(fmt, &row)?));
        }
    }
    Ok(Value::list_of(Type::String, out))
}
