//! Pack files and their indexes.
//!
//! A pack holds many objects back to back; its index lists them sorted by
//! id with their offset, length and type, so one object is read with one
//! ranged read. Both end with a blake3 checksum of everything before it,
//! and a pack is named by that checksum. Layouts: docs/store-format.md.

use rewind_model::Hash;

use crate::error::{corrupt, Result};

pub const PACK_MAGIC: &[u8; 8] = b"RWPACK01";
pub const IDX_MAGIC: &[u8; 8] = b"RWIDX001";
/// Bytes before each object in a pack: type (1, bit 7 set when the
/// content is LZ4-compressed), stored length (4), id (32).
pub const OBJ_HEADER: usize = 1 + 4 + 32;
/// Bytes per index entry: id (32), offset (8), stored length (4), type (1,
/// bit 7 set when compressed).
pub const IDX_ENTRY: usize = 32 + 8 + 4 + 1;

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
    pub fn from_u8(b: u8) -> Option<ObjType> {
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

/// Builds a pack in memory.
pub struct PackWriter {
    data: Vec<u8>,
    entries: Vec<(Hash, u64, u32, u8)>,
}

/// Type-byte flag of a compressed object.
pub const COMPRESSED: u8 = 0x80;

/// The content of a stored object (decompressed when needed), checked
/// against its id.
pub fn unpack(
    id: &Hash,
    loc: &Location,
    stored: &[u8],
    what: &dyn Fn() -> String,
) -> Result<Vec<u8>> {
    let bytes = if loc.compressed {
        if stored.len() < 4 {
            return Err(corrupt(what(), "compressed object too short"));
        }
        let size = u32::from_le_bytes(stored[..4].try_into().unwrap_or_default()) as usize;
        // LZ4 cannot expand more than 255 times; a larger size is a corrupt header.
        if size > stored.len().saturating_mul(255) + 64 {
            return Err(corrupt(what(), "compressed size is implausible"));
        }
        lz4_flex::decompress_size_prepended(stored)
            .map_err(|e| corrupt(what(), format!("cannot decompress: {e}")))?
    } else {
        stored.to_vec()
    };
    if Hash::of(&bytes) != *id {
        return Err(corrupt(what(), "its content does not match its hash"));
    }
    Ok(bytes)
}

impl Default for PackWriter {
    fn default() -> Self {
        PackWriter::new()
    }
}

impl PackWriter {
    pub fn new() -> PackWriter {
        let mut data = Vec::with_capacity(1 << 20);
        data.extend_from_slice(PACK_MAGIC);
        PackWriter {
            data,
            entries: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn count(&self) -> usize {
        self.entries.len()
    }

    /// Adds an object (`id` must be the hash of `bytes`); it is stored
    /// compressed when that saves space.
    pub fn add(&mut self, id: Hash, ty: ObjType, bytes: &[u8]) {
        let packed = if bytes.len() >= 64 {
            Some(lz4_flex::compress_prepend_size(bytes))
                .filter(|c| c.len() + c.len() / 8 < bytes.len())
        } else {
            None
        };
        let (stored, code): (&[u8], u8) = match &packed {
            Some(c) => (c, ty as u8 | COMPRESSED),
            None => (bytes, ty as u8),
        };
        self.data.push(code);
        self.data
            .extend_from_slice(&(stored.len() as u32).to_le_bytes());
        self.data.extend_from_slice(&id.0);
        let offset = self.data.len() as u64;
        self.data.extend_from_slice(stored);
        self.entries.push((id, offset, stored.len() as u32, code));
    }

    /// Adds an object exactly as stored in another pack.
    pub fn add_stored(&mut self, id: Hash, loc: &Location, stored: &[u8]) {
        let code = loc.ty as u8 | if loc.compressed { COMPRESSED } else { 0 };
        self.data.push(code);
        self.data
            .extend_from_slice(&(stored.len() as u32).to_le_bytes());
        self.data.extend_from_slice(&id.0);
        let offset = self.data.len() as u64;
        self.data.extend_from_slice(stored);
        self.entries.push((id, offset, stored.len() as u32, code));
    }

    /// The pack bytes, the index bytes, and the pack's name.
    pub fn finish(mut self) -> (Vec<u8>, Vec<u8>, Hash) {
        let sum = Hash::of(&self.data);
        self.data.extend_from_slice(&sum.0);
        let mut entries = self.entries;
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        let mut idx = Vec::with_capacity(8 + 4 + entries.len() * IDX_ENTRY + 64);
        idx.extend_from_slice(IDX_MAGIC);
        idx.extend_from_slice(&(entries.len() as u32).to_le_bytes());
        for (id, off, len, ty) in &entries {
            idx.extend_from_slice(&id.0);
            idx.extend_from_slice(&off.to_le_bytes());
            idx.extend_from_slice(&len.to_le_bytes());
            idx.push(*ty);
        }
        idx.extend_from_slice(&sum.0);
        let isum = Hash::of(&idx);
        idx.extend_from_slice(&isum.0);
        (self.data, idx, sum)
    }
}

/// A loaded, checked pack index.
pub struct PackIndex {
    pub name: Hash,
    data: Vec<u8>,
    count: usize,
}

/// Where one object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub offset: u64,
    /// Stored length.
    pub len: u32,
    pub ty: ObjType,
    pub compressed: bool,
}

impl PackIndex {
    /// Parses and checks an index (`what` names it in errors).
    pub fn parse(name: Hash, data: Vec<u8>, what: &str) -> Result<PackIndex> {
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
        let idx = PackIndex { name, data, count };
        for i in 0..count {
            let (id, _) = idx.entry(i);
            if i > 0 && idx.entry(i - 1).0 >= id {
                return Err(corrupt(what, "entries are not sorted"));
            }
            if ObjType::from_u8(idx.data[12 + i * IDX_ENTRY + 44] & !COMPRESSED).is_none() {
                return Err(corrupt(
                    what,
                    format!("entry {i} has an unknown object type"),
                ));
            }
        }
        Ok(idx)
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn entry(&self, i: usize) -> (Hash, Location) {
        let e = &self.data[12 + i * IDX_ENTRY..12 + (i + 1) * IDX_ENTRY];
        let mut id = [0u8; 32];
        id.copy_from_slice(&e[..32]);
        let offset = u64::from_le_bytes(e[32..40].try_into().unwrap_or_default());
        let len = u32::from_le_bytes(e[40..44].try_into().unwrap_or_default());
        let ty = ObjType::from_u8(e[44] & !COMPRESSED).unwrap_or(ObjType::Blob);
        (
            Hash(id),
            Location {
                offset,
                len,
                ty,
                compressed: e[44] & COMPRESSED != 0,
            },
        )
    }

    pub fn find(&self, id: &Hash) -> Option<Location> {
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let start = 12 + mid * IDX_ENTRY;
            match self.data[start..start + 32].cmp(&id.0[..]) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(self.entry(mid).1),
            }
        }
        None
    }

    pub fn iter(&self) -> impl Iterator<Item = (Hash, Location)> + '_ {
        (0..self.count).map(|i| self.entry(i))
    }
}

/// Checks a whole pack against its index: the trailer, every object's
/// header and hash. Returns the problems found.
pub fn check_pack(pack: &[u8], idx: &PackIndex, what: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if pack.len() < 8 + 32 || &pack[..8] != PACK_MAGIC {
        problems.push(format!("{what}: not a rewind pack"));
        return problems;
    }
    let body = pack.len() - 32;
    let sum = Hash::of(&pack[..body]);
    if sum.0[..] != pack[body..] || sum != idx.name {
        problems.push(format!("{what}: checksum mismatch"));
    }
    for (id, loc) in idx.iter() {
        let start = loc.offset as usize;
        let end = start + loc.len as usize;
        if start < OBJ_HEADER || end > body {
            problems.push(format!("{what}: object {id} lies outside the pack"));
            continue;
        }
        let header = &pack[start - OBJ_HEADER..start];
        let hlen = u32::from_le_bytes(header[1..5].try_into().unwrap_or_default());
        let code = loc.ty as u8 | if loc.compressed { COMPRESSED } else { 0 };
        if header[0] != code || hlen != loc.len || header[5..] != id.0 {
            problems.push(format!(
                "{what}: object {id} header does not match the index"
            ));
        }
        if let Err(e) = unpack(&id, &loc, &pack[start..end], &|| {
            format!("{what}: object {id} ({})", loc.ty.name())
        }) {
            problems.push(e.to_string());
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_index_find_and_check() {
        let mut w = PackWriter::new();
        let objs: Vec<Vec<u8>> = (0..50)
            .map(|i| format!("object {i}").into_bytes())
            .collect();
        for o in &objs {
            w.add(Hash::of(o), ObjType::Blob, o);
        }
        let (pack, idx, name) = w.finish();
        let index = PackIndex::parse(name, idx.clone(), "idx").unwrap();
        assert_eq!(index.len(), 50);
        for o in &objs {
            let id = Hash::of(o);
            let loc = index.find(&id).unwrap();
            let stored = &pack[loc.offset as usize..loc.offset as usize + loc.len as usize];
            assert_eq!(unpack(&id, &loc, stored, &|| "x".into()).unwrap(), *o);
        }
        // a compressible object is stored compressed and reads back
        let mut w = PackWriter::new();
        let big = "resource \"aws_instance\" \"web\" {}\n"
            .repeat(100)
            .into_bytes();
        w.add(Hash::of(&big), ObjType::Blob, &big);
        let (pack2, idx2, name2) = w.finish();
        let index2 = PackIndex::parse(name2, idx2, "idx").unwrap();
        let loc = index2.find(&Hash::of(&big)).unwrap();
        assert!(loc.compressed && (loc.len as usize) < big.len() / 4);
        assert!(check_pack(&pack2, &index2, "pack").is_empty());
        assert!(index.find(&Hash::of(b"nope")).is_none());
        assert!(check_pack(&pack, &index, "pack").is_empty());
        // a flipped byte anywhere is caught
        let mut bad = pack.clone();
        bad[100] ^= 1;
        assert!(!check_pack(&bad, &index, "pack").is_empty());
        let mut bad_idx = idx.clone();
        bad_idx[20] ^= 1;
        assert!(PackIndex::parse(name, bad_idx, "idx").is_err());
    }
}
