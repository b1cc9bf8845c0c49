//! Numeric functions.

use num_bigint::BigUint;

use super::*;
use crate::number::Number;

#[cfg(test)]
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
        // cty converts the number to a Go int first
        "signum" => s(&[NUM], |_, a| {
            Ok(Value::int(arg_int(a, 0, "num")?.signum()))
        }),
        "log" => s(&[NUM, p!("base", P::Number)], |_, a| {
            let (x, b) = (arg_num(a, 0).to_f64(), arg_num(a, 1).to_f64());
            float_result(x.ln() / b.ln())
        }),
        "pow" => s(&[NUM, p!("power", P::Number)], |_, a| {
            let (x, y) = (arg_num(a, 0).to_f64(), arg_num(a, 1).to_f64());
            float_result(go_pow(x, y))
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

/// A float64 result as a number; NaN is no number (cty panics on it,
/// which Terraform reports as a failed call).
fn float_result(v: f64) -> Result<Value> {
    if v.is_nan() {
        return Err(fail("the result is not a number (NaN)"));
    }
    Ok(Value::Number(Number::from_f64(v)))
}

/// Go's `math.Pow`, whose special cases differ from C's `pow` (which
/// Rust's `powf` follows): `pow(-1, ±Inf)` is 1, `pow(1, NaN)` is NaN.
fn go_pow(x: f64, y: f64) -> f64 {
    if x == -1.0 && y.is_infinite() {
        return 1.0;
    }
    if x == 1.0 && y.is_nan() {
        return f64::NAN;
    }
    x.powf(y)
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
    let base = arg_int(a, 1, "base").map_err(|e| arg_fail("base", e.detail))?;
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
