//! Writing objects: deduplicated against the store, gathered into packs
//! that are written as they grow.

use std::collections::HashSet;

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
    seen: HashSet<ObjectId>,
    written: Written,
    /// Full packs not written yet ([`ObjectWriter::deferred`]).
    held: Option<Vec<PackWriter>>,
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
    /// A writer into `store`.
    pub fn new(store: &'s Store) -> ObjectWriter<'s> {
        ObjectWriter {
            store,
            pack: store.pack_writer(),
            seen: HashSet::new(),
            written: Written::default(),
            held: None,
        }
    }

    /// A writer into `store` that writes nothing until
    /// [`ObjectWriter::finish`]: packs filled before then are held in
    /// memory (compressed), so a writer dropped unfinished (the input
    /// turned out bad) leaves the store as it was.
    pub fn deferred(store: &'s Store) -> ObjectWriter<'s> {
        ObjectWriter {
            held: Some(Vec::new()),
            ..ObjectWriter::new(store)
        }
    }

    /// The store written into.
    pub(crate) fn store(&self) -> &'s Store {
        self.store
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
        self.written.objects += 1;
        self.written.bytes += bytes.len() as u64;
        if self.pack.len() > PACK_SPLIT {
            let full = std::mem::replace(&mut self.pack, self.store.pack_writer());
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
