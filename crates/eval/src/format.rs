//! `format()`: printf-style verbs as cty implements them (Go's `fmt` on
//! big numbers and strings, `%v` and `%q` through JSON).

use unicode_segmentation::UnicodeSegmentation;

use crate::convert::convert;
use crate::expr::{EvalError, Result};
use crate::number::{Digits, Number};
use crate::types::Type;
use crate::value::Value;

fn fail(msg: String) -> EvalError {
    EvalError::new("Error in function call", msg)
}

#[derive(Default, Debug)]
struct Verb {
    raw: String,
    offset: usize,
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
    arg: usize,
    mode: char,
}

/// Formats `args` by the verbs of `fmt`.
pub fn format(fmt: &str, args: &[Value]) -> Result<String> {
    let mut out = String::new();
    let chars: Vec<(usize, char)> = fmt.char_indices().collect();
    let mut i = 0;
    let mut next_arg = 1usize;
    let mut highest = 0usize;
    while i < chars.len() {
        let (off, c) = chars[i];
        if c != '%' {
            out.push(c);
            i += 1;
            continue;
        }
        if i + 1 < chars.len() && chars[i + 1].1 == '%' {
            out.push('%');
            i += 2;
            continue;
        }
        let mut v = Verb {
            offset: off,
            ..Verb::default()
        };
        let start = i;
        i += 1;
        while i < chars.len() {
            match chars[i].1 {
                '-' => v.minus = true,
                '+' => v.plus = true,
                '#' => v.sharp = true,
                ' ' => v.space = true,
                '0' => v.zero = true,
                _ => break,
            }
            i += 1;
        }
        let mut arg_index = None;
        if i < chars.len() && chars[i].1 == '[' {
            let mut j = i + 1;
            let mut n = 0usize;
            while j < chars.len() && chars[j].1.is_ascii_digit() {
                n = n * 10 + chars[j].1.to_digit(10).unwrap_or(0) as usize;
                j += 1;
            }
            if j >= chars.len() || chars[j].1 != ']' || n == 0 {
                return Err(fail(format!("unrecognized format syntax at offset {off}")));
            }
            arg_index = Some(n);
            i = j + 1;
        }
        let (width, after) = go_parsenum(&chars, i, off)?;
        v.width = width;
        i = after;
        if i < chars.len() && chars[i].1 == '.' {
            let (prec, after) = go_parsenum(&chars, i + 1, off)?;
            v.prec = Some(prec.unwrap_or(0));
            i = after;
        }
        if i >= chars.len() {
            return Err(fail(format!("unterminated format verb at offset {off}")));
        }
        v.mode = chars[i].1;
        i += 1;
        let end = chars.get(i).map(|c| c.0).unwrap_or(fmt.len());
        v.raw = fmt[chars[start].0..end].to_string();
        v.arg = arg_index.unwrap_or(next_arg);
        next_arg = v.arg + 1;
        highest = highest.max(v.arg);
        append(&mut out, &v, args)?;
    }
    // extra arguments are Terraform's error against the first unused one
    if highest < args.len() {
        return Err(EvalError::new(
            "Invalid function argument",
            if highest == 0 {
                "Invalid value for \"args\" parameter: too many arguments; no verbs in format string.".to_string()
            } else {
                format!("Invalid value for \"args\" parameter: too many arguments; only {highest} used by format string.")
            },
        ));
    }
    Ok(out)
}

/// The decimal number at `chars[i..]` (a width or a precision) and the
/// index after it, read as Go's fmt reads it: past a million it stops
/// reading (`tooLarge`), and Terraform then prints `%!(NOVERB)` instead of
/// a value millions of characters long; rewind refuses such a verb (a
/// width of a billion was two gigabytes of padding).
fn go_parsenum(
    chars: &[(usize, char)],
    mut i: usize,
    off: usize,
) -> Result<(Option<usize>, usize)> {
    let mut num: Option<usize> = None;
    while i < chars.len() && chars[i].1.is_ascii_digit() {
        let n = num.unwrap_or(0);
        if n > 1_000_000 {
            return Err(fail(format!(
                "the width or precision of the verb at offset {off} is more than a million (Terraform's fmt does not read it)"
            )));
        }
        num = Some(n * 10 + chars[i].1.to_digit(10).unwrap_or(0) as usize);
        i += 1;
    }
    Ok((num, i))
}

fn append(out: &mut String, v: &Verb, args: &[Value]) -> Result<()> {
    let Some(arg) = args.get(v.arg - 1) else {
        return Err(fail(format!(
            "not enough arguments for {:?} at {}: need index {} but have {} total",
            v.raw,
            v.offset,
            v.arg,
            args.len()
        )));
    };
    if v.mode != 'v' && arg.is_null() {
        return Err(fail(format!(
            "unsupported value for {:?} at {}: null value cannot be formatted",
            v.raw, v.offset
        )));
    }
    let unsupported = |e: String| {
        fail(format!(
            "unsupported value for {:?} at {}: {e}",
            v.raw, v.offset
        ))
    };
    let text = match v.mode {
        'v' => {
            if !v.sharp && !arg.is_null() {
                match arg.unmark().0 {
                    Value::String(s) => s.to_string(),
                    Value::Number(n) => general(n, None, false),
                    other => crate::json::encode(other).map_err(unsupported)?,
                }
            } else {
                crate::json::encode(arg).map_err(unsupported)?
            }
        }
        't' => {
            let b = convert(arg, &Type::Bool).map_err(|e| unsupported(e.to_string()))?;
            if b.as_bool() == Some(true) {
                "true"
            } else {
                "false"
            }
            .to_string()
        }
        'b' | 'd' | 'o' | 'x' | 'X' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            let n = convert(arg, &Type::Number).map_err(|e| unsupported(e.to_string()))?;
            let n = n.as_number().cloned().unwrap_or_else(Number::zero);
            return append_number(out, v, &n);
        }
        's' | 'q' => {
            let s = convert(arg, &Type::String).map_err(|e| unsupported(e.to_string()))?;
            let mut s = s.as_str().unwrap_or_default().to_string();
            if let Some(p) = v.prec.filter(|p| *p > 0) {
                s = s.graphemes(true).take(p).collect();
            }
            if v.mode == 'q' {
                crate::json::encode(&Value::string(s)).map_err(unsupported)?
            } else {
                s
            }
        }
        other => {
            return Err(fail(format!(
                "unsupported format verb {other:?} in {:?} at offset {}",
                v.raw, v.offset
            )))
        }
    };
    out.push_str(&pad(v, &text, false));
    Ok(())
}

/// Pads to the verb's width (counting grapheme clusters).
fn pad(v: &Verb, s: &str, numeric: bool) -> String {
    let Some(w) = v.width else {
        return s.to_string();
    };
    let n = s.graphemes(true).count();
    if n >= w {
        return s.to_string();
    }
    let fill = w - n;
    if v.minus {
        return format!("{s}{}", " ".repeat(fill));
    }
    if v.zero && numeric {
        // zeros go after the sign
        let (sign, rest) = match s.as_bytes().first() {
            Some(b'-' | b'+' | b' ') => s.split_at(1),
            _ => ("", s),
        };
        return format!("{sign}{}{rest}", "0".repeat(fill));
    }
    let c = if v.zero { "0" } else { " " };
    format!("{}{s}", c.repeat(fill))
}

fn append_number(out: &mut String, v: &Verb, n: &Number) -> Result<()> {
    let sign = |neg: bool| -> &'static str {
        if neg {
            "-"
        } else if v.plus {
            "+"
        } else if v.space {
            " "
        } else {
            ""
        }
    };
    let body = match v.mode {
        'b' | 'd' | 'o' | 'x' | 'X' => {
            if !n.is_integer() {
                return Err(fail(format!(
                    "unsupported value for {:?} at {}: an integer is required",
                    v.raw, v.offset
                )));
            }
            let (neg, int) = n.trunc_int().unwrap_or_default();
            let digits = match v.mode {
                'b' => int.to_str_radix(2),
                'o' => int.to_str_radix(8),
                'x' => int.to_str_radix(16),
                'X' => int.to_str_radix(16).to_uppercase(),
                _ => int.to_str_radix(10),
            };
            let digits = match v.prec {
                Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
                _ => digits,
            };
            let prefix = if v.sharp {
                match v.mode {
                    'b' => "0b",
                    'o' => "0",
                    'x' => "0x",
                    'X' => "0X",
                    _ => "",
                }
            } else {
                ""
            };
            format!("{}{prefix}{digits}", sign(neg))
        }
        'f' | 'F' => {
            if n.is_infinite() {
                format!("{}Inf", if n.is_negative() { "-" } else { "+" })
            } else {
                let d = n.exact_digits().unwrap_or(Digits {
                    neg: false,
                    digits: Vec::new(),
                    dp: 0,
                });
                format!("{}{}", sign(d.neg), fixed(&d, v.prec.unwrap_or(6)))
            }
        }
        'e' | 'E' => {
            let d = n.exact_digits().unwrap_or(Digits {
                neg: false,
                digits: Vec::new(),
                dp: 0,
            });
            let s = scientific(&d, v.prec.unwrap_or(6));
            let s = if v.mode == 'E' { s.to_uppercase() } else { s };
            format!("{}{s}", sign(d.neg))
        }
        _ => {
            let s = general(n, v.prec, v.mode == 'G');
            match s.strip_prefix('-') {
                Some(rest) => format!("-{rest}"),
                None => format!("{}{s}", sign(false)),
            }
        }
    };
    out.push_str(&pad(v, &body, true));
    Ok(())
}

/// `%.Nf` of exact digits.
fn fixed(d: &Digits, frac: usize) -> String {
    // round at `dp + frac` significant digits
    let n = d.dp + frac as i64;
    let r = if n < 0 {
        Digits {
            neg: d.neg,
            digits: Vec::new(),
            dp: 0,
        }
    } else {
        d.round_to(n as usize)
    };
    let digits = std::str::from_utf8(&r.digits).unwrap_or("");
    let mut int_part = String::new();
    let mut frac_part = String::new();
    for i in 0..(r.dp.max(1) as usize) {
        let idx = i as i64;
        if r.dp <= 0 {
            int_part.push('0');
            break;
        }
        int_part.push(
            digits
                .as_bytes()
                .get(idx as usize)
                .map(|b| *b as char)
                .unwrap_or('0'),
        );
    }
    for i in 0..frac {
        let idx = r.dp + i as i64;
        let c = if idx < 0 {
            '0'
        } else {
            digits
                .as_bytes()
                .get(idx as usize)
                .map(|b| *b as char)
                .unwrap_or('0')
        };
        frac_part.push(c);
    }
    if frac == 0 {
        int_part
    } else {
        format!("{int_part}.{frac_part}")
    }
}

/// `%.Ne`: d.ddde±XX.
fn scientific(d: &Digits, frac: usize) -> String {
    if d.digits.is_empty() {
        let zeros = "0".repeat(frac);
        return if frac == 0 {
            "0e+00".into()
        } else {
            format!("0.{zeros}e+00")
        };
    }
    let r = d.round_to(frac + 1);
    let digits: Vec<char> = r.digits.iter().map(|b| *b as char).collect();
    let mut mant = String::new();
    mant.push(digits.first().copied().unwrap_or('0'));
    if frac > 0 {
        mant.push('.');
        for i in 1..=frac {
            mant.push(digits.get(i).copied().unwrap_or('0'));
        }
    }
    let exp = r.dp - 1;
    format!(
        "{mant}e{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.unsigned_abs()
    )
}

/// `%g` (and `%v` of numbers): the shortest digits, in `%e` form for
/// exponents below -4 or at least the precision (6 when shortest).
fn general(n: &Number, prec: Option<usize>, upper: bool) -> String {
    if n.is_infinite() {
        return if n.is_negative() { "-Inf" } else { "+Inf" }.into();
    }
    let d = match prec {
        None => n.shortest_digits(),
        Some(p) => n.exact_digits().map(|d| d.round_to(p.max(1))),
    };
    let Some(d) = d else {
        return "0".into();
    };
    if d.digits.is_empty() {
        return if d.neg { "-0" } else { "0" }.into();
    }
    let nd = d.digits.len() as i64;
    let mut eprec = prec.map(|p| p.max(1) as i64).unwrap_or(nd);
    if eprec > nd && nd >= d.dp {
        eprec = nd;
    }
    if prec.is_none() {
        eprec = 6;
    }
    let exp = d.dp - 1;
    let sign = if d.neg { "-" } else { "" };
    let s = if exp < -4 || exp >= eprec {
        let s = scientific(&d, (nd - 1).max(0) as usize);
        format!("{sign}{s}")
    } else {
        let frac = (nd - d.dp).max(0) as usize;
        format!("{sign}{}", fixed(&d, frac))
    };
    if upper {
        s.to_uppercase()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A width or precision past what Go's fmt reads is refused at once,
    /// not padded out to gigabytes; up to a million it is read.
    #[test]
    fn huge_widths_and_precisions_are_refused() {
        let one = [Value::int(1)];
        for f in [
            "%0999999999d",
            "%.999999999f",
            "%123456789s",
            "%.100000001e",
        ] {
            let r = format(f, &one);
            assert!(
                r.as_ref()
                    .is_err_and(|e| e.detail.contains("more than a million")),
                "{f}: {:?}",
                r.map(|s| s.len())
            );
        }
        assert_eq!(format("%05d", &one).unwrap(), "00001");
        assert_eq!(format("%1000000d", &one).unwrap().len(), 1_000_000);
    }
}
