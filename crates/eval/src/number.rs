//! Terraform's numbers: binary floating point with an arbitrary-precision
//! mantissa, as Go's `math/big.Float` that Terraform (through cty) uses.
//!
//! A number carries its precision in bits: 512 for numbers written in
//! configuration, state or strings, 64 for counts and lengths, 53 for the
//! results of `pow` and `log`. Sums and quotients take the larger
//! precision of their operands, products the precision their exact value
//! needs (at most 512), and results are rounded to nearest, ties to even.
//! Printing gives the shortest decimal that reads back as the same number
//! at its precision, so `0.1 + 0.2` is `0.3` and `1/3` has 155 digits, as
//! in `terraform console`.

use std::cmp::Ordering;
use std::fmt;

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::{One, ToPrimitive, Zero};

/// Precision of numbers parsed from text (configuration, state, strings).
pub(crate) const PREC_TEXT: u32 = 512;
/// Precision of numbers made from integers (lengths, indexes, counts).
pub(crate) const PREC_INT: u32 = 64;
/// Precision of numbers made from `f64` results.
pub(crate) const PREC_F64: u32 = 53;

/// The largest decimal exponent accepted when parsing (`1e100000`); larger
/// numbers are refused rather than computed.
pub(crate) const MAX_DECIMAL_EXPONENT: i64 = 100_000;

/// A number.
#[derive(Clone, Debug)]
pub struct Number {
    kind: Kind,
    prec: u32,
}

#[derive(Clone, Debug)]
enum Kind {
    Zero {
        neg: bool,
    },
    /// `(-1)^neg * mant * 2^exp`, `mant` odd.
    Finite {
        neg: bool,
        mant: BigUint,
        exp: i64,
    },
    Inf {
        neg: bool,
    },
}

/// Why a number could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("a number is required")]
    Syntax,
    #[error("the number is too large (or too small) to work with")]
    Range,
    #[error("the result is not a number (an operation on infinities)")]
    NaN,
}

impl Number {
    pub fn zero() -> Number {
        Number {
            kind: Kind::Zero { neg: false },
            prec: PREC_INT,
        }
    }

    pub(crate) fn from_i64(v: i64) -> Number {
        Number::from_parts(v < 0, BigUint::from(v.unsigned_abs()), 0, PREC_INT)
    }

    pub(crate) fn from_u64(v: u64) -> Number {
        Number::from_parts(false, BigUint::from(v), 0, PREC_INT)
    }

    /// An integer of any size (`parseint`), at least 64 bits of precision.
    pub(crate) fn from_biguint(neg: bool, v: BigUint) -> Number {
        let prec = (v.bits() as u32).max(PREC_INT);
        Number::from_parts(neg, v, 0, prec)
    }

    /// A float64 result (`pow`, `log`); infinities are kept.
    pub(crate) fn from_f64(v: f64) -> Number {
        if v.is_infinite() {
            return Number::inf(v < 0.0);
        }
        if v == 0.0 || v.is_nan() {
            return Number {
                kind: Kind::Zero {
                    neg: v.is_sign_negative() && v == 0.0,
                },
                prec: PREC_F64,
            };
        }
        let bits = v.to_bits();
        let neg = bits >> 63 == 1;
        let exp_bits = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1u64 << 52) - 1);
        let (mant, exp) = if exp_bits == 0 {
            (frac, -1074)
        } else {
            (frac | (1u64 << 52), exp_bits - 1075)
        };
        Number::from_parts(neg, BigUint::from(mant), exp, PREC_F64)
    }

    pub(crate) fn inf(neg: bool) -> Number {
        Number {
            kind: Kind::Inf { neg },
            prec: PREC_TEXT,
        }
    }

    /// Parses decimal text the way Terraform reads numbers from text:
    /// `[-+]digits[.digits][e[-+]digits]`, rounded to 512 bits.
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        let s = text;
        let (neg, body) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        match body {
            "Inf" | "inf" => return Ok(Number::inf(neg)),
            _ => {}
        }
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], Some(&body[i + 1..])),
            None => (body, None),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        if int_part.is_empty() && frac_part.is_empty()
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(NumberError::Syntax);
        }
        let mut exp10: i64 = match exponent {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(NumberError::Syntax);
                }
                if digits.len() > 12 {
                    return Err(NumberError::Range);
                }
                let v: i64 = digits.parse().map_err(|_| NumberError::Syntax)?;
                if e.starts_with('-') {
                    -v
                } else {
                    v
                }
            }
        };
        let mut digits = String::with_capacity(int_part.len() + frac_part.len());
        digits.push_str(int_part);
        digits.push_str(frac_part);
        exp10 -= frac_part.len() as i64;
        let trimmed = digits.trim_start_matches('0');
        if trimmed.is_empty() {
            return Ok(Number {
                kind: Kind::Zero { neg },
                prec: PREC_TEXT,
            });
        }
        if trimmed.len() > 100_000 {
            return Err(NumberError::Range);
        }
        let d = BigUint::parse_bytes(trimmed.as_bytes(), 10).ok_or(NumberError::Syntax)?;
        // the decimal magnitude, for the range check
        let magnitude = exp10 + trimmed.len() as i64;
        if !(-MAX_DECIMAL_EXPONENT..=MAX_DECIMAL_EXPONENT).contains(&magnitude) {
            return Err(NumberError::Range);
        }
        Ok(Number::from_decimal(neg, d, exp10, PREC_TEXT))
    }

    /// `(-1)^neg * d * 10^exp10`, rounded to `prec` bits.
    fn from_decimal(neg: bool, d: BigUint, exp10: i64, prec: u32) -> Number {
        if exp10 >= 0 {
            let v = d * pow10(exp10 as u64);
            Number::from_parts(neg, v, 0, prec)
        } else {
            let den = pow10((-exp10) as u64);
            let (mant, exp) = divide(&d, 0, &den, 0, prec);
            Number::from_parts(neg, mant, exp, prec)
        }
    }

    /// `(-1)^neg * mant * 2^exp` rounded to `prec` bits.
    fn from_parts(neg: bool, mant: BigUint, exp: i64, prec: u32) -> Number {
        if mant.is_zero() {
            return Number {
                kind: Kind::Zero { neg },
                prec,
            };
        }
        let (mant, exp) = round_bits(mant, exp, prec, false);
        Number {
            kind: Kind::Finite { neg, mant, exp },
            prec,
        }
    }

    pub(crate) fn is_zero(&self) -> bool {
        matches!(self.kind, Kind::Zero { .. })
    }

    /// True for ±infinity (`1/0`, `pow(10, 400)`).
    pub fn is_infinite(&self) -> bool {
        matches!(self.kind, Kind::Inf { .. })
    }

    /// The sign bit (negative zero has it).
    fn sign_bit(&self) -> bool {
        match &self.kind {
            Kind::Zero { neg } | Kind::Finite { neg, .. } | Kind::Inf { neg } => *neg,
        }
    }

    pub fn is_negative(&self) -> bool {
        match &self.kind {
            Kind::Zero { .. } => false,
            Kind::Finite { neg, .. } | Kind::Inf { neg } => *neg,
        }
    }

    /// True for whole numbers (not infinities).
    pub fn is_integer(&self) -> bool {
        match &self.kind {
            Kind::Zero { .. } => true,
            Kind::Finite { exp, .. } => *exp >= 0,
            Kind::Inf { .. } => false,
        }
    }

    /// The value as an `i64` when it is a whole number that fits.
    pub fn to_i64(&self) -> Option<i64> {
        match &self.kind {
            Kind::Zero { .. } => Some(0),
            Kind::Finite { neg, mant, exp } if *exp >= 0 && *exp < 64 => {
                let v = (mant << (*exp as usize)).to_u64()?;
                if *neg {
                    if v <= i64::MAX as u64 + 1 {
                        Some((v as i128).wrapping_neg() as i64)
                    } else {
                        None
                    }
                } else {
                    i64::try_from(v).ok()
                }
            }
            _ => None,
        }
    }

    /// The nearest `f64`.
    pub(crate) fn to_f64(&self) -> f64 {
        match &self.kind {
            Kind::Zero { neg } => {
                if *neg {
                    -0.0
                } else {
                    0.0
                }
            }
            Kind::Inf { neg } => {
                if *neg {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                }
            }
            Kind::Finite { .. } => self.to_string().parse().unwrap_or(f64::NAN),
        }
    }

    /// The whole part (toward zero) as a big integer and its sign.
    pub(crate) fn trunc_int(&self) -> Option<(bool, BigUint)> {
        match &self.kind {
            Kind::Zero { .. } => Some((false, BigUint::zero())),
            Kind::Finite { neg, mant, exp } => {
                let v = if *exp >= 0 {
                    mant << (*exp as usize)
                } else if -*exp >= mant.bits() as i64 {
                    BigUint::zero()
                } else {
                    mant >> ((-*exp) as usize)
                };
                Some((*neg && !v.is_zero(), v))
            }
            Kind::Inf { .. } => None,
        }
    }

    pub(crate) fn neg(&self) -> Number {
        let kind = match &self.kind {
            Kind::Zero { neg } => Kind::Zero { neg: !neg },
            Kind::Finite { neg, mant, exp } => Kind::Finite {
                neg: !neg,
                mant: mant.clone(),
                exp: *exp,
            },
            Kind::Inf { neg } => Kind::Inf { neg: !neg },
        };
        Number {
            kind,
            prec: self.prec,
        }
    }

    pub fn abs(&self) -> Number {
        if self.is_negative() || matches!(self.kind, Kind::Zero { neg: true }) {
            self.neg()
        } else {
            self.clone()
        }
    }

    pub fn add(&self, other: &Number) -> Result<Number, NumberError> {
        let prec = self.prec.max(other.prec);
        Ok(match (&self.kind, &other.kind) {
            (Kind::Inf { neg: a }, Kind::Inf { neg: b }) if a != b => return Err(NumberError::NaN),
            (Kind::Inf { neg }, _) | (_, Kind::Inf { neg }) => Number::inf(*neg),
            (Kind::Zero { neg: a }, Kind::Zero { neg: b }) => Number {
                kind: Kind::Zero { neg: *a && *b },
                prec,
            },
            (Kind::Zero { .. }, _) => other.with_prec(prec),
            (_, Kind::Zero { .. }) => self.with_prec(prec),
            (
                Kind::Finite {
                    neg: na,
                    mant: ma,
                    exp: ea,
                },
                Kind::Finite {
                    neg: nb,
                    mant: mb,
                    exp: eb,
                },
            ) => {
                // an operand below a quarter of the other's last bit
                // cannot change the rounded result
                let top_a = ea + ma.bits() as i64;
                let top_b = eb + mb.bits() as i64;
                if top_a - top_b > prec as i64 + 2 {
                    return Ok(self.with_prec(prec));
                }
                if top_b - top_a > prec as i64 + 2 {
                    return Ok(other.with_prec(prec));
                }
                let e = (*ea).min(*eb);
                let a = ma << ((ea - e) as usize);
                let b = mb << ((eb - e) as usize);
                if na == nb {
                    Number::from_parts(*na, a + b, e, prec)
                } else {
                    match a.cmp(&b) {
                        Ordering::Equal => Number {
                            kind: Kind::Zero { neg: false },
                            prec,
                        },
                        Ordering::Greater => Number::from_parts(*na, a - b, e, prec),
                        Ordering::Less => Number::from_parts(*nb, b - a, e, prec),
                    }
                }
            }
        })
    }

    pub(crate) fn sub(&self, other: &Number) -> Result<Number, NumberError> {
        self.add(&other.neg())
    }

    pub(crate) fn mul(&self, other: &Number) -> Result<Number, NumberError> {
        let neg = self.sign_bit() != other.sign_bit();
        let prec = self.prec.max(other.prec);
        Ok(match (&self.kind, &other.kind) {
            (Kind::Inf { .. }, Kind::Zero { .. }) | (Kind::Zero { .. }, Kind::Inf { .. }) => {
                return Err(NumberError::NaN)
            }
            (Kind::Inf { .. }, _) | (_, Kind::Inf { .. }) => Number::inf(neg),
            (Kind::Zero { .. }, _) | (_, Kind::Zero { .. }) => Number {
                kind: Kind::Zero {
                    neg: self.sign_bit() != other.sign_bit(),
                },
                prec,
            },
            (
                Kind::Finite {
                    mant: ma, exp: ea, ..
                },
                Kind::Finite {
                    mant: mb, exp: eb, ..
                },
            ) => {
                // the exact product at (at most) 512 bits, then the
                // precision it needs, at least the larger operand's
                let (m, e) = round_bits(ma * mb, ea + eb, PREC_TEXT, false);
                let need = m.bits() as u32;
                let prec = prec.max(need);
                Number::from_parts(neg, m, e, prec)
            }
        })
    }

    pub(crate) fn div(&self, other: &Number) -> Result<Number, NumberError> {
        let neg = self.sign_bit() != other.sign_bit();
        let prec = self.prec.max(other.prec);
        Ok(match (&self.kind, &other.kind) {
            (Kind::Zero { .. }, Kind::Zero { .. }) | (Kind::Inf { .. }, Kind::Inf { .. }) => {
                return Err(NumberError::NaN)
            }
            (Kind::Inf { .. }, _) => Number::inf(neg),
            (_, Kind::Zero { .. }) => Number::inf(neg),
            (Kind::Zero { .. }, _) | (_, Kind::Inf { .. }) => Number {
                kind: Kind::Zero { neg },
                prec,
            },
            (
                Kind::Finite {
                    mant: ma, exp: ea, ..
                },
                Kind::Finite {
                    mant: mb, exp: eb, ..
                },
            ) => {
                let (m, e) = divide(ma, *ea, mb, *eb, prec);
                Number::from_parts(neg, m, e, prec)
            }
        })
    }

    /// Terraform's `%`: `a - b * trunc(a / b)`, at `a`'s precision; `a % 0`
    /// is `a`.
    pub fn rem(&self, other: &Number) -> Result<Number, NumberError> {
        if self.is_infinite() || other.is_infinite() {
            return self.mul(other);
        }
        if other.is_zero() {
            return Ok(self.clone());
        }
        let ratio = self.div(other)?;
        let (neg, whole) = ratio.trunc_int().ok_or(NumberError::NaN)?;
        let whole = Number::from_parts(neg, whole, 0, self.prec);
        let work = other.mul(&whole)?.with_prec(self.prec);
        Ok(self.sub(&work)?.with_prec(self.prec))
    }

    /// The same value rounded to `prec` bits.
    pub(crate) fn with_prec(&self, prec: u32) -> Number {
        match &self.kind {
            Kind::Finite { neg, mant, exp } => Number::from_parts(*neg, mant.clone(), *exp, prec),
            k => Number {
                kind: k.clone(),
                prec,
            },
        }
    }

    /// Rounds down to a whole number (`floor`).
    pub(crate) fn floor(&self) -> Number {
        self.round_whole(true)
    }

    /// Rounds up to a whole number (`ceil`).
    pub(crate) fn ceil(&self) -> Number {
        self.round_whole(false)
    }

    fn round_whole(&self, down: bool) -> Number {
        match &self.kind {
            Kind::Finite { neg, mant, exp } if *exp < 0 => {
                let (_, whole) = self.trunc_int().unwrap_or_default();
                // toward zero, then one step away when needed
                let away = (*neg && down) || (!*neg && !down);
                let v = if away { whole + 1u32 } else { whole };
                debug_assert!(!mant.is_zero());
                Number::from_parts(*neg, v, 0, self.prec)
            }
            _ => self.clone(),
        }
    }

    /// Compares two numbers by value.
    pub(crate) fn cmp_value(&self, other: &Number) -> Ordering {
        let sign = |n: &Number| -> i8 {
            match &n.kind {
                Kind::Zero { .. } => 0,
                Kind::Finite { neg, .. } | Kind::Inf { neg } => {
                    if *neg {
                        -1
                    } else {
                        1
                    }
                }
            }
        };
        let (sa, sb) = (sign(self), sign(other));
        if sa != sb {
            return sa.cmp(&sb);
        }
        let mag = match (&self.kind, &other.kind) {
            (Kind::Zero { .. }, Kind::Zero { .. }) => Ordering::Equal,
            (Kind::Inf { .. }, Kind::Inf { .. }) => Ordering::Equal,
            (Kind::Inf { .. }, _) => Ordering::Greater,
            (_, Kind::Inf { .. }) => Ordering::Less,
            (
                Kind::Finite {
                    mant: ma, exp: ea, ..
                },
                Kind::Finite {
                    mant: mb, exp: eb, ..
                },
            ) => {
                let ta = ea + ma.bits() as i64;
                let tb = eb + mb.bits() as i64;
                if ta != tb {
                    ta.cmp(&tb)
                } else {
                    let e = (*ea).min(*eb);
                    (ma << ((ea - e) as usize)).cmp(&(mb << ((eb - e) as usize)))
                }
            }
            _ => Ordering::Equal,
        };
        if sa < 0 {
            mag.reverse()
        } else {
            mag
        }
    }
}

/// A number as decimal digits: value = ±0.DIGITS × 10^dp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Digits {
    pub neg: bool,
    /// ASCII digits without leading or trailing zeros; empty for zero.
    pub digits: Vec<u8>,
    pub dp: i64,
}

impl Digits {
    /// Rounded to `n` significant digits (half to even on the exact
    /// digits, as Go's formatting does).
    pub(crate) fn round_to(&self, n: usize) -> Digits {
        let mut d = self.digits.clone();
        let mut dp = self.dp;
        let up = should_round_up(&d, n);
        round_digits(&mut d, &mut dp, n, up);
        Digits {
            neg: self.neg,
            digits: d,
            dp,
        }
    }
}

impl Number {
    /// The exact decimal digits of the value (`None` for infinities).
    pub(crate) fn exact_digits(&self) -> Option<Digits> {
        match &self.kind {
            Kind::Zero { neg } => Some(Digits {
                neg: *neg,
                digits: Vec::new(),
                dp: 0,
            }),
            Kind::Finite { neg, mant, exp } => {
                let (digits, dp) = decimal(mant, *exp);
                Some(Digits {
                    neg: *neg,
                    digits,
                    dp,
                })
            }
            Kind::Inf { .. } => None,
        }
    }

    /// The shortest decimal digits that read back as this number at its
    /// precision (`None` for infinities).
    pub(crate) fn shortest_digits(&self) -> Option<Digits> {
        match &self.kind {
            Kind::Finite { neg, mant, exp } => {
                let (digits, dp) = shortest(mant, *exp, self.prec);
                Some(Digits {
                    neg: *neg,
                    digits,
                    dp,
                })
            }
            _ => self.exact_digits(),
        }
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        self.cmp_value(other) == Ordering::Equal
    }
}

impl Eq for Number {}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        self.cmp_value(other)
    }
}

impl std::hash::Hash for Number {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        match &self.kind {
            Kind::Zero { .. } => 0u8.hash(h),
            Kind::Finite { neg, mant, exp } => {
                (1u8, neg, exp).hash(h);
                mant.hash(h)
            }
            Kind::Inf { neg } => (2u8, neg).hash(h),
        }
    }
}

impl fmt::Display for Number {
    /// The shortest decimal that reads back as this number at its
    /// precision, without an exponent (Go's `Text('f', -1)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Zero { neg } => f.write_str(if *neg { "-0" } else { "0" }),
            Kind::Inf { neg } => f.write_str(if *neg { "-Inf" } else { "+Inf" }),
            Kind::Finite { neg, mant, exp } => {
                let (digits, dp) = shortest(mant, *exp, self.prec);
                if *neg {
                    f.write_str("-")?;
                }
                f.write_str(&place_point(&digits, dp))
            }
        }
    }
}

fn pow10(n: u64) -> BigUint {
    num_traits::pow::pow(BigUint::from(10u32), n as usize)
}

/// Rounds `mant * 2^exp` to at most `prec` significant bits (nearest, ties
/// to even; `sticky` says a nonzero value was already cut below `mant`),
/// then strips trailing zero bits.
fn round_bits(mant: BigUint, exp: i64, prec: u32, sticky: bool) -> (BigUint, i64) {
    let bits = mant.bits() as u32;
    let (mut m, mut e) = if bits > prec {
        let shift = (bits - prec) as usize;
        let q = &mant >> shift;
        let half = BigUint::one() << (shift - 1);
        let rest = &mant - (&q << shift);
        let up = match rest.cmp(&half) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal => sticky || q.is_odd(),
        };
        let q = if up { q + 1u32 } else { q };
        (q, exp + shift as i64)
    } else {
        (mant, exp)
    };
    if m.bits() as u32 > prec {
        m >>= 1usize;
        e += 1;
    }
    if m.is_zero() {
        return (m, 0);
    }
    let tz = m.trailing_zeros().unwrap_or(0);
    if tz > 0 {
        m >>= tz as usize;
        e += tz as i64;
    }
    (m, e)
}

/// `(a * 2^ea) / (b * 2^eb)` rounded to `prec` bits.
fn divide(a: &BigUint, ea: i64, b: &BigUint, eb: i64, prec: u32) -> (BigUint, i64) {
    // scale so the quotient has prec + 2 bits at least
    let want = prec as i64 + 2;
    let shift = (want + b.bits() as i64 - a.bits() as i64).max(0);
    let num = a << (shift as usize);
    let (q, r) = num.div_rem(b);
    let sticky = !r.is_zero();
    // fold the sticky bit in as an extra low bit so rounding sees it
    let q2 = (q << 1usize) + u32::from(sticky);
    round_bits(q2, ea - eb - shift - 1, prec, false)
}

/// The decimal digits of `m * 2^e` and the position of the decimal point
/// (value = 0.DIGITS * 10^dp), trailing zeros removed.
fn decimal(m: &BigUint, e: i64) -> (Vec<u8>, i64) {
    let (n, dp_shift) = if e >= 0 {
        (m << (e as usize), 0)
    } else {
        (
            m * num_traits::pow::pow(BigUint::from(5u32), (-e) as usize),
            e,
        )
    };
    let mut digits = n.to_str_radix(10).into_bytes();
    let dp = digits.len() as i64 + dp_shift;
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    (digits, dp)
}

/// Go's `roundShortest` for a value of `prec` bits.
fn shortest(mant: &BigUint, exp: i64, prec: u32) -> (Vec<u8>, i64) {
    let (mut d, mut dp) = decimal(mant, exp);
    // the mantissa with prec + 1 bits: its last bit is half an ulp
    let bits = mant.bits() as i64;
    let s = bits - (prec as i64 + 1);
    let (m2, e2) = if s < 0 {
        (mant << ((-s) as usize), exp + s)
    } else {
        (mant >> (s as usize), exp + s)
    };
    let (lower, _) = decimal(&(&m2 - 1u32), e2);
    let (upper, _) = decimal(&(&m2 + 1u32), e2);
    let inclusive = !m2.bit(1);
    let at = |v: &[u8], i: usize| -> u8 { v.get(i).copied().unwrap_or(b'0') };
    for i in 0..d.len() {
        let l = at(&lower, i);
        let m = d[i];
        let u = at(&upper, i);
        let okdown = l != m || inclusive && i + 1 == lower.len();
        let okup = m != u && (inclusive || m + 1 < u || i + 1 < upper.len());
        let n = i + 1;
        if okdown && okup {
            let up = should_round_up(&d, n);
            round_digits(&mut d, &mut dp, n, up);
            return (d, dp);
        } else if okdown {
            round_digits(&mut d, &mut dp, n, false);
            return (d, dp);
        } else if okup {
            round_digits(&mut d, &mut dp, n, true);
            return (d, dp);
        }
    }
    (d, dp)
}

/// Go's decimal `shouldRoundUp`: round half to even on the digit string.
fn should_round_up(d: &[u8], n: usize) -> bool {
    if n < d.len() && d[n] == b'5' && n + 1 == d.len() {
        return n > 0 && (d[n - 1] - b'0') % 2 == 1;
    }
    n < d.len() && d[n] >= b'5'
}

fn round_digits(d: &mut Vec<u8>, dp: &mut i64, n: usize, up: bool) {
    if n >= d.len() {
        return;
    }
    d.truncate(n);
    if up {
        let mut i = n;
        loop {
            if i == 0 {
                d.insert(0, b'1');
                d.truncate(1);
                *dp += 1;
                break;
            }
            i -= 1;
            if d[i] == b'9' {
                d[i] = b'0';
                d.truncate(i + 1);
            } else {
                d[i] += 1;
                d.truncate(i + 1);
                break;
            }
        }
    }
    while d.last() == Some(&b'0') {
        d.pop();
    }
}

/// Digits and a decimal point position as plain decimal text.
fn place_point(digits: &[u8], dp: i64) -> String {
    let digits = std::str::from_utf8(digits).unwrap_or("0");
    if digits.is_empty() {
        return "0".to_string();
    }
    let n = digits.len() as i64;
    if dp <= 0 {
        format!("0.{}{digits}", "0".repeat((-dp) as usize))
    } else if dp >= n {
        format!("{digits}{}", "0".repeat((dp - n) as usize))
    } else {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap()
    }

    /// Outputs checked with `terraform console` (Terraform 1.11).
    #[test]
    fn prints_as_terraform() {
        assert_eq!(n("0.1").add(&n("0.2")).unwrap().to_string(), "0.3");
        assert_eq!(
            n("1").div(&n("3")).unwrap().to_string(),
            "0.33333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333335"
        );
        assert_eq!(
            n("2").div(&n("3")).unwrap().to_string(),
            "0.6666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666666667"
        );
        assert_eq!(
            n("10").div(&n("3")).unwrap().to_string(),
            "3.3333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333332"
        );
        assert_eq!(
            n("1e308").mul(&n("10")).unwrap().to_string(),
            format!("1{}", "0".repeat(309))
        );
        assert_eq!(
            n("12345678901234567890123")
                .add(&n("1"))
                .unwrap()
                .to_string(),
            "12345678901234567890124"
        );
        assert_eq!(n("1e-7").to_string(), "0.0000001");
        assert_eq!(n("0.000001").mul(&n("3")).unwrap().to_string(), "0.000003");
        assert_eq!(n("7").div(&n("2")).unwrap().to_string(), "3.5");
        assert_eq!(n("2").mul(&n("0.5")).unwrap().to_string(), "1");
        assert_eq!(n("-5").rem(&n("3")).unwrap().to_string(), "-2");
        assert_eq!(n("5.5").rem(&n("2")).unwrap().to_string(), "1.5");
        assert_eq!(
            n("10").rem(&n("3.3")).unwrap().to_string(),
            "0.10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000048"
        );
        assert_eq!(n("1").div(&n("0")).unwrap().to_string(), "+Inf");
        assert_eq!(n("-0").to_string(), "-0");
        assert_eq!(n("0").mul(&n("-1")).unwrap().to_string(), "-0");
        let third = n("1").div(&n("3")).unwrap();
        assert_eq!(third.mul(&n("3")).unwrap().to_string(), "1");
        assert_eq!(
            third.mul(&third).unwrap().to_string(),
            "0.111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111115"
        );
        assert_eq!(
            n("100000000000000000000000000000000000000000000000000.0").to_string(),
            "100000000000000000000000000000000000000000000000000"
        );
    }

    #[test]
    fn float_and_integer_precisions_follow_terraform() {
        let root2 = Number::from_f64(2f64.powf(0.5));
        assert_eq!(root2.to_string(), "1.4142135623730951");
        assert_eq!(
            root2.add(&n("0")).unwrap().to_string(),
            "1.4142135623730951454746218587388284504413604736328125"
        );
        assert_eq!(
            root2.mul(&root2).unwrap().to_string(),
            "2.00000000000000027343234630647693"
        );
        assert_eq!(
            root2.mul(&root2).unwrap().mul(&root2).unwrap().to_string(),
            "2.82842712474619067764097625559421803862987229547"
        );
        assert_eq!(root2.add(&root2).unwrap().to_string(), "2.8284271247461903");
        let pow100 = Number::from_f64(2f64.powf(100.0));
        assert_eq!(pow100.to_string(), "1267650600228229400000000000000");
        assert_eq!(
            pow100.add(&n("1")).unwrap().to_string(),
            "1267650600228229401496703205377"
        );
        let two = Number::from_i64(2);
        let three = Number::from_i64(3);
        let q = two.div(&three).unwrap();
        assert_eq!(q.to_string(), "0.6666666666666666667");
        assert_eq!(
            q.mul(&q).unwrap().to_string(),
            "0.444444444444444444468537826055233431867"
        );
        assert_eq!(
            root2.mul(&q).unwrap().to_string(),
            "0.94280904158206343034196946277060854"
        );
        assert_eq!(q.add(&q).unwrap().to_string(), "1.3333333333333333334");
        assert_eq!(q.sub(&root2).unwrap().to_string(), "-0.7475468957064284788");
        assert_eq!(q.rem(&root2).unwrap().to_string(), "0.6666666666666666667");
        assert_eq!(two.mul(&n("0.1")).unwrap().to_string(), "0.2");
    }

    #[test]
    fn parsing_refuses_garbage_and_huge_exponents() {
        for bad in ["", "-", "1.2.3", "0x10", " 1", "1e", "e5", "1,5"] {
            assert!(Number::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Number::parse("1e999999"), Err(NumberError::Range));
        assert_eq!(n("1e3").to_string(), "1000");
        assert_eq!(n(".5").to_string(), "0.5");
        assert_eq!(n("1.").to_string(), "1");
        assert_eq!(n("007").to_i64(), Some(7));
        assert_eq!(n("-9223372036854775808").to_i64(), Some(i64::MIN));
        assert_eq!(n("1.5").to_i64(), None);
        assert!(n("1e308").to_i64().is_none());
    }

    #[test]
    fn floor_ceil_and_compare() {
        assert_eq!(n("-7.5").floor().to_string(), "-8");
        assert_eq!(n("7.5").floor().to_string(), "7");
        assert_eq!(n("7.1").ceil().to_string(), "8");
        assert_eq!(n("-7.1").ceil().to_string(), "-7");
        assert!(n("1") == n("1.0"));
        assert!(n("0.1") < n("0.2"));
        assert!(n("-3") < n("-2"));
        assert!(Number::inf(false) > n("1e300"));
    }
}
