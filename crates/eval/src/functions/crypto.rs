//! Hash and crypto functions: `md5`, `sha1`, `sha256`, `sha512`,
//! `base64sha256`, `base64sha512`, `uuidv5`, and `rsadecrypt` (unknown, see
//! [`lookup`]). The file forms (`filemd5`...) are in `fs.rs` and share
//! [`Hash`].

use base64::Engine as _;
use md5::Digest as _;

use super::*;

#[cfg(test)]
pub(super) const NAMES: &[&str] = &[
    "base64sha256",
    "base64sha512",
    "md5",
    "sha1",
    "sha256",
    "sha512",
    "uuidv5",
];

/// The hash functions Terraform has.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Hash {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

impl Hash {
    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Hash::Md5 => md5::Md5::digest(data).to_vec(),
            Hash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// How a digest is written out.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Enc {
    Hex,
    Base64,
}

impl Enc {
    pub(crate) fn encode(self, bytes: &[u8]) -> String {
        match self {
            Enc::Hex => hex(bytes),
            Enc::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }
}

/// Lower-case hexadecimal, as Go's `hex.EncodeToString`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// The (hash, encoding) of a string or file hash function.
pub(crate) fn hash_of(name: &str) -> Option<(Hash, Enc)> {
    Some(match name.trim_start_matches("file") {
        "md5" => (Hash::Md5, Enc::Hex),
        "sha1" => (Hash::Sha1, Enc::Hex),
        "sha256" => (Hash::Sha256, Enc::Hex),
        "sha512" => (Hash::Sha512, Enc::Hex),
        "base64sha256" => (Hash::Sha256, Enc::Base64),
        "base64sha512" => (Hash::Sha512, Enc::Base64),
        _ => return None,
    })
}

pub(super) fn lookup(name: &str) -> Option<Spec> {
    let s = |params: &'static [Param], imp: Impl| fixed(params, ret_string, imp);
    const STR: &[Param] = &[p!("str", P::String)];
    Some(match name {
        "md5" => s(STR, |_, a| string_hash(a, "md5")),
        "sha1" => s(STR, |_, a| string_hash(a, "sha1")),
        "sha256" => s(STR, |_, a| string_hash(a, "sha256")),
        "sha512" => s(STR, |_, a| string_hash(a, "sha512")),
        "base64sha256" => s(STR, |_, a| string_hash(a, "base64sha256")),
        "base64sha512" => s(STR, |_, a| string_hash(a, "base64sha512")),
        "uuidv5" => s(&[p!("namespace", P::String), p!("name", P::String)], uuidv5),
        // RSA decryption would need an RSA and PEM/PKCS#8/OpenSSH key stack
        // for a function whose ciphertext is, in practice, an attribute
        // known only after apply (an instance's password_data): its result
        // is left unknown, with a note
        "rsadecrypt" => s(
            &[p!("ciphertext", P::String), p!("privatekey", P::String)],
            |ev, a| {
                ev.note(
                    "function rsadecrypt() is not evaluated by rewind (RSA decryption is not implemented): its result is a value rewind cannot see, the same for the same arguments"
                        .to_string(),
                );
                Ok(ev.opaque_call("rsadecrypt", a, Type::String))
            },
        ),
        _ => return None,
    })
}

fn string_hash(a: &[Value], name: &str) -> Result<Value> {
    let (h, enc) = hash_of(name).ok_or_else(|| fail(format!("no hash function {name}")))?;
    Ok(Value::string(
        enc.encode(&h.digest(arg_str(a, 0).as_bytes())),
    ))
}

/// `uuidv5(namespace, name)`: a name-based UUID (RFC 4122, SHA-1).
fn uuidv5(_: &mut Evaluator, a: &[Value]) -> Result<Value> {
    let ns_text = arg_str(a, 0);
    let namespace: [u8; 16] = match ns_text {
        "dns" => parse_uuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8"),
        "url" => parse_uuid("6ba7b811-9dad-11d1-80b4-00c04fd430c8"),
        "oid" => parse_uuid("6ba7b812-9dad-11d1-80b4-00c04fd430c8"),
        "x500" => parse_uuid("6ba7b814-9dad-11d1-80b4-00c04fd430c8"),
        other => parse_uuid(other),
    }
    .map_err(|e| {
        fail(format!(
            "uuidv5() doesn't support namespace {ns_text} ({e})"
        ))
    })?;
    let mut data = namespace.to_vec();
    data.extend_from_slice(arg_str(a, 1).as_bytes());
    let sum = Hash::Sha1.digest(&data);
    let mut u = [0u8; 16];
    u.copy_from_slice(&sum[..16]);
    u[6] = (u[6] & 0x0f) | 0x50;
    u[8] = (u[8] & 0x3f) | 0x80;
    let h = hex(&u);
    Ok(Value::string(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )))
}

/// A UUID in the forms Go's `uuid.Parse` accepts: 36 characters with
/// hyphens, the same in braces or after `urn:uuid:`, or 32 hex digits.
fn parse_uuid(s: &str) -> std::result::Result<[u8; 16], String> {
    let b = s.as_bytes();
    let body: &[u8] = match b.len() {
        36 => b,
        45 => {
            if !b[..9].eq_ignore_ascii_case(b"urn:uuid:") {
                return Err(format!(
                    "invalid urn prefix: {}",
                    crate::render::go_quote(&String::from_utf8_lossy(&b[..9]))
                ));
            }
            &b[9..]
        }
        // Go takes the 36 characters after the first and does not check
        // the braces
        38 => &b[1..37],
        32 => {
            let mut u = [0u8; 16];
            for (i, x) in u.iter_mut().enumerate() {
                *x = hex_byte(b[i * 2], b[i * 2 + 1]).ok_or("invalid UUID format")?;
            }
            return Ok(u);
        }
        n => return Err(format!("invalid UUID length: {n}")),
    };
    if body[8] != b'-' || body[13] != b'-' || body[18] != b'-' || body[23] != b'-' {
        return Err("invalid UUID format".into());
    }
    let mut u = [0u8; 16];
    let at = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
    for (x, i) in u.iter_mut().zip(at) {
        *x = hex_byte(body[i], body[i + 1]).ok_or("invalid UUID format")?;
    }
    Ok(u)
}

fn hex_byte(a: u8, b: u8) -> Option<u8> {
    let d = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    Some(d(a)? << 4 | d(b)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_parse_in_every_form_go_accepts() {
        let want = parse_uuid("6ba7b810-9dad-11d1-80b4-00c04fd430c8").unwrap();
        assert_eq!(
            parse_uuid("{6ba7b810-9dad-11d1-80b4-00c04fd430c8}").unwrap(),
            want
        );
        assert_eq!(
            parse_uuid("URN:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8").unwrap(),
            want
        );
        assert_eq!(
            parse_uuid("6ba7b8109dad11d180b400c04fd430c8").unwrap(),
            want
        );
        assert!(parse_uuid("6ba7b810-9dad-11d1-80b4-00c04fd430cx").is_err());
        assert!(parse_uuid("6ba7b810").is_err());
    }
}
