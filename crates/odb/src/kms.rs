//! AWS KMS as a wrapper of an encrypted store's data key: `Encrypt` wraps
//! it when a store is created or rekeyed, `Decrypt` unwraps it when the
//! store is opened. Only the keys ever go to KMS (the 32-byte data key,
//! and after a key rotation the sealing keys beside it: 64 bytes, more
//! while a rotation is unfinished); the store's contents never do.
//!
//! Requests are KMS's JSON protocol (`X-Amz-Target: TrentService.*`),
//! signed with Signature Version 4 from the standard environment
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
//! `AWS_REGION`); `AWS_ENDPOINT_URL_KMS` points them at another endpoint
//! (a KMS-compatible service, or a test server).

use base64::Engine as _;
use ring::{digest, hmac};
use serde_json::{json, Value};

use crate::error::{Error, Result};

/// The encryption context bound to every wrapping: KMS refuses to unwrap
/// the data key with another one.
const CONTEXT: (&str, &str) = ("rewind", "store data key");

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// A KMS client configured from the environment.
pub(crate) struct Kms {
    endpoint: String,
    region: String,
    access_key: String,
    secret_key: String,
    token: Option<String>,
}

impl Kms {
    pub(crate) fn from_env() -> Result<Kms> {
        let region = env("AWS_REGION")
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        let (Some(access_key), Some(secret_key)) =
            (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"))
        else {
            return Err(Error::Kms(
                "AWS KMS needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary ones)".into(),
            ));
        };
        let endpoint = env("AWS_ENDPOINT_URL_KMS")
            .unwrap_or_else(|| format!("https://kms.{region}.amazonaws.com"));
        Ok(Kms {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region,
            access_key,
            secret_key,
            token: env("AWS_SESSION_TOKEN"),
        })
    }

    /// Wraps `plain` with the KMS key `key_id`: KMS's `CiphertextBlob`
    /// (base64).
    pub(crate) fn encrypt(&self, key_id: &str, plain: &[u8]) -> Result<String> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let body = json!({
            "KeyId": key_id,
            "Plaintext": b64.encode(plain),
            "EncryptionContext": {CONTEXT.0: CONTEXT.1},
        });
        let answer = self.call("Encrypt", &body)?;
        answer
            .get("CiphertextBlob")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Error::Kms("KMS Encrypt answered without a CiphertextBlob".into()))
    }

    /// Unwraps a `CiphertextBlob` (base64).
    pub(crate) fn decrypt(&self, wrapped: &str) -> Result<Vec<u8>> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let body = json!({
            "CiphertextBlob": wrapped,
            "EncryptionContext": {CONTEXT.0: CONTEXT.1},
        });
        let answer = self.call("Decrypt", &body)?;
        let plain = answer
            .get("Plaintext")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Kms("KMS Decrypt answered without a Plaintext".into()))?;
        b64.decode(plain).map_err(|e| {
            Error::Kms(format!(
                "KMS Decrypt answered a Plaintext that is not base64: {e}"
            ))
        })
    }

    /// One signed call of the KMS JSON API.
    fn call(&self, action: &str, body: &Value) -> Result<Value> {
        let body = serde_json::to_vec(body).expect("a JSON value always serializes");
        let url = format!("{}/", self.endpoint);
        let host = host_of(&self.endpoint)
            .ok_or_else(|| Error::Kms(format!("{}: not an http(s) endpoint", self.endpoint)))?;
        let stamp = crate::time::now().replace(['-', ':'], "");
        let headers = self.signed_headers(action, &host, &stamp, &body);
        crate::remote::install_tls();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Kms(format!("cannot start the KMS client: {e}")))?;
        let (status, text) = rt.block_on(async {
            let client = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .map_err(|e| Error::Kms(format!("cannot start the KMS client: {e}")))?;
            let mut req = client.post(&url).body(body);
            for (k, v) in &headers {
                req = req.header(k.as_str(), v.as_str());
            }
            let resp = req
                .send()
                .await
                .map_err(|e| Error::Kms(format!("KMS {action} at {url}: {e}")))?;
            let status = resp.status();
            let text = resp
                .text()
                .await
                .map_err(|e| Error::Kms(format!("KMS {action} at {url}: {e}")))?;
            Ok::<_, Error>((status, text))
        })?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() {
            let kind = value
                .get("__type")
                .and_then(Value::as_str)
                .unwrap_or("error");
            let message = value
                .get("message")
                .or_else(|| value.get("Message"))
                .and_then(Value::as_str)
                .unwrap_or("");
            return Err(Error::Kms(format!(
                "KMS {action} at {url} failed ({status}): {kind} {message}"
            )));
        }
        Ok(value)
    }

    /// The headers of a request, Authorization (Signature Version 4)
    /// included.
    fn signed_headers(
        &self,
        action: &str,
        host: &str,
        stamp: &str,
        body: &[u8],
    ) -> Vec<(String, String)> {
        let date = &stamp[..8];
        let mut headers: Vec<(String, String)> = vec![
            ("content-type".into(), "application/x-amz-json-1.1".into()),
            ("host".into(), host.to_string()),
            ("x-amz-date".into(), stamp.to_string()),
            ("x-amz-target".into(), format!("TrentService.{action}")),
        ];
        if let Some(t) = &self.token {
            headers.push(("x-amz-security-token".into(), t.clone()));
        }
        headers.sort();
        let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        let signed = signed.join(";");
        let canonical_headers: String = headers
            .iter()
            .map(|(k, v)| format!("{k}:{}\n", v.trim()))
            .collect();
        let canonical = format!(
            "POST\n/\n\n{canonical_headers}\n{signed}\n{}",
            sha256_hex(body)
        );
        let scope = format!("{date}/{}/kms/aws4_request", self.region);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
            sha256_hex(canonical.as_bytes())
        );
        let mut key = hmac_sha256(
            format!("AWS4{}", self.secret_key).as_bytes(),
            date.as_bytes(),
        );
        for part in [self.region.as_str(), "kms", "aws4_request"] {
            key = hmac_sha256(&key, part.as_bytes());
        }
        let signature = crate::crypt::hex(&hmac_sha256(&key, to_sign.as_bytes()));
        headers.push((
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
                self.access_key
            ),
        ));
        headers.retain(|(k, _)| k != "host");
        headers
    }
}

fn sha256_hex(b: &[u8]) -> String {
    crate::crypt::hex(digest::digest(&digest::SHA256, b).as_ref())
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), msg)
        .as_ref()
        .to_vec()
}

/// `host[:port]` of an `http://` or `https://` endpoint.
fn host_of(endpoint: &str) -> Option<String> {
    let rest = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"))?;
    let host = rest.split('/').next()?;
    (!host.is_empty()).then(|| host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signing steps against AWS's published example values
    /// (`docs.aws.amazon.com`, "Examples of how to derive a signing key"):
    /// secret `wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY`, 20120215,
    /// us-east-1, iam.
    #[test]
    fn signing_key_matches_the_published_example() {
        let mut key = hmac_sha256(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", b"20120215");
        for part in ["us-east-1", "iam", "aws4_request"] {
            key = hmac_sha256(&key, part.as_bytes());
        }
        assert_eq!(
            crate::crypt::hex(&key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn hosts_of_endpoints() {
        assert_eq!(host_of("http://127.0.0.1:4599").unwrap(), "127.0.0.1:4599");
        assert_eq!(
            host_of("https://kms.eu-west-1.amazonaws.com").unwrap(),
            "kms.eu-west-1.amazonaws.com"
        );
        assert!(host_of("kms.example.com").is_none());
    }
}
