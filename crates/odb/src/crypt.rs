//! Encryption at rest (docs/store-format.md §22).
//!
//! An encrypted store has one random 256-bit **data key** `D` and, once
//! its key was rotated, a random 256-bit **sealing key** `E` of the
//! current *generation* (before the first rotation, generation 0, `E` is
//! `D`). Neither leaves memory in the clear: the store's `config` holds
//! them wrapped (encrypted) by each **user key** that may open the store,
//! in key slots: a key or passphrase (from `REWIND_KEY` or the file
//! `REWIND_KEY_FILE` names), stretched with Argon2id, or an AWS KMS key,
//! which wraps and unwraps the keys itself.
//!
//! The key of object ids derives from `D` with BLAKE3's key derivation
//! (an encrypted store names an object `blake3_keyed(K_id,
//! blake3(content))`, so equal contents still share one object, and an id
//! tells nothing about its content to whoever lacks the key): `D` never
//! changes, so ids never do. The keys of pack blocks and of local cache
//! files derive from `E`, which `rekey` replaces by a fresh one of the
//! next generation while it re-seals every pack (docs/store-format.md
//! §22.6); during that rewrite the config also holds the *retired*
//! generations' keys, so every pack opens whichever it is sealed with.
//! Blocks and cache files are sealed with XChaCha20-Poly1305 under random
//! 192-bit nonces.

use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rewind_model::Hash;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::ObjectId;

/// Bytes of a random nonce before each ciphertext.
pub(crate) const NONCE: usize = 24;
/// Bytes of the authentication tag after each ciphertext.
pub(crate) const TAG: usize = 16;

/// The cipher an encrypted store's config names.
const CIPHER: &str = "xchacha20-poly1305";
/// How an encrypted store's object ids are computed.
const IDS: &str = "blake3-keyed";
/// Key derivation contexts (BLAKE3 `derive_key`): one key per use.
const CTX_IDS: &str = "rewind 2026-12-01 object ids";
const CTX_BLOCKS: &str = "rewind 2026-12-01 pack blocks";
const CTX_CACHES: &str = "rewind 2026-12-01 local cache files";
const CTX_FINGERPRINT: &str = "rewind 2026-12-01 data key fingerprint";
/// Associated data of a wrapped data key.
const WRAP_AD: &[u8] = b"rewind-store data key";
/// Argon2id's cost (OWASP's recommendation: 19 MiB, 2 passes, 1 lane).
const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
const ARGON2_ITERATIONS: u32 = 2;
const ARGON2_LANES: u32 = 1;

/// Fills `buf` from the system's random number generator.
pub(crate) fn random(buf: &mut [u8]) -> Result<()> {
    use ring::rand::SecureRandom;
    ring::rand::SystemRandom::new()
        .fill(buf)
        .map_err(|_| Error::Crypto("the system's random number generator failed".into()))
}

/// A user key: what opens an encrypted store (by unwrapping its data key).
#[derive(Clone)]
pub enum UserKey {
    /// A key or passphrase, stretched with Argon2id.
    Secret {
        /// Its bytes (a key file's content without its final newline).
        secret: Vec<u8>,
        /// Where it came from, for messages (`REWIND_KEY`, a file path).
        origin: String,
    },
    /// An AWS KMS key (id, ARN or alias) that wraps the data key.
    Kms {
        /// The key id, ARN or `alias/NAME`.
        key_id: String,
    },
}

impl std::fmt::Debug for UserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserKey::Secret { origin, .. } => write!(f, "UserKey::Secret(from {origin})"),
            UserKey::Kms { key_id } => write!(f, "UserKey::Kms({key_id})"),
        }
    }
}

impl UserKey {
    /// The key in `REWIND_KEY`, else in the file `REWIND_KEY_FILE` names;
    /// `None` when neither is set.
    pub fn from_env() -> Result<Option<UserKey>> {
        Self::from_vars("REWIND_KEY", "REWIND_KEY_FILE")
    }

    /// The key in the variable `key_var`, else in the file `file_var`
    /// names (both set is an error: which one was meant?). A variable set
    /// to nothing is an error too: a pipeline whose secret is missing
    /// often exports an empty one, and taking that for "no key" would let
    /// it run as if the store had no encryption.
    pub fn from_vars(key_var: &str, file_var: &str) -> Result<Option<UserKey>> {
        let key = std::env::var_os(key_var);
        let file = std::env::var_os(file_var);
        for (var, value) in [(key_var, &key), (file_var, &file)] {
            if value.as_ref().is_some_and(|v| v.is_empty()) {
                return Err(Error::Crypto(format!(
                    "{var} is set but empty (a missing secret?): give it the key, or unset it"
                )));
            }
        }
        match (key, file) {
            (Some(_), Some(_)) => Err(Error::Crypto(format!(
                "both {key_var} and {file_var} are set: set one"
            ))),
            (Some(k), None) => {
                let secret = k.into_encoded_bytes();
                Self::secret(secret, key_var.to_string()).map(Some)
            }
            (None, Some(f)) => Self::from_file(std::path::Path::new(&f)).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// The key in a file: its bytes, without one final newline. A regular
    /// file or a pipe (`REWIND_KEY_FILE=<(vault read ...)`), of at most
    /// 64 KiB (`MAX_KEY_FILE`): a device (`/dev/zero`) or a file of
    /// gigabytes is refused before it fills the memory.
    pub fn from_file(path: &std::path::Path) -> Result<UserKey> {
        use std::io::Read;
        let cannot = |e: &dyn std::fmt::Display| {
            Error::Crypto(format!("cannot read the key file {}: {e}", path.display()))
        };
        let meta = std::fs::metadata(path).map_err(|e| cannot(&e))?;
        if !meta.is_file() && !is_pipe(&meta) {
            return Err(cannot(
                &"not a regular file (a key file holds the key or passphrase as text)",
            ));
        }
        let mut secret = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_KEY_FILE + 1).read_to_end(&mut secret))
            .map_err(|e| cannot(&e))?;
        if secret.len() as u64 > MAX_KEY_FILE {
            return Err(cannot(&format_args!(
                "longer than {MAX_KEY_FILE} bytes: it does not hold a key or passphrase"
            )));
        }
        if secret.ends_with(b"\n") {
            secret.pop();
            if secret.ends_with(b"\r") {
                secret.pop();
            }
        }
        Self::secret(secret, format!("the key file {}", path.display()))
    }

    fn secret(secret: Vec<u8>, origin: String) -> Result<UserKey> {
        if secret.len() < 8 {
            return Err(Error::Crypto(format!(
                "the key from {origin} is {} bytes long: a key or passphrase needs at least 8",
                secret.len()
            )));
        }
        Ok(UserKey::Secret { secret, origin })
    }

    /// Where the key came from, for messages.
    pub fn origin(&self) -> String {
        match self {
            UserKey::Secret { origin, .. } => origin.clone(),
            UserKey::Kms { key_id } => format!("the AWS KMS key {key_id}"),
        }
    }
}

/// The most bytes a key file may hold: a passphrase or a key, not a
/// document.
pub const MAX_KEY_FILE: u64 = 64 * 1024;

#[cfg(unix)]
fn is_pipe(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_fifo()
}

#[cfg(not(unix))]
fn is_pipe(_meta: &std::fs::Metadata) -> bool {
    false
}

/// A fresh random key for a key file: 64 hex digits (256 bits) and a
/// newline.
pub fn generate_key_text() -> Result<String> {
    let mut k = [0u8; 32];
    random(&mut k)?;
    Ok(format!("{}\n", Hash(k).to_hex()))
}

/// The `encryption` member of an encrypted store's config.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Encryption {
    /// `xchacha20-poly1305`.
    pub(crate) cipher: String,
    /// `blake3-keyed`.
    pub(crate) ids: String,
    /// 16 hex digits derived from the data key: which data key this is.
    pub(crate) fingerprint: String,
    /// The generation of the sealing key (0, absent: the data key seals,
    /// as before the first rotation).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub(crate) generation: u32,
    /// Generations whose sealing keys the slots still hold while a
    /// rotation re-seals the packs (newest first; absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) retired: Vec<u32>,
    /// Each user key that opens the store.
    pub(crate) keys: Vec<KeySlot>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Encryption {
    /// What can be checked of the config's encryption without a key: the
    /// cipher, and that each key slot could be opened by the right key (a
    /// known KDF, costs in range, a salt and a wrapping of the lengths the
    /// generation needs). A config failing it opens with no key at all.
    pub(crate) fn check(&self, store: &str) -> Result<()> {
        let bad = |what: String| Err(Error::Config(format!("{store} (config): {what}")));
        if self.cipher != CIPHER || self.ids != IDS {
            return bad(format!(
                "encryption {} with {} ids is not one this rewind reads ({CIPHER}, {IDS})",
                self.cipher, self.ids
            ));
        }
        if self.keys.is_empty() {
            return bad("it holds no key slot: no key opens the store (the config was altered; a copy of it from a backup restores access)".into());
        }
        if self.retired.iter().any(|&g| g >= self.generation)
            || (1..self.retired.len()).any(|i| self.retired[i] >= self.retired[i - 1])
        {
            return bad(format!(
                "the retired generations {:?} are not all older than generation {}, newest first: the config was altered",
                self.retired, self.generation
            ));
        }
        let wrapped_len = NONCE + self.payload_len() + TAG;
        for (i, slot) in self.keys.iter().enumerate() {
            let n = i + 1;
            match slot {
                KeySlot::Secret {
                    kdf,
                    memory_kib,
                    iterations,
                    parallelism,
                    salt,
                    wrapped,
                } => {
                    if kdf != "argon2id" {
                        return bad(format!(
                            "key slot {n}: key derivation {kdf:?} is not one this rewind knows (argon2id)"
                        ));
                    }
                    if !(1..=64).contains(parallelism)
                        || !(1..=64).contains(iterations)
                        || *memory_kib < 8 * parallelism
                        || *memory_kib > 4 << 20
                    {
                        return bad(format!(
                            "key slot {n}: Argon2 costs {memory_kib} KiB, {iterations} passes, {parallelism} lanes are out of range (1-64 passes and lanes, 8 KiB per lane to 4 GiB)"
                        ));
                    }
                    let salt_len = unhex(salt, store)?.len();
                    if !(8..=64).contains(&salt_len) {
                        return bad(format!(
                            "key slot {n}: its salt is {salt_len} bytes long (16 when rewind made it)"
                        ));
                    }
                    let got = unhex(wrapped, store)?.len();
                    if got != wrapped_len {
                        return bad(format!(
                            "key slot {n}: its wrapped keys are {got} bytes long, generation {} with {} retired needs {wrapped_len}: the config was altered",
                            self.generation,
                            self.retired.len()
                        ));
                    }
                }
                KeySlot::Kms { key_id, wrapped } => {
                    if key_id.is_empty() || wrapped.is_empty() {
                        return bad(format!(
                            "key slot {n}: an AWS KMS slot without a key id or wrapped keys"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Bytes a key slot wraps: `D` alone at generation 0, else `D`, the
    /// current sealing key, then each retired one.
    fn payload_len(&self) -> usize {
        if self.generation == 0 && self.retired.is_empty() {
            32
        } else {
            32 * (2 + self.retired.len())
        }
    }
}

/// One wrapping of the data key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type")]
pub(crate) enum KeySlot {
    /// Wrapped by a key derived from a key or passphrase with Argon2id.
    #[serde(rename = "passphrase")]
    Secret {
        /// `argon2id` (version 0x13).
        kdf: String,
        /// Argon2 memory cost in KiB.
        memory_kib: u32,
        /// Argon2 passes.
        iterations: u32,
        /// Argon2 lanes.
        parallelism: u32,
        /// 16 random bytes, hex.
        salt: String,
        /// nonce (24) || XChaCha20-Poly1305(data key) (32 + 16), hex.
        wrapped: String,
    },
    /// Wrapped by AWS KMS (`Encrypt` of the data key).
    #[serde(rename = "aws-kms")]
    Kms {
        /// The key id, ARN or alias it was wrapped with.
        key_id: String,
        /// KMS's `CiphertextBlob`, base64 as KMS gives it.
        wrapped: String,
    },
}

impl KeySlot {
    fn describe(&self) -> String {
        match self {
            KeySlot::Secret { .. } => "a key or passphrase".into(),
            KeySlot::Kms { key_id, .. } => format!("the AWS KMS key {key_id}"),
        }
    }
}

/// The unlocked keys of an encrypted store.
pub(crate) struct Keys {
    id_key: [u8; 32],
    /// The current generation's block cipher, then the retired ones'.
    blocks: Vec<XChaCha20Poly1305>,
    caches: XChaCha20Poly1305,
    pub(crate) fingerprint: String,
    data_key: [u8; 32],
    /// The sealing key's generation.
    pub(crate) generation: u32,
    /// The current sealing key (the data key at generation 0).
    sealing: [u8; 32],
    /// Retired generations and their sealing keys, newest first.
    retired: Vec<(u32, [u8; 32])>,
}

impl Drop for Keys {
    fn drop(&mut self) {
        // best effort: the ciphers zeroize their own copies
        self.id_key = [0; 32];
        self.data_key = [0; 32];
        self.sealing = [0; 32];
        for (_, k) in &mut self.retired {
            *k = [0; 32];
        }
    }
}

fn fingerprint(data_key: &[u8; 32]) -> String {
    Hash(blake3::derive_key(CTX_FINGERPRINT, data_key)).short(16)
}

fn cipher(key: &[u8; 32]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&(*key).into())
}

/// Seals `plain` under `c`: nonce || ciphertext || tag.
fn seal_with(c: &XChaCha20Poly1305, ad: &[u8], plain: &[u8]) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE];
    random(&mut nonce)?;
    let ct = c
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plain,
                aad: ad,
            },
        )
        .map_err(|_| Error::Crypto("encryption failed".into()))?;
    let mut out = Vec::with_capacity(NONCE + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens what [`seal_with`] sealed; `None` when it does not authenticate.
fn open_with(c: &XChaCha20Poly1305, ad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < NONCE + TAG {
        return None;
    }
    let nonce: [u8; NONCE] = sealed[..NONCE].try_into().ok()?;
    c.decrypt(
        &XNonce::from(nonce),
        Payload {
            msg: &sealed[NONCE..],
            aad: ad,
        },
    )
    .ok()
}

impl Keys {
    /// The keys of generation 0: the data key seals too.
    fn new(data_key: [u8; 32]) -> Keys {
        Self::with_generation(data_key, 0, data_key, Vec::new())
    }

    fn with_generation(
        data_key: [u8; 32],
        generation: u32,
        sealing: [u8; 32],
        retired: Vec<(u32, [u8; 32])>,
    ) -> Keys {
        let mut blocks = vec![cipher(&blake3::derive_key(CTX_BLOCKS, &sealing))];
        blocks.extend(
            retired
                .iter()
                .map(|(_, k)| cipher(&blake3::derive_key(CTX_BLOCKS, k))),
        );
        Keys {
            id_key: blake3::derive_key(CTX_IDS, &data_key),
            blocks,
            caches: cipher(&blake3::derive_key(CTX_CACHES, &sealing)),
            fingerprint: fingerprint(&data_key),
            data_key,
            generation,
            sealing,
            retired,
        }
    }

    /// What a key slot wraps (see [`Encryption::payload_len`]).
    fn payload(&self) -> Vec<u8> {
        let mut p = self.data_key.to_vec();
        if self.generation > 0 || !self.retired.is_empty() {
            p.extend_from_slice(&self.sealing);
            for (_, k) in &self.retired {
                p.extend_from_slice(k);
            }
        }
        p
    }

    /// The generations of the retired sealing keys, newest first.
    pub(crate) fn retired_generations(&self) -> Vec<u32> {
        self.retired.iter().map(|(g, _)| *g).collect()
    }

    /// The keys after a rotation starts: the same data key (so the same
    /// ids), a fresh random sealing key of the next generation, and the
    /// current and retired sealing keys kept as retired ones (packs not
    /// re-sealed yet still open).
    pub(crate) fn rotated(&self) -> Result<Keys> {
        let mut sealing = [0u8; 32];
        random(&mut sealing)?;
        let generation = self
            .generation
            .checked_add(1)
            .ok_or_else(|| Error::Crypto("the sealing key generation overflows".into()))?;
        let mut retired = vec![(self.generation, self.sealing)];
        retired.extend(self.retired.iter().copied());
        Ok(Self::with_generation(
            self.data_key,
            generation,
            sealing,
            retired,
        ))
    }

    /// These keys without the retired ones (once every pack is re-sealed).
    pub(crate) fn settled(&self) -> Keys {
        Self::with_generation(self.data_key, self.generation, self.sealing, Vec::new())
    }

    /// `enc` made to describe these keys, wrapped by `slot` alone.
    pub(crate) fn describe_into(&self, enc: &mut Encryption, slot: KeySlot) {
        enc.generation = self.generation;
        enc.retired = self.retired_generations();
        enc.keys = vec![slot];
    }

    /// The id of an object whose plain blake3 hash is `plain`.
    pub(crate) fn id(&self, plain: Hash) -> ObjectId {
        ObjectId::from(Hash(*blake3::keyed_hash(&self.id_key, &plain.0).as_bytes()))
    }

    /// Seals a pack block's body (`ad`: its header).
    pub(crate) fn seal_block(&self, ad: &[u8], body: &[u8]) -> Result<Vec<u8>> {
        seal_with(&self.blocks[0], ad, body)
    }

    /// Opens a pack block's body with the current sealing key, else (while
    /// a rotation is unfinished) a retired one; `None` when none
    /// authenticates it.
    pub(crate) fn open_block(&self, ad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        self.blocks.iter().find_map(|c| open_with(c, ad, sealed))
    }

    /// A new store's keys: a fresh random data key, wrapped by `user`.
    pub(crate) fn create(user: &UserKey) -> Result<(Keys, Encryption)> {
        let mut data_key = [0u8; 32];
        random(&mut data_key)?;
        let keys = Keys::new(data_key);
        let enc = Encryption {
            cipher: CIPHER.into(),
            ids: IDS.into(),
            fingerprint: keys.fingerprint.clone(),
            generation: 0,
            retired: Vec::new(),
            keys: vec![keys.wrap(user)?],
        };
        Ok((keys, enc))
    }

    /// The data key (and the sealing keys, after a rotation) wrapped by
    /// `user`: a new key slot.
    pub(crate) fn wrap(&self, user: &UserKey) -> Result<KeySlot> {
        let payload = self.payload();
        match user {
            UserKey::Secret { secret, .. } => {
                let mut salt = [0u8; 16];
                random(&mut salt)?;
                let kek = stretch(
                    secret,
                    &salt,
                    ARGON2_MEMORY_KIB,
                    ARGON2_ITERATIONS,
                    ARGON2_LANES,
                )?;
                let wrapped = seal_with(&cipher(&kek), WRAP_AD, &payload)?;
                Ok(KeySlot::Secret {
                    kdf: "argon2id".into(),
                    memory_kib: ARGON2_MEMORY_KIB,
                    iterations: ARGON2_ITERATIONS,
                    parallelism: ARGON2_LANES,
                    salt: hex(&salt),
                    wrapped: hex(&wrapped),
                })
            }
            UserKey::Kms { key_id } => {
                let wrapped = crate::kms::Kms::from_env()?.encrypt(key_id, &payload)?;
                Ok(KeySlot::Kms {
                    key_id: key_id.clone(),
                    wrapped,
                })
            }
        }
    }

    /// Unwraps the data key of `enc` with `user` (or, without one, with
    /// the store's KMS key slots). `Ok(None)`: nothing to try.
    pub(crate) fn unlock(
        enc: &Encryption,
        user: Option<&UserKey>,
        store: &str,
    ) -> Result<Option<Keys>> {
        if enc.cipher != CIPHER || enc.ids != IDS || user.is_some() {
            // (without a key the store still lists its refs and records;
            // `verify` reports a config no key could open)
            enc.check(store)?;
        }
        let slots = || -> String {
            let names: Vec<String> = enc.keys.iter().map(KeySlot::describe).collect();
            names.join(", ")
        };
        let payload = match user {
            Some(UserKey::Secret { secret, origin }) => {
                unwrap_with_secret(enc, secret, store)?.ok_or_else(|| Error::WrongKey {
                    store: store.to_string(),
                    detail: format!(
                        "the key from {origin} does not open it (its config holds the data key wrapped by {})",
                        slots()
                    ),
                })?
            }
            Some(UserKey::Kms { key_id }) => {
                let Some(wrapped) = kms_slot(enc) else {
                    return Err(Error::WrongKey {
                        store: store.to_string(),
                        detail: format!(
                            "it has no AWS KMS key slot for {key_id} (its config holds the data key wrapped by {})",
                            slots()
                        ),
                    });
                };
                crate::kms::Kms::from_env()?.decrypt(wrapped)?
            }
            None => match kms_slot(enc) {
                Some(w) => crate::kms::Kms::from_env()?.decrypt(w)?,
                None => return Ok(None),
            },
        };
        keys_of_payload(enc, &payload, store).map(Some)
    }
}

/// The payload of the first passphrase slot of `enc` that `secret` opens
/// (`None`: none does). [`Encryption::check`] has checked each slot's KDF
/// and costs before any key is stretched: a crafted config must not make
/// us allocate gigabytes.
fn unwrap_with_secret(enc: &Encryption, secret: &[u8], store: &str) -> Result<Option<Vec<u8>>> {
    for slot in &enc.keys {
        let KeySlot::Secret {
            memory_kib,
            iterations,
            parallelism,
            salt,
            wrapped,
            ..
        } = slot
        else {
            continue;
        };
        let salt = unhex(salt, store)?;
        let kek = stretch(secret, &salt, *memory_kib, *iterations, *parallelism)?;
        if let Some(k) = open_with(&cipher(&kek), WRAP_AD, &unhex(wrapped, store)?) {
            return Ok(Some(k));
        }
    }
    Ok(None)
}

/// The wrapped payload of the store's AWS KMS key slot, if it has one.
fn kms_slot(enc: &Encryption) -> Option<&String> {
    enc.keys.iter().find_map(|s| match s {
        KeySlot::Kms { wrapped, .. } => Some(wrapped),
        KeySlot::Secret { .. } => None,
    })
}

/// The keys an unwrapped payload holds (docs/store-format.md §22.2: the
/// data key, then the current and retired sealing keys), checked against
/// the config's generation, retired list and fingerprint.
fn keys_of_payload(enc: &Encryption, payload: &[u8], store: &str) -> Result<Keys> {
    if payload.len() != enc.payload_len() {
        return Err(Error::WrongKey {
            store: store.to_string(),
            detail: format!(
                "the unwrapped keys are {} bytes long, the config's generation {} with {} retired needs {}: the config was altered",
                payload.len(),
                enc.generation,
                enc.retired.len(),
                enc.payload_len()
            ),
        });
    }
    let key_at = |i: usize| -> [u8; 32] {
        let mut k = [0u8; 32];
        k.copy_from_slice(&payload[32 * i..32 * (i + 1)]);
        k
    };
    let keys = if payload.len() == 32 {
        Keys::new(key_at(0))
    } else {
        let retired = enc
            .retired
            .iter()
            .enumerate()
            .map(|(i, g)| (*g, key_at(i + 2)))
            .collect();
        Keys::with_generation(key_at(0), enc.generation, key_at(1), retired)
    };
    if keys.fingerprint != enc.fingerprint {
        return Err(Error::WrongKey {
            store: store.to_string(),
            detail: format!(
                "the unwrapped data key has fingerprint {}, the config names {}: the config was altered",
                keys.fingerprint, enc.fingerprint
            ),
        });
    }
    Ok(keys)
}

/// Argon2id of a user key.
fn stretch(secret: &[u8], salt: &[u8], m: u32, t: u32, p: u32) -> Result<[u8; 32]> {
    let params = argon2::Params::new(m, t, p, Some(32))
        .map_err(|e| Error::Crypto(format!("Argon2 parameters: {e}")))?;
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    a.hash_password_into(secret, salt, &mut out)
        .map_err(|e| Error::Crypto(format!("Argon2: {e}")))?;
    Ok(out)
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str, store: &str) -> Result<Vec<u8>> {
    let bad = || Error::Config(format!("{store} (config): {s:?} is not hex"));
    if !s.len().is_multiple_of(2) {
        return Err(bad());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2).ok_or_else(bad)?, 16).map_err(|_| bad()))
        .collect()
}

/// Whether a store's objects are encrypted, and if so whether its key is
/// at hand.
#[derive(Clone)]
pub(crate) enum Crypt {
    /// A store without encryption.
    Plain,
    /// An encrypted store opened without its key: what it takes to read
    /// its objects.
    Locked(String),
    /// An encrypted store, unlocked.
    Open(Arc<Keys>),
}

impl Crypt {
    /// The id of `bytes` in this store.
    pub(crate) fn id_of(&self, bytes: &[u8]) -> ObjectId {
        self.id_of_hash(Hash::of(bytes))
    }

    /// The id of content whose plain blake3 hash is `plain`.
    pub(crate) fn id_of_hash(&self, plain: Hash) -> ObjectId {
        match self {
            Crypt::Open(k) => k.id(plain),
            Crypt::Plain | Crypt::Locked(_) => ObjectId::from(plain),
        }
    }

    /// The keys, or the error saying what is needed.
    pub(crate) fn keys(&self, what: &str) -> Result<Option<&Keys>> {
        match self {
            Crypt::Plain => Ok(None),
            Crypt::Open(k) => Ok(Some(k)),
            Crypt::Locked(how) => Err(Error::KeyNeeded(format!("{what}: {how}"))),
        }
    }
}

/// Seals and opens the local cache files of an encrypted store (the parse
/// and stat caches of snapshotted directories hold what their files hold).
#[derive(Clone)]
pub struct CacheSeal(pub(crate) Arc<Keys>);

impl CacheSeal {
    /// `plain` sealed: a random nonce, the ciphertext and its tag. `kind`
    /// (bound to the result) says what the file is.
    pub fn seal(&self, kind: &str, plain: &[u8]) -> Result<Vec<u8>> {
        seal_with(&self.0.caches, kind.as_bytes(), plain)
    }

    /// What [`CacheSeal::seal`] sealed, `None` when it was altered, sealed
    /// with another key or as another kind.
    pub fn open(&self, kind: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        open_with(&self.0.caches, kind.as_bytes(), sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> UserKey {
        UserKey::Secret {
            secret: s.as_bytes().to_vec(),
            origin: "test".into(),
        }
    }

    #[test]
    fn a_wrapped_data_key_opens_with_its_key_only() {
        let (keys, enc) = Keys::create(&secret("correct horse battery")).unwrap();
        let again = Keys::unlock(&enc, Some(&secret("correct horse battery")), "s")
            .unwrap()
            .unwrap();
        assert_eq!(again.data_key, keys.data_key);
        let err = Keys::unlock(&enc, Some(&secret("wrong horse battery")), "s")
            .err()
            .unwrap();
        assert!(matches!(err, Error::WrongKey { .. }), "{err}");
        assert!(err.to_string().contains("does not open"), "{err}");
        // no key and no KMS slot: nothing to try
        assert!(Keys::unlock(&enc, None, "s").unwrap().is_none());
    }

    #[test]
    fn keyed_ids_hide_content_but_keep_dedup() {
        let (a, _) = Keys::create(&secret("key number one")).unwrap();
        let (b, _) = Keys::create(&secret("key number one")).unwrap();
        let h = Hash::of(b"password = \"hunter2\"");
        assert_eq!(a.id(h), a.id(h));
        assert_ne!(a.id(h), ObjectId::from(h));
        // two stores, two random data keys: two ids
        assert_ne!(a.id(h), b.id(h));
    }

    #[test]
    fn sealed_blocks_fail_when_altered() {
        let (k, _) = Keys::create(&secret("another key here")).unwrap();
        let sealed = k.seal_block(b"hdr", b"secret bytes").unwrap();
        assert_eq!(k.open_block(b"hdr", &sealed).unwrap(), b"secret bytes");
        assert!(k.open_block(b"HDR", &sealed).is_none());
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x20;
            assert!(k.open_block(b"hdr", &bad).is_none(), "flip at {i}");
        }
    }
}
