//! A stand-in for AWS KMS on 127.0.0.1: it speaks the JSON protocol
//! rewind uses (`TrentService.Encrypt` / `TrentService.Decrypt`), checks
//! that requests are signed (Signature Version 4's `Authorization` for
//! the `kms` service) and carry rewind's encryption context, and "wraps"
//! a plaintext reversibly under its one key id. It is a test double of the
//! protocol, not of KMS's cryptography.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

pub const KEY_ID: &str = "arn:aws:kms:eu-west-1:111122223333:key/rewind-test";

pub struct KmsServer {
    pub addr: SocketAddr,
    /// Encrypt and Decrypt calls answered.
    pub calls: Arc<AtomicU64>,
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_encode(bytes: &[u8]) -> String {
    let mut out = crate::secrets::base64(bytes, B64);
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let digits: Vec<u32> = s
        .bytes()
        .filter(|b| *b != b'=')
        .map(|b| B64.iter().position(|x| *x == b).map(|p| p as u32))
        .collect::<Option<_>>()?;
    for chunk in digits.chunks(4) {
        let mut n = 0u32;
        for (i, d) in chunk.iter().enumerate() {
            n |= d << (18 - 6 * i);
        }
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

/// The wrapping: a marker, then the plaintext with each byte flipped.
fn wrap(plain: &[u8]) -> Vec<u8> {
    let mut out = b"fake-kms:".to_vec();
    out.extend(plain.iter().map(|b| b ^ 0xa5));
    out
}

fn unwrap(blob: &[u8]) -> Option<Vec<u8>> {
    let body = blob.strip_prefix(b"fake-kms:".as_slice())?;
    Some(body.iter().map(|b| b ^ 0xa5).collect())
}

/// The answer to one request: status and JSON body.
fn answer(target: &str, auth: &str, body: &[u8]) -> (u16, Value) {
    let signed = auth.starts_with("AWS4-HMAC-SHA256 Credential=")
        && auth.contains("/kms/aws4_request")
        && auth.contains("SignedHeaders=")
        && auth.contains("x-amz-target")
        && auth.contains("Signature=");
    if !signed {
        return (
            400,
            json!({"__type": "MissingAuthenticationTokenException", "message": "unsigned request"}),
        );
    }
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return (400, json!({"__type": "SerializationException"}));
    };
    if req["EncryptionContext"] != json!({"rewind": "store data key"}) {
        return (
            400,
            json!({"__type": "InvalidCiphertextException", "message": "encryption context"}),
        );
    }
    match target {
        "TrentService.Encrypt" => {
            if req["KeyId"] != KEY_ID {
                return (
                    400,
                    json!({"__type": "NotFoundException", "message": "no such key"}),
                );
            }
            let Some(plain) = req["Plaintext"].as_str().and_then(b64_decode) else {
                return (400, json!({"__type": "ValidationException"}));
            };
            (
                200,
                json!({"CiphertextBlob": b64_encode(&wrap(&plain)), "KeyId": KEY_ID}),
            )
        }
        "TrentService.Decrypt" => {
            match req["CiphertextBlob"]
                .as_str()
                .and_then(b64_decode)
                .and_then(|b| unwrap(&b))
            {
                Some(plain) => (
                    200,
                    json!({"Plaintext": b64_encode(&plain), "KeyId": KEY_ID}),
                ),
                None => (
                    400,
                    json!({"__type": "InvalidCiphertextException", "message": "not ours"}),
                ),
            }
        }
        _ => (
            400,
            json!({"__type": "UnknownOperationException", "message": target}),
        ),
    }
}

impl KmsServer {
    /// Starts the server in a thread (it serves until the test process
    /// ends; requests come from the rewind processes the test runs).
    pub fn start() -> KmsServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let calls = Arc::new(AtomicU64::new(0));
        let counter = calls.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let (mut target, mut auth, mut len) = (String::new(), String::new(), 0usize);
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    let (k, v) = h.split_once(':').unwrap_or((&h, ""));
                    match k.trim().to_ascii_lowercase().as_str() {
                        "x-amz-target" => target = v.trim().to_string(),
                        "authorization" => auth = v.trim().to_string(),
                        "content-length" => len = v.trim().parse().unwrap_or(0),
                        _ => {}
                    }
                }
                let mut body = vec![0u8; len];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let (status, value) = answer(&target, &auth, &body);
                if status == 200 {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                let text = value.to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        KmsServer { addr, calls }
    }

    /// The environment that points rewind's KMS client here.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL_KMS", format!("http://{}", self.addr)),
            ("AWS_ACCESS_KEY_ID", crate::s3server::ACCESS_KEY.to_string()),
            (
                "AWS_SECRET_ACCESS_KEY",
                crate::s3server::SECRET_KEY.to_string(),
            ),
            ("AWS_REGION", "eu-west-1".to_string()),
        ]
    }
}

#[test]
fn base64_round_trips() {
    for s in [
        &b""[..],
        b"a",
        b"ab",
        b"abc",
        b"abcd",
        &[0u8, 255, 7, 9, 200],
    ] {
        assert_eq!(b64_decode(&b64_encode(s)).unwrap(), s);
    }
    assert_eq!(b64_encode(b"hello"), "aGVsbG8=");
}
