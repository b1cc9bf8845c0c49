//! One index over many packs (as git's multi-pack-index): a store with a
//! long history has many packs, and a process that read every pack's index
//! and probed each in turn paid for every snapshot ever written.
//!
//! The combined index is a sorted table of every object of the packs it
//! covers with its pack and place, laid out as the file
//! `cache/packs.midx` holds it (docs/store-format.md §18.1): it is built
//! in memory once more than [`UNCOVERED_MAX`] packs are outside it, saved
//! to the local cache, and read at the next open instead of the indexes
//! of the packs it covers. It only ever names packs whose index it read,
//! and a reader uses it only when every pack it names is still listed, so
//! a stale one (gc or a roll-up removed a pack since) is ignored and built
//! again; packs newer than it are read from their own indexes.

use std::sync::Arc;

use rewind_model::Hash;

use crate::error::{corrupt, Result};
use crate::id::ObjectId;
use crate::pack::{Location, ObjType, PackIndex};

/// Most packs left outside the combined index before it is built again.
pub(crate) const UNCOVERED_MAX: usize = 8;

/// The first bytes of a saved combined index.
pub(crate) const MIDX_MAGIC: &[u8; 8] = b"RWMIDX01";

/// Where a store's combined index is saved, under its cache directory.
pub(crate) const MIDX_FILE: &str = "packs.midx";

/// Bytes of one location: pack (4), block offset (8), block length (4),
/// offset inside the block (4), length (4), type (1).
const LOC: usize = 4 + 8 + 4 + 4 + 4 + 1;

/// Header: magic (8), pack count (4), object count (4).
const HEADER: usize = 8 + 4 + 4;

/// The fan-out table: 256 cumulative counts (u32 LE).
const FANOUT: usize = 256 * 4;

/// A combined index of some packs: every object once (the copy of the
/// newest pack holding it), sorted by id.
pub(crate) struct MultiIndex {
    /// The file's bytes (see the module documentation).
    data: Vec<u8>,
    /// The packs it covers, oldest first.
    packs: Vec<Hash>,
    count: usize,
    /// Offset of the sorted ids, then of the locations.
    ids_at: usize,
    locs_at: usize,
    /// `fanout[b]..fanout[b + 1]`: the ids whose first byte is `b`.
    fanout: Box<[u32; 257]>,
}

/// What a combined index is built from, oldest first: an earlier combined
/// index, or a pack's own index.
pub(crate) enum Source<'a> {
    Multi(&'a MultiIndex),
    Pack(&'a PackIndex),
}

impl Source<'_> {
    fn count(&self) -> usize {
        match self {
            Source::Multi(m) => m.count,
            Source::Pack(p) => p.count(),
        }
    }

    fn prefix_at(&self, i: usize) -> u64 {
        match self {
            Source::Multi(m) => {
                let at = m.ids_at + 32 * i;
                let mut b = [0u8; 8];
                b.copy_from_slice(&m.data[at..at + 8]);
                u64::from_be_bytes(b)
            }
            Source::Pack(p) => p.prefix_at(i),
        }
    }

    fn id_at(&self, i: usize) -> [u8; 32] {
        match self {
            Source::Multi(m) => m.id_at(i),
            Source::Pack(p) => p.id_at(i),
        }
    }
}

/// Appends one location.
fn put_loc(out: &mut Vec<u8>, pack: u32, l: &Location) {
    out.extend_from_slice(&pack.to_le_bytes());
    out.extend_from_slice(&l.block.to_le_bytes());
    out.extend_from_slice(&l.block_len.to_le_bytes());
    out.extend_from_slice(&l.inner.to_le_bytes());
    out.extend_from_slice(&l.len.to_le_bytes());
    out.push(l.ty as u8);
}

impl MultiIndex {
    /// The entries of `sources` sorted by id, one per id (the newest
    /// source's), as (source, entry) positions: a counting sort on the
    /// ids' first two bytes, then each bucket sorted.
    fn entries(sources: &[Source<'_>]) -> Vec<(u32, u32)> {
        const BUCKETS: usize = 1 << 16;
        let bucket = |prefix: u64| (prefix >> 48) as usize;
        let total: usize = sources.iter().map(Source::count).sum();
        let mut starts = vec![0u32; BUCKETS + 1];
        for s in sources {
            for e in 0..s.count() {
                starts[bucket(s.prefix_at(e)) + 1] += 1;
            }
        }
        for b in 0..BUCKETS {
            starts[b + 1] += starts[b];
        }
        let mut next = starts.clone();
        let mut keys: Vec<(u64, u32, u32)> = vec![(0, 0, 0); total];
        for (si, s) in sources.iter().enumerate() {
            for e in 0..s.count() {
                let prefix = s.prefix_at(e);
                let at = &mut next[bucket(prefix)];
                keys[*at as usize] = (prefix, si as u32, e as u32);
                *at += 1;
            }
        }
        let id = |k: &(u64, u32, u32)| sources[k.1 as usize].id_at(k.2 as usize);
        for b in 0..BUCKETS {
            let run = &mut keys[starts[b] as usize..starts[b + 1] as usize];
            if run.len() > 1 {
                run.sort_unstable_by(|a, b| {
                    a.0.cmp(&b.0)
                        .then_with(|| id(a).cmp(&id(b)))
                        .then(b.1.cmp(&a.1))
                });
            }
        }
        // one entry per id: the first of a run of equal ids (the newest)
        let mut kept: Vec<(u32, u32)> = Vec::with_capacity(total);
        let mut last: Option<[u8; 32]> = None;
        for k in &keys {
            let full = id(k);
            if last != Some(full) {
                kept.push((k.1, k.2));
                last = Some(full);
            }
        }
        kept
    }

    /// Combines `sources` (oldest first: where several hold an object, the
    /// newest one's copy is kept, as a probe of the packs newest first
    /// would find). Ids are hashes, spread evenly: the entries are placed
    /// by their first two bytes (a counting sort), then each of those
    /// buckets, of about one entry, is sorted by id.
    pub(crate) fn build(sources: &[Source<'_>]) -> MultiIndex {
        // the packs: each source's, in order; a source's first pack number
        let mut packs: Vec<Hash> = Vec::new();
        let mut first_pack: Vec<u32> = Vec::with_capacity(sources.len());
        for s in sources {
            first_pack.push(packs.len() as u32);
            match s {
                Source::Multi(m) => packs.extend_from_slice(&m.packs),
                Source::Pack(p) => packs.push(p.name),
            }
        }
        let kept = Self::entries(sources);
        let count = kept.len();
        let mut data =
            Vec::with_capacity(HEADER + 32 * packs.len() + FANOUT + (32 + LOC) * count + 32);
        data.extend_from_slice(MIDX_MAGIC);
        data.extend_from_slice(&(packs.len() as u32).to_le_bytes());
        data.extend_from_slice(&(count as u32).to_le_bytes());
        for p in &packs {
            data.extend_from_slice(&p.0);
        }
        let mut fanout = Box::new([0u32; 257]);
        for &(si, e) in &kept {
            fanout[sources[si as usize].id_at(e as usize)[0] as usize + 1] += 1;
        }
        for b in 0..256 {
            fanout[b + 1] += fanout[b];
        }
        for f in &fanout[1..] {
            data.extend_from_slice(&f.to_le_bytes());
        }
        let ids_at = data.len();
        for &(si, e) in &kept {
            data.extend_from_slice(&sources[si as usize].id_at(e as usize));
        }
        let locs_at = data.len();
        for &(si, e) in &kept {
            let (si, e) = (si as usize, e as usize);
            match &sources[si] {
                Source::Multi(m) => {
                    let at = m.locs_at + LOC * e;
                    // pack numbers of an earlier combined index are kept:
                    // its packs come first, in its order, after the
                    // packs of the sources before it
                    let pack =
                        u32::from_le_bytes(m.data[at..at + 4].try_into().unwrap_or_default())
                            + first_pack[si];
                    data.extend_from_slice(&pack.to_le_bytes());
                    data.extend_from_slice(&m.data[at + 4..at + LOC]);
                }
                Source::Pack(p) => put_loc(&mut data, first_pack[si], &p.entry(e).1),
            }
        }
        let sum = Hash::of(&data);
        data.extend_from_slice(&sum.0);
        MultiIndex {
            data,
            packs,
            count,
            ids_at,
            locs_at,
            fanout,
        }
    }

    /// Reads a saved combined index (`what` names it in errors): the
    /// magic, the length its counts give, the checksum and the fan-out
    /// table are checked; entries are checked where they are used (a
    /// pack number out of range finds nothing) and in full by `verify`.
    pub(crate) fn parse(data: Vec<u8>, what: &str) -> Result<MultiIndex> {
        if data.len() < HEADER + FANOUT + 32 || &data[..8] != MIDX_MAGIC {
            return Err(corrupt(what, "not a rewind combined pack index"));
        }
        let u32_at = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().unwrap_or_default());
        let (npacks, count) = (u32_at(8) as usize, u32_at(12) as usize);
        let expected = (npacks.checked_mul(32))
            .zip(count.checked_mul(32 + LOC))
            .and_then(|(p, c)| p.checked_add(c))
            .and_then(|n| n.checked_add(HEADER + FANOUT + 32));
        if expected != Some(data.len()) {
            return Err(corrupt(what, "its counts do not match its size"));
        }
        let body = data.len() - 32;
        if Hash::of(&data[..body]).0[..] != data[body..] {
            return Err(corrupt(what, "checksum mismatch"));
        }
        let packs: Vec<Hash> = (0..npacks)
            .map(|i| {
                let mut h = [0u8; 32];
                h.copy_from_slice(&data[HEADER + 32 * i..HEADER + 32 * (i + 1)]);
                Hash(h)
            })
            .collect();
        let fan_at = HEADER + 32 * npacks;
        let mut fanout = Box::new([0u32; 257]);
        for b in 0..256 {
            fanout[b + 1] = u32_at(fan_at + 4 * b);
            if fanout[b + 1] < fanout[b] {
                return Err(corrupt(what, "its fan-out table decreases"));
            }
        }
        if fanout[256] as usize != count {
            return Err(corrupt(what, "its fan-out table does not end at its count"));
        }
        let ids_at = fan_at + FANOUT;
        Ok(MultiIndex {
            packs,
            count,
            ids_at,
            locs_at: ids_at + 32 * count,
            fanout,
            data,
        })
    }

    /// The bytes to save.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// The packs it covers, oldest first.
    pub(crate) fn packs(&self) -> &[Hash] {
        &self.packs
    }

    /// How many objects it lists.
    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    fn id_at(&self, i: usize) -> [u8; 32] {
        let mut id = [0u8; 32];
        id.copy_from_slice(&self.data[self.ids_at + 32 * i..self.ids_at + 32 * (i + 1)]);
        id
    }

    /// Entry `i`: an object's id, its pack and where it is in it (`None`
    /// for a pack number or type out of range: a file `verify` rejects).
    pub(crate) fn entry(&self, i: usize) -> Option<(ObjectId, Hash, Location)> {
        let e = &self.data[self.locs_at + LOC * i..self.locs_at + LOC * (i + 1)];
        let u32_at = |o: usize| u32::from_le_bytes(e[o..o + 4].try_into().unwrap_or_default());
        let pack = *self.packs.get(u32_at(0) as usize)?;
        let loc = Location {
            block: u64::from_le_bytes(e[4..12].try_into().unwrap_or_default()),
            block_len: u32_at(12),
            inner: u32_at(16),
            len: u32_at(20),
            ty: ObjType::from_u8(e[24])?,
        };
        Some((ObjectId::from(Hash(self.id_at(i))), pack, loc))
    }

    /// Every entry in id order (entries out of range left out).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (ObjectId, Hash, Location)> + '_ {
        (0..self.count).filter_map(|i| self.entry(i))
    }

    /// Whether its ids are strictly increasing and each falls in its
    /// fan-out bucket, and every entry names one of its packs and a known
    /// type (what `verify` checks beyond [`MultiIndex::parse`]).
    pub(crate) fn check_entries(&self) -> std::result::Result<(), String> {
        for b in 0..256 {
            for i in self.fanout[b] as usize..self.fanout[b + 1] as usize {
                if usize::from(self.data[self.ids_at + 32 * i]) != b {
                    return Err(format!("entry {i} is outside its fan-out bucket"));
                }
            }
        }
        for i in 1..self.count {
            if self.id_at(i - 1) >= self.id_at(i) {
                return Err(format!("entries {} and {i} are not sorted", i - 1));
            }
        }
        for i in 0..self.count {
            if self.entry(i).is_none() {
                return Err(format!(
                    "entry {i} names no pack it covers or no known type"
                ));
            }
        }
        Ok(())
    }

    /// The pack and the location of an object, if a covered pack holds
    /// it.
    pub(crate) fn find(&self, id: &ObjectId) -> Option<(Hash, Location)> {
        let key = &id.hash().0;
        let b = key[0] as usize;
        let (lo, hi) = (self.fanout[b] as usize, self.fanout[b + 1] as usize);
        let at = |i: usize| &self.data[self.ids_at + 32 * i..self.ids_at + 32 * (i + 1)];
        crate::pack::search_ids(at, key, lo, hi).and_then(|i| self.entry(i).map(|(_, p, l)| (p, l)))
    }
}

/// Finds an object: in the packs outside `multi` (`loose`, newest last)
/// newest first, then in `multi`.
pub(crate) fn locate(
    loose: &[Arc<PackIndex>],
    multi: Option<&MultiIndex>,
    id: &ObjectId,
) -> Option<(Hash, Location)> {
    let newer = loose
        .iter()
        .rev()
        .find_map(|p| p.find(id).map(|loc| (p.name, loc)));
    newer.or_else(|| multi.and_then(|m| m.find(id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::PackWriter;

    /// Pack `p` holds objects `p*10 .. p*10+20` (each shared with the next
    /// pack): returns the indexes and, per object, the newest pack with it.
    fn packs(n: usize) -> (Vec<Arc<PackIndex>>, Vec<(ObjectId, usize)>) {
        let obj = |i: usize| format!("object {i}").into_bytes();
        let mut out = Vec::new();
        for p in 0..n {
            let mut w = PackWriter::new();
            for i in p * 10..p * 10 + 20 {
                w.add(ObjectId::of(&obj(i)), ObjType::Blob, &obj(i));
            }
            let (_, idx, name) = w.finish();
            out.push(Arc::new(PackIndex::parse(name, idx, "idx").unwrap()));
        }
        let newest = (0..n * 10 + 10)
            .map(|i| (ObjectId::of(&obj(i)), (i / 10).min(n - 1)))
            .collect();
        (out, newest)
    }

    fn of(packs: &[Arc<PackIndex>]) -> MultiIndex {
        let sources: Vec<Source<'_>> = packs.iter().map(|p| Source::Pack(p)).collect();
        MultiIndex::build(&sources)
    }

    #[test]
    fn combined_index_finds_what_probing_every_pack_finds() {
        let (all, newest) = packs(40);
        for covered in [0, 1, 17, 40] {
            let multi = (covered > 0).then(|| of(&all[..covered]));
            for (id, pack) in &newest {
                let (found, loc) = locate(&all[covered..], multi.as_ref(), id)
                    .unwrap_or_else(|| panic!("{id} not found ({covered} covered)"));
                assert_eq!(found, all[*pack].name, "{id} ({covered} covered)");
                assert_eq!(Some(loc), all[*pack].find(id));
            }
            let missing = ObjectId::of(b"never written");
            assert!(locate(&all[covered..], multi.as_ref(), &missing).is_none());
        }
    }

    #[test]
    fn combined_index_keeps_one_entry_per_object() {
        let (all, newest) = packs(12);
        let multi = of(&all);
        assert_eq!(multi.count(), newest.len());
        assert_eq!(multi.check_entries(), Ok(()));
        assert_eq!(multi.fanout[256] as usize, newest.len());
        assert_eq!(
            multi.packs(),
            all.iter().map(|p| p.name).collect::<Vec<_>>()
        );
    }

    /// A saved index reads back to the same lookups, and extending one
    /// with newer packs gives the index built from all the packs at once.
    #[test]
    fn saved_and_extended_indexes_are_the_index_of_all_packs() {
        let (all, newest) = packs(20);
        let first = of(&all[..12]);
        let read = MultiIndex::parse(first.bytes().to_vec(), "midx").unwrap();
        assert_eq!(read.bytes(), first.bytes());
        let mut sources = vec![Source::Multi(&read)];
        sources.extend(all[12..].iter().map(|p| Source::Pack(p)));
        let extended = MultiIndex::build(&sources);
        assert_eq!(extended.bytes(), of(&all).bytes());
        for (id, pack) in &newest {
            assert_eq!(
                extended.find(id),
                Some((all[*pack].name, all[*pack].find(id).unwrap()))
            );
        }
        assert_eq!(extended.iter().count(), newest.len());
    }

    /// Every byte of a saved index is covered: a flipped bit anywhere, a
    /// cut or an extra byte is refused with a message saying what is
    /// wrong, never read as other entries.
    #[test]
    fn a_damaged_saved_index_is_refused() {
        let (all, _) = packs(3);
        let good = of(&all).bytes().to_vec();
        for at in [
            0,
            9,
            13,
            20,
            16 + 32 * 3 + 5,
            good.len() / 2,
            good.len() - 40,
            good.len() - 1,
        ] {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            let err = MultiIndex::parse(bad, "cache/packs.midx")
                .err()
                .unwrap()
                .to_string();
            assert!(
                err.starts_with("cache/packs.midx is corrupt: "),
                "byte {at}: {err}"
            );
        }
        for cut in [0, 8, 100, good.len() - 1] {
            let err = MultiIndex::parse(good[..cut].to_vec(), "m")
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains("corrupt"), "cut at {cut}: {err}");
        }
        let mut longer = good.clone();
        longer.push(0);
        assert!(MultiIndex::parse(longer, "m").is_err());
    }

    /// Ids are hashes and spread evenly, but a crafted store's need not:
    /// ids sharing their first bytes (one bucket of the counting sort, and
    /// equal eight-byte prefixes) still come out sorted, once each, the
    /// newest pack's copy kept.
    #[test]
    fn ids_sharing_their_first_bytes_are_still_sorted_and_found() {
        let id = |i: u8, j: u8| {
            let mut h = [0xabu8; 32];
            h[20] = i;
            h[31] = j;
            ObjectId::from(rewind_model::Hash(h))
        };
        let mut all = Vec::new();
        for p in 0..3u8 {
            let mut w = PackWriter::new();
            // pack p holds (i, j) for i in p..p+3: each shared with the
            // next pack
            for i in p..p + 3 {
                for j in [9u8, 1, 5] {
                    w.add(id(i, j), ObjType::Blob, &[p, i, j]);
                }
            }
            let (_, idx, name) = w.finish();
            all.push(Arc::new(PackIndex::parse(name, idx, "idx").unwrap()));
        }
        let multi = of(&all);
        assert_eq!(multi.check_entries(), Ok(()));
        assert_eq!(multi.count(), 5 * 3);
        for i in 0..5u8 {
            for j in [1u8, 5, 9] {
                let (pack, _) = multi.find(&id(i, j)).unwrap();
                assert_eq!(
                    pack,
                    all[usize::from(i.min(2))].name,
                    "({i}, {j}): the newest pack holding it"
                );
            }
        }
    }
}
