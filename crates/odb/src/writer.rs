//! Writing objects: deduplicated against the store, gathered into packs
//! that are written as they grow.

use crate::error::{Error, Result};
use crate::id::ObjectId;
use crate::pack::{ObjType, PackWriter, MAX_OBJECT};
use crate::store::{Store, PACK_SPLIT};

/// Objects on their way into a store. An object the store (or this
/// writer) has already is skipped; a pack is written whenever the one
/// being built passes 128 MiB, and the last one by [`ObjectWriter::finish`].
/// Nothing a writer adds is named by a ref until a snapshot record that
/// uses it is published, so an abandoned writer leaves only what gc removes.
pub struct ObjectWriter<'s> {
    store: &'s Store,
    pack: PackWriter,
    seen: rustc_hash::FxHashSet<ObjectId>,
    written: Written,
    /// Full packs not written yet ([`ObjectWriter::deferred`]).
    held: Option<Vec<PackWriter>>,
    /// A pack is full past this many bytes ([`PACK_SPLIT`]; less in tests).
    split: usize,
}

/// An object framed, compressed and sealed for a pack, still to be added
/// ([`ObjectWriter::ready`]).
pub struct ReadyObject {
    object: crate::pack::ReadyObject,
    len: usize,
}

/// What an [`ObjectWriter`] added.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// New objects.
    pub objects: usize,
    /// Their uncompressed bytes.
    pub bytes: u64,
}

impl std::ops::Add for Written {
    type Output = Written;
    fn add(self, o: Written) -> Written {
        Written {
            objects: self.objects + o.objects,
            bytes: self.bytes + o.bytes,
        }
    }
}

impl<'s> ObjectWriter<'s> {
    /// A writer into `store`. In a local store each pack is written to a
    /// temporary file in its `tmp/` as it fills and renamed into place
    /// when full or finished, so only its index is in memory (the bytes
    /// are written once either way: a pack put whole also goes through a
    /// temporary file). The main pack of a cold snapshot of 100k
    /// resources is 33 MB, held until the end of the snapshot, when its
    /// memory was the peak's. In a remote store packs are built in
    /// memory.
    pub fn new(store: &'s Store) -> ObjectWriter<'s> {
        ObjectWriter::with(store, None)
    }

    /// A writer into `store` that writes no pack until
    /// [`ObjectWriter::finish`], so a writer dropped unfinished (the input
    /// turned out bad) leaves the store as it was: its packs' temporary
    /// files are removed (in a remote store, its packs are held in
    /// memory, compressed).
    pub fn deferred(store: &'s Store) -> ObjectWriter<'s> {
        ObjectWriter::with(store, Some(Vec::new()))
    }

    fn with(store: &'s Store, held: Option<Vec<PackWriter>>) -> ObjectWriter<'s> {
        ObjectWriter {
            store,
            pack: store.spilled_pack_writer(),
            seen: rustc_hash::FxHashSet::default(),
            written: Written::default(),
            held,
            split: PACK_SPLIT,
        }
    }

    /// The store written into.
    pub(crate) fn store(&self) -> &'s Store {
        self.store
    }

    /// Room for `more` objects in the ids this writer has added (a model
    /// writer knows its count of nodes: grown by doubling, the ids of a
    /// model of 100k resources were rehashed into a new table at each
    /// step, each one memory the kernel faulted in).
    pub(crate) fn reserve(&mut self, more: usize) {
        self.seen.reserve(more);
    }

    /// True unless the store or this writer has the object already.
    pub fn needs(&self, id: &ObjectId) -> Result<bool> {
        Ok(!self.seen.contains(id) && !self.store.has(id)?)
    }

    /// Adds an object unless the store or this writer has it; `id` must be
    /// [`Store::object_id`] of `bytes`.
    pub fn add(&mut self, id: ObjectId, ty: ObjType, bytes: &[u8]) -> Result<()> {
        self.store.require_key("writing objects")?;
        if !self.needs(&id)? {
            return Ok(());
        }
        if bytes.len() >= MAX_OBJECT {
            return Err(Error::ObjectTooLarge {
                id,
                kind: ty.name(),
                len: bytes.len(),
                max: MAX_OBJECT,
            });
        }
        self.seen.insert(id);
        self.pack.add(id, ty, bytes);
        self.added(bytes.len())
    }

    /// An object made ready for [`ObjectWriter::add_ready`] away from any
    /// writer of `store`: framed as a block of its own, compressed (and
    /// sealed in an encrypted store). For a large object (a state file)
    /// read by one of several threads sharing a writer: a state file of
    /// 76 MB held the writer's lock 0.1 s while it was compressed, and a
    /// thread with a small file to add waited as long. `id` must be
    /// [`Store::object_id`] of `bytes`.
    pub fn ready(store: &Store, id: ObjectId, ty: ObjType, bytes: &[u8]) -> Result<ReadyObject> {
        store.require_key("writing objects")?;
        if bytes.len() >= MAX_OBJECT {
            return Err(Error::ObjectTooLarge {
                id,
                kind: ty.name(),
                len: bytes.len(),
                max: MAX_OBJECT,
            });
        }
        let keys = store.sealing_keys();
        Ok(ReadyObject {
            object: PackWriter::ready(keys.as_deref(), id, ty, bytes)?,
            len: bytes.len(),
        })
    }

    /// Adds an object made ready by [`ObjectWriter::ready`] (of this
    /// writer's store) unless the store or this writer has it, as
    /// [`ObjectWriter::add`] adds it: the pack holds the same bytes.
    pub fn add_ready(&mut self, ready: ReadyObject) -> Result<()> {
        let id = ready.object.id;
        if !self.needs(&id)? {
            return Ok(());
        }
        self.seen.insert(id);
        self.pack.add_ready(ready.object);
        self.added(ready.len)
    }

    /// Adds the objects of a block made away from this writer
    /// ([`crate::pack::BlockBuilder`], framed with this writer's store's
    /// keys): the framed block as it is when every object in it is new to
    /// the store and to this writer (a cold snapshot's model), else each
    /// object this writer needs, one by one, as [`ObjectWriter::add`]
    /// adds them (a block holds no object twice, nor one its pack or the
    /// store has).
    pub(crate) fn add_ready_block(&mut self, block: crate::pack::ReadyBlock) -> Result<()> {
        self.store.require_key("writing objects")?;
        // (a builder refuses an object of MAX_OBJECT bytes or more)
        let mut all_new = block.is_framed();
        for (id, _, _) in block.objects() {
            all_new = all_new && self.needs(&id)?;
        }
        if all_new {
            let mut added = 0;
            for (id, _, _) in block.objects() {
                if !self.seen.insert(id) {
                    // twice in the block: undo, and add them one by one
                    all_new = false;
                    break;
                }
                added += 1;
            }
            if !all_new {
                for (id, _, _) in block.objects().take(added) {
                    self.seen.remove(&id);
                }
            }
        }
        if !all_new {
            for (id, ty, bytes) in block.objects() {
                self.add(id, ty, bytes)?;
            }
            return Ok(());
        }
        for (_, _, bytes) in block.objects() {
            self.written.objects += 1;
            self.written.bytes += bytes.len() as u64;
        }
        self.pack.add_ready_block(block);
        self.set_aside_if_full()
    }

    /// Counts an object of `len` bytes just added; puts the pack aside
    /// once full.
    fn added(&mut self, len: usize) -> Result<()> {
        self.written.objects += 1;
        self.written.bytes += len as u64;
        self.set_aside_if_full()
    }

    /// Puts the pack aside (written, or held by a deferred writer) once
    /// full.
    fn set_aside_if_full(&mut self) -> Result<()> {
        if self.pack.len() > self.split {
            let full = std::mem::replace(&mut self.pack, self.store.spilled_pack_writer());
            match &mut self.held {
                Some(held) => held.push(full),
                None => {
                    self.store.write_pack(full)?;
                }
            }
        }
        Ok(())
    }

    /// Writes the last pack; returns what was added.
    pub fn finish(self) -> Result<Written> {
        for full in self.held.into_iter().flatten() {
            self.store.write_pack(full)?;
        }
        self.store.write_pack(self.pack)?;
        Ok(self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::{ObjType, PackWriter};

    fn packs(root: &std::path::Path) -> usize {
        std::fs::read_dir(root.join("packs"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// The spilled packs in the store's `tmp/`.
    fn temp_packs(root: &std::path::Path) -> usize {
        std::fs::read_dir(root.join("tmp")).map_or(0, |d| {
            d.filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".pack.tmp"))
            })
            .count()
        })
    }

    /// A new store at `dir` (removed first), encrypted or not, and the
    /// options it was made with (to open it again).
    fn new_store(dir: &std::path::Path, encrypted: bool) -> (crate::store::InitOptions, Store) {
        let _ = std::fs::remove_dir_all(dir);
        let opts = crate::store::InitOptions {
            encrypt: encrypted.then(|| crate::crypt::UserKey::Secret {
                secret: b"correct horse battery".to_vec(),
                origin: "test".into(),
            }),
            encrypt_like: None,
        };
        let store = Store::init_with(dir.to_str().unwrap(), &opts).unwrap();
        (opts, store)
    }

    /// Objects of 3 KiB that do not compress (a counter hashed over and
    /// over), so packs of 8 KiB fill after a few of them.
    fn objects(store: &Store) -> Vec<(ObjectId, Vec<u8>)> {
        (0u32..12)
            .map(|i| {
                let mut bytes = Vec::new();
                let mut h = rewind_model::Hash::of(&i.to_le_bytes());
                while bytes.len() < 3072 {
                    bytes.extend_from_slice(&h.0);
                    h = rewind_model::Hash::of(&h.0);
                }
                (store.object_id(&bytes), bytes)
            })
            .collect()
    }

    /// A writer fills several packs; a deferred one writes none of them
    /// before `finish` (dropped unfinished, the store is as it was), then
    /// all of them, every object readable.
    #[test]
    fn a_deferred_writer_writes_its_full_packs_only_when_finished() {
        let dir = std::env::temp_dir().join(format!("rewind-odb-deferred-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::init(dir.to_str().unwrap()).unwrap();
        let objs = objects(&store);
        let empty = packs(&dir);

        let mut w = ObjectWriter::new(&store);
        w.split = 8 << 10;
        for (id, bytes) in &objs[..6] {
            w.add(*id, ObjType::Blob, bytes).unwrap();
        }
        assert!(packs(&dir) > empty, "a writer writes the packs it fills");
        drop(w);
        let written = packs(&dir);

        let mut w = ObjectWriter::deferred(&store);
        w.split = 8 << 10;
        for (id, bytes) in &objs[6..] {
            w.add(*id, ObjType::Blob, bytes).unwrap();
        }
        assert!(w.held.as_ref().is_some_and(|h| !h.is_empty()));
        // its packs go to temporary files (in pieces of SPILL_PIECE)
        assert!(temp_packs(&dir) >= 2);
        drop(w);
        assert_eq!(temp_packs(&dir), 0, "a dropped writer's files removed");
        assert_eq!(
            packs(&dir),
            written,
            "nothing written by a dropped deferred writer"
        );
        for (id, _) in &objs[6..] {
            assert!(!store.has(id).unwrap());
        }

        let store = Store::open(dir.to_str().unwrap()).unwrap();
        let mut w = ObjectWriter::deferred(&store);
        w.split = 8 << 10;
        for (id, bytes) in &objs[6..] {
            w.add(*id, ObjType::Blob, bytes).unwrap();
        }
        assert_eq!(packs(&dir), written);
        let done = w.finish().unwrap();
        assert_eq!(done.objects, 6);
        assert_eq!(temp_packs(&dir), 0, "every file renamed into packs/");
        assert!(
            packs(&dir) >= written + 2 * 2,
            "several packs, each with its index"
        );
        let store = Store::open(dir.to_str().unwrap()).unwrap();
        let ids: Vec<ObjectId> = objs.iter().map(|(id, _)| *id).collect();
        let got = store.get_many(&ids).unwrap();
        let want: Vec<Vec<u8>> = objs.into_iter().map(|(_, b)| b).collect();
        assert_eq!(got, want);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A large object made ready away from the pack takes the place and
    /// the bytes [`PackWriter::add`] gives it, compressible or not, among
    /// small objects: the two packs are the same, byte for byte.
    #[test]
    fn a_ready_object_makes_the_same_pack_as_one_added() {
        let small = |i: u8| vec![i; 300];
        let compressible: Vec<u8> = b"resource \"aws_s3_bucket\" \"logs\" {}\n"
            .iter()
            .copied()
            .cycle()
            .take(200_000)
            .collect();
        let mut noise = Vec::new();
        let mut h = rewind_model::Hash::of(b"noise");
        while noise.len() < 100_000 {
            noise.extend_from_slice(&h.0);
            h = rewind_model::Hash::of(&h.0);
        }
        let id = |b: &[u8]| ObjectId::of(b);
        let objects = [
            small(1),
            compressible.clone(),
            small(2),
            small(3),
            noise.clone(),
            small(4),
        ];
        let mut added = PackWriter::new();
        let mut ready = PackWriter::new();
        for o in &objects {
            added.add(id(o), ObjType::Blob, o);
            if o.len() > 1000 {
                ready.add_ready(PackWriter::ready(None, id(o), ObjType::Blob, o).unwrap());
            } else {
                ready.add(id(o), ObjType::Blob, o);
            }
        }
        assert_eq!(added.finish(), ready.finish());
    }

    /// Through a writer, in a plain and an encrypted store: an object made
    /// ready is read back as it was, and one the writer or the store has
    /// already is not added again.
    #[test]
    fn a_writer_adds_a_ready_object_once_and_it_reads_back() {
        for encrypted in [false, true] {
            let dir = std::env::temp_dir().join(format!(
                "rewind-odb-ready-{}-{encrypted}",
                std::process::id()
            ));
            let (opts, store) = new_store(&dir, encrypted);
            let large: Vec<u8> = (0..300_000u32)
                .flat_map(|i| (i % 251).to_le_bytes())
                .collect();
            let large_id = store.object_id(&large);
            let objs = objects(&store);
            let mut w = ObjectWriter::deferred(&store);
            w.add(objs[0].0, ObjType::Blob, &objs[0].1).unwrap();
            let ready = ObjectWriter::ready(&store, large_id, ObjType::Blob, &large).unwrap();
            w.add_ready(ready).unwrap();
            // the writer has it: not added twice
            let again = ObjectWriter::ready(&store, large_id, ObjType::Blob, &large).unwrap();
            w.add_ready(again).unwrap();
            w.add(objs[1].0, ObjType::Blob, &objs[1].1).unwrap();
            let written = w.finish().unwrap();
            assert_eq!(written.objects, 3, "encrypted: {encrypted}");
            assert_eq!(
                written.bytes,
                (large.len() + objs[0].1.len() + objs[1].1.len()) as u64
            );
            let store = Store::open_with(dir.to_str().unwrap(), opts.encrypt.as_ref()).unwrap();
            let got = store.get_many(&[objs[1].0, large_id, objs[0].0]).unwrap();
            assert_eq!(
                got,
                vec![objs[1].1.clone(), large.clone(), objs[0].1.clone()]
            );
            // the store has it: a new writer adds nothing
            let mut w = ObjectWriter::new(&store);
            let ready = ObjectWriter::ready(&store, large_id, ObjType::Blob, &large).unwrap();
            w.add_ready(ready).unwrap();
            assert_eq!(w.finish().unwrap().objects, 0);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    /// A block made away from the writer, in a plain and an encrypted
    /// store: added whole when its objects are all new, else object by
    /// object when the writer has one of them already or the block holds
    /// one twice; each object is counted once and reads back.
    #[test]
    fn a_ready_block_is_added_whole_or_object_by_object() {
        use crate::pack::BlockBuilder;
        for encrypted in [false, true] {
            let dir = std::env::temp_dir().join(format!(
                "rewind-odb-block-{}-{encrypted}",
                std::process::id()
            ));
            let (opts, store) = new_store(&dir, encrypted);
            let keys = store.crypt().keys("test").unwrap();
            let objs = objects(&store);
            let block = |which: &[usize]| {
                let mut b = BlockBuilder::default();
                for &i in which {
                    let id = b
                        .push_with(
                            ObjType::Node,
                            |buf| buf.extend_from_slice(&objs[i].1),
                            |bytes| store.object_id(bytes),
                        )
                        .unwrap();
                    assert_eq!(id, objs[i].0);
                }
                b.ready(keys).unwrap()
            };
            let mut w = ObjectWriter::deferred(&store);
            w.add_ready_block(block(&[0, 1, 2])).unwrap();
            // the writer has 2 already; 4 is in the block twice
            w.add_ready_block(block(&[2, 3])).unwrap();
            w.add_ready_block(block(&[4, 5, 4])).unwrap();
            let written = w.finish().unwrap();
            assert_eq!(written.objects, 6, "encrypted: {encrypted}");
            assert_eq!(
                written.bytes,
                objs[..6].iter().map(|(_, b)| b.len() as u64).sum::<u64>()
            );
            let store = Store::open_with(dir.to_str().unwrap(), opts.encrypt.as_ref()).unwrap();
            let ids: Vec<ObjectId> = objs[..6].iter().map(|(id, _)| *id).collect();
            let want: Vec<Vec<u8>> = objs[..6].iter().map(|(_, b)| b.clone()).collect();
            assert_eq!(store.get_many(&ids).unwrap(), want);
            // the store has them all: nothing added
            let mut w = ObjectWriter::new(&store);
            let keys = store.crypt().keys("test").unwrap();
            let mut b = BlockBuilder::default();
            b.push_with(
                ObjType::Blob,
                |buf| buf.extend_from_slice(&objs[0].1),
                |bytes| store.object_id(bytes),
            )
            .unwrap();
            w.add_ready_block(b.ready(keys).unwrap()).unwrap();
            assert_eq!(w.finish().unwrap().objects, 0);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
