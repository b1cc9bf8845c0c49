//! Numeric functions.

use num_bigint::BigUint;

use super::*;
use crate::number::Number;

pub(super) const NAMES: &[&str] = &[
    "abs", "ceil", "floor", "log", "max", "min", "parseint", "pow", "signum",
];

const NUM: Param = p!("num", P::Number);

pub(super) fn lookup(name: &str) -> Option<Spec> {
    let s = |params: &'static [Param], imp: Impl| Spec {
        params,
        var_param: None,
        ret: ret_number,
        partial: false,
        imp,
    };
    Some(match name {
        "abs" => s(&[NUM], |_, a| Ok(Value::Number(arg_num(a, 0).abs()))),
        "ceil" => s(&[NUM], |_, a| Ok(Value::Number(arg_num(a, 0).ceil()))),
        "floor" => s(&[NUM], |_, a| Ok(Value::Number(arg_num(a, 0).floor()))),
        "signum" => s(&[NUM], |_, a| {
            let n = arg_num(a, 0);
            Ok(Value::int(if n.is_zero() {
                0
            } else if n.is_negative() {
                -1
            } else {
                1
            }))
        }),
        "log" => s(&[NUM, p!("base", P::Number)], |_, a| {
            let (x, b) = (arg_num(a, 0).to_f64(), arg_num(a, 1).to_f64());
            Ok(Value::Number(Number::from_f64(x.ln() / b.ln())))
        }),
        "pow" => s(&[NUM, p!("power", P::Number)], |_, a| {
            let (x, y) = (arg_num(a, 0).to_f64(), arg_num(a, 1).to_f64());
            Ok(Value::Number(Number::from_f64(x.powf(y))))
        }),
        "max" | "min" => Spec {
            params: &[],
            var_param: Some(p!("numbers", P::Number)),
            ret: ret_number,
            partial: false,
            imp: if name == "max" {
                |_, a| extreme(a, true)
            } else {
                |_, a| extreme(a, false)
            },
        },
        "parseint" => s(&[p!("number", P::Any), p!("base", P::Number)], parseint),
        _ => return None,
    })
}

fn extreme(a: &[Value], max: bool) -> Result<Value> {
    let mut best: Option<Number> = None;
    for i in 0..a.len() {
        let n = arg_num(a, i);
        best = Some(match best {
            None => n,
            Some(b) => {
                if (max && n > b) || (!max && n < b) {
                    n
                } else {
                    b
                }
            }
        });
    }
    best.map(Value::Number)
        .ok_or_else(|| fail("must pass at least one number"))
}

fn parseint(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let text = a[0].as_str().ok_or_else(|| {
        EvalError::new(
            "Invalid function argument",
            "Invalid value for \"number\" parameter: first argument must be a string, not a number.",
        )
    })?;
    let base = arg_int(a, 1, "base")?;
    if !(2..=62).contains(&base) {
        return Err(EvalError::new(
            "Invalid function argument",
            format!("Invalid value for \"base\" parameter: base must be a whole number between 2 and 62 inclusive (got {base})."),
        ));
    }
    let bad = || {
        EvalError::new(
            "Invalid function argument",
            format!(
                "Invalid value for \"number\" parameter: cannot parse {} as a base {base} integer.",
                crate::render::go_quote(text)
            ),
        )
    };
    let (neg, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        return Err(bad());
    }
    let mut v = BigUint::from(0u32);
    for c in digits.chars() {
        let d = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 10,
            'A'..='Z' if base <= 36 => c as u32 - 'A' as u32 + 10,
            'A'..='Z' => c as u32 - 'A' as u32 + 36,
            _ => return Err(bad()),
        };
        if d >= base as u32 {
            return Err(bad());
        }
        v = v * base as u32 + d;
    }
    Ok(Value::Number(Number::from_biguint(neg, v)))
}
