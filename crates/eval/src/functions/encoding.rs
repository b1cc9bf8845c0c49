//! Encoding functions.

use base64::Engine as _;

use super::*;

#[cfg(test)]
pub(super) const NAMES: &[&str] = &[
    "base64decode",
    "base64encode",
    "csvdecode",
    "jsondecode",
    "jsonencode",
    "textdecodebase64",
    "textencodebase64",
    "urlencode",
    "yamldecode",
    "yamlencode",
];

pub(super) fn lookup(name: &str) -> Option<Spec> {
    let s = fixed;
    Some(match name {
        "jsonencode" => s(
            &[pf!("val", P::Any, NULL_OK | DYN_OK)],
            ret_string,
            |_, a| crate::json::encode(&a[0]).map(Value::string).map_err(fail),
        ),
        "jsondecode" => s(&[p!("str", P::String)], ret_dynamic, |_, a| {
            crate::json::decode(arg_str(a, 0)).map_err(fail)
        }),
        "base64encode" => s(&[p!("str", P::String)], ret_string, |_, a| {
            Ok(Value::string(
                base64::engine::general_purpose::STANDARD.encode(arg_str(a, 0)),
            ))
        }),
        "base64decode" => s(&[p!("str", P::String)], ret_string, |_, a| {
            base64_decode(arg_str(a, 0))
        }),
        "urlencode" => s(&[p!("str", P::String)], ret_string, |_, a| {
            Ok(Value::string(query_escape(arg_str(a, 0))))
        }),
        // Go's compress/flate makes its own choices of matches and blocks:
        // no Rust deflate gives the same bytes (zlib and miniz differ from
        // the first repeated word), so the result is left unknown
        "base64gzip" => s(&[p!("str", P::String)], ret_string, |ev, a| {
            ev.note("function base64gzip() is not evaluated by rewind (Go's gzip output cannot be reproduced byte for byte): its result is a value rewind cannot see, the same for the same input".to_string());
            Ok(ev.opaque_call("base64gzip", a, Type::String))
        }),
        "yamlencode" => s(
            &[pf!("value", P::Any, NULL_OK | DYN_OK)],
            ret_string,
            |ev, a| match super::yaml::encode(&a[0]) {
                Ok(doc) => Ok(Value::string(doc)),
                Err(super::yaml::Refused::Error(e)) => Err(fail(e)),
                Err(super::yaml::Refused::Unsupported(what)) => {
                    ev.note(format!("function yamlencode() is not evaluated by rewind for {what}: its result is a value rewind cannot see, the same for the same input"));
                    Ok(ev.opaque_call("yamlencode", a, Type::String))
                }
            },
        ),
        "yamldecode" => s(&[p!("src", P::String)], ret_dynamic, |ev, a| {
            super::yamldecode::decode(ev, arg_str(a, 0))
        }),
        "csvdecode" => s(&[p!("str", P::String)], ret_dynamic, |_, a| {
            csv_decode(arg_str(a, 0))
        }),
        "textencodebase64" => s(
            &[p!("string", P::String), p!("encoding", P::String)],
            ret_string,
            text_encode_base64,
        ),
        "textdecodebase64" => s(
            &[p!("source", P::String), p!("encoding", P::String)],
            ret_string,
            text_decode_base64,
        ),
        _ => return None,
    })
}

/// `base64decode(str)`: the UTF-8 text whose standard base64 is `t`.
fn base64_decode(t: &str) -> Result<Value> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(t)
        .map_err(|_| {
            fail(format!(
                "failed to decode base64 data {}",
                crate::render::go_quote(t)
            ))
        })?;
    let s = String::from_utf8(bytes)
        .map_err(|_| fail("the result of decoding the provided string is not valid UTF-8"))?;
    Ok(Value::string(s))
}

/// `textencodebase64(string, encoding)`: the base64 of `string` in the
/// named encoding (unknown for an encoding rewind does not have).
fn text_encode_base64(ev: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let Some(enc) = text_encoding(ev, arg_str(a, 1))? else {
        return Ok(Value::Unknown(Type::String));
    };
    let bytes = enc.encode(arg_str(a, 0)).ok_or_else(|| {
        EvalError::new(
            "Invalid function argument",
            format!("Invalid value for \"string\" parameter: the given string contains characters that cannot be represented in {}.", enc.name()),
        )
    })?;
    Ok(Value::string(
        base64::engine::general_purpose::STANDARD.encode(bytes),
    ))
}

/// `textdecodebase64(source, encoding)`: the text whose bytes in the
/// named encoding are the base64 `source` (unknown for an encoding rewind
/// does not have).
fn text_decode_base64(ev: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let Some(enc) = text_encoding(ev, arg_str(a, 1))? else {
        return Ok(Value::Unknown(Type::String));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(arg_str(a, 0))
        .map_err(|e| {
            EvalError::new(
                "Invalid function argument",
                format!("Invalid value for \"source\" parameter: invalid source string: {e}."),
            )
        })?;
    match enc.decode(&bytes) {
        Some(s) if !s.contains('\u{fffd}') => Ok(Value::string(s)),
        _ => Err(EvalError::new(
            "Invalid function argument",
            format!("Invalid value for \"source\" parameter: the given string contains symbols that are not defined for {}.", enc.name()),
        )),
    }
}

/// Go's `url.QueryEscape`: letters, digits and `-_.~` stay, space is `+`,
/// everything else `%XX`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `csvdecode`: RFC 4180 as Go's `encoding/csv` reads it, the first row
/// naming the attributes of the objects made of the other rows.
fn csv_decode(text: &str) -> Result<Value> {
    let records = csv_records(text).map_err(fail)?;
    let Some((header, rows)) = records.split_first() else {
        return Err(fail("missing header line"));
    };
    let mut names = std::collections::BTreeSet::new();
    for h in header {
        if !names.insert(h.as_str()) {
            return Err(fail(format!(
                "duplicate column name {}",
                crate::render::go_quote(h)
            )));
        }
    }
    let ety = Type::object(header.iter().map(|h| (h.clone(), Type::String)).collect());
    let mut out = Vec::with_capacity(rows.len());
    for (line, row) in rows.iter().enumerate() {
        if row.len() != header.len() {
            return Err(fail(format!(
                "CSV parse error on record {}: wrong number of fields",
                line + 2
            )));
        }
        out.push(Value::object(
            header
                .iter()
                .zip(row.iter())
                .map(|(h, v)| (h.clone(), Value::string(v)))
                .collect(),
        ));
    }
    Ok(Value::list_of(ety, out))
}

/// The records of CSV text, as Go's `csv.Reader` reads them: empty lines
/// skipped, `\r\n` read as `\n`, quoted fields with `""` for a quote and
/// line breaks inside, and no quote in an unquoted field.
fn csv_records(text: &str) -> std::result::Result<Vec<Vec<String>>, String> {
    // lines with their newline, `\r\n` made `\n`, a last `\r` dropped
    let mut lines: Vec<String> = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (mut line, next) = match rest.find('\n') {
            Some(i) => (rest[..=i].to_string(), &rest[i + 1..]),
            None => (rest.to_string(), ""),
        };
        if line.ends_with("\r\n") {
            line.truncate(line.len() - 2);
            line.push('\n');
        } else if next.is_empty() && !line.ends_with('\n') && line.ends_with('\r') {
            line.pop();
        }
        lines.push(line);
        rest = next;
    }
    let nl_len = |s: &str| usize::from(s.ends_with('\n'));
    let err = |line: usize, what: &str| format!("CSV parse error on line {line}: {what}");
    let mut records = Vec::new();
    let mut li = 0;
    while li < lines.len() {
        let mut line: &str = &lines[li];
        li += 1;
        if line.len() == nl_len(line) {
            continue;
        }
        let start_line = li;
        let mut fields: Vec<String> = Vec::new();
        'fields: loop {
            if !line.starts_with('"') {
                let (field, more) = match line.find(',') {
                    Some(i) => (&line[..i], Some(&line[i + 1..])),
                    None => (&line[..line.len() - nl_len(line)], None),
                };
                if field.contains('"') {
                    return Err(err(li, "bare \" in non-quoted-field"));
                }
                fields.push(field.to_string());
                match more {
                    Some(m) => {
                        line = m;
                        continue 'fields;
                    }
                    None => break 'fields,
                }
            }
            // a quoted field, maybe over several lines
            line = &line[1..];
            let mut field = String::new();
            loop {
                if let Some(i) = line.find('"') {
                    field.push_str(&line[..i]);
                    line = &line[i + 1..];
                    if line.starts_with('"') {
                        field.push('"');
                        line = &line[1..];
                    } else if let Some(m) = line.strip_prefix(',') {
                        fields.push(std::mem::take(&mut field));
                        line = m;
                        continue 'fields;
                    } else if line.len() == nl_len(line) {
                        fields.push(std::mem::take(&mut field));
                        break 'fields;
                    } else {
                        return Err(err(li, "extraneous or missing \" in quoted-field"));
                    }
                } else if !line.is_empty() {
                    field.push_str(line);
                    if li < lines.len() {
                        line = &lines[li];
                        li += 1;
                    } else {
                        line = "";
                    }
                } else {
                    return Err(err(
                        start_line.max(li),
                        "extraneous or missing \" in quoted-field",
                    ));
                }
            }
        }
        records.push(fields);
    }
    Ok(records)
}

/// The text encodings rewind implements of those Terraform knows by IANA
/// name (others give an unknown result and a note).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TextEncoding {
    Utf8,
    /// With a byte order mark: written big-endian, read as the mark says.
    Utf16,
    Utf16Be,
    Utf16Le,
    Ascii,
    Latin1,
    Windows1252,
}

/// Windows-1252's characters for bytes 0x80 to 0x9F (0 where undefined).
const CP1252_HIGH: [u16; 32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
    0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
];

impl TextEncoding {
    fn name(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf16 => "UTF-16",
            TextEncoding::Utf16Be => "UTF-16BE",
            TextEncoding::Utf16Le => "UTF-16LE",
            TextEncoding::Ascii => "US-ASCII",
            TextEncoding::Latin1 => "ISO-8859-1",
            TextEncoding::Windows1252 => "windows-1252",
        }
    }

    fn encode(self, s: &str) -> Option<Vec<u8>> {
        let units = |big: bool| -> Vec<u8> {
            s.encode_utf16()
                .flat_map(|u| {
                    if big {
                        u.to_be_bytes()
                    } else {
                        u.to_le_bytes()
                    }
                })
                .collect()
        };
        Some(match self {
            TextEncoding::Utf8 => s.as_bytes().to_vec(),
            TextEncoding::Utf16 => {
                let mut out = vec![0xfe, 0xff];
                out.extend(units(true));
                out
            }
            TextEncoding::Utf16Be => units(true),
            TextEncoding::Utf16Le => units(false),
            TextEncoding::Ascii => s
                .chars()
                .map(|c| u8::try_from(c as u32).ok().filter(|b| *b < 0x80))
                .collect::<Option<Vec<u8>>>()?,
            TextEncoding::Latin1 => s
                .chars()
                .map(|c| u8::try_from(c as u32).ok())
                .collect::<Option<Vec<u8>>>()?,
            TextEncoding::Windows1252 => s
                .chars()
                .map(|c| {
                    let u = c as u32;
                    if u < 0x80 || (0xA0..=0xFF).contains(&u) {
                        return Some(u as u8);
                    }
                    CP1252_HIGH
                        .iter()
                        .position(|h| *h != 0 && *h as u32 == u)
                        .map(|i| 0x80 + i as u8)
                })
                .collect::<Option<Vec<u8>>>()?,
        })
    }

    /// The text of `bytes`, with U+FFFD for what is not defined (the
    /// caller refuses it, as Terraform does).
    fn decode(self, bytes: &[u8]) -> Option<String> {
        let utf16 = |b: &[u8], big: bool| -> String {
            let mut units: Vec<u16> = b
                .chunks_exact(2)
                .map(|c| {
                    if big {
                        u16::from_be_bytes([c[0], c[1]])
                    } else {
                        u16::from_le_bytes([c[0], c[1]])
                    }
                })
                .collect();
            let mut s = String::from_utf16_lossy(&units);
            if b.len() % 2 == 1 {
                s.push('\u{fffd}');
            }
            units.clear();
            s
        };
        Some(match self {
            TextEncoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
            TextEncoding::Utf16 => match bytes {
                [0xfe, 0xff, rest @ ..] => utf16(rest, true),
                [0xff, 0xfe, rest @ ..] => utf16(rest, false),
                _ => utf16(bytes, true),
            },
            TextEncoding::Utf16Be => utf16(bytes, true),
            TextEncoding::Utf16Le => utf16(bytes, false),
            TextEncoding::Ascii => bytes
                .iter()
                .map(|b| if *b < 0x80 { *b as char } else { '\u{fffd}' })
                .collect(),
            TextEncoding::Latin1 => bytes.iter().map(|b| *b as char).collect(),
            TextEncoding::Windows1252 => bytes
                .iter()
                .map(|b| match b {
                    0x80..=0x9f => char::from_u32(CP1252_HIGH[(b - 0x80) as usize] as u32)
                        .filter(|c| *c != '\0')
                        .unwrap_or('\u{fffd}'),
                    _ => *b as char,
                })
                .collect(),
        })
    }
}

/// The encoding an IANA name or alias (any case) names, `None` after a
/// note when it is one rewind does not implement.
fn text_encoding(ev: &mut Evaluator, name: &str) -> Result<Option<TextEncoding>> {
    let n = name.to_ascii_lowercase();
    let enc = match n.as_str() {
        "utf-8" | "csutf8" => TextEncoding::Utf8,
        "utf-16" | "csutf16" => TextEncoding::Utf16,
        "utf-16be" | "csutf16be" => TextEncoding::Utf16Be,
        "utf-16le" | "csutf16le" => TextEncoding::Utf16Le,
        "us-ascii" | "iso-ir-6" | "ansi_x3.4-1968" | "ansi_x3.4-1986" | "iso_646.irv:1991"
        | "iso646-us" | "us" | "ibm367" | "cp367" | "csascii" => TextEncoding::Ascii,
        "iso-8859-1" | "iso_8859-1:1987" | "iso-ir-100" | "iso_8859-1" | "latin1" | "l1"
        | "ibm819" | "cp819" | "csisolatin1" => TextEncoding::Latin1,
        "windows-1252" | "cswindows1252" => TextEncoding::Windows1252,
        "" | "utf8" | "utf-32" | "utf-32be" | "utf-32le" | "csutf32" => {
            return Err(EvalError::new(
                "Invalid function argument",
                format!("Invalid value for \"encoding\" parameter: {} is not a supported IANA encoding name or alias in this Terraform version.", crate::render::go_quote(name)),
            ))
        }
        _ => {
            ev.note(format!(
                "text encoding {} is not implemented by rewind (it has UTF-8, UTF-16, US-ASCII, ISO-8859-1 and windows-1252): the result is treated as unknown",
                crate::render::go_quote(name)
            ));
            return Ok(None);
        }
    };
    Ok(Some(enc))
}
