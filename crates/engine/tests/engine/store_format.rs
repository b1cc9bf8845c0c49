//! A second reader of the store, written from docs/store-format.md alone:
//! it shares no code with rewind-odb (its own varints, LZ4 decoder, index
//! and pack parsing), decodes a real store that rewind wrote, and checks
//! that the worked examples of the document (§19) are the bytes rewind
//! writes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rewind_engine::{snapshot, SnapshotOptions};
use rewind_odb::Store;

use crate::common::{shop, TempDir};

fn doc() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/store-format.md");
    std::fs::read_to_string(path).unwrap()
}

fn blake3(b: &[u8]) -> [u8; 32] {
    *blake3::hash(b).as_bytes()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The bytes of the first hex dump (`0000  52 57 …` lines in a ``` block)
/// after the heading that starts with `heading`.
fn doc_dump(doc: &str, heading: &str) -> Result<Vec<u8>, String> {
    let at = doc
        .find(&format!("\n{heading}"))
        .ok_or(format!("no heading {heading:?}"))?;
    let block = doc[at..].split("```").nth(1).ok_or("no ``` block")?;
    let mut out = Vec::new();
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let (offset, bytes) = line
            .split_once("  ")
            .ok_or(format!("not OFFSET  BYTES: {line}"))?;
        if usize::from_str_radix(offset, 16) != Ok(out.len()) {
            return Err(format!("wrong offset {offset}"));
        }
        for b in bytes.split_whitespace() {
            out.push(u8::from_str_radix(b, 16).map_err(|e| format!("{b}: {e}"))?);
        }
    }
    Ok(out)
}

/// A dump in the document's layout, 16 bytes a line.
fn dump(b: &[u8]) -> String {
    b.chunks(16)
        .enumerate()
        .map(|(i, c)| {
            let bytes: Vec<String> = c.iter().map(|x| format!("{x:02x}")).collect();
            format!("{:04x}  {}\n", i * 16, bytes.join(" "))
        })
        .collect()
}

#[track_caller]
fn assert_doc_bytes(heading: &str, doc: &str, actual: &[u8]) {
    let documented = doc_dump(doc, heading);
    assert!(
        documented.as_deref() == Ok(actual),
        "{heading} of docs/store-format.md ({documented:?}) is not what rewind writes; it writes:\n{}",
        dump(actual)
    );
}

// ---- §3: primitive encodings --------------------------------------------

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b, at: 0 }
    }
    fn u8(&mut self) -> u8 {
        self.at += 1;
        self.b[self.at - 1]
    }
    fn fixed(&mut self, n: usize) -> &'a [u8] {
        self.at += n;
        &self.b[self.at - n..self.at]
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.fixed(4).try_into().unwrap())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.fixed(8).try_into().unwrap())
    }
    fn id(&mut self) -> [u8; 32] {
        self.fixed(32).try_into().unwrap()
    }
    /// §3.1: unsigned LEB128.
    fn varint(&mut self) -> u64 {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let b = self.u8();
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return v;
            }
            shift += 7;
        }
    }
    /// §3.2
    fn str(&mut self) -> String {
        let n = self.varint() as usize;
        String::from_utf8(self.fixed(n).to_vec()).unwrap()
    }
    fn done(&self) -> bool {
        self.at == self.b.len()
    }
}

// ---- §5.2: an LZ4 block decoder ------------------------------------------

fn lz4_decode(input: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size);
    let mut i = 0;
    let more = |i: &mut usize, mut n: usize| {
        if n == 15 {
            loop {
                let b = input[*i];
                *i += 1;
                n += b as usize;
                if b != 255 {
                    break;
                }
            }
        }
        n
    };
    loop {
        let token = input[i];
        i += 1;
        let literals = more(&mut i, (token >> 4) as usize);
        out.extend_from_slice(&input[i..i + literals]);
        i += literals;
        if i == input.len() {
            break;
        }
        let offset = u16::from_le_bytes([input[i], input[i + 1]]) as usize;
        i += 2;
        let len = more(&mut i, (token & 15) as usize) + 4;
        let start = out.len() - offset;
        for k in 0..len {
            out.push(out[start + k]);
        }
    }
    assert_eq!(out.len(), size, "the block header's uncompressed length");
    out
}

// ---- §6 and §5: indexes and packs ----------------------------------------

/// An index entry (§6).
#[derive(Clone, Copy, Debug)]
struct Entry {
    pack: [u8; 32],
    block: u64,
    block_len: u32,
    inner: u32,
    len: u32,
    ty: u8,
}

fn parse_index(name: [u8; 32], b: &[u8], into: &mut HashMap<[u8; 32], Entry>) -> usize {
    assert_eq!(&b[..8], b"RWIDX002");
    let n = b.len();
    assert_eq!(&blake3(&b[..n - 32])[..], &b[n - 32..], "index checksum");
    let mut r = Reader::new(&b[8..n - 32]);
    let count = r.u32() as usize;
    assert_eq!(n, 76 + 53 * count, "index length");
    let mut last = None;
    for _ in 0..count {
        let id = r.id();
        assert!(last < Some(id), "ids strictly increasing");
        last = Some(id);
        let e = Entry {
            pack: name,
            block: r.u64(),
            block_len: r.u32(),
            inner: r.u32(),
            len: r.u32(),
            ty: r.u8(),
        };
        assert!(matches!(e.ty, 1..=5 | 7), "type code {}", e.ty);
        into.insert(id, e);
    }
    assert_eq!(r.id(), name, "the index names its pack");
    assert!(r.done());
    count
}

/// The store, as the document says to read it.
struct SecondReader {
    root: PathBuf,
    entries: HashMap<[u8; 32], Entry>,
    /// An encrypted store's keys (§22.1): the block cipher and `K_id`.
    keys: Option<(chacha20poly1305::XChaCha20Poly1305, [u8; 32])>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// §22.2: the data key of an encrypted store's config (and, from
/// generation 1 on, its sealing key: §22.6), unwrapped with a passphrase
/// key slot, and the keys §22.1 derives from them.
fn unlock(
    config: &serde_json::Value,
    passphrase: &str,
) -> (chacha20poly1305::XChaCha20Poly1305, [u8; 32]) {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    let enc = &config["encryption"];
    assert_eq!(enc["cipher"], "xchacha20-poly1305");
    assert_eq!(enc["ids"], "blake3-keyed");
    let slot = &enc["keys"][0];
    assert_eq!(slot["type"], "passphrase");
    assert_eq!(slot["kdf"], "argon2id");
    let n = |k: &str| slot[k].as_u64().unwrap() as u32;
    let params =
        argon2::Params::new(n("memory_kib"), n("iterations"), n("parallelism"), Some(32)).unwrap();
    let mut kek = [0u8; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(
            passphrase.as_bytes(),
            &unhex(slot["salt"].as_str().unwrap()),
            &mut kek,
        )
        .unwrap();
    let wrapped = unhex(slot["wrapped"].as_str().unwrap());
    let nonce: [u8; 24] = wrapped[..24].try_into().unwrap();
    let payload = chacha20poly1305::XChaCha20Poly1305::new(&kek.into())
        .decrypt(
            &nonce.into(),
            Payload {
                msg: &wrapped[24..],
                aad: b"rewind-store data key",
            },
        )
        .expect("the passphrase opens the key slot");
    // §22.6: D alone at generation 0; else D, the sealing key E of
    // `generation`, then one key per `retired` generation
    let generation = enc.get("generation").map_or(0, |g| g.as_u64().unwrap());
    let retired = enc
        .get("retired")
        .map_or(0, |r| r.as_array().unwrap().len());
    let expected = if generation == 0 && retired == 0 {
        32
    } else {
        32 * (2 + retired)
    };
    assert_eq!(payload.len(), expected, "generation {generation}");
    let data_key: [u8; 32] = payload[..32].try_into().unwrap();
    let sealing: [u8; 32] = if generation == 0 {
        data_key
    } else {
        payload[32..64].try_into().unwrap()
    };
    let fingerprint = hex(&blake3::derive_key(
        "rewind 2026-12-01 data key fingerprint",
        &data_key,
    ));
    assert_eq!(enc["fingerprint"].as_str().unwrap(), &fingerprint[..16]);
    let block = blake3::derive_key("rewind 2026-12-01 pack blocks", &sealing);
    (
        chacha20poly1305::XChaCha20Poly1305::new(&block.into()),
        blake3::derive_key("rewind 2026-12-01 object ids", &data_key),
    )
}

impl SecondReader {
    fn open(root: &Path) -> SecondReader {
        Self::open_with(root, None)
    }

    /// Opens a store, encrypted when `passphrase` is given (§22).
    fn open_with(root: &Path, passphrase: Option<&str>) -> SecondReader {
        let config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(root.join("config")).unwrap()).unwrap();
        assert_eq!(config["format"], "rewind-store");
        // §9, §17: 3 (no links), 4 (links), 5 (encryption) and 6 (sealing
        // key generations) are read
        let version = config["version"].as_u64().unwrap();
        assert!((3..=6).contains(&version), "version {version}");
        assert_eq!(config.get("encryption").is_some(), passphrase.is_some());
        assert!(
            passphrase.is_none() || version >= 5,
            "only versions 5 and 6 are encrypted"
        );
        assert!(
            version == 6
                || config["encryption"]
                    .get("generation")
                    .is_none_or(|g| g == 0),
            "generations above 0 from version 6 on"
        );
        let keys = passphrase.map(|p| unlock(&config, p));
        let mut entries = HashMap::new();
        for e in std::fs::read_dir(root.join("packs")).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            if let Some(hex_name) = name.strip_suffix(".idx") {
                let pack: [u8; 32] = (0..32)
                    .map(|i| u8::from_str_radix(&hex_name[2 * i..2 * i + 2], 16).unwrap())
                    .collect::<Vec<u8>>()
                    .try_into()
                    .unwrap();
                let idx = std::fs::read(root.join("packs").join(&name)).unwrap();
                parse_index(pack, &idx, &mut entries);
                let whole = std::fs::read(root.join(format!("packs/{hex_name}.pack"))).unwrap();
                assert_eq!(&whole[..8], b"RWPACK02");
                let n = whole.len();
                assert_eq!(blake3(&whole[..n - 32]), pack, "pack trailer = its name");
                assert_eq!(&whole[n - 32..], &pack[..]);
            }
        }
        SecondReader {
            root: root.to_path_buf(),
            entries,
            keys,
        }
    }

    /// §12: one object, by a ranged read of its block.
    fn object(&self, id: &[u8; 32], ty: u8) -> Vec<u8> {
        let e = self.entries[id];
        assert_eq!(e.ty, ty, "type of {}", hex(id));
        let pack = std::fs::read(self.root.join(format!("packs/{}.pack", hex(&e.pack)))).unwrap();
        let stored = &pack[e.block as usize..(e.block + u64::from(e.block_len)) as usize];
        let mut r = Reader::new(stored);
        let flags = r.u8();
        let stored_len = r.u32() as usize;
        let raw_len = r.u32() as usize;
        assert_eq!(stored_len + 9, stored.len());
        // §22.3: a sealed body opens to what an unsealed block stores
        let body = match (&self.keys, flags & 2) {
            (None, 0) => stored[9..].to_vec(),
            (Some((cipher, _)), 2) => {
                use chacha20poly1305::aead::{Aead, Payload};
                let nonce: [u8; 24] = stored[9..33].try_into().unwrap();
                cipher
                    .decrypt(
                        &nonce.into(),
                        Payload {
                            msg: &stored[33..],
                            aad: &stored[..9],
                        },
                    )
                    .expect("the block authenticates")
            }
            _ => panic!(
                "block flags {flags} in a store {} encryption",
                if self.keys.is_some() {
                    "with"
                } else {
                    "without"
                }
            ),
        };
        let block = match flags & 1 {
            0 => body,
            _ => lz4_decode(&body, raw_len),
        };
        let start = e.inner as usize;
        let header = &block[start - 37..start];
        assert_eq!(header[0], ty);
        assert_eq!(u32::from_le_bytes(header[1..5].try_into().unwrap()), e.len);
        assert_eq!(&header[5..], &id[..]);
        let content = block[start..start + e.len as usize].to_vec();
        let want = match &self.keys {
            // §2, §22.1: the keyed id of an encrypted store
            Some((_, k_id)) => *blake3::keyed_hash(k_id, &blake3(&content)).as_bytes(),
            None => blake3(&content),
        };
        assert_eq!(&want, id, "content hash");
        content
    }

    /// §8.1: the refs document, checksum checked.
    fn refs(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.root.join("refs")).unwrap();
        let at = text.rfind("\n# blake3 ").unwrap();
        let (json, sum) = (&text[..at], text[at + 10..].trim());
        assert_eq!(hex(&blake3(json.as_bytes())), sum);
        let refs: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(refs["version"], 1);
        refs
    }

    /// §7: a record, hash checked.
    fn record(&self, id: &str) -> serde_json::Value {
        let bytes = std::fs::read(self.root.join("snapshots").join(id)).unwrap();
        assert_eq!(hex(&blake3(&bytes)), id);
        serde_json::from_slice(&bytes).unwrap()
    }

    /// §4.2: every file of a tree, by path (a symbolic link as
    /// `-> TARGET`).
    fn files(&self, tree: &[u8; 32], prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) {
        let bytes = self.object(tree, 2);
        let mut r = Reader::new(&bytes);
        let version = r.u8();
        assert!(version == 1 || version == 2, "tree version {version}");
        let mut links = 0;
        for _ in 0..r.varint() {
            let name = r.str();
            let kind = r.u8();
            let size = r.varint();
            let id = r.id();
            let path = format!("{prefix}{name}");
            match kind {
                2 => self.files(&id, &format!("{path}/"), out),
                0 | 1 => {
                    let blob = self.object(&id, 1);
                    assert_eq!(blob.len() as u64, size);
                    out.insert(path, blob);
                }
                3 => {
                    links += 1;
                    let target = self.object(&id, 1);
                    assert_eq!(target.len() as u64, size);
                    let mut shown = b"-> ".to_vec();
                    shown.extend(target);
                    out.insert(path, shown);
                }
                k => panic!("entry kind {k}"),
            }
        }
        assert!(r.done());
        assert_eq!(
            version == 2,
            links > 0,
            "version 2 exactly when a link is listed"
        );
    }

    /// §4.5, §4.4, §4.3: the model's groups and the address and kind of
    /// every node.
    fn nodes(&self, model: &[u8; 32]) -> Vec<(String, String, u8)> {
        let bytes = self.object(model, 3);
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8(), 1);
        let _root = r.str();
        if r.u8() != 0 {
            let (_path, _lineage, _serial, _tf) = (r.str(), r.str(), r.varint(), r.str());
        }
        let mut out = Vec::new();
        for _ in 0..r.varint() {
            let key = r.str();
            let group = r.id();
            let count = r.varint() as usize;
            let g = self.object(&group, 4);
            let mut gr = Reader::new(&g);
            assert_eq!(gr.u8(), 1);
            assert_eq!(gr.varint() as usize, count);
            for _ in 0..count {
                let (address, kind, node) = (gr.str(), gr.u8(), gr.id());
                let (_line, _col) = (gr.varint(), gr.varint());
                let n = self.object(&node, 5);
                let mut nr = Reader::new(&n);
                assert_eq!(nr.u8(), 2, "node encoding version");
                assert_eq!(nr.u8(), kind, "{address}: the group's kind is the node's");
                assert_eq!(nr.str(), address, "the group's address is the node's");
                out.push((key.clone(), address, kind));
            }
            assert!(gr.done());
        }
        for _ in 0..r.varint() {
            let (_severity, _file, _line, _col, _message) =
                (r.u8(), r.str(), r.varint(), r.varint(), r.str());
        }
        assert!(r.done());
        out
    }
}

fn id_of(v: &serde_json::Value) -> [u8; 32] {
    let s = v.as_str().unwrap();
    (0..32)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect::<Vec<u8>>()
        .try_into()
        .unwrap()
}

#[test]
fn a_second_reader_decodes_a_real_store_from_the_document() {
    let t = TempDir::new("second-reader");
    let root = t.0.join("store");
    let store = Store::init(root.to_str().unwrap()).unwrap();
    let opts = SnapshotOptions {
        env: "prod".into(),
        tags: vec!["v2".into()],
        ..Default::default()
    };
    let o = snapshot(&store, &shop(2), &opts).unwrap();

    let reader = SecondReader::open(&root);
    let refs = reader.refs();
    assert_eq!(refs["tags"]["v2"], o.id.to_hex());
    assert_eq!(refs["envs"]["prod"]["latest"], o.id.to_hex());
    let record = reader.record(refs["envs"]["prod"]["latest"].as_str().unwrap());
    assert_eq!(record["env"], "prod");

    // the files are the directory's, byte for byte
    let mut files = BTreeMap::new();
    reader.files(&id_of(&record["tree"]), "", &mut files);
    assert_eq!(files.len() as u64, record["files"].as_u64().unwrap());
    for (path, bytes) in &files {
        assert_eq!(&std::fs::read(shop(2).join(path)).unwrap(), bytes, "{path}");
    }
    assert!(files.contains_key("terraform.tfstate"));

    // every node is where its group says, and the counts are the record's
    let nodes = reader.nodes(&id_of(&record["model"]));
    let resources = nodes
        .iter()
        .filter(|(key, _, kind)| !key.starts_with("state:") && *kind == 5)
        .count();
    assert_eq!(resources as u64, record["resources"].as_u64().unwrap());
    assert!(nodes
        .iter()
        .any(|(key, _, kind)| key == "state:" && *kind == 13));
    assert!(nodes
        .iter()
        .any(|(key, a, _)| key == "modules/network/main.tf" && a.starts_with("module.network.")));
    // many small nodes share compressed blocks
    let compressed = reader.entries.values().filter(|e| {
        let pack = std::fs::read(root.join(format!("packs/{}.pack", hex(&e.pack)))).unwrap();
        pack[e.block as usize] == 1
    });
    assert!(compressed.count() > 100);
}

#[test]
fn a_second_reader_decodes_an_encrypted_store_from_the_document() {
    let t = TempDir::new("second-reader-encrypted");
    let root = t.0.join("store");
    let passphrase = "the second reader's passphrase";
    let store = Store::init_with(
        root.to_str().unwrap(),
        &rewind_odb::InitOptions {
            encrypt: Some(rewind_odb::UserKey::Secret {
                secret: passphrase.as_bytes().to_vec(),
                origin: "the test".into(),
            }),
            ..Default::default()
        },
    )
    .unwrap();
    let opts = SnapshotOptions {
        env: "prod".into(),
        ..Default::default()
    };
    let o = snapshot(&store, &shop(2), &opts).unwrap();
    let reader = SecondReader::open_with(&root, Some(passphrase));
    let record = reader.record(&o.id.to_hex());
    let mut files = BTreeMap::new();
    reader.files(&id_of(&record["tree"]), "", &mut files);
    assert_eq!(files.len() as u64, record["files"].as_u64().unwrap());
    for (path, bytes) in &files {
        assert_eq!(&std::fs::read(shop(2).join(path)).unwrap(), bytes, "{path}");
    }
    let nodes = reader.nodes(&id_of(&record["model"]));
    assert!(nodes
        .iter()
        .any(|(key, _, kind)| key == "state:" && *kind == 13));
    // every block is sealed
    for e in reader.entries.values() {
        let pack = std::fs::read(root.join(format!("packs/{}.pack", hex(&e.pack)))).unwrap();
        assert!(pack[e.block as usize] & 2 == 2, "a sealed block");
    }

    // §22.6: after a key rotation, the same ids and the same files, read
    // with the sealing key of generation 1 the new config wraps
    let rotated = "the second reader's new passphrase";
    store
        .rotate_key(&rewind_odb::UserKey::Secret {
            secret: rotated.as_bytes().to_vec(),
            origin: "the test".into(),
        })
        .unwrap();
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("config")).unwrap()).unwrap();
    assert_eq!(config["version"], 6);
    assert_eq!(config["encryption"]["generation"], 1);
    let after = SecondReader::open_with(&root, Some(rotated));
    let mut ids_before: Vec<_> = reader.entries.keys().collect();
    let mut ids_after: Vec<_> = after.entries.keys().collect();
    ids_before.sort();
    ids_after.sort();
    assert_eq!(ids_before, ids_after, "object ids unchanged");
    let record = after.record(&o.id.to_hex());
    let mut again = BTreeMap::new();
    after.files(&id_of(&record["tree"]), "", &mut again);
    assert_eq!(again, files);
    assert_eq!(after.nodes(&id_of(&record["model"])), nodes);
}

#[test]
fn the_worked_examples_are_the_bytes_rewind_writes() {
    let doc = doc();
    let t = TempDir::new("worked-example");
    let root = t.0.join("store");
    let store = Store::init(root.to_str().unwrap()).unwrap();
    // §19.5: the refs of a new store
    let refs = std::fs::read(root.join("refs")).unwrap();
    assert_eq!(
        doc_block(&doc, "### 19.5").as_bytes(),
        &refs[..],
        "§19.5 is not the refs `init` writes:\n{}",
        String::from_utf8_lossy(&refs)
    );

    let dir = t.0.join("app");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.tf"), "terraform {}\n").unwrap();
    let o = snapshot(&store, &dir, &SnapshotOptions::default()).unwrap();
    let reader = SecondReader::open(&root);
    // §19.1: the tree
    let tree = reader.object(&o.record.tree.hash().0, 2);
    assert_doc_bytes("### 19.1", &doc, &tree);
    // §19.2 and §19.3: the pack holding the blob, and its index
    let blob = blake3(b"terraform {}\n");
    let pack_name = hex(&reader.entries[&blob].pack);
    let pack = std::fs::read(root.join(format!("packs/{pack_name}.pack"))).unwrap();
    assert_doc_bytes("### 19.2", &doc, &pack);
    let idx = std::fs::read(root.join(format!("packs/{pack_name}.idx"))).unwrap();
    assert_doc_bytes("### 19.3", &doc, &idx);
    assert!(doc.contains(&pack_name), "§19.2 names the pack {pack_name}");
}

/// §4.2, §9, §17: a store holding symbolic links, read from the
/// document: version 6 (links since 4), trees of version 2 with entries of kind 3 whose
/// blob is the target, and the file a link leads to stored at its own
/// path.
#[test]
fn a_second_reader_decodes_a_store_holding_links() {
    let t = TempDir::new("second-reader-links");
    let root = t.0.join("store");
    let store = Store::init(root.to_str().unwrap()).unwrap();
    let dir = t.0.join("app");
    std::fs::create_dir_all(dir.join("shared/net")).unwrap();
    std::fs::create_dir_all(dir.join("modules")).unwrap();
    std::fs::write(
        dir.join("main.tf"),
        "module \"net\" {\n  source = \"./modules/net\"\n}\n",
    )
    .unwrap();
    std::fs::write(dir.join("shared/net/main.tf"), "locals {\n  a = 1\n}\n").unwrap();
    std::os::unix::fs::symlink("../shared/net", dir.join("modules/net")).unwrap();
    let o = snapshot(&store, &dir, &SnapshotOptions::default()).unwrap();
    let reader = SecondReader::open(&root);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("config")).unwrap()).unwrap();
    // a new store is of the version this rewind writes; links need 4
    assert_eq!(config["version"], 6);
    let mut files = BTreeMap::new();
    reader.files(&o.record.tree.hash().0, "", &mut files);
    let shown: BTreeMap<&str, String> = files
        .iter()
        .map(|(k, v)| (k.as_str(), String::from_utf8_lossy(v).into_owned()))
        .collect();
    assert_eq!(
        shown,
        BTreeMap::from([
            (
                "main.tf",
                "module \"net\" {\n  source = \"./modules/net\"\n}\n".to_string()
            ),
            ("modules/net", "-> ../shared/net".to_string()),
            ("shared/net/main.tf", "locals {\n  a = 1\n}\n".to_string()),
        ])
    );
}

/// The text of the first ``` block after a heading.
fn doc_block(doc: &str, heading: &str) -> String {
    let at = doc.find(&format!("\n{heading}")).unwrap();
    let block = doc[at..].split("```").nth(1).unwrap();
    block.split_once('\n').unwrap().1.to_string()
}

/// §7 `inputs`: what a snapshot was given beside its directory, as the
/// document describes it; the state given is in the tree as
/// `rewind.pulled.tfstate` and the variable values are model nodes.
#[test]
fn records_hold_the_inputs_and_records_without_them_still_read() {
    let t = TempDir::new("inputs-record");
    let root = t.0.join("store");
    let store = Store::init(root.to_str().unwrap()).unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/inputs");
    let opts = SnapshotOptions {
        env: "prod".into(),
        inputs: rewind_engine::Inputs {
            state: Some(rewind_engine::ExternalState {
                shown: "(standard input)".into(),
                bytes: std::fs::read(fixtures.join("pipeline-v1.tfstate")).unwrap(),
            }),
            variables: vec![
                rewind_engine::InputSource::File(fixtures.join("pipeline/v1/prod.tfvars")),
                rewind_engine::InputSource::Var("replicas".into(), "3".into()),
            ],
            workspace: Some("blue".into()),
            modules: None,
        },
        ..Default::default()
    };
    let o = snapshot(&store, &fixtures.join("pipeline/v1"), &opts).unwrap();
    let reader = SecondReader::open(&root);
    let record = reader.record(&o.id.to_hex());
    assert_eq!(
        record["inputs"],
        serde_json::json!({
            "workspace": "blue",
            "state": "(standard input)",
            "var_files": [fixtures.join("pipeline/v1/prod.tfvars").display().to_string()],
            "vars": ["replicas"],
        })
    );
    let mut files = BTreeMap::new();
    reader.files(&id_of(&record["tree"]), "", &mut files);
    assert_eq!(
        files["rewind.pulled.tfstate"],
        std::fs::read(fixtures.join("pipeline-v1.tfstate")).unwrap()
    );
    assert!(
        files.contains_key("init.sh"),
        "the file main.tf reads is stored"
    );
    let nodes = reader.nodes(&id_of(&record["model"]));
    assert!(nodes
        .iter()
        .any(|(_, a, _)| a == "tfvars[\"(command line)\"]"));

    // a record written before inputs existed: no `inputs`, workspace default
    let mut old = record.clone();
    old.as_object_mut().unwrap().remove("inputs");
    let mut bytes = serde_json::to_vec_pretty(&old).unwrap();
    bytes.push(b'\n');
    let id = hex(&blake3(&bytes));
    std::fs::write(root.join(format!("snapshots/{id}")), &bytes).unwrap();
    let read = store
        .record(&rewind_odb::SnapshotId::from_hex(&id).unwrap())
        .unwrap();
    assert_eq!(read.inputs, None);
    assert_eq!(read.workspace(), "default");
}
