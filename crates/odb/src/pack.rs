//! Pack files and their indexes.
//!
//! A pack holds many objects in blocks: consecutive small objects share a
//! block (about 64 KiB) that is LZ4-compressed as a whole, so small objects
//! such as model nodes compress well together; a large object gets a block
//! of its own. The index lists every object sorted by id with its block's
//! offset and stored length and its place inside the block, so one object
//! costs one ranged read of one block. Packs and indexes end with a blake3
//! checksum of everything before it; a pack is named by its checksum.
//! Layouts: docs/store-format.md.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use rewind_model::Hash;

use crate::backend::Backend;
use crate::crypt::{Crypt, Keys, NONCE, TAG};
use crate::error::{corrupt, io, Error, Result};
use crate::id::ObjectId;

/// The first bytes of a pack: the layout of blocks described in
/// docs/store-format.md §5 (`RWPACK01` packs are of store versions 1 and 2).
pub(crate) const PACK_MAGIC: &[u8; 8] = b"RWPACK02";
/// The first bytes of a pack index (docs/store-format.md §6; `RWIDX001`
/// indexes are of store versions 1 and 2).
pub(crate) const IDX_MAGIC: &[u8; 8] = b"RWIDX002";
/// Magic numbers of the layout older rewinds wrote, recognized to say so.
const OLD_PACK_MAGIC: &[u8; 8] = b"RWPACK01";
const OLD_IDX_MAGIC: &[u8; 8] = b"RWIDX001";
/// Block header: flags (1), stored length (4), uncompressed length (4).
pub(crate) const BLOCK_HEADER: usize = 1 + 4 + 4;
/// Object header inside a block: type (1), length (4), id (32).
pub(crate) const OBJ_HEADER: usize = 1 + 4 + 32;
/// Bytes per index entry: id (32), block offset (8), block stored length
/// (4), offset inside the block (4), length (4), type (1).
pub(crate) const IDX_ENTRY: usize = 32 + 8 + 4 + 4 + 4 + 1;
/// Block flag: the block is LZ4-compressed.
pub(crate) const COMPRESSED: u8 = 1;
/// Block flag: the stored body is sealed (encrypted store, §22): a nonce,
/// the XChaCha20-Poly1305 ciphertext of the (compressed) block, a tag.
pub(crate) const ENCRYPTED: u8 = 2;
/// The largest object a pack holds (lengths are 32-bit).
pub(crate) const MAX_OBJECT: usize = (u32::MAX as usize) - 64;
/// Objects are gathered into blocks of about this size.
pub(crate) const BLOCK_TARGET: usize = 64 << 10;

/// What a pack or index of an older layout is said to be.
const OLD_LAYOUT: &str =
    "it was written by an older rewind (magic RWPACK01/RWIDX001, store format 1 or 2); this rewind reads RWPACK02 packs (docs/store-format.md §17)";

/// The kinds of stored objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ObjType {
    /// File contents.
    Blob = 1,
    /// One directory of a snapshot's file tree.
    Tree = 2,
    /// A parsed model: state facts and the list of node groups.
    Model = 3,
    /// The nodes of one file (or of one module's state instances).
    Group = 4,
    /// One node's canonical encoding.
    Node = 5,
    /// Older ref-log entries.
    LogChunk = 7,
}

impl ObjType {
    /// The type of a type code, `None` for an unknown one.
    pub(crate) fn from_u8(b: u8) -> Option<ObjType> {
        Some(match b {
            1 => ObjType::Blob,
            2 => ObjType::Tree,
            3 => ObjType::Model,
            4 => ObjType::Group,
            5 => ObjType::Node,
            7 => ObjType::LogChunk,
            _ => return None,
        })
    }
    /// The type's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            ObjType::Blob => "blob",
            ObjType::Tree => "tree",
            ObjType::Model => "model",
            ObjType::Group => "group",
            ObjType::Node => "node",
            ObjType::LogChunk => "log chunk",
        }
    }
}

/// Where one object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Location {
    /// Offset of the block header in the pack.
    pub(crate) block: u64,
    /// Stored length of the block (header included).
    pub(crate) block_len: u32,
    /// Offset of the object's content in the uncompressed block.
    pub(crate) inner: u32,
    /// The object's length.
    pub(crate) len: u32,
    /// The object's type.
    pub(crate) ty: ObjType,
}

/// Builds a pack and its index in memory: objects are gathered into
/// blocks that are compressed as a whole (docs/store-format.md §5). A
/// local store's packs are spilled: their blocks go to a temporary file
/// as they fill, and only the index is kept in memory.
pub struct PackWriter {
    /// The pack's bytes not yet spilled (all of them without a spill).
    data: Vec<u8>,
    /// Where the pack's bytes go when they are not kept in memory.
    spill: Option<Spill>,
    block: Vec<u8>,
    block_entries: Vec<(ObjectId, u32, u32, ObjType)>,
    entries: Vec<(ObjectId, Location)>,
    /// A tree holding a symbolic link was added (the store must be of a
    /// version that has them).
    links: bool,
    /// An encrypted store's keys: blocks are sealed.
    keys: Option<Arc<Keys>>,
    /// The first failure to seal a block (reported by `finish`).
    failed: Option<Error>,
}

impl Default for PackWriter {
    fn default() -> Self {
        PackWriter::new()
    }
}

impl PackWriter {
    /// An empty pack of a store without encryption.
    pub fn new() -> PackWriter {
        PackWriter::sealed(None)
    }

    /// An empty pack whose blocks are sealed with `keys` when given.
    pub(crate) fn sealed(keys: Option<Arc<Keys>>) -> PackWriter {
        let mut data = Vec::with_capacity(1 << 20);
        data.extend_from_slice(PACK_MAGIC);
        PackWriter {
            data,
            spill: None,
            block: Vec::with_capacity(BLOCK_TARGET + 4096),
            block_entries: Vec::new(),
            entries: Vec::new(),
            links: false,
            keys,
            failed: None,
        }
    }

    /// An empty pack (sealed with `keys` when given) whose bytes go to
    /// `file`, a new temporary file at `path`, as its blocks fill, in
    /// pieces of [`SPILL_PIECE`], so that the pack is not in memory
    /// while it is built. The file is removed if the pack is dropped
    /// unfinished.
    pub(crate) fn spilled(
        keys: Option<Arc<Keys>>,
        file: std::fs::File,
        path: PathBuf,
    ) -> PackWriter {
        let mut w = PackWriter::sealed(keys);
        w.spill = Some(Spill {
            file,
            out: SpillFile { path },
            len: 0,
            hasher: blake3::Hasher::new(),
        });
        w
    }

    /// Bytes written so far (before compression of the open block).
    pub(crate) fn len(&self) -> usize {
        self.spilled_len() as usize + self.data.len() + self.block.len()
    }

    /// The bytes written to the temporary file so far.
    fn spilled_len(&self) -> u64 {
        self.spill.as_ref().map_or(0, |s| s.len)
    }

    /// Moves the bytes held to the temporary file, if there is one.
    fn spill_data(&mut self) {
        let Some(spill) = &mut self.spill else {
            return;
        };
        if self.failed.is_some() {
            return;
        }
        use std::io::Write;
        match spill.file.write_all(&self.data) {
            Ok(()) => {
                spill.hasher.update(&self.data);
                spill.len += self.data.len() as u64;
                self.data.clear();
            }
            Err(e) => self.failed = Some(io(&spill.out.path)(e)),
        }
    }

    /// True when a tree holding a symbolic link was added.
    pub(crate) fn holds_links(&self) -> bool {
        self.links
    }

    /// True when its blocks are sealed (for an encrypted store).
    pub(crate) fn is_sealed(&self) -> bool {
        self.keys.is_some()
    }

    /// True when no object was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.block_entries.is_empty()
    }

    /// Adds an object; `id` must be the hash of `bytes`.
    pub fn add(&mut self, id: ObjectId, ty: ObjType, bytes: &[u8]) {
        self.links |= ty == ObjType::Tree && bytes.first() == Some(&crate::tree::TREE_V2);
        if !self.block.is_empty() && self.block.len() + bytes.len() > BLOCK_TARGET {
            self.flush();
        }
        self.block.push(ty as u8);
        self.block
            .extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        self.block.extend_from_slice(&id.hash().0);
        let inner = self.block.len() as u32;
        self.block.extend_from_slice(bytes);
        self.block_entries.push((id, inner, bytes.len() as u32, ty));
        if self.block.len() >= BLOCK_TARGET {
            self.flush();
        }
    }

    /// Appends a framed block (`header`, `stored`) holding `objects` (id,
    /// offset in the uncompressed block, length, type), indexes them, and
    /// spills what the pack holds once it passes [`SPILL_PIECE`].
    fn put_block(
        &mut self,
        header: &[u8; BLOCK_HEADER],
        stored: &[u8],
        objects: impl IntoIterator<Item = (ObjectId, u32, u32, ObjType)>,
    ) {
        let block = self.spilled_len() + self.data.len() as u64;
        self.data.extend_from_slice(header);
        self.data.extend_from_slice(stored);
        let block_len = (BLOCK_HEADER + stored.len()) as u32;
        self.entries
            .extend(objects.into_iter().map(|(id, inner, len, ty)| {
                let at = Location {
                    block,
                    block_len,
                    inner,
                    len,
                    ty,
                };
                (id, at)
            }));
        if self.data.len() >= SPILL_PIECE {
            self.spill_data();
        }
    }

    fn flush(&mut self) {
        if self.block.is_empty() {
            return;
        }
        // taken while framed (the stored bytes may be the block itself),
        // put back empty, for the objects that follow
        let mut raw = std::mem::take(&mut self.block);
        let mut entries = std::mem::take(&mut self.block_entries);
        match frame_block(&raw, self.keys.as_deref()) {
            Ok((header, stored)) => self.put_block(&header, &stored, entries.drain(..)),
            // reported by `finish`: the pack is never written
            Err(e) => {
                self.failed.get_or_insert(e);
            }
        }
        raw.clear();
        entries.clear();
        self.block = raw;
        self.block_entries = entries;
        if self.block.capacity() > 2 * BLOCK_TARGET {
            // a large object (a state file) grew the block: its buffer is
            // not kept for the small objects that follow
            self.block = Vec::with_capacity(BLOCK_TARGET + 4096);
        }
    }

    /// One object as a block of its own, framed (compressed, and sealed
    /// with `keys`) for [`PackWriter::add_ready`] away from any pack: a
    /// large object is compressed by the thread that has it, not under
    /// the lock of a writer several threads share. `id` must be the hash
    /// of `bytes`, shorter than [`MAX_OBJECT`].
    pub(crate) fn ready(
        keys: Option<&Keys>,
        id: ObjectId,
        ty: ObjType,
        bytes: &[u8],
    ) -> Result<ReadyObject> {
        let links = ty == ObjType::Tree && bytes.first() == Some(&crate::tree::TREE_V2);
        let mut raw = Vec::with_capacity(OBJ_HEADER + bytes.len());
        raw.push(ty as u8);
        raw.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        raw.extend_from_slice(&id.hash().0);
        raw.extend_from_slice(bytes);
        let (header, stored) = frame_block(&raw, keys)?;
        let stored = match stored {
            std::borrow::Cow::Owned(stored) => stored,
            std::borrow::Cow::Borrowed(_) => raw,
        };
        Ok(ReadyObject {
            id,
            ty,
            len: bytes.len() as u32,
            header,
            stored,
            links,
        })
    }

    /// Adds an object made ready by [`PackWriter::ready`] (with this
    /// pack's keys): the block being built is closed first, and the
    /// object's block follows it, as [`PackWriter::add`] places an object
    /// of a block or more.
    pub(crate) fn add_ready(&mut self, r: ReadyObject) {
        self.flush();
        let object = (r.id, OBJ_HEADER as u32, r.len, r.ty);
        self.put_block(&r.header, &r.stored, [object]);
        self.links |= r.links;
    }

    /// Adds a block of objects framed by [`BlockBuilder::ready`] (with
    /// this pack's keys), every one of them new to the pack: the block
    /// being built is closed first, as [`PackWriter::add_ready`] does. An
    /// unframed block's objects are added one by one.
    pub(crate) fn add_ready_block(&mut self, r: ReadyBlock) {
        let Some((header, stored)) = &r.framed else {
            for (id, ty, bytes) in r.objects() {
                self.add(id, ty, bytes);
            }
            return;
        };
        self.flush();
        self.put_block(header, stored, r.entries.iter().copied());
        self.links |= r.links;
    }

    /// The pack bytes, the index bytes, and the pack's name (the
    /// checksum of the pack).
    pub fn finish(self) -> (Vec<u8>, Vec<u8>, Hash) {
        self.try_finish()
            .expect("a pack without encryption always finishes")
    }

    /// [`PackWriter::finish`], failing when a block could not be sealed.
    pub(crate) fn try_finish(self) -> Result<(Vec<u8>, Vec<u8>, Hash)> {
        let (body, idx, sum) = self.try_finish_body()?;
        let pack = match body {
            PackBody::Mem(pack) => pack,
            PackBody::File(f) => f.read()?,
        };
        Ok((pack, idx, sum))
    }

    /// [`PackWriter::try_finish`] with the pack's bytes where they are: in
    /// memory, or in the temporary file of a [`PackWriter::spilled`] pack
    /// (checksum written and synced).
    pub(crate) fn try_finish_body(mut self) -> Result<(PackBody, Vec<u8>, Hash)> {
        self.flush();
        self.spill_data();
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let (body, sum) = match self.spill.take() {
            None => {
                let sum = Hash::of(&self.data);
                self.data.extend_from_slice(&sum.0);
                (PackBody::Mem(std::mem::take(&mut self.data)), sum)
            }
            Some(mut spill) => {
                use std::io::Write;
                let sum = Hash(*spill.hasher.finalize().as_bytes());
                spill
                    .file
                    .write_all(&sum.0)
                    .and_then(|()| spill.file.sync_all())
                    .map_err(io(&spill.out.path))?;
                (PackBody::File(spill.out), sum)
            }
        };
        let mut entries = std::mem::take(&mut self.entries);
        entries.sort_by_key(|e| e.0);
        entries.dedup_by(|a, b| a.0 == b.0);
        let mut idx = Vec::with_capacity(8 + 4 + entries.len() * IDX_ENTRY + 64);
        idx.extend_from_slice(IDX_MAGIC);
        idx.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        for (id, l) in &entries {
            idx.extend_from_slice(&id.hash().0);
            idx.extend_from_slice(&l.block.to_le_bytes());
            idx.extend_from_slice(&l.block_len.to_le_bytes());
            idx.extend_from_slice(&l.inner.to_le_bytes());
            idx.extend_from_slice(&l.len.to_le_bytes());
            idx.push(l.ty as u8);
        }
        idx.extend_from_slice(&sum.0);
        let isum = Hash::of(&idx);
        idx.extend_from_slice(&isum.0);
        Ok((body, idx, sum))
    }
}

/// How many bytes of a spilled pack are gathered before they are written
/// to its file.
pub(crate) const SPILL_PIECE: usize = 1 << 20;

/// The temporary file a [`PackWriter::spilled`] pack is written to.
struct Spill {
    file: std::fs::File,
    /// The file by name: removed when the spill is dropped unfinished.
    out: SpillFile,
    /// The bytes written to it.
    len: u64,
    /// Their checksum so far.
    hasher: blake3::Hasher,
}

/// A finished pack's bytes (see [`PackWriter::try_finish_body`]).
pub(crate) enum PackBody {
    Mem(Vec<u8>),
    File(SpillFile),
}

/// A finished pack in a temporary file (synced): removed when dropped,
/// unless [`SpillFile::put`] wrote it.
pub(crate) struct SpillFile {
    path: PathBuf,
}

impl SpillFile {
    /// The whole pack, read back (the file then removed).
    pub(crate) fn read(self) -> Result<Vec<u8>> {
        std::fs::read(&self.path).map_err(io(&self.path))
    }

    /// Writes the pack as `key` of `backend`, which made the file
    /// ([`Backend::create_temp`]; a local store renames it into place).
    pub(crate) fn put(mut self, backend: &dyn Backend, key: &str) -> Result<()> {
        backend.put_temp(key, &self.path)?;
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for SpillFile {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Objects gathered into a block away from any pack, as
/// [`PackWriter::add`] gathers them, to be framed by the thread that made
/// them ([`BlockBuilder::ready`]): a model's nodes are encoded on every
/// core, and their blocks compressed there too, instead of by the one
/// thread that adds them to the pack.
#[derive(Default)]
pub(crate) struct BlockBuilder {
    raw: Vec<u8>,
    entries: Vec<(ObjectId, u32, u32, ObjType)>,
    /// A tree holding a symbolic link ([`PackWriter::holds_links`]).
    links: bool,
}

impl BlockBuilder {
    /// Appends an object of type `ty` whose bytes `write` appends to the
    /// buffer it is given; `id_of` gives its id from those bytes (they are
    /// encoded in place, after room for the object's header, not copied).
    /// An object of [`MAX_OBJECT`] bytes or more is refused (the block is
    /// then to be dropped).
    pub(crate) fn push_with(
        &mut self,
        ty: ObjType,
        write: impl FnOnce(&mut Vec<u8>),
        id_of: impl FnOnce(&[u8]) -> ObjectId,
    ) -> Result<ObjectId> {
        if self.raw.capacity() == 0 {
            self.raw.reserve(BLOCK_TARGET + 4096);
        }
        let head = self.raw.len();
        self.raw.resize(head + OBJ_HEADER, 0);
        let inner = self.raw.len();
        write(&mut self.raw);
        let len = self.raw.len() - inner;
        let id = id_of(&self.raw[inner..]);
        if len >= MAX_OBJECT {
            return Err(Error::ObjectTooLarge {
                id,
                kind: ty.name(),
                len,
                max: MAX_OBJECT,
            });
        }
        self.links |= ty == ObjType::Tree && self.raw.get(inner) == Some(&crate::tree::TREE_V2);
        self.raw[head] = ty as u8;
        self.raw[head + 1..head + 5].copy_from_slice(&(len as u32).to_le_bytes());
        self.raw[head + 5..inner].copy_from_slice(&id.hash().0);
        self.entries.push((id, inner as u32, len as u32, ty));
        Ok(id)
    }

    /// True once the block holds [`BLOCK_TARGET`] bytes or more (a block
    /// closes after the object that fills it).
    pub(crate) fn is_full(&self) -> bool {
        self.raw.len() >= BLOCK_TARGET
    }

    /// True when no object was pushed.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The block framed (compressed, sealed with `keys`) for
    /// [`PackWriter::add_ready_block`]; its objects' bytes are kept
    /// beside it, for a writer that has some of them already.
    pub(crate) fn ready(self, keys: Option<&Keys>) -> Result<ReadyBlock> {
        let (header, stored) = frame_block(&self.raw, keys)?;
        let stored = stored.into_owned();
        Ok(ReadyBlock {
            framed: Some((header, stored)),
            ..self.unframed()
        })
    }

    /// The block's objects not framed (a store that has some of them
    /// already: each is added on its own, if needed, not compressed for
    /// nothing).
    pub(crate) fn unframed(self) -> ReadyBlock {
        ReadyBlock {
            raw: self.raw,
            entries: self.entries,
            framed: None,
            links: self.links,
        }
    }
}

/// A block of objects made by a [`BlockBuilder`], framed
/// ([`BlockBuilder::ready`]) or not ([`BlockBuilder::unframed`]).
pub(crate) struct ReadyBlock {
    raw: Vec<u8>,
    entries: Vec<(ObjectId, u32, u32, ObjType)>,
    /// The block's header and stored bytes, when framed.
    framed: Option<([u8; BLOCK_HEADER], Vec<u8>)>,
    links: bool,
}

impl ReadyBlock {
    /// True when framed, to be added whole.
    pub(crate) fn is_framed(&self) -> bool {
        self.framed.is_some()
    }

    /// The block's objects: id, type and bytes, in order.
    pub(crate) fn objects(&self) -> impl Iterator<Item = (ObjectId, ObjType, &[u8])> {
        self.entries.iter().map(|&(id, inner, len, ty)| {
            (
                id,
                ty,
                &self.raw[inner as usize..inner as usize + len as usize],
            )
        })
    }
}

/// An object framed as a block of its own ([`PackWriter::ready`]).
pub(crate) struct ReadyObject {
    pub(crate) id: ObjectId,
    ty: ObjType,
    len: u32,
    header: [u8; BLOCK_HEADER],
    stored: Vec<u8>,
    /// A tree holding a symbolic link ([`PackWriter::holds_links`]).
    links: bool,
}

/// A block's header and its stored bytes: `raw` compressed when that
/// saves more than a few bytes, sealed with `keys` when given.
fn frame_block<'r>(
    raw: &'r [u8],
    keys: Option<&Keys>,
) -> Result<([u8; BLOCK_HEADER], std::borrow::Cow<'r, [u8]>)> {
    use std::borrow::Cow;
    let compressed = lz4_flex::block::compress(raw);
    let (mut flags, mut stored): (u8, Cow<'r, [u8]>) = if compressed.len() + 64 < raw.len() {
        (COMPRESSED, Cow::Owned(compressed))
    } else {
        (0, Cow::Borrowed(raw))
    };
    if let Some(keys) = keys {
        flags |= ENCRYPTED;
        let header = block_header(flags, (stored.len() + NONCE + TAG) as u32, raw.len() as u32);
        stored = Cow::Owned(keys.seal_block(&header, &stored)?);
    }
    Ok((
        block_header(flags, stored.len() as u32, raw.len() as u32),
        stored,
    ))
}

/// A block's 9-byte header: flags, stored length, uncompressed length.
fn block_header(flags: u8, stored: u32, raw: u32) -> [u8; BLOCK_HEADER] {
    let mut h = [0u8; BLOCK_HEADER];
    h[0] = flags;
    h[1..5].copy_from_slice(&stored.to_le_bytes());
    h[5..9].copy_from_slice(&raw.to_le_bytes());
    h
}

/// Checks a block's framing (what can be checked without opening it):
/// returns its flags, stored length and uncompressed length.
fn block_frame(stored: &[u8], what: &dyn Fn() -> String) -> Result<(u8, usize, usize)> {
    if stored.len() < BLOCK_HEADER {
        return Err(corrupt(what(), "block too short"));
    }
    let flags = stored[0];
    let slen = u32::from_le_bytes(stored[1..5].try_into().unwrap_or_default()) as usize;
    let rlen = u32::from_le_bytes(stored[5..9].try_into().unwrap_or_default()) as usize;
    if slen + BLOCK_HEADER != stored.len() {
        return Err(corrupt(what(), "block length does not match the index"));
    }
    let inner = if flags & ENCRYPTED != 0 {
        if slen < NONCE + TAG {
            return Err(corrupt(what(), "sealed block too short"));
        }
        slen - NONCE - TAG
    } else {
        slen
    };
    let ok = match flags & !ENCRYPTED {
        0 => rlen == inner,
        COMPRESSED => rlen <= inner.saturating_mul(255) + 64,
        _ => false,
    };
    if !ok {
        return Err(corrupt(what(), "invalid block header"));
    }
    Ok((flags, slen, rlen))
}

/// Why a stored block was not sealed by the keys `crypt` holds: sealed in
/// a store whose config has no encryption, in the clear in an encrypted
/// one, or sealed with keys the config does not wrap. `None` when it
/// matches, or when its framing is damaged (a matter for `verify`, not a
/// sign of a replaced config).
pub(crate) fn seal_mismatch(stored: &[u8], crypt: &Crypt) -> Option<&'static str> {
    let (flags, _, _) = block_frame(stored, &String::new).ok()?;
    match (flags & ENCRYPTED != 0, crypt) {
        (true, Crypt::Plain) => Some("its packs are sealed, but its config has no encryption"),
        (false, Crypt::Open(_) | Crypt::Locked(_)) => {
            Some("its packs are in the clear, but its config says it is encrypted")
        }
        (true, Crypt::Open(keys)) => keys
            .open_block(&stored[..BLOCK_HEADER], &stored[BLOCK_HEADER..])
            .is_none()
            .then_some("its packs do not open with the keys its config wraps"),
        (true, Crypt::Locked(_)) | (false, Crypt::Plain) => None,
    }
}

/// The uncompressed content of a block as read from a pack: opened with
/// the store's keys when it is sealed (an encrypted store's blocks must
/// be; a store without encryption has none).
pub(crate) fn open_block(
    stored: &[u8],
    crypt: &Crypt,
    what: &dyn Fn() -> String,
) -> Result<Vec<u8>> {
    let (flags, _, rlen) = block_frame(stored, what)?;
    let opened;
    let mut body = &stored[BLOCK_HEADER..];
    match (flags & ENCRYPTED != 0, crypt) {
        (true, Crypt::Plain) => {
            return Err(corrupt(
                what(),
                "the block is encrypted but the store's config has no encryption",
            ))
        }
        (false, Crypt::Open(_) | Crypt::Locked(_)) => {
            return Err(corrupt(
                what(),
                "the block is not encrypted, in an encrypted store",
            ))
        }
        (true, _) => {
            let keys = crypt.keys(&what())?.expect("an encrypted store's keys");
            opened = keys
                .open_block(&stored[..BLOCK_HEADER], body)
                .ok_or_else(|| {
                    corrupt(
                        what(),
                        "its block does not authenticate with the store's key (altered or damaged)",
                    )
                })?;
            body = &opened;
        }
        (false, Crypt::Plain) => {}
    }
    if flags & COMPRESSED == 0 {
        if body.len() != rlen {
            return Err(corrupt(what(), "invalid block header"));
        }
        return Ok(body.to_vec());
    }
    let block = lz4_flex::block::decompress(body, rlen)
        .map_err(|e| corrupt(what(), format!("cannot decompress a block: {e}")))?;
    if block.len() != rlen {
        return Err(corrupt(
            what(),
            "the block decompresses to another length than its header says",
        ));
    }
    Ok(block)
}

/// One object out of an uncompressed block, checked against its id.
pub(crate) fn object_in(
    block: &[u8],
    id: &ObjectId,
    loc: &Location,
    crypt: &Crypt,
    what: &dyn Fn() -> String,
) -> Result<Vec<u8>> {
    let start = loc.inner as usize;
    let end = start + loc.len as usize;
    if start < OBJ_HEADER || end > block.len() {
        return Err(corrupt(what(), "the object lies outside its block"));
    }
    let header = &block[start - OBJ_HEADER..start];
    let hlen = u32::from_le_bytes(header[1..5].try_into().unwrap_or_default());
    if header[0] != loc.ty as u8 || hlen != loc.len || header[5..] != id.hash().0 {
        return Err(corrupt(what(), "its header does not match the index"));
    }
    let bytes = &block[start..end];
    if crypt.id_of(bytes) != *id {
        return Err(corrupt(what(), "its content does not match its hash"));
    }
    Ok(bytes.to_vec())
}

/// A loaded, checked pack index.
pub(crate) struct PackIndex {
    /// The pack's name: the checksum of its bytes.
    pub(crate) name: Hash,
    data: Vec<u8>,
    count: usize,
    /// `fanout[b]`: the first entry whose id starts with a byte `>= b`
    /// (as git's index): a lookup searches one 256th of the entries.
    fanout: Box<[u32; 257]>,
}

impl PackIndex {
    /// Parses and checks an index (`what` names it in errors).
    pub(crate) fn parse(name: Hash, data: Vec<u8>, what: &str) -> Result<PackIndex> {
        if data.starts_with(OLD_IDX_MAGIC) {
            return Err(corrupt(what, OLD_LAYOUT));
        }
        if data.len() < 8 + 4 + 64 || &data[..8] != IDX_MAGIC {
            return Err(corrupt(what, "not a rewind pack index"));
        }
        let body = data.len() - 32;
        let sum = Hash::of(&data[..body]);
        if sum.0[..] != data[body..] {
            return Err(corrupt(what, "checksum mismatch"));
        }
        let count = u32::from_le_bytes(data[8..12].try_into().unwrap_or_default()) as usize;
        if 12 + count * IDX_ENTRY + 64 != data.len() {
            return Err(corrupt(what, "entry count does not match its size"));
        }
        let pack = &data[12 + count * IDX_ENTRY..12 + count * IDX_ENTRY + 32];
        if pack != name.0 {
            return Err(corrupt(what, "it belongs to another pack"));
        }
        let mut idx = PackIndex {
            name,
            data,
            count,
            fanout: Box::new([0; 257]),
        };
        let mut next_byte = 0usize;
        for i in 0..count {
            let start = 12 + i * IDX_ENTRY;
            let first = idx.data[start] as usize;
            while next_byte <= first {
                idx.fanout[next_byte] = i as u32;
                next_byte += 1;
            }
            if i > 0
                && idx.data[start - IDX_ENTRY..start - IDX_ENTRY + 32]
                    >= idx.data[start..start + 32]
            {
                return Err(corrupt(what, "entries are not sorted"));
            }
            if ObjType::from_u8(idx.data[start + IDX_ENTRY - 1]).is_none() {
                return Err(corrupt(
                    what,
                    format!("entry {i} has an unknown object type"),
                ));
            }
        }
        while next_byte <= 256 {
            idx.fanout[next_byte] = count as u32;
            next_byte += 1;
        }
        Ok(idx)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.count
    }

    /// How many objects it lists.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// The index as stored.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// The id of entry `i` (entries are sorted by id).
    pub(crate) fn id_at(&self, i: usize) -> [u8; 32] {
        let mut id = [0u8; 32];
        id.copy_from_slice(&self.data[12 + i * IDX_ENTRY..12 + i * IDX_ENTRY + 32]);
        id
    }

    /// The first eight bytes of the id of entry `i`, as one number (ids
    /// compare as these do, where they differ).
    pub(crate) fn prefix_at(&self, i: usize) -> u64 {
        let at = 12 + i * IDX_ENTRY;
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.data[at..at + 8]);
        u64::from_be_bytes(b)
    }

    /// Entry `i`: an object's id and where it is.
    pub(crate) fn entry(&self, i: usize) -> (ObjectId, Location) {
        let e = &self.data[12 + i * IDX_ENTRY..12 + (i + 1) * IDX_ENTRY];
        let mut id = [0u8; 32];
        id.copy_from_slice(&e[..32]);
        let u32_at = |o: usize| u32::from_le_bytes(e[o..o + 4].try_into().unwrap_or_default());
        (
            ObjectId::from(Hash(id)),
            Location {
                block: u64::from_le_bytes(e[32..40].try_into().unwrap_or_default()),
                block_len: u32_at(40),
                inner: u32_at(44),
                len: u32_at(48),
                ty: ObjType::from_u8(e[52]).unwrap_or(ObjType::Blob),
            },
        )
    }

    /// Where an object is, if this pack holds it.
    pub(crate) fn find(&self, id: &ObjectId) -> Option<Location> {
        let key = &id.hash().0;
        let b = key[0] as usize;
        let (lo, hi) = (self.fanout[b] as usize, self.fanout[b + 1] as usize);
        let at = |i: usize| &self.data[12 + i * IDX_ENTRY..12 + i * IDX_ENTRY + 32];
        search_ids(at, key, lo, hi).map(|i| self.entry(i).1)
    }

    /// Every entry, in id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (ObjectId, Location)> + '_ {
        (0..self.count).map(|i| self.entry(i))
    }
}

/// The position of `key` among sorted 32-byte ids (`id_at(i)` the i-th)
/// between `lo` and `hi`, the fan-out bucket of its first byte. Ids are
/// BLAKE3 hashes, spread evenly: the search starts where the key's next
/// eight bytes place it in the bucket and widens from there (doubling its
/// step), then halves the range it found. A few probes close together
/// where a binary search makes ten across the index, each a cache miss: a
/// snapshot of 100k resources looks up 250,000 objects. Ids out of order
/// (a damaged index) give a wrong "absent", never a panic.
pub(crate) fn search_ids<'a>(
    id_at: impl Fn(usize) -> &'a [u8],
    key: &[u8; 32],
    lo: usize,
    hi: usize,
) -> Option<usize> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    if lo >= hi {
        return None;
    }
    let mut next = [0u8; 8];
    next.copy_from_slice(&key[1..9]);
    let fraction = u128::from(u64::from_be_bytes(next));
    let guess = lo + ((fraction * (hi - lo) as u128) >> 64) as usize;
    // the key, if there, is in [from, to)
    let (mut from, mut to) = (lo, hi);
    match id_at(guess).cmp(&key[..]) {
        Equal => return Some(guess),
        Less => {
            // every id up to `below` is smaller
            let (mut below, mut step) = (guess, 1);
            loop {
                let p = guess + step;
                if p >= hi {
                    from = below + 1;
                    break;
                }
                match id_at(p).cmp(&key[..]) {
                    Equal => return Some(p),
                    Less => below = p,
                    Greater => {
                        (from, to) = (below + 1, p);
                        break;
                    }
                }
                step *= 2;
            }
        }
        Greater => {
            // every id from `above` on is larger
            let (mut above, mut step) = (guess, 1);
            loop {
                if step > guess - lo {
                    to = above;
                    break;
                }
                let p = guess - step;
                match id_at(p).cmp(&key[..]) {
                    Equal => return Some(p),
                    Greater => above = p,
                    Less => {
                        (from, to) = (p + 1, above);
                        break;
                    }
                }
                step *= 2;
            }
        }
    }
    while from < to {
        let mid = (from + to) / 2;
        match id_at(mid).cmp(&key[..]) {
            Less => from = mid + 1,
            Greater => to = mid,
            Equal => return Some(mid),
        }
    }
    None
}

/// Checks a whole pack against its index: the trailer, every block and
/// every object's header and hash. Returns the problems found. In an
/// encrypted store opened without its key only the framing of each block
/// is checked (its content cannot be read).
pub(crate) fn check_pack(pack: &[u8], idx: &PackIndex, crypt: &Crypt, what: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if pack.starts_with(OLD_PACK_MAGIC) {
        problems.push(format!("{what}: {OLD_LAYOUT}"));
        return problems;
    }
    if pack.len() < 8 + 32 || &pack[..8] != PACK_MAGIC {
        problems.push(format!("{what}: not a rewind pack"));
        return problems;
    }
    let body = pack.len() - 32;
    let sum = Hash::of(&pack[..body]);
    if sum.0[..] != pack[body..] || sum != idx.name {
        problems.push(format!("{what}: checksum mismatch"));
    }
    // each block opened (or, without the key, its uncompressed length)
    let mut blocks: HashMap<u64, Option<(Vec<u8>, usize)>> = HashMap::new();
    for (id, loc) in idx.iter() {
        let desc = || format!("{what}: object {id} ({})", loc.ty.name());
        let block = blocks.entry(loc.block).or_insert_with(|| {
            let start = loc.block as usize;
            // an offset near 2^64 would wrap around
            let end = start.saturating_add(loc.block_len as usize);
            if start < 8 || end > body {
                problems.push(format!("{what}: block at {start} lies outside the pack"));
                return None;
            }
            let stored = &pack[start..end];
            let block_what = || format!("{what}: block at {start}");
            if let Crypt::Locked(_) = crypt {
                // the framing only: a sealed block opens with the key alone
                return match block_frame(stored, &block_what) {
                    Ok((flags, _, rlen)) if flags & ENCRYPTED != 0 => Some((Vec::new(), rlen)),
                    Ok(_) => {
                        problems.push(format!(
                            "{}: the block is not encrypted, in an encrypted store",
                            block_what()
                        ));
                        None
                    }
                    Err(e) => {
                        problems.push(e.to_string());
                        None
                    }
                };
            }
            match open_block(stored, crypt, &block_what) {
                Ok(b) => Some((b, 0)),
                Err(e) => {
                    problems.push(e.to_string());
                    None
                }
            }
        });
        match block {
            Some((_, rlen)) if matches!(crypt, Crypt::Locked(_)) => {
                let (start, len) = (loc.inner as usize, loc.len as usize);
                if start < OBJ_HEADER || start + len > *rlen {
                    problems.push(format!("{}: the object lies outside its block", desc()));
                }
            }
            Some((b, _)) => {
                if let Err(e) = object_in(b, &id, &loc, crypt, &desc) {
                    problems.push(e.to_string());
                }
            }
            None => problems.push(format!("{}: its block is unreadable", desc())),
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pack: &[u8], idx: &PackIndex, id: &ObjectId) -> Vec<u8> {
        let loc = idx.find(id).unwrap();
        let stored = &pack[loc.block as usize..(loc.block + u64::from(loc.block_len)) as usize];
        let block = open_block(stored, &Crypt::Plain, &|| "b".into()).unwrap();
        object_in(&block, id, &loc, &Crypt::Plain, &|| "o".into()).unwrap()
    }

    /// A pack written to a temporary file as it fills is the same pack,
    /// byte for byte and by name, as one built in memory, across many
    /// pieces; the file is renamed away whole, and a spilled pack dropped
    /// unfinished leaves no file.
    #[test]
    fn a_spilled_pack_is_the_pack_built_in_memory() {
        let dir = std::env::temp_dir().join(format!("rewind-spill-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // about 3 MiB that compresses poorly: several pieces of SPILL_PIECE
        let objects: Vec<(ObjectId, Vec<u8>)> = (0u32..400)
            .map(|i| {
                let mut bytes = Vec::new();
                let mut h = blake3::hash(&i.to_le_bytes());
                while bytes.len() < 8000 + i as usize {
                    bytes.extend_from_slice(h.as_bytes());
                    h = blake3::hash(h.as_bytes());
                }
                (ObjectId::of(&bytes), bytes)
            })
            .collect();
        let mut mem = PackWriter::new();
        let backend = crate::backend::LocalBackend::new(&dir);
        let temp = |ext: &str| {
            let (file, path) = backend.create_temp(ext).unwrap().unwrap();
            (PackWriter::spilled(None, file, path.clone()), path)
        };
        let (mut spilled, a) = temp("pack.tmp");
        for (id, bytes) in &objects {
            mem.add(*id, ObjType::Blob, bytes);
            spilled.add(*id, ObjType::Blob, bytes);
            assert_eq!(mem.len(), spilled.len());
        }
        assert!(spilled.data.len() < SPILL_PIECE + BLOCK_TARGET);
        let (pack, idx, name) = mem.try_finish().unwrap();
        assert!(pack.len() > 3 * SPILL_PIECE);
        let (body, sidx, sname) = spilled.try_finish_body().unwrap();
        assert_eq!((&sidx, sname), (&idx, name));
        let PackBody::File(f) = body else {
            panic!("a spilled pack finishes in its file")
        };
        f.put(&backend, "b.pack").unwrap();
        assert!(!a.exists());
        assert_eq!(std::fs::read(dir.join("b.pack")).unwrap(), pack);
        let index = PackIndex::parse(name, idx, "test").unwrap();
        for (id, bytes) in objects.iter().step_by(37) {
            assert_eq!(&read(&pack, &index, id), bytes);
        }

        let (mut dropped, c) = temp("pack.tmp");
        for (id, bytes) in &objects[..200] {
            dropped.add(*id, ObjType::Blob, bytes);
        }
        assert!(c.exists());
        drop(dropped);
        assert!(!c.exists());
        // read back (a store that is not a local directory), then removed
        let (mut read_back, d) = temp("pack.tmp");
        read_back.add(objects[0].0, ObjType::Blob, &objects[0].1);
        let (pack, _, _) = read_back.try_finish().unwrap();
        assert_eq!(&pack[..8], PACK_MAGIC);
        assert!(!d.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `search_ids` against a scan, on ids spread as hashes are and on ids
    /// crowded at either end of their bucket (where the first guess is far
    /// off), for keys present and absent, in buckets of every size.
    #[test]
    fn the_id_search_finds_what_a_scan_finds() {
        let hashed = |n: usize, salt: u8| -> Vec<[u8; 32]> {
            (0..n)
                .map(|i| blake3::hash(&[salt, (i % 251) as u8, (i / 251) as u8]).into())
                .collect()
        };
        // one bucket's ids whose next bytes are all low (or high): the
        // guess lands at one end and the search must walk to the other
        let crowded = |n: usize, high: bool| -> Vec<[u8; 32]> {
            (0..n)
                .map(|i| {
                    let mut id = [if high { 0xFF } else { 0x00 }; 32];
                    id[0] = 7;
                    id[24..32].copy_from_slice(&(i as u64 * 3).to_be_bytes());
                    id
                })
                .collect()
        };
        let cases = [
            hashed(0, 1),
            hashed(1, 2),
            hashed(2, 3),
            hashed(300, 4),
            hashed(20_000, 5),
            crowded(1, false),
            crowded(500, false),
            crowded(500, true),
        ];
        for mut ids in cases {
            ids.sort();
            ids.dedup();
            let at = |i: usize| &ids[i][..];
            let bucket = |b: u8| {
                let lo = ids.partition_point(|x| x[0] < b);
                let hi = ids.partition_point(|x| x[0] <= b);
                (lo, hi)
            };
            let mut probes: Vec<[u8; 32]> = ids.clone();
            // absent keys: each id one more and one less, and the crowded
            // bucket's edges
            for id in &ids {
                let mut up = *id;
                up[31] = up[31].wrapping_add(1);
                let mut down = *id;
                down[31] = down[31].wrapping_sub(1);
                probes.extend([up, down]);
            }
            probes.extend([[7u8; 32], [0u8; 32], [0xFF; 32]]);
            for key in probes {
                let (lo, hi) = bucket(key[0]);
                let want = ids[lo..hi].iter().position(|x| *x == key).map(|i| lo + i);
                assert_eq!(search_ids(at, &key, lo, hi), want, "{key:?}");
            }
        }
    }

    #[test]
    fn write_index_find_and_check() {
        let mut w = PackWriter::new();
        let mut objs: Vec<Vec<u8>> = (0..500)
            .map(|i| format!("resource \"aws_instance\" \"web{i}\" {{}}\n").into_bytes())
            .collect();
        objs.push(vec![7u8; 200_000]);
        for o in &objs {
            w.add(ObjectId::of(o), ObjType::Blob, o);
        }
        let (pack, idx, name) = w.finish();
        let index = PackIndex::parse(name, idx.clone(), "idx").unwrap();
        assert_eq!(index.len(), objs.len());
        for o in &objs {
            assert_eq!(read(&pack, &index, &ObjectId::of(o)), *o);
        }
        let raw: usize = objs.iter().map(Vec::len).sum();
        assert!(
            pack.len() * 5 < raw,
            "blocks compress: {} of {raw}",
            pack.len()
        );
        assert!(index.find(&ObjectId::of(b"nope")).is_none());
        assert!(check_pack(&pack, &index, &Crypt::Plain, "pack").is_empty());
        // a flipped byte anywhere is caught
        for at in [20, pack.len() / 2, pack.len() - 40] {
            let mut bad = pack.clone();
            bad[at] ^= 1;
            assert!(
                !check_pack(&bad, &index, &Crypt::Plain, "pack").is_empty(),
                "flip at {at}"
            );
        }
        let mut bad_idx = idx.clone();
        bad_idx[20] ^= 1;
        assert!(PackIndex::parse(name, bad_idx, "idx").is_err());
    }

    /// Blocks built away from the pack, between objects added to it:
    /// each block's objects share one block of the pack, the index finds
    /// every object, and the pack checks whole.
    #[test]
    fn ready_blocks_take_their_place_among_added_objects() {
        let objs: Vec<Vec<u8>> = (0..400)
            .map(|i| {
                format!("resource \"aws_instance\" \"web{i}\" {{ ami = \"ami-{i}\" }}\n")
                    .into_bytes()
            })
            .collect();
        let mut w = PackWriter::new();
        let mut built = BlockBuilder::default();
        let mut in_blocks = Vec::new();
        for (i, o) in objs.iter().enumerate() {
            if i % 100 < 50 {
                w.add(ObjectId::of(o), ObjType::Blob, o);
                continue;
            }
            let id = built
                .push_with(ObjType::Node, |buf| buf.extend_from_slice(o), ObjectId::of)
                .unwrap();
            in_blocks.push(id);
            if i % 100 == 99 {
                w.add_ready_block(std::mem::take(&mut built).ready(None).unwrap());
            }
        }
        assert!(built.is_empty());
        let (pack, idx, name) = w.finish();
        let index = PackIndex::parse(name, idx, "idx").unwrap();
        assert_eq!(index.len(), objs.len());
        for o in &objs {
            assert_eq!(read(&pack, &index, &ObjectId::of(o)), *o);
        }
        for ids in in_blocks.chunks(50) {
            let blocks: std::collections::BTreeSet<u64> =
                ids.iter().map(|id| index.find(id).unwrap().block).collect();
            assert_eq!(blocks.len(), 1, "one block per ready block");
            assert_eq!(index.find(&ids[0]).unwrap().ty, ObjType::Node);
        }
        assert!(check_pack(&pack, &index, &Crypt::Plain, "pack").is_empty());
    }
}
