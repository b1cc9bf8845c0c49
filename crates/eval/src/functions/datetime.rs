//! Date and time functions on RFC 3339 timestamps: `formatdate`,
//! `timeadd`, `timecmp` (`timestamp` and `plantimestamp` read the clock:
//! they stay unknown, see `APPLY_TIME` in `mod.rs`).

use super::*;

#[cfg(test)]
pub(super) const NAMES: &[&str] = &["formatdate", "timeadd", "timecmp"];

pub(super) fn lookup(name: &str) -> Option<Spec> {
    let s = fixed;
    Some(match name {
        "formatdate" => s(
            &[p!("format", P::String), p!("time", P::String)],
            ret_string,
            |_, a| {
                let t = parse(arg_str(a, 1), false).map_err(|e| arg_err("time", &e))?;
                format_date(arg_str(a, 0), &t).map(Value::string)
            },
        ),
        "timeadd" => s(
            &[p!("timestamp", P::String), p!("duration", P::String)],
            ret_string,
            |_, a| {
                let t = parse(arg_str(a, 0), false).map_err(fail)?;
                let d = parse_duration(arg_str(a, 1)).map_err(fail)?;
                Ok(Value::string(t.add_nanos(d).rfc3339()))
            },
        ),
        "timecmp" => s(
            &[p!("timestamp_a", P::String), p!("timestamp_b", P::String)],
            ret_number,
            |_, a| {
                let x = parse(arg_str(a, 0), true).map_err(|e| arg_err("timestamp_a", &e))?;
                let y = parse(arg_str(a, 1), true).map_err(|e| arg_err("timestamp_b", &e))?;
                Ok(Value::int(match x.instant().cmp(&y.instant()) {
                    std::cmp::Ordering::Less => -1,
                    std::cmp::Ordering::Equal => 0,
                    std::cmp::Ordering::Greater => 1,
                }))
            },
        ),
        _ => return None,
    })
}

fn arg_err(name: &str, msg: &str) -> EvalError {
    EvalError::new(
        "Invalid function argument",
        format!("Invalid value for {name:?} parameter: {msg}."),
    )
}

/// A point in time with the UTC offset it was written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Time {
    /// Seconds since 1970-01-01T00:00:00Z.
    secs: i64,
    nanos: u32,
    /// Offset from UTC in seconds.
    offset: i32,
}

impl Time {
    fn instant(&self) -> (i64, u32) {
        (self.secs, self.nanos)
    }

    fn add_nanos(&self, d: i64) -> Time {
        let total = self.secs as i128 * 1_000_000_000 + self.nanos as i128 + d as i128;
        Time {
            secs: total.div_euclid(1_000_000_000) as i64,
            nanos: total.rem_euclid(1_000_000_000) as u32,
            offset: self.offset,
        }
    }

    /// The local date and time: (year, month, day, hour, minute, second,
    /// weekday with Sunday 0).
    fn civil(&self) -> (i64, u32, u32, u32, u32, u32, u32) {
        let local = self.secs + self.offset as i64;
        let days = local.div_euclid(86_400);
        let sod = local.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let weekday = (days + 4).rem_euclid(7) as u32;
        (
            y,
            m,
            d,
            (sod / 3600) as u32,
            (sod % 3600 / 60) as u32,
            (sod % 60) as u32,
            weekday,
        )
    }

    /// Go's `time.RFC3339` layout: `2006-01-02T15:04:05Z07:00`.
    fn rfc3339(&self) -> String {
        let (y, mo, d, h, mi, s, _) = self.civil();
        format!(
            "{}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{}",
            year4(y),
            self.zone(true, true)
        )
    }

    /// The UTC offset as `Z` (when `z` and zero), `+hh:mm` or `+hhmm`.
    fn zone(&self, z: bool, colon: bool) -> String {
        if z && self.offset == 0 {
            return "Z".into();
        }
        let sign = if self.offset < 0 { '-' } else { '+' };
        let m = self.offset.unsigned_abs() / 60;
        if colon {
            format!("{sign}{:02}:{:02}", m / 60, m % 60)
        } else {
            format!("{sign}{:02}{:02}", m / 60, m % 60)
        }
    }
}

/// A year as Go writes it: at least four digits, a sign when negative.
fn year4(y: i64) -> String {
    if y < 0 {
        format!("-{:04}", -y)
    } else {
        format!("{y:04}")
    }
}

/// Days since 1970-01-01 of a date (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

pub(super) fn days_in(m: u32, y: i64) -> u32 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses an RFC 3339 timestamp. Strict (`formatdate`, `timeadd`, as cty)
/// or, when `lenient`, also what Go's `time.Parse(time.RFC3339, ...)`
/// accepts besides (`timecmp`): a one-digit hour, a comma before the
/// fraction, and offsets up to 24 hours and 60 minutes.
fn parse(s: &str, lenient: bool) -> std::result::Result<Time, String> {
    let mut c = Cursor {
        b: s.as_bytes(),
        pos: 0,
    };
    let (year, month, day) = c.date()?;
    c.lit(b'T')?;
    let (hour, minute, second) = c.clock(lenient)?;
    let nanos = c.fraction(lenient)?;
    let offset = c.offset(lenient)?;
    let local = days_from_civil(year, month as u32, day as u32) * 86_400
        + hour * 3600
        + minute * 60
        + second;
    Ok(Time {
        secs: local - offset,
        nanos,
        offset: offset as i32,
    })
}

/// Go's message for a timestamp `parse` refuses.
fn bad(what: &str) -> String {
    format!("not a valid RFC3339 timestamp: {what}")
}

/// Where [`parse`] is in the timestamp's bytes.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    /// `n` decimal digits.
    fn digits(&mut self, n: usize, what: &str) -> std::result::Result<i64, String> {
        let end = self.pos + n;
        if end > self.b.len() {
            return Err(bad(&format!("end of string before {what}")));
        }
        let part = &self.b[self.pos..end];
        if !part.iter().all(u8::is_ascii_digit) {
            return Err(bad(&format!(
                "cannot use {} as {what}",
                crate::render::go_quote(&String::from_utf8_lossy(part))
            )));
        }
        self.pos = end;
        Ok(part.iter().fold(0i64, |v, d| v * 10 + (d - b'0') as i64))
    }

    /// The byte `c`.
    fn lit(&mut self, c: u8) -> std::result::Result<(), String> {
        match self.b.get(self.pos) {
            Some(&x) if x == c => {
                self.pos += 1;
                Ok(())
            }
            Some(_) if c == b'T' => Err(bad("missing required time introducer 'T'")),
            Some(&x) => Err(bad(&format!(
                "found {} where {} is expected",
                crate::render::go_quote(&(x as char).to_string()),
                crate::render::go_quote(&(c as char).to_string())
            ))),
            None => Err(bad(&format!(
                "end of string where {} is expected",
                crate::render::go_quote(&(c as char).to_string())
            ))),
        }
    }

    /// `YYYY-MM-DD`, the day checked against its month.
    fn date(&mut self) -> std::result::Result<(i64, i64, i64), String> {
        let year = self.digits(4, "year")?;
        self.lit(b'-')?;
        let month = self.digits(2, "month")?;
        if !(1..=12).contains(&month) {
            return Err(bad("month out of range"));
        }
        self.lit(b'-')?;
        let day = self.digits(2, "day of month")?;
        if day < 1 || day > days_in(month as u32, year) as i64 {
            return Err(bad("day out of range"));
        }
        Ok((year, month, day))
    }

    /// `hh:mm:ss` (a one-digit hour when `lenient`).
    fn clock(&mut self, lenient: bool) -> std::result::Result<(i64, i64, i64), String> {
        let b = self.b;
        let one_digit_hour =
            b.get(self.pos).is_some_and(u8::is_ascii_digit) && b.get(self.pos + 1) == Some(&b':');
        if one_digit_hour && !lenient {
            return Err(bad("hour must have two digits"));
        }
        let hour = self.digits(if one_digit_hour { 1 } else { 2 }, "hour")?;
        if hour > 23 {
            return Err(bad("hour out of range"));
        }
        self.lit(b':')?;
        let minute = self.digits(2, "minute")?;
        if minute > 59 {
            return Err(bad("minute out of range"));
        }
        self.lit(b':')?;
        let second = self.digits(2, "second")?;
        if second > 59 {
            return Err(bad("second out of range"));
        }
        Ok((hour, minute, second))
    }

    /// An optional fraction of a second (`.` or, when `lenient`, `,`), in
    /// nanoseconds: digits past the ninth are read and dropped.
    fn fraction(&mut self, lenient: bool) -> std::result::Result<u32, String> {
        let b = self.b;
        let mut pos = self.pos;
        if !(matches!(b.get(pos), Some(b'.') | Some(b','))
            && b.get(pos + 1).is_some_and(u8::is_ascii_digit))
        {
            return Ok(0);
        }
        if b[pos] == b',' && !lenient {
            return Err(bad("sub-second separator must be a period"));
        }
        pos += 1;
        let start = pos;
        while b.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        self.pos = pos;
        let frac = &b[start..pos.min(start + 9)];
        let mut n = frac.iter().fold(0u32, |v, d| v * 10 + (d - b'0') as u32);
        for _ in frac.len()..9 {
            n *= 10;
        }
        Ok(n)
    }

    /// `Z` or `±hh:mm` ending the timestamp, in seconds east of UTC (up
    /// to 24 hours and 60 minutes when `lenient`, as Go accepts).
    fn offset(&mut self, lenient: bool) -> std::result::Result<i64, String> {
        let (b, pos) = (self.b, self.pos);
        match b.get(pos) {
            Some(b'Z') if pos + 1 == b.len() => Ok(0),
            Some(&sign @ (b'+' | b'-')) if b.len() - pos == 6 && b[pos + 3] == b':' => {
                self.pos += 1;
                let hh = self.digits(2, "UTC offset")?;
                self.pos += 1;
                let mm = self.digits(2, "UTC offset")?;
                let (max_h, max_m) = if lenient { (24, 60) } else { (23, 59) };
                if hh > max_h {
                    return Err(bad("timezone hour out of range"));
                }
                if mm > max_m {
                    return Err(bad("timezone minute out of range"));
                }
                let o = (hh * 60 + mm) * 60;
                Ok(if sign == b'-' { -o } else { o })
            }
            None => Err(bad("end of string before UTC offset")),
            Some(_) => Err(bad(&format!(
                "cannot use {} as UTC offset",
                crate::render::go_quote(&String::from_utf8_lossy(&b[pos..]))
            ))),
        }
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// The tokens of a `formatdate` format: quoted literals, runs of one
/// letter (verbs) and other text.
fn date_tokens(f: &[u8]) -> Vec<&[u8]> {
    let letter = |c: u8| c.is_ascii_alphabetic();
    let mut out = Vec::new();
    let mut s = f;
    while !s.is_empty() {
        let n = if s[0] == b'\'' {
            if s.len() > 1 && s[1] == b'\'' {
                2
            } else {
                let mut end = s.len();
                let mut i = 1;
                while i < s.len() {
                    if s[i] == b'\'' {
                        if i + 1 == s.len() {
                            break;
                        }
                        if s[i + 1] == b'\'' {
                            i += 2;
                            continue;
                        }
                        end = i + 1;
                        break;
                    }
                    i += 1;
                }
                end
            }
        } else if letter(s[0]) {
            s.iter().take_while(|c| **c == s[0]).count()
        } else {
            1 + s[1..]
                .iter()
                .take_while(|c| **c != b'\'' && !letter(**c))
                .count()
        };
        out.push(&s[..n]);
        s = &s[n..];
    }
    out
}

fn format_date(f: &str, t: &Time) -> Result<String> {
    let civil = t.civil();
    let mut out: Vec<u8> = Vec::with_capacity(f.len() + 16);
    for tok in date_tokens(f.as_bytes()) {
        match tok[0] {
            b'\'' => quoted_literal(tok, &mut out)?,
            b'Y' | b'M' | b'D' | b'E' => date_verb(tok, civil, &mut out)?,
            b'h' | b'H' | b'A' | b'a' | b'm' | b's' | b'Z' => time_verb(tok, t, civil, &mut out)?,
            c if c.is_ascii_alphabetic() => return Err(verb_err(tok, "")),
            _ => out.extend_from_slice(tok),
        }
    }
    String::from_utf8(out).map_err(|_| fail("the formatted date is not valid UTF-8"))
}

/// `formatdate`'s message for a verb it does not know.
fn verb_err(tok: &[u8], what: &str) -> EvalError {
    EvalError::new(
        "Invalid function argument",
        format!(
            "Invalid value for \"format\" parameter: invalid date format verb {}{what}.",
            crate::render::go_quote(&String::from_utf8_lossy(tok))
        ),
    )
}

/// `v` in decimal, two digits at least when `width2`.
fn num(out: &mut Vec<u8>, v: i64, width2: bool) {
    let s = if width2 {
        format!("{v:02}")
    } else {
        v.to_string()
    };
    out.extend_from_slice(s.as_bytes());
}

/// A `'quoted'` literal (`''` inside it and alone is one quote).
fn quoted_literal(tok: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let n = tok.len();
    if tok[n - 1] != b'\'' || n == 1 {
        return Err(EvalError::new(
            "Invalid function argument",
            "Invalid value for \"format\" parameter: unterminated literal '.",
        ));
    }
    if n == 2 {
        out.push(b'\'');
    } else {
        let raw = &tok[1..n - 1];
        let mut i = 0;
        while i < raw.len() {
            out.push(raw[i]);
            if raw[i] == b'\'' {
                i += 1;
            }
            i += 1;
        }
    }
    Ok(())
}

/// Year, month, day and weekday verbs.
fn date_verb(tok: &[u8], civil: Civil, out: &mut Vec<u8>) -> Result<()> {
    let (year, month, day, _, _, _, weekday) = civil;
    let n = tok.len();
    match tok[0] {
        b'Y' => match n {
            2 => num(out, year.rem_euclid(100), true),
            4 => out.extend_from_slice(year4(year).as_bytes()),
            _ => return Err(verb_err(tok, ": year must either be \"YY\" or \"YYYY\"")),
        },
        b'M' => match n {
            1 | 2 => num(out, month as i64, n == 2),
            3 => out.extend_from_slice(&MONTHS[month as usize - 1].as_bytes()[..3]),
            4 => out.extend_from_slice(MONTHS[month as usize - 1].as_bytes()),
            _ => {
                return Err(verb_err(
                    tok,
                    ": month must be \"M\", \"MM\", \"MMM\", or \"MMMM\"",
                ))
            }
        },
        b'D' => match n {
            1 | 2 => num(out, day as i64, n == 2),
            _ => {
                return Err(verb_err(
                    tok,
                    ": day of month must either be \"D\" or \"DD\"",
                ))
            }
        },
        b'E' => match n {
            3 => out.extend_from_slice(&WEEKDAYS[weekday as usize].as_bytes()[..3]),
            4 => out.extend_from_slice(WEEKDAYS[weekday as usize].as_bytes()),
            _ => {
                return Err(verb_err(
                    tok,
                    ": day of week must either be \"EEE\" or \"EEEE\"",
                ))
            }
        },
        _ => return Err(verb_err(tok, "")),
    }
    Ok(())
}

/// Hour, AM/PM, minute, second and zone verbs.
fn time_verb(tok: &[u8], t: &Time, civil: Civil, out: &mut Vec<u8>) -> Result<()> {
    let (_, _, _, hour, minute, second, _) = civil;
    let n = tok.len();
    match tok[0] {
        b'h' => match n {
            1 | 2 => num(out, hour as i64, n == 2),
            _ => return Err(verb_err(tok, ": 24-hour must either be \"h\" or \"hh\"")),
        },
        b'H' => {
            let h = match hour % 12 {
                0 => 12,
                h => h,
            };
            match n {
                1 | 2 => num(out, h as i64, n == 2),
                _ => return Err(verb_err(tok, ": 12-hour must either be \"H\" or \"HH\"")),
            }
        }
        c @ (b'A' | b'a') => {
            if n != 2 {
                let l = c as char;
                return Err(verb_err(tok, &format!(": must be \"{l}{l}\"")));
            }
            let pm = hour >= 12;
            out.extend_from_slice(match (c == b'A', pm) {
                (true, false) => b"AM",
                (true, true) => b"PM",
                (false, false) => b"am",
                (false, true) => b"pm",
            });
        }
        b'm' => match n {
            1 | 2 => num(out, minute as i64, n == 2),
            _ => return Err(verb_err(tok, ": minute must either be \"m\" or \"mm\"")),
        },
        b's' => match n {
            1 | 2 => num(out, second as i64, n == 2),
            _ => return Err(verb_err(tok, ": second must either be \"s\" or \"ss\"")),
        },
        b'Z' => match n {
            1 => out.extend_from_slice(t.zone(true, true).as_bytes()),
            3 => {
                let z = t.zone(false, false);
                out.extend_from_slice(if z == "+0000" { "UTC" } else { &z }.as_bytes())
            }
            4 => out.extend_from_slice(t.zone(false, false).as_bytes()),
            5 => out.extend_from_slice(t.zone(false, true).as_bytes()),
            _ => return Err(verb_err(tok, ": timezone must be Z, ZZZZ, or ZZZZZ")),
        },
        _ => return Err(verb_err(tok, "")),
    }
    Ok(())
}

/// What [`Time::civil`] gives: year, month, day, hour, minute, second,
/// weekday.
type Civil = (i64, u32, u32, u32, u32, u32, u32);

/// Go's `time.ParseDuration`, in nanoseconds: a sign, then numbers (with
/// fractions) each followed by a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`,
/// `h`).
fn parse_duration(orig: &str) -> std::result::Result<i64, String> {
    let quoted = crate::render::go_quote(orig);
    let invalid = || format!("time: invalid duration {quoted}");
    let mut s = orig.as_bytes();
    let mut neg = false;
    if let Some(&c) = s.first() {
        if c == b'-' || c == b'+' {
            neg = c == b'-';
            s = &s[1..];
        }
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let (mut v, pre, rest) = leading_int(s).ok_or_else(invalid)?;
        s = rest;
        let (mut f, mut scale, mut post) = (0u64, 1.0f64, false);
        if s.first() == Some(&b'.') {
            let rest;
            (f, scale, post, rest) = leading_fraction(&s[1..]);
            s = rest;
        }
        if !pre && !post {
            return Err(invalid());
        }
        let ulen = s
            .iter()
            .take_while(|c| **c != b'.' && !c.is_ascii_digit())
            .count();
        if ulen == 0 {
            return Err(format!("time: missing unit in duration {quoted}"));
        }
        let unit = duration_unit(&s[..ulen], &quoted)?;
        s = &s[ulen..];
        if v > DURATION_LIMIT / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > DURATION_LIMIT {
                return Err(invalid());
            }
        }
        d += v;
        if d > DURATION_LIMIT {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((d as i128).wrapping_neg() as i64);
    }
    if d > DURATION_LIMIT - 1 {
        return Err(invalid());
    }
    Ok(d as i64)
}

/// 2^63 nanoseconds: what an `int64` duration (negated) can hold.
const DURATION_LIMIT: u64 = 1 << 63;

/// Go's `leadingInt`: the decimal digits at the start of `s` (the value,
/// whether there were any, the rest); `None` past [`DURATION_LIMIT`].
fn leading_int(s: &[u8]) -> Option<(u64, bool, &[u8])> {
    let mut v: u64 = 0;
    let mut i = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        if v > DURATION_LIMIT / 10 {
            return None;
        }
        v = v * 10 + (s[i] - b'0') as u64;
        if v > DURATION_LIMIT {
            return None;
        }
        i += 1;
    }
    Some((v, i > 0, &s[i..]))
}

/// Go's `leadingFraction`, after the `.`: the digits as an integer and its
/// scale (digits that would overflow are read and dropped), whether there
/// were any, and the rest.
fn leading_fraction(s: &[u8]) -> (u64, f64, bool, &[u8]) {
    let (mut f, mut scale) = (0u64, 1.0f64);
    let mut i = 0;
    let mut overflow = false;
    while i < s.len() && s[i].is_ascii_digit() {
        if !overflow {
            if f > (DURATION_LIMIT - 1) / 10 {
                overflow = true;
            } else {
                let y = f * 10 + (s[i] - b'0') as u64;
                if y > DURATION_LIMIT {
                    overflow = true;
                } else {
                    f = y;
                    scale *= 10.0;
                }
            }
        }
        i += 1;
    }
    (f, scale, i > 0, &s[i..])
}

/// Nanoseconds in one of a duration's units (`µs` in either spelling).
fn duration_unit(unit: &[u8], quoted: &str) -> std::result::Result<u64, String> {
    Ok(match unit {
        b"ns" => 1,
        b"us" | b"\xc2\xb5s" | b"\xce\xbcs" => 1_000,
        b"ms" => 1_000_000,
        b"s" => 1_000_000_000,
        b"m" => 60_000_000_000,
        b"h" => 3_600_000_000_000,
        other => {
            return Err(format!(
                "time: unknown unit {} in duration {quoted}",
                crate::render::go_quote(&String::from_utf8_lossy(other))
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_go_parses_them() {
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("-1.5h"), Ok(-5_400_000_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration("1µs"), Ok(1000));
        assert_eq!(parse_duration(".5s"), Ok(500_000_000));
        assert!(parse_duration("1").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("3000000h").is_err());
    }

    #[test]
    fn timestamps_round_trip_through_civil_dates() {
        let t = parse("2024-02-29T23:59:59.5+01:30", false).unwrap();
        assert_eq!(t.rfc3339(), "2024-02-29T23:59:59+01:30");
        assert_eq!(
            t.add_nanos(500_000_000).rfc3339(),
            "2024-03-01T00:00:00+01:30"
        );
        assert!(parse("2023-02-29T00:00:00Z", false).is_err());
        assert!(parse("2023-02-01T1:00:00Z", false).is_err());
        assert!(parse("2023-02-01T1:00:00Z", true).is_ok());
        assert_eq!(civil_from_days(days_from_civil(1, 1, 1)), (1, 1, 1));
    }
}
